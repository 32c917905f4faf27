package endpoints

import (
	"strings"
	"testing"
)

// An operator who puts the secret itself where its file belongs
// (signing_secrets_file: whsec_..., encryption_key_file: <key>) gets an
// error that quotes the value as a path: "never a secret's value".
func TestReview16_SecretAsFilePathNotQuoted(t *testing.T) {
	for _, tt := range []struct{ key, value string }{
		{"signing_secrets_file", secretA},
		{"encryption_key_file", keyA},
	} {
		yaml := "endpoints:\n  - name: brand-a\n    path: /a\n"
		if tt.key == "encryption_key_file" {
			yaml += "    signing_secrets: [" + secretB + "]\n"
		}
		yaml += "    " + tt.key + ": " + tt.value + "\n"
		_, err := Load("/e/endpoints.yaml", files{"/e/endpoints.yaml": yaml}.read)
		if err == nil {
			t.Fatalf("%s: no error", tt.key)
		}
		// The distinctive middle of the value, so the check does not depend
		// on how the path is joined.
		mid := tt.value[8:24]
		if strings.Contains(err.Error(), mid) {
			t.Errorf("%s: the error quotes the secret value: %s", tt.key, err)
		}
	}
}

// Paths that are distinct strings but one route to Echo (":" parameters,
// "*" wildcard) are accepted; the ingress then serves one endpoint's path
// with another's secrets (see ingress TestReview16_ParamPathsCrossVerify).
func TestReview16_RouterSyntaxPathsRejected(t *testing.T) {
	yaml := "endpoints:\n" +
		"  - name: brand-a\n    path: /hooks/:a\n    signing_secrets: [" + secretA + "]\n" +
		"  - name: brand-b\n    path: /hooks/:b\n    signing_secrets: [" + secretB + "]\n" +
		"  - name: brand-c\n    path: /other/*\n    signing_secrets: [" + secretB + "]\n"
	eps, err := Load("/e/endpoints.yaml", files{"/e/endpoints.yaml": yaml}.read)
	if err == nil {
		t.Fatalf("paths /hooks/:a, /hooks/:b (one Echo route) and /other/* (a wildcard) accepted: %+v", summarize(eps))
	}
}
