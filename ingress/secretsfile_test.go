package ingress

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSecretLines(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, text string
		want       []string
	}{
		{"empty", "", nil},
		{"one, no newline", "whsec_a", []string{"whsec_a"}},
		{"comments, blanks and CRLF", "# rotated 2026-12\r\n\r\n  whsec_a  \r\n#whsec_old\nwhsec_b\n", []string{"whsec_a", "whsec_b"}},
		{"only comments", "# none yet\n\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, SecretLines(tt.text)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
