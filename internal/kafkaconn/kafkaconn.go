// Package kafkaconn turns the bridge's Kafka connection settings (brokers,
// client id, TLS, SASL) into kafka-go transports and dialers, so that the
// publisher and the operator commands connect the same way.
package kafkaconn

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"
)

// SASL mechanisms, spelled as Kafka spells them.
const (
	MechanismPlain       = "PLAIN"
	MechanismScramSHA256 = "SCRAM-SHA-256"
	MechanismScramSHA512 = "SCRAM-SHA-512"
)

// Config says how to reach the brokers.
type Config struct {
	// Brokers are host:port bootstrap addresses. Required.
	Brokers []string
	// ClientID is sent with every request. Default "engage-bridge".
	ClientID string
	// TLS, when non-nil, wraps every connection. Default plaintext.
	TLS *tls.Config
	// SASL authenticates connections when Mechanism is set. Default off.
	SASL SASL
	// DialTimeout bounds connecting, including TLS and SASL. Default 5s.
	DialTimeout time.Duration
}

// SASL holds SASL credentials. Password is a secret: String never shows it.
type SASL struct {
	Mechanism string // "", PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512
	Username  string
	Password  string
}

// String keeps the password out of any log line that prints a Config.
func (s SASL) String() string {
	if s.Mechanism == "" {
		return "off"
	}
	return fmt.Sprintf("%s user=%s password=[redacted]", s.Mechanism, s.Username)
}

// GoString keeps the password out of %#v too.
func (s SASL) GoString() string { return s.String() }

// Validate reports every problem at once.
func (c Config) Validate() error {
	var errs []error
	if len(c.Brokers) == 0 {
		errs = append(errs, errors.New("brokers: at least one host:port is required"))
	}
	for _, b := range c.Brokers {
		if _, _, err := net.SplitHostPort(b); err != nil {
			errs = append(errs, fmt.Errorf("brokers: %q is not host:port", b))
		}
	}
	switch c.SASL.Mechanism {
	case "":
	case MechanismPlain, MechanismScramSHA256, MechanismScramSHA512:
		if c.SASL.Username == "" {
			errs = append(errs, errors.New("sasl: a username is required"))
		}
		if c.SASL.Password == "" {
			errs = append(errs, errors.New("sasl: a password is required"))
		}
	default:
		errs = append(errs, fmt.Errorf("sasl: mechanism %q is not one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512", c.SASL.Mechanism))
	}
	return errors.Join(errs...)
}

func (c Config) clientID() string {
	if c.ClientID == "" {
		return "engage-bridge"
	}
	return c.ClientID
}

func (c Config) dialTimeout() time.Duration {
	if c.DialTimeout <= 0 {
		return 5 * time.Second
	}
	return c.DialTimeout
}

// Mechanism returns the kafka-go SASL mechanism, or nil when SASL is off.
func (c Config) Mechanism() (sasl.Mechanism, error) {
	switch c.SASL.Mechanism {
	case "":
		return nil, nil
	case MechanismPlain:
		return plain.Mechanism{Username: c.SASL.Username, Password: c.SASL.Password}, nil
	case MechanismScramSHA256:
		return scram.Mechanism(scram.SHA256, c.SASL.Username, c.SASL.Password)
	case MechanismScramSHA512:
		return scram.Mechanism(scram.SHA512, c.SASL.Username, c.SASL.Password)
	default:
		return nil, fmt.Errorf("sasl: unknown mechanism %q", c.SASL.Mechanism)
	}
}

// Transport returns a kafka-go transport. metadataTTL bounds how stale the
// cached cluster layout may get (kafka-go refreshes it at a random point
// within the TTL; it does not refresh on NOT_LEADER errors).
func (c Config) Transport(metadataTTL time.Duration) (*kafka.Transport, error) {
	mech, err := c.Mechanism()
	if err != nil {
		return nil, err
	}
	return &kafka.Transport{
		Dial:        (&net.Dialer{Timeout: c.dialTimeout(), KeepAlive: 30 * time.Second}).DialContext,
		DialTimeout: c.dialTimeout(),
		IdleTimeout: 5 * time.Minute,
		MetadataTTL: metadataTTL,
		ClientID:    c.clientID(),
		TLS:         c.TLS,
		SASL:        mech,
	}, nil
}

// Dialer returns a kafka-go dialer for direct broker connections.
func (c Config) Dialer() (*kafka.Dialer, error) {
	mech, err := c.Mechanism()
	if err != nil {
		return nil, err
	}
	return &kafka.Dialer{
		ClientID:      c.clientID(),
		Timeout:       c.dialTimeout(),
		DualStack:     true,
		KeepAlive:     30 * time.Second,
		TLS:           c.TLS,
		SASLMechanism: mech,
	}, nil
}

// Addr returns the bootstrap addresses as a net.Addr.
func (c Config) Addr() net.Addr { return kafka.TCP(c.Brokers...) }
