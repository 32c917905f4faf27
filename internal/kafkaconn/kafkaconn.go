// Package kafkaconn turns the bridge's Kafka connection settings (brokers,
// client id, TLS, SASL) into kafka-go transports and dialers, so that the
// publisher and the operator commands connect the same way.
package kafkaconn

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
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

// FieldError is a problem with one field of a Config, named as the Config
// names it: Brokers, ClientID, SASL.Mechanism, SASL.Username,
// SASL.Password, TLS.CAFile, TLS.CertFile, TLS.KeyFile. Its message may
// name other fields the same way, so that a command can rename each to the
// variable or flag that sets it. No message quotes a password, and none
// holds a library's error text that could.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }

func (e *FieldError) Unwrap() error { return e.Err }

// ErrRequired is a field that must be set (alone or given another field).
var ErrRequired = errors.New("required")

// ErrPair is two fields of which one is set without the other.
var ErrPair = errors.New("must be set together")

// ErrSASLprep is a SCRAM username or password that SASLprep (RFC 4013)
// rejects, for example one holding a control character: no SCRAM exchange
// can use it. The library's own message is dropped, because older
// versions quoted the password in it.
var ErrSASLprep = errors.New("SASLprep rejects it (for example a control character), so SCRAM cannot use it")

// Validate reports every problem at once, each a *FieldError.
func (c Config) Validate() error {
	var errs []error
	add := func(field string, err error) { errs = append(errs, &FieldError{Field: field, Err: err}) }
	if len(c.Brokers) == 0 {
		add("Brokers", fmt.Errorf("%w (comma-separated host:port)", ErrRequired))
	}
	for _, b := range c.Brokers {
		if _, port, err := net.SplitHostPort(b); err != nil || port == "" {
			add("Brokers", fmt.Errorf("%q is not host:port", b))
		}
	}
	if len(c.ClientID) > 255 || strings.ContainsFunc(c.ClientID, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		add("ClientID", errors.New("must be at most 255 characters without control characters"))
	}
	switch c.SASL.Mechanism {
	case "":
		if c.SASL.Username != "" || c.SASL.Password != "" {
			add("SASL.Mechanism", fmt.Errorf("%w when a Kafka username or password is set (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)", ErrRequired))
		}
	case MechanismPlain, MechanismScramSHA256, MechanismScramSHA512:
		if c.SASL.Username == "" {
			add("SASL.Username", fmt.Errorf("%w with SASL.Mechanism", ErrRequired))
		}
		if c.SASL.Password == "" {
			add("SASL.Password", fmt.Errorf("%w with SASL.Mechanism", ErrRequired))
		}
		if c.SASL.Username != "" && c.SASL.Password != "" {
			if _, err := c.Mechanism(); err != nil {
				errs = append(errs, err)
			}
		}
	default:
		add("SASL.Mechanism", fmt.Errorf("%q is not PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", c.SASL.Mechanism))
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
// An error is a *FieldError of our own text: the SCRAM library's message
// is never passed on, since xdg-go/scram before v1.3.0 quoted the password.
func (c Config) Mechanism() (sasl.Mechanism, error) {
	var algo scram.Algorithm
	switch c.SASL.Mechanism {
	case "":
		return nil, nil
	case MechanismPlain:
		return plain.Mechanism{Username: c.SASL.Username, Password: c.SASL.Password}, nil
	case MechanismScramSHA256:
		algo = scram.SHA256
	case MechanismScramSHA512:
		algo = scram.SHA512
	default:
		return nil, &FieldError{Field: "SASL.Mechanism", Err: fmt.Errorf("%q is not PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", c.SASL.Mechanism)}
	}
	mech, err := scram.Mechanism(algo, c.SASL.Username, c.SASL.Password)
	if err == nil {
		return mech, nil
	}
	// Which of the two SASLprep refused: try the username with a password
	// SASLprep accepts.
	if _, userErr := scram.Mechanism(algo, c.SASL.Username, "password"); userErr != nil {
		return nil, &FieldError{Field: "SASL.Username", Err: ErrSASLprep}
	}
	return nil, &FieldError{Field: "SASL.Password", Err: ErrSASLprep}
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
