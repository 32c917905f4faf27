package endpoints

import (
	"strings"
	"testing"
)

// FuzzLoad feeds arbitrary endpoints files to Load, with the files they
// may name held in memory. Load must not panic; what it accepts must be
// valid; no error may hold a piece of a secret or key read from a file.
func FuzzLoad(f *testing.F) {
	fsys := files{
		"/e/secrets":     "# comment\n" + secretA + "\n" + secretB + "\n",
		"/e/bad-secrets": badShortSecret + "\n" + badNoPrefix + "\n",
		"/e/key":         keyA + "\n",
		"/e/bad-key":     badKey,
		"/e/routes.yaml": routes,
	}
	for _, seed := range []string{
		"endpoints:\n  - name: brand-se\n    path: /webhooks/engage/brand-se\n    signing_secrets_file: secrets\n    encryption_key_file: key\n    tenants: [brand-se]\n    routes_file: routes.yaml\n  - name: brand-no\n    path: /webhooks/engage/brand-no\n    signing_secrets_file: /e/secrets\n",
		"endpoints:\n  - {name: a, path: /a, signing_secrets_file: bad-secrets, encryption_key_file: bad-key}\n",
		"endpoints:\n  - {name: a, path: /a, signing_secrets: [" + secretA + "], encryption_key: " + keyB + "}\n  - {name: a, path: /a}\n",
		"endpoints:\n  - {name: a, path: /a, signing_secrets: &s [" + secretA + "]}\n  - {name: b, path: /b, signing_secrets: *s}\n",
		"endpoints: [1, [2], {x: y}]\nother: 1\n",
		"",
		"endpoints:\n  - &a {name: a, path: /a, tenants: *a}\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, file string) {
		read := func(name string) ([]byte, error) {
			if name == "/e/endpoints.yaml" {
				return []byte(file), nil
			}
			return fsys.read(name)
		}
		eps, err := Load("/e/endpoints.yaml", read)
		if err != nil {
			if eps != nil {
				t.Errorf("endpoints returned with an error")
			}
			msg := err.Error()
			for _, v := range []string{secretA, secretB, keyA, badShortSecret, badNoPrefix, badKey} {
				body := strings.TrimPrefix(v, "whsec_")
				// Only values that reached Load through a file: the
				// fuzzer may write a value into the file itself.
				if strings.Contains(msg, body[:12]) && !strings.Contains(file, body[:12]) {
					t.Errorf("error holds a piece of a file's secret or key: %s", msg)
				}
			}
			return
		}
		names, paths := map[string]bool{}, map[string]bool{}
		for _, e := range eps {
			if !namePattern.MatchString(e.Name) || names[e.Name] {
				t.Errorf("accepted name %q", e.Name)
			}
			if !strings.HasPrefix(e.Path, "/") || paths[e.Path] {
				t.Errorf("accepted path %q", e.Path)
			}
			if len(e.Secrets) == 0 {
				t.Errorf("endpoint %s accepted without secrets", e.Name)
			}
			names[e.Name], paths[e.Path] = true, true
		}
	})
}
