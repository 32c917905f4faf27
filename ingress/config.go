package ingress

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/engage-bridge/engage-bridge/internal/payloadcrypto"
)

// Config configures the webhook listener. The zero value of a field means
// its documented default, except SigningSecrets, which are required.
type Config struct {
	// Path is the one POST path. Default "/webhooks/engage".
	Path string
	// MaxBodyBytes bounds a body; larger ones get 413. Default 1 MiB, the
	// most hosted Svix sends.
	MaxBodyBytes int64
	// SigningSecrets are whsec_ secrets; a delivery signed with any of them
	// is accepted, so a secret can be rotated without downtime. Required.
	SigningSecrets []string
	// Tolerance is the accepted clock difference of svix-timestamp, past
	// and future. Default 5m.
	Tolerance time.Duration
	// EncryptionKey decrypts encrypted payloads. Nil: encrypted deliveries
	// are dead-lettered as no_encryption_key, to be redriven once a key is
	// configured.
	EncryptionKey *payloadcrypto.Key
	// AllowedIPs, when not empty, is the only source addresses accepted
	// (403 otherwise). Default off.
	AllowedIPs []netip.Prefix
	// TrustedProxies are the peers whose X-Forwarded-For is believed.
	// Default none: the TCP peer address is the client.
	TrustedProxies []netip.Prefix
	// AuthHeader and AuthToken, when set, require the header to carry the
	// token (401 otherwise). Default off.
	AuthHeader string
	AuthToken  string
	// PublishTimeout is the longest wait for Kafka's acknowledgement before
	// answering 503. Default 8s: Svix gives up after 15s.
	PublishTimeout time.Duration
	// MaxInFlight bounds concurrent webhook requests; beyond it 429.
	// Default 1024.
	MaxInFlight int
	// RetryAfter is the Retry-After of 429 and 503 answers. Default 5s,
	// Svix's first retry delay.
	RetryAfter time.Duration
}

func (c Config) withDefaults() Config {
	if c.Path == "" {
		c.Path = "/webhooks/engage"
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = 1 << 20
	}
	if c.Tolerance == 0 {
		c.Tolerance = 5 * time.Minute
	}
	if c.PublishTimeout == 0 {
		c.PublishTimeout = 8 * time.Second
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = 1024
	}
	if c.RetryAfter == 0 {
		c.RetryAfter = 5 * time.Second
	}
	return c
}

// Validate reports every problem at once. Messages never quote a secret.
func (c Config) Validate() error {
	var errs []error
	if c.Path != "" && !strings.HasPrefix(c.Path, "/") {
		errs = append(errs, fmt.Errorf("path %q must start with /", c.Path))
	}
	if c.MaxBodyBytes < 0 {
		errs = append(errs, errors.New("max body bytes must be positive"))
	}
	if err := ValidateSecrets(c.SigningSecrets); err != nil {
		errs = append(errs, err)
	}
	if c.Tolerance < 0 {
		errs = append(errs, errors.New("timestamp tolerance must be positive"))
	}
	if (c.AuthHeader == "") != (c.AuthToken == "") {
		errs = append(errs, errors.New("auth header and auth token must be set together"))
	}
	if c.PublishTimeout < 0 {
		errs = append(errs, errors.New("publish timeout must be positive"))
	}
	if c.MaxInFlight < 0 {
		errs = append(errs, errors.New("max in flight must be positive"))
	}
	if c.RetryAfter < 0 {
		errs = append(errs, errors.New("retry after must be positive"))
	}
	return errors.Join(errs...)
}
