package ingress

import (
	"errors"
	"testing"
)

// TestValidPath holds the webhook-path rule: literal segments only, since
// Echo would read ":" as a parameter and "*" as a wildcard (review 16), and
// a trailing slash kept as before the rule.
func TestValidPath(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		path string
		ok   bool
	}{
		{"/", true},
		{"/webhooks/engage", true},
		{"/webhooks/engage/", true},
		{"/webhooks/engage-brand_se.v2~x", true},
		{"webhooks", false},
		{"/hooks/:id", false},
		{"/hooks/*", false},
		{"/hooks//x", false},
		{"//", false},
		{"/hooks/../x", false},
		{"/hooks/%61", false},
	} {
		err := ValidPath(tc.path)
		if (err == nil) != tc.ok {
			t.Errorf("ValidPath(%q) = %v, want ok=%v", tc.path, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrPath) {
			t.Errorf("ValidPath(%q) = %v, not ErrPath", tc.path, err)
		}
	}
}
