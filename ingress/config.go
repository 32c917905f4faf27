package ingress

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/engage-bridge/engage-bridge/internal/payloadcrypto"
	"github.com/engage-bridge/engage-bridge/router"
)

// DefaultEndpoint names the one endpoint of the single-endpoint
// configuration (Path, SigningSecrets, EncryptionKey).
const DefaultEndpoint = "default"

// Endpoint is one Engage environment served on its own path: a delivery
// there is verified with its secrets only, decrypted with its key, checked
// against its tenants and routed by its table. Its secrets and key print as
// redacted.
type Endpoint struct {
	Name    string
	Path    string
	Secrets []Secret
	// Key nil: encrypted deliveries are dead-lettered no_encryption_key.
	Key *payloadcrypto.Key
	// Tenants, when not empty, are the envelope tenants accepted; another
	// or none is dead-lettered tenant_mismatch.
	Tenants []string
	// Routes nil means Deps.Routes.
	Routes *router.Table
}

// Config configures the webhook listener. The zero value of a field means
// its documented default, except SigningSecrets, which are required unless
// Endpoints is set.
type Config struct {
	// Endpoints, when set, are the endpoints served, each on its own path;
	// Path, SigningSecrets and EncryptionKey must then be empty. Unset: one
	// endpoint named DefaultEndpoint made of those three.
	Endpoints []Endpoint
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
	if c.Path == "" && len(c.Endpoints) == 0 {
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

// Validate reports every problem at once, each a *FieldError. Messages
// never quote a secret.
func (c Config) Validate() error {
	var errs []error
	add := func(field string, err error) { errs = append(errs, &FieldError{Field: field, Err: err}) }
	if c.Path != "" {
		if err := ValidPath(c.Path); err != nil {
			add("Path", err)
		}
	}
	if c.MaxBodyBytes < 0 {
		add("MaxBodyBytes", errors.New("must be positive"))
	}
	switch {
	case len(c.Endpoints) > 0:
		if c.Path != "" || len(c.SigningSecrets) > 0 || c.EncryptionKey != nil {
			add("Endpoints", errors.New("path, signing secrets and encryption key must be empty when endpoints are set"))
		}
		paths, names := map[string]bool{}, map[string]bool{}
		for i, e := range c.Endpoints {
			switch {
			case e.Name == "" || names[e.Name]:
				add("Endpoints", fmt.Errorf("endpoint %d: name empty or repeated", i+1))
			case ValidPath(e.Path) != nil:
				add("Endpoints", fmt.Errorf("endpoint %s: path: %w", e.Name, ValidPath(e.Path)))
			case paths[e.Path]:
				add("Endpoints", fmt.Errorf("endpoint %s: path must be unique", e.Name))
			case len(e.Secrets) == 0:
				add("Endpoints", fmt.Errorf("endpoint %s: %w: signing secrets", e.Name, ErrRequired))
			}
			names[e.Name], paths[e.Path] = true, true
		}
	case len(c.SigningSecrets) == 0:
		add("SigningSecrets", fmt.Errorf("%w: the whsec_ signing secret from the Svix portal", ErrRequired))
	default:
		if err := ValidateSecrets(c.SigningSecrets); err != nil {
			add("SigningSecrets", err)
		}
	}
	if c.Tolerance < 0 {
		add("Tolerance", errors.New("must be positive"))
	}
	if c.AuthHeader != "" && !isHeaderName(c.AuthHeader) {
		add("AuthHeader", fmt.Errorf("%q is not an HTTP header name (letters, digits and !#$%%&'*+-.^_`|~)", c.AuthHeader))
	}
	if lower := strings.ToLower(c.AuthHeader); strings.HasPrefix(lower, "svix-") || strings.HasPrefix(lower, "webhook-") {
		add("AuthHeader", fmt.Errorf("%q is one of Svix's own headers; choose another name (for example X-Engage-Token)", c.AuthHeader))
	}
	switch {
	case c.AuthHeader != "" && c.AuthToken == "":
		add("AuthToken", fmt.Errorf("%w when AuthHeader is set", ErrRequired))
	case c.AuthHeader == "" && c.AuthToken != "":
		add("AuthHeader", fmt.Errorf("%w when AuthToken is set", ErrRequired))
	}
	if err := ValidatePublishTimeout(c.PublishTimeout); err != nil {
		add("PublishTimeout", err)
	}
	if c.MaxInFlight < 0 {
		add("MaxInFlight", errors.New("must be positive"))
	}
	if c.RetryAfter < 0 {
		add("RetryAfter", errors.New("must be positive"))
	}
	return errors.Join(errs...)
}

// pathChars are the characters of a path segment: RFC 3986 unreserved
// (letters, digits, -._~) and sub-delims without "*" (!$&'()+,;=). ":"
// and "*" are left out because Echo's router reads them as a parameter and
// a wildcard: two such paths could be one route, served with one
// endpoint's secrets (docs/contract.md#configuration).
const pathChars = "-._~!$&'()+,;="

// ValidPath reports whether p is "/" or one or more "/segment", each
// segment one or more of letters, digits and -._~!$&'()+,;= and not "."
// or "..". No percent-encoding, no empty segment, no trailing "/".
func ValidPath(p string) error {
	if p == "/" {
		return nil
	}
	if !strings.HasPrefix(p, "/") {
		return fmt.Errorf("%w: %q must start with /", ErrPath, p)
	}
	// A trailing slash is kept as configured (Echo matches it literally),
	// so a path that worked before this rule still does.
	for _, seg := range strings.Split(strings.TrimSuffix(p[1:], "/"), "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("%w: %q has an empty, \".\" or \"..\" segment", ErrPath, p)
		}
		for i := 0; i < len(seg); i++ {
			c := seg[i]
			if ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') || strings.IndexByte(pathChars, c) >= 0 {
				continue
			}
			return fmt.Errorf("%w: %q: segments are letters, digits and %s (no : or *)", ErrPath, p, pathChars)
		}
	}
	return nil
}

// isHeaderName reports whether s is an HTTP header field name (an RFC 9110
// token).
func isHeaderName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0 {
			continue
		}
		return false
	}
	return s != ""
}

// MaxPublishTimeout bounds PublishTimeout: Svix stops waiting for an
// answer after 15 s, so a longer wait could only end in a failure Svix has
// already counted.
const MaxPublishTimeout = 15 * time.Second

// ValidatePublishTimeout reports whether d may be a PublishTimeout: not
// negative (zero means the default) and below MaxPublishTimeout.
func ValidatePublishTimeout(d time.Duration) error {
	switch {
	case d < 0:
		return errors.New("must be positive")
	case d >= MaxPublishTimeout:
		return fmt.Errorf("must be below %s: Svix stops waiting for an answer after %s, got %s", MaxPublishTimeout, MaxPublishTimeout, d)
	}
	return nil
}
