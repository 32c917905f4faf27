package ingress

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestConfigValidate: each rule of Config is checked here, where it lives,
// and reported as a *FieldError naming the field (commands rename fields
// to their variables).
func TestConfigValidate(t *testing.T) {
	good := Config{SigningSecrets: []string{vectorSecret}}
	with := func(f func(*Config)) Config { c := good; f(&c); return c }
	tests := []struct {
		name string
		cfg  Config
		want []string // "Field: message" of each problem
	}{
		{"good", good, nil},
		{"defaults of every other field", Config{SigningSecrets: []string{vectorSecret, rotatedSecret}}, nil},
		{"path", with(func(c *Config) { c.Path = "hooks" }), []string{`Path: not a webhook path: "hooks" must start with /`}},
		{"no secret", with(func(c *Config) { c.SigningSecrets = nil }), []string{"SigningSecrets: required: the whsec_ signing secret from the Svix portal"}},
		{"short secret", with(func(c *Config) { c.SigningSecrets = []string{vectorSecret, "whsec_bm9wZQ=="} }),
			[]string{"SigningSecrets: signing secret 2 of 2 is shorter than 24 bytes after base64 decoding (Svix's secrets have 24 or 32)"}},
		{"auth header and token", with(func(c *Config) { c.AuthHeader, c.AuthToken = "X-Engage-Token", "tok" }), nil},
		{"auth header not a token", with(func(c *Config) { c.AuthHeader, c.AuthToken = "X Engage", "tok" }),
			[]string{`AuthHeader: "X Engage" is not an HTTP header name (letters, digits and !#$%&'*+-.^_` + "`" + `|~)`}},
		{"auth header of Svix", with(func(c *Config) { c.AuthHeader, c.AuthToken = "webhook-token", "tok" }),
			[]string{`AuthHeader: "webhook-token" is one of Svix's own headers; choose another name (for example X-Engage-Token)`}},
		{"auth header alone", with(func(c *Config) { c.AuthHeader = "X-Engage-Token" }), []string{"AuthToken: required when AuthHeader is set"}},
		{"auth token alone", with(func(c *Config) { c.AuthToken = "tok" }), []string{"AuthHeader: required when AuthToken is set"}},
		{"negative numbers", with(func(c *Config) {
			c.MaxBodyBytes, c.Tolerance, c.PublishTimeout, c.MaxInFlight, c.RetryAfter = -1, -1, -1, -1, -1
		}), []string{"MaxBodyBytes: must be positive", "Tolerance: must be positive", "PublishTimeout: must be positive", "MaxInFlight: must be positive", "RetryAfter: must be positive"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			if err := tt.cfg.Validate(); err != nil {
				for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
					var fe *FieldError
					if !errors.As(e, &fe) {
						t.Errorf("%v is not a *FieldError", e)
					}
					got = append(got, e.Error())
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

// TestValidatePublishTimeout: the rule cmd used to hold itself now lives
// with the Config it bounds.
func TestValidatePublishTimeout(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		d  time.Duration
		ok bool
	}{{0, true}, {8 * time.Second, true}, {14999 * time.Millisecond, true}, {15 * time.Second, false}, {-time.Second, false}} {
		if err := ValidatePublishTimeout(tc.d); (err == nil) != tc.ok {
			t.Errorf("ValidatePublishTimeout(%s) = %v, want ok=%v", tc.d, err, tc.ok)
		}
	}
}
