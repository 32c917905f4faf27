package endpoints

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rs/zerolog"

	"github.com/engage-bridge/engage-bridge/internal/filewatch"
	"github.com/engage-bridge/engage-bridge/internal/metrics"
)

// TestWatchedReload is how serve is meant to watch an endpoints file: one
// filewatch.Watcher over the file and every file it names, Load then
// Reconcile, the restart lines logged.
func TestWatchedReload(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "endpoints.yaml")
	write("se", secretA+"\n")
	write("endpoints.yaml", "endpoints:\n  - {name: se, path: /se, signing_secrets_file: se}\n")

	var restarts [][]string
	load := func(read filewatch.ReadFunc, running *[]Endpoint) ([]Endpoint, error) {
		loaded, err := Load(path, read)
		if err != nil || running == nil {
			return loaded, err
		}
		next, restart := Reconcile(*running, loaded)
		restarts = append(restarts, restart) // serve logs each line at warn
		return next, nil
	}
	w, err := filewatch.New(filewatch.Config[[]Endpoint]{Name: "endpoints", Load: load}, zerolog.Nop(), metrics.New())
	if err != nil {
		t.Fatal(err)
	}

	steps := []struct {
		name        string
		change      func()
		wantErr     bool
		want        []summary
		wantRestart []string
	}{
		{
			name:   "a secret added to a secrets file",
			change: func() { write("se", secretA+"\n"+secretB+"\n") },
			want:   []summary{{Name: "se", Path: "/se", Secrets: 2}},
		},
		{
			name:    "a broken secrets file keeps both",
			change:  func() { write("se", secretA+"\n"+badShortSecret+"\n") },
			wantErr: true,
			want:    []summary{{Name: "se", Path: "/se", Secrets: 2}},
		},
		{
			name: "a key and tenants in the endpoints file; a new endpoint waits for a restart",
			change: func() {
				write("se", secretB+"\n")
				write("endpoints.yaml", "endpoints:\n  - {name: se, path: /se, signing_secrets_file: se, encryption_key: "+keyA+", tenants: [se]}\n  - {name: no, path: /no, signing_secrets_file: se}\n")
			},
			want:        []summary{{Name: "se", Path: "/se", Secrets: 1, Key: true, Tenants: []string{"se"}}},
			wantRestart: []string{"endpoint no was added"},
		},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			restarts = nil
			s.change()
			_, err := w.Poll()
			if (err != nil) != s.wantErr {
				t.Errorf("Poll error %v, want error %v", err, s.wantErr)
			}
			if err != nil {
				assertNoValue(t, err.Error())
			}
			if diff := cmp.Diff(s.want, summarize(w.Value())); diff != "" {
				t.Errorf("endpoints in use (-want +got):\n%s", diff)
			}
			var restart []string
			for _, r := range restarts {
				restart = append(restart, r...)
			}
			if diff := cmp.Diff(s.wantRestart, restart); diff != "" {
				t.Errorf("restart lines (-want +got):\n%s", diff)
			}
		})
	}
}
