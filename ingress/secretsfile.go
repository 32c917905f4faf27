package ingress

import "strings"

// SecretLines splits a signing-secrets file (BRIDGE_SIGNING_SECRETS_FILE,
// an endpoint's signing_secrets_file: often a Kubernetes Secret mount)
// into its entries: one secret a line, surrounding blanks trimmed, blank
// lines and # comments skipped. Pass the result to ParseSecrets.
func SecretLines(text string) []string {
	var out []string
	for line := range strings.SplitSeq(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, line)
	}
	return out
}

// ParseSecretsFile parses the contents of a signing-secrets file. Its
// errors are ParseSecrets': by position, never by value.
func ParseSecretsFile(data []byte) ([]Secret, error) {
	return ParseSecrets(SecretLines(string(data)))
}
