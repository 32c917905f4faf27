package endpoints

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Test secrets and keys: distinctive, so that a leak of any piece of them
// into an error is found by substring.
const (
	secretA = "whsec_QUFBQUJCQkJDQ0NDRERERUVFRUZGRkZHR0dHSEhISA==" // 32 bytes
	secretB = "whsec_enl6eXh4eHd3d3Z2dnV1dXR0dHNzc3JycnFxcXBwcA==" // 32 bytes
	keyA    = "Qz7Kp2Xw9Lm4Vb8Nc3Jd6Hf1Gt5Ry0Ua"
	keyB    = "aU0yR5tG1fH6dJ3cN8bV4mL9wX2pK7zQ"
	// Bad values that must not leak either.
	badShortSecret = "whsec_c2hvcnRzZWNyZXQ="                       // 11 bytes
	badNoPrefix    = "QUFBQUJCQkJDQ0NDRERERUVFRUZGRkZHR0dHSEhISA==" // no whsec_
	badKey         = "Qz7Kp2Xw9Lm4Vb8Nc3Jd6Hf1Gt5Ry0U"              // 31 characters
)

const routes = `routes:
  - match: ["*"]
    topic: "engage.{eventType}"
`

// files is a fake file system for Load; a missing name reads as
// fs.ErrNotExist wrapped like os.ReadFile's.
type files map[string]string

func (f files) read(name string) ([]byte, error) {
	s, ok := f[name]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return []byte(s), nil
}

// summary is what a test compares of an Endpoint: secrets and keys are
// opaque, so they are counted and checked for presence.
type summary struct {
	Name, Path, RoutesFile string
	Secrets                int
	Key                    bool
	Tenants                []string
}

func summarize(eps []Endpoint) []summary {
	var out []summary
	for _, e := range eps {
		out = append(out, summary{Name: e.Name, Path: e.Path, RoutesFile: e.RoutesFile, Secrets: len(e.Secrets), Key: e.Key != nil, Tenants: e.Tenants})
	}
	return out
}

