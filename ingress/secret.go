package ingress

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	svix "github.com/svix/svix-webhooks/go"
)

// MinSecretBytes is the shortest signing key accepted: Svix's own secrets
// are 24 or 32 bytes, so anything shorter is a typo or a placeholder.
const MinSecretBytes = 24

// secretPrefix starts every Svix endpoint secret.
const secretPrefix = "whsec_"

// Secret is a parsed Svix signing secret: the HMAC-SHA256 key. It prints
// as redacted, so a Config or Secret in a log line shows no key.
type Secret struct {
	key []byte
}

func (Secret) String() string   { return "ingress.Secret(redacted)" }
func (Secret) GoString() string { return "ingress.Secret(redacted)" }

// Format keeps the key out of every fmt verb (%x, %v, %+v included).
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(s.String())) }

// ParseSecret accepts an endpoint secret as the Svix portal shows it:
// whsec_ followed by standard base64 of at least MinSecretBytes bytes. The
// error is one of the ErrSecret* sentinels and never quotes the input.
func ParseSecret(s string) (Secret, error) {
	rest, ok := strings.CutPrefix(s, secretPrefix)
	if !ok {
		return Secret{}, ErrSecretPrefix
	}
	key, err := base64.StdEncoding.DecodeString(rest)
	switch {
	case err != nil:
		return Secret{}, ErrSecretEncoding
	case len(key) < MinSecretBytes:
		return Secret{}, ErrSecretShort
	}
	// The svix library stays the oracle of what a secret is; its error
	// may quote the input, so it is not wrapped.
	if _, err := svix.NewWebhook(s); err != nil {
		return Secret{}, ErrSecretEncoding
	}
	return Secret{key: key}, nil
}

// ParseSecrets parses every secret of a rotation list and reports each bad
// one as a *SecretError naming its position.
func ParseSecrets(secrets []string) ([]Secret, error) {
	if len(secrets) == 0 {
		return nil, errors.New("at least one signing secret is required")
	}
	out := make([]Secret, 0, len(secrets))
	var errs []error
	for i, s := range secrets {
		sec, err := ParseSecret(s)
		if err != nil {
			errs = append(errs, &SecretError{Index: i + 1, Count: len(secrets), Err: err})
			continue
		}
		out = append(out, sec)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// ValidateSecrets reports what ParseSecrets would, for callers that keep
// the secrets as text (Config.SigningSecrets).
func ValidateSecrets(secrets []string) error {
	_, err := ParseSecrets(secrets)
	return err
}
