package routesfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/engage-bridge/engage-bridge/router"
)

// The example of docs/contract.md#routing.
const specExample = `routes:
  - match: ["contact.*"]
    topic: engage.contact
  - match: ["*"]
    topic: "engage.{eventType}"   # one topic per event type
fallback: engage.unrouted
deadletter: engage.deadletter
`

func TestSpecExample(t *testing.T) {
	t.Parallel()
	cfg, err := Parse([]byte(specExample))
	if err != nil {
		t.Fatal(err)
	}
	want := router.Config{
		Routes: []router.Route{
			{Match: []string{"contact.*"}, Topic: "engage.contact", Line: 2},
			{Match: []string{"*"}, Topic: "engage.{eventType}", Line: 4},
		},
		Fallback: "engage.unrouted", FallbackLine: 6,
		DeadLetter: "engage.deadletter", DeadLetterLine: 7,
	}
	if diff := cmp.Diff(want, cfg); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	tb, err := router.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for et, topic := range map[string]string{"contact.created": "engage.contact", "point.balance.updated": "engage.point.balance.updated"} {
		if got, ok := tb.Topic(et, "t"); !ok || got != topic {
			t.Errorf("%s -> %s, want %s", et, got, topic)
		}
	}
}

func TestSingleStringMatchAndDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := Parse([]byte("routes:\n  - match: loyalty.*\n    topic: loyalty\n"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"loyalty.*"}, cfg.Routes[0].Match); diff != "" {
		t.Error(diff)
	}
	tb, err := router.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if tb.DeadLetter() != "engage.deadletter" {
		t.Errorf("default dead-letter topic: %s", tb.DeadLetter())
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file, want string
	}{
		{"empty", "", "empty"},
		{"only a comment", "# nothing\n", "empty"},
		{"no routes", "fallback: x\n", "line 1: no routes"},
		{"empty routes", "routes: []\n", "no routes"},
		{"unknown top-level key", "routes:\n  - match: a\n    topic: b\nfallbak: x\n", `line 4: unknown field "fallbak"`},
		{"unknown route key", "routes:\n  - match: a\n    topc: b\n", `line 3: unknown field "topc"`},
		{"missing topic", "routes:\n  - match: a\n", "line 2: the route has no topic"},
		{"missing match", "routes:\n  - topic: a\n", "line 2: the route has no match"},
		{"routes not a list", "routes: contact\n", "line 1: routes must be a list"},
		{"topic a number", "routes:\n  - match: a\n    topic: 42\n", "line 3: topic must be a string"},
		{"match a mapping", "routes:\n  - match: {a: b}\n    topic: x\n", "line 2: match must be"},
		{"duplicate key", "routes:\n  - match: a\n    topic: b\nfallback: x\nfallback: y\n", `line 5: "fallback" is given twice (first on line 4)`},
		{"bad yaml", "routes:\n  - match: [a\n    topic: b\n", "line"},
		{"tabs", "routes:\n\t- match: a\n", "line"},
		{"not a mapping", "- a\n- b\n", "line 1: the file must be a mapping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.file))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestRouterErrorsNameTheLine: an illegal topic in a valid file is
// reported by router.New with the file's line.
func TestRouterErrorsNameTheLine(t *testing.T) {
	t.Parallel()
	cfg, err := Parse([]byte("routes:\n  - match: a\n    topic: ok\n  - match: b\n    topic: not ok\ndeadletter: \"dead letters\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = router.New(cfg)
	if err == nil || !strings.Contains(err.Error(), "line 4: route 2") || !strings.Contains(err.Error(), "line 6: deadletter") {
		t.Fatalf("router.New error: %v", err)
	}
}

func TestLoad(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "routes.yaml")
	if err := os.WriteFile(p, []byte(specExample), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(p); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml")); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("missing file: %v", err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	_ = os.WriteFile(bad, []byte("routes:\n  - match: a\n    topc: b\n"), 0o600)
	if _, err := Load(bad); err == nil || !strings.HasPrefix(err.Error(), "bad.yaml: line 3:") {
		t.Errorf("bad file: %v", err)
	}
}

// FuzzParse: no input makes Parse (or router.New after it) panic.
func FuzzParse(f *testing.F) {
	f.Add([]byte(specExample))
	f.Add([]byte("routes:\n  - match: a\n    topic: b\n"))
	f.Add([]byte("{routes: [{match: [a, '*'], topic: '{tenant}'}]}"))
	f.Add([]byte("&a [*a]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data)
		if err != nil {
			return
		}
		_, _ = router.New(cfg)
	})
}