func TestLoad(t *testing.T) {
	t.Parallel()
	base := files{
		"/etc/bridge/secrets/se":     "# brand-se, rotated 2026-12\n" + secretA + "\n\n  " + secretB + "  \n",
		"/run/no/signing":            secretB + "\n",
		"/etc/bridge/keys/se":        keyA + "\n",
		"/etc/bridge/routes-se.yaml": routes,
	}
	tests := []struct {
		name string
		file string
		want []summary
	}{
		{
			name: "the issue's example",
			file: `endpoints:
  - name: brand-se
    path: /webhooks/engage/brand-se
    signing_secrets_file: secrets/se
    encryption_key_file: keys/se
    tenants: [brand-se]
    routes_file: routes-se.yaml
  - name: brand-no
    path: /webhooks/engage/brand-no
    signing_secrets_file: /run/no/signing
`,
			want: []summary{
				{Name: "brand-se", Path: "/webhooks/engage/brand-se", RoutesFile: "/etc/bridge/routes-se.yaml", Secrets: 2, Key: true, Tenants: []string{"brand-se"}},
				{Name: "brand-no", Path: "/webhooks/engage/brand-no", Secrets: 1},
			},
		},
		{
			name: "inline secrets and key",
			file: `endpoints:
  - name: staging-1
    path: /s
    signing_secrets: [` + secretA + `, ` + secretB + `]
    encryption_key: ` + keyB + `
    tenants:
      - a
      - b
`,
			want: []summary{{Name: "staging-1", Path: "/s", Secrets: 2, Key: true, Tenants: []string{"a", "b"}}},
		},
		{
			name: "a name of digits is a name",
			file: "endpoints:\n  - {name: \"123\", path: /x, signing_secrets: [" + secretA + "]}\n",
			want: []summary{{Name: "123", Path: "/x", Secrets: 1}},
		},
		{
			name: "an alias stands for its anchor",
			file: "endpoints:\n  - {name: a, path: /a, signing_secrets: &s [" + secretA + "]}\n  - {name: b, path: /b, signing_secrets: *s}\n",
			want: []summary{{Name: "a", Path: "/a", Secrets: 1}, {Name: "b", Path: "/b", Secrets: 1}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fsys := files{"/etc/bridge/endpoints.yaml": tt.file}
			for k, v := range base {
				fsys[k] = v
			}
			got, err := Load("/etc/bridge/endpoints.yaml", fsys.read)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if diff := cmp.Diff(tt.want, summarize(got)); diff != "" {
				t.Errorf("endpoints (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLoadErrors lists every problem as the one line it makes; values
// (secrets, keys) appear in the inputs and must not appear in any line.
func TestLoadErrors(t *testing.T) {
	t.Parallel()
	base := files{
		"/e/good":        secretA + "\n",
		"/e/short":       "# old\n" + secretA + "\n" + badShortSecret + "\n",
		"/e/noprefix":    badNoPrefix + "\n",
		"/e/empty":       "# nothing yet\n\n",
		"/e/key":         keyA,
		"/e/badkey":      badKey + "\n",
		"/e/routes.yaml": routes,
		"/e/badroutes":   "routes: []\n",
	}
	tests := []struct {
		name string
		file string
		want []string
	}{
		{
			name: "unknown keys, at both levels",
			file: `endpoints:
  - name: a
    path: /a
    signing_secrets_file: good
    signing_secret_file: good
    ` + keyA + `: x
verbose: true
`,
			want: []string{
				"verbose: unknown key (the file has one key, endpoints) (line 7)",
				"endpoint a: signing_secret_file: unknown key (known: name, path, signing_secrets_file, signing_secrets, encryption_key_file, encryption_key, tenants, routes_file) (line 5)",
				"endpoint a: a key (not shown): unknown key (known: name, path, signing_secrets_file, signing_secrets, encryption_key_file, encryption_key, tenants, routes_file) (line 6)",
			},
		},
		{
			name: "duplicate names and paths",
			file: `endpoints:
  - {name: a, path: /x, signing_secrets_file: good}
  - {name: a, path: /y, signing_secrets_file: good}
  - {name: b, path: /x, signing_secrets_file: good}
`,
			want: []string{
				"endpoint a: name: duplicate: another endpoint has this name (line 3)",
				"endpoint b: path: duplicate: endpoint a has the same path (line 4)",
			},
		},
		{
			name: "a key given twice",
			file: "endpoints:\n  - {name: a, path: /x, path: /y, signing_secrets_file: good}\n",
			want: []string{"endpoint a: path: duplicate: given twice (line 2)"},
		},
		{
			name: "bad name and path, missing secrets",
			file: "endpoints:\n  - name: Brand_SE\n    path: webhooks\n  - path: /z\n    signing_secrets: [" + secretA + "]\n",
			want: []string{
				"endpoint 1: name: must be 1 to 40 of a-z, 0-9 and - (line 2)",
				`endpoint 1: path: not a webhook path: "webhooks" must start with / (line 3)`,
				"endpoint 1: signing_secrets_file: required: signing_secrets_file or signing_secrets (line 2)",
				"endpoint 2: name: required: [a-z0-9-], 1 to 40 characters (line 4)",
			},
		},
		{
			name: "a name of 41 characters",
			file: "endpoints:\n  - {name: " + strings.Repeat("a", 41) + ", path: /x, signing_secrets_file: good}\n",
			want: []string{"endpoint 1: name: must be 1 to 40 of a-z, 0-9 and - (line 2)"},
		},
		{
			name: "both secret sources, both key sources",
			file: `endpoints:
  - name: a
    path: /a
    signing_secrets_file: good
    signing_secrets: [` + secretB + `]
    encryption_key_file: key
    encryption_key: ` + keyB + `
`,
			want: []string{
				"endpoint a: signing_secrets: set signing_secrets_file or signing_secrets, not both (line 5)",
				"endpoint a: encryption_key: set encryption_key_file or encryption_key, not both (line 7)",
			},
		},
		{
			name: "missing and unreadable files",
			file: `endpoints:
  - name: a
    path: /a
    signing_secrets_file: nope
    encryption_key_file: /nokey
    routes_file: noroutes.yaml
`,
			want: []string{
				"endpoint a: signing_secrets_file: cannot read the file: file does not exist (line 4)",
				"endpoint a: encryption_key_file: cannot read the file: file does not exist (line 5)",
				"endpoint a: routes_file: cannot read /e/noroutes.yaml: file does not exist (line 6)",
			},
		},
		{
			name: "bad secrets in files",
			file: `endpoints:
  - {name: a, path: /a, signing_secrets_file: short}
  - {name: b, path: /b, signing_secrets_file: noprefix}
  - {name: c, path: /c, signing_secrets_file: empty}
`,
			want: []string{
				"endpoint a: signing_secrets_file: signing secret 2 of 2 is shorter than 24 bytes after base64 decoding (Svix's secrets have 24 or 32) (line 2)",
				"endpoint b: signing_secrets_file: signing secret 1 of 1 does not start with whsec_ (line 3)",
				"endpoint c: signing_secrets_file: at least one signing secret is required (line 4)",
			},
		},
		{
			name: "bad inline secrets, each problem on the one line",
			file: "endpoints:\n  - name: a\n    path: /a\n    signing_secrets: [" + badNoPrefix + ", " + secretA + ", " + badShortSecret + "]\n",
			want: []string{
				"endpoint a: signing_secrets: signing secret 1 of 3 does not start with whsec_; signing secret 3 of 3 is shorter than 24 bytes after base64 decoding (Svix's secrets have 24 or 32) (line 4)",
			},
		},
		{
			name: "secrets of the wrong shape",
			file: "endpoints:\n  - {name: a, path: /a, signing_secrets: " + secretA + "}\n  - {name: b, path: /b, signing_secrets: [[" + secretA + "]]}\n",
			want: []string{
				"endpoint a: signing_secrets: must be a list of whsec_ secrets (line 2)",
				"endpoint b: signing_secrets: entry 1 must be a string (line 3)",
			},
		},
		{
			name: "bad keys",
			file: `endpoints:
  - {name: a, path: /a, signing_secrets_file: good, encryption_key_file: badkey}
  - {name: b, path: /b, signing_secrets_file: good, encryption_key: ` + badKey + `}
  - {name: c, path: /c, signing_secrets_file: good, encryption_key: [` + keyA + `]}
  - {name: d, path: /d, signing_secrets_file: good, encryption_key: 12345678901234567890123456789012345}
`,
			want: []string{
				"endpoint a: encryption_key_file: must be exactly 32 single-byte characters, got 31 characters in 31 bytes (line 2)",
				"endpoint b: encryption_key: must be exactly 32 single-byte characters, got 31 characters in 31 bytes (line 3)",
				"endpoint c: encryption_key: must be a non-empty string (line 4)",
				"endpoint d: encryption_key: must be exactly 32 single-byte characters, got 35 characters in 35 bytes (line 5)",
			},
		},
		{
			name: "bad tenants and routes",
			file: `endpoints:
  - {name: a, path: /a, signing_secrets_file: good, tenants: []}
  - {name: b, path: /b, signing_secrets_file: good, tenants: [x, x]}
  - {name: c, path: /c, signing_secrets_file: good, tenants: brand}
  - {name: d, path: /d, signing_secrets_file: good, tenants: [x, ""]}
  - {name: e, path: /e, signing_secrets_file: good, routes_file: badroutes}
`,
			want: []string{
				"endpoint a: tenants: must be a non-empty list of tenant names, or left out to accept any tenant (line 2)",
				"endpoint b: tenants: duplicate: entry 2 repeats an earlier one (line 3)",
				"endpoint c: tenants: must be a non-empty list of tenant names, or left out to accept any tenant (line 4)",
				"endpoint d: tenants: entry 2 must be a non-empty string (line 5)",
				"endpoint e: routes_file: badroutes: line 1: no routes: the file needs a non-empty routes list (line 6)",
			},
		},
		{
			name: "empty file",
			file: "",
			want: []string{"endpoints: required: the file is empty"},
		},
		{
			name: "no endpoints",
			file: "endpoints: []\n",
			want: []string{"endpoints: required: at least one endpoint (line 1)"},
		},
		{
			name: "endpoints not a list",
			file: "endpoints: {name: a}\n",
			want: []string{"endpoints: must be a list of endpoints (line 1)"},
		},
		{
			name: "a list, not a mapping",
			file: "- " + secretA + "\n",
			want: []string{"the file must be a mapping with one key, endpoints (line 1)"},
		},
		{
			name: "an endpoint that is not a mapping",
			file: "endpoints:\n  - " + secretA + "\n",
			want: []string{"endpoint 1: must be a mapping with name, path and signing secrets (line 2)"},
		},
		{
			name: "an alias to an unknown anchor",
			file: "endpoints:\n  - {name: a, path: /a, signing_secrets_file: good, encryption_key: *" + keyA + "}\n",
			want: []string{"not YAML: yaml: unknown anchor '…' referenced"},
		},
		{
			name: "not YAML",
			file: "endpoints:\n  - name: a\n   path: " + secretA + "\n\t" + keyA + "\n",
			want: []string{"not YAML: yaml: line 1: did not find expected '-' indicator"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fsys := files{"/e/endpoints.yaml": tt.file}
			for k, v := range base {
				fsys[k] = v
			}
			eps, err := Load("/e/endpoints.yaml", fsys.read)
			if err == nil {
				t.Fatalf("Load succeeded with %d endpoints, want errors", len(eps))
			}
			if eps != nil {
				t.Errorf("Load returned endpoints with an error: %v", summarize(eps))
			}
			got := strings.Split(err.Error(), "\n")
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("error lines (-want +got):\n%s", diff)
			}
			assertNoValue(t, err.Error())
			var e *Error
			if !errors.As(err, &e) {
				t.Errorf("%v is not an *Error", err)
			}
		})
	}
}

// assertNoValue fails if text holds any 6-character piece of a secret's
// base64 or of a key used in these tests.
func assertNoValue(t *testing.T, text string) {
	t.Helper()
	for _, v := range []string{secretA, secretB, keyA, keyB, badShortSecret, badNoPrefix, badKey} {
		v = strings.TrimPrefix(v, "whsec_")
		for i := 0; i+6 <= len(v); i++ {
			if piece := v[i : i+6]; strings.Contains(text, piece) {
				t.Errorf("the error holds %q, a piece of a secret or key:\n%s", piece, text)
				return
			}
		}
	}
}

func TestLoadErrorSentinels(t *testing.T) {
	t.Parallel()
	fsys := files{"/e/x.yaml": "endpoints:\n  - {name: a, path: /a, signing_secrets_file: gone, colour: red}\n  - {name: a, path: /b}\n"}
	_, err := Load("/e/x.yaml", fsys.read)
	for _, want := range []error{ErrUnknownKey, ErrRead, ErrDuplicate, ErrRequired, fs.ErrNotExist} {
		if !errors.Is(err, want) {
			t.Errorf("errors.Is(%v, %v) = false", err, want)
		}
	}
	if _, err := Load("/e/missing.yaml", fsys.read); !errors.Is(err, ErrRead) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing endpoints file: %v, want ErrRead and fs.ErrNotExist", err)
	}
}

// TestLoadFromDisk reads real files: relative paths are relative to the
// endpoints file, not to the working directory.
func TestLoadFromDisk(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("secrets/se", secretA+"\n")
	write("key", keyA+"\n")
	write("routes.yaml", routes)
	write("conf/endpoints.yaml", "endpoints:\n  - {name: se, path: /se, signing_secrets_file: ../secrets/se, encryption_key_file: ../key, routes_file: ../routes.yaml}\n")
	got, err := Load(filepath.Join(dir, "conf/endpoints.yaml"), os.ReadFile)
	if err != nil {
		t.Fatal(err)
	}
	want := []summary{{Name: "se", Path: "/se", RoutesFile: filepath.Join(dir, "routes.yaml"), Secrets: 1, Key: true}}
	if diff := cmp.Diff(want, summarize(got)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	if err := os.Chmod(filepath.Join(dir, "key"), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := os.ReadFile(filepath.Join(dir, "key")); err == nil {
		t.Skip("running as root: an unreadable file is still readable")
	}
	_, err = Load(filepath.Join(dir, "conf/endpoints.yaml"), os.ReadFile)
	if want := "endpoint se: encryption_key_file: cannot read the file: permission denied (line 2)"; err == nil || err.Error() != want {
		t.Errorf("unreadable key file: %v, want %s", err, want)
	}
}

// TestEndpointPrintsRedacted: an Endpoint in a log line shows no secret.
func TestEndpointPrintsRedacted(t *testing.T) {
	t.Parallel()
	fsys := files{"/e.yaml": "endpoints:\n  - {name: a, path: /a, signing_secrets: [" + secretA + ", " + secretB + "], encryption_key: " + keyA + "}\n"}
	eps, err := Load("/e.yaml", fsys.read)
	if err != nil {
		t.Fatal(err)
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x"} {
		assertNoValue(t, fmt.Sprintf(verb, eps))
		assertNoValue(t, fmt.Sprintf(verb, *eps[0].Key))
	}
}

func TestSingle(t *testing.T) {
	t.Parallel()
	fsys := files{"/e.yaml": "endpoints:\n  - {name: a, path: /a, signing_secrets: [" + secretA + "], encryption_key: " + keyA + "}\n"}
	eps, err := Load("/e.yaml", fsys.read)
	if err != nil {
		t.Fatal(err)
	}
	got := summarize([]Endpoint{Single("/webhooks/engage", eps[0].Secrets, eps[0].Key)})
	want := []summary{{Name: "default", Path: "/webhooks/engage", Secrets: 1, Key: true}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
