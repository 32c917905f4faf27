package filewatch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rs/zerolog"

	"github.com/engage-bridge/engage-bridge/internal/metrics"
)

// secretLoad is a Load of one file: its trimmed text, refused when it does
// not start with "ok-". The error never quotes the content.
func secretLoad(path string) func(ReadFunc, *string) (string, error) {
	return func(read ReadFunc, _ *string) (string, error) {
		data, err := read(path)
		if err != nil {
			return "", fmt.Errorf("cannot read the file: %w", errors.Unwrap(err))
		}
		s := strings.TrimSpace(string(data))
		if !strings.HasPrefix(s, "ok-") {
			return "", errors.New("not a valid secret")
		}
		return s, nil
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// counts reads the two reload counters of role.
func counts(t *testing.T, m *metrics.Metrics, role string) (ok, failed float64) {
	t.Helper()
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		for _, mt := range f.GetMetric() {
			if len(mt.GetLabel()) != 1 || mt.GetLabel()[0].GetValue() != role {
				continue
			}
			switch f.GetName() {
			case "engage_bridge_config_reloads_total":
				ok = mt.GetCounter().GetValue()
			case "engage_bridge_config_reload_errors_total":
				failed = mt.GetCounter().GetValue()
			}
		}
	}
	return ok, failed
}

// step is one change on disk followed by one Poll, and what it must give.
type step struct {
	name         string
	change       func(t *testing.T, path string)
	wantReloaded bool
	wantErr      bool
	wantValue    string
	wantOK       float64 // reloads counted so far
	wantFailed   float64 // refusals counted so far
}

func TestPoll(t *testing.T) {
	t.Parallel()
	steps := []step{
		{name: "nothing changed", change: func(*testing.T, string) {}, wantValue: "ok-1"},
		{name: "rewritten with the same content", change: func(t *testing.T, p string) { write(t, p, "ok-1\n") }, wantValue: "ok-1"},
		{name: "a valid change", change: func(t *testing.T, p string) { write(t, p, "ok-2\n") }, wantReloaded: true, wantValue: "ok-2", wantOK: 1},
		{name: "an invalid change keeps the value", change: func(t *testing.T, p string) { write(t, p, "bad-topsecret\n") }, wantErr: true, wantValue: "ok-2", wantOK: 1, wantFailed: 1},
		{name: "the refusal is not repeated", change: func(*testing.T, string) {}, wantValue: "ok-2", wantOK: 1, wantFailed: 1},
		{name: "fixed", change: func(t *testing.T, p string) { write(t, p, "ok-3\n") }, wantReloaded: true, wantValue: "ok-3", wantOK: 2, wantFailed: 1},
		{name: "removed", change: func(t *testing.T, p string) {
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
		}, wantErr: true, wantValue: "ok-3", wantOK: 2, wantFailed: 2},
		{name: "back", change: func(t *testing.T, p string) { write(t, p, "ok-4") }, wantReloaded: true, wantValue: "ok-4", wantOK: 3, wantFailed: 2},
		{name: "same size, same second", change: func(t *testing.T, p string) { write(t, p, "ok-5") }, wantReloaded: true, wantValue: "ok-5", wantOK: 4, wantFailed: 2},
	}
	path := filepath.Join(t.TempDir(), "secret")
	write(t, path, "ok-1\n")
	m := metrics.New()
	var logs bytes.Buffer
	w, err := New(Config[string]{Name: "signing_secrets", Load: secretLoad(path)}, zerolog.New(&logs), m)
	if err != nil {
		t.Fatal(err)
	}
	if got := w.Value(); got != "ok-1" {
		t.Fatalf("first value %q, want ok-1", got)
	}
	for _, s := range steps {
		// Steps run in order on one file: t.Run without t.Parallel.
		t.Run(s.name, func(t *testing.T) {
			s.change(t, path)
			reloaded, err := w.Poll()
			if reloaded != s.wantReloaded || (err != nil) != s.wantErr {
				t.Errorf("Poll() = %v, %v; want reloaded %v, error %v", reloaded, err, s.wantReloaded, s.wantErr)
			}
			if got := w.Value(); got != s.wantValue {
				t.Errorf("Value() = %q, want %q", got, s.wantValue)
			}
			ok, failed := counts(t, m, "signing_secrets")
			if diff := cmp.Diff([2]float64{s.wantOK, s.wantFailed}, [2]float64{ok, failed}); diff != "" {
				t.Errorf("reloads, reload errors (-want +got):\n%s", diff)
			}
		})
	}
	// The log names the role, never the content or a secret file's path.
	text := logs.String()
	if strings.Contains(text, path) {
		t.Errorf("logs name the secret file's path %s:\n%s", path, text)
	}
	for _, want := range []string{`"file":"signing_secrets"`, `"changed_files":1`, "refused", "reloaded", "no such file or directory"} {
		if !strings.Contains(text, want) {
			t.Errorf("logs lack %s:\n%s", want, text)
		}
	}
	if strings.Contains(text, "topsecret") {
		t.Errorf("logs hold a file's content:\n%s", text)
	}
	if n := strings.Count(text, `"level":"error"`); n != 2 {
		t.Errorf("%d error lines, want 2 (one per refused change):\n%s", n, text)
	}
}

func TestNewRefusesABadFirstLoad(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "secret")
	write(t, path, "bad\n")
	m := metrics.New()
	if _, err := New(Config[string]{Name: "auth_token", Load: secretLoad(path)}, zerolog.Nop(), m); err == nil {
		t.Fatal("New accepted a bad file")
	}
	if ok, failed := counts(t, m, "auth_token"); ok != 0 || failed != 0 {
		t.Errorf("the first load counted as a reload: %v, %v", ok, failed)
	}
	if _, err := New(Config[string]{Name: "", Load: secretLoad(path)}, zerolog.Nop(), m); err == nil {
		t.Error("New accepted a config without Name")
	}
}

// TestKubernetesSecretMount builds the layout the kubelet makes for a
// Secret volume and updates it the way the kubelet does: a new timestamped
// directory, a new ..data symlink renamed over the old one.
//
//	secret        -> ..data/secret
//	..data        -> ..2026_12_07_10_00_00.1
//	..2026_12_07_10_00_00.1/secret
func TestKubernetesSecretMount(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	publish := func(t *testing.T, stamp, content string) {
		t.Helper()
		ts := filepath.Join(dir, stamp)
		if err := os.Mkdir(ts, 0o755); err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(ts, "secret"), content)
		tmp := filepath.Join(dir, "..data_tmp")
		if err := os.Symlink(stamp, tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil { // atomic
			t.Fatal(err)
		}
	}
	publish(t, "..2026_12_07_10_00_00.1", "ok-old\n")
	path := filepath.Join(dir, "secret")
	if err := os.Symlink(filepath.Join("..data", "secret"), path); err != nil {
		t.Fatal(err)
	}
	m := metrics.New()
	w, err := New(Config[string]{Name: "signing_secrets", Load: secretLoad(path)}, zerolog.Nop(), m)
	if err != nil {
		t.Fatal(err)
	}
	publish(t, "..2026_12_07_10_05_00.2", "ok-new\n")
	if reloaded, err := w.Poll(); !reloaded || err != nil {
		t.Fatalf("Poll after the ..data swap = %v, %v; want a reload", reloaded, err)
	}
	if got := w.Value(); got != "ok-new" {
		t.Errorf("Value() = %q, want ok-new", got)
	}
	// The kubelet then removes the old directory: nothing changes.
	if err := os.RemoveAll(filepath.Join(dir, "..2026_12_07_10_00_00.1")); err != nil {
		t.Fatal(err)
	}
	if reloaded, err := w.Poll(); reloaded || err != nil {
		t.Errorf("Poll after removing the old directory = %v, %v; want nothing", reloaded, err)
	}
}

// TestFilesFollowTheLoad: the watched files are the ones the last load
// read, so a file named by another (an endpoints file naming secret files)
// is watched while it is named, and no longer after.
func TestFilesFollowTheLoad(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	index := filepath.Join(dir, "index")
	write(t, filepath.Join(dir, "a"), "ok-a")
	write(t, filepath.Join(dir, "b"), "ok-b")
	write(t, index, "a")
	var runnings []string
	load := func(read ReadFunc, running *string) (string, error) {
		if running != nil {
			runnings = append(runnings, *running)
		}
		name, err := read(index)
		if err != nil {
			return "", err
		}
		return secretLoad(filepath.Join(dir, strings.TrimSpace(string(name))))(read, running)
	}
	w, err := New(Config[string]{Name: "endpoints", Load: load}, zerolog.Nop(), metrics.New())
	if err != nil {
		t.Fatal(err)
	}
	poll := func(wantReloaded bool, wantValue string) {
		t.Helper()
		if reloaded, err := w.Poll(); reloaded != wantReloaded || err != nil {
			t.Errorf("Poll() = %v, %v; want %v, nil", reloaded, err, wantReloaded)
		}
		if got := w.Value(); got != wantValue {
			t.Errorf("Value() = %q, want %q", got, wantValue)
		}
	}
	write(t, filepath.Join(dir, "a"), "ok-a2")
	poll(true, "ok-a2")
	write(t, filepath.Join(dir, "b"), "ok-b2") // not named: not watched
	poll(false, "ok-a2")
	write(t, index, "b")
	poll(true, "ok-b2")
	write(t, filepath.Join(dir, "a"), "ok-a3") // no longer named
	poll(false, "ok-b2")
	write(t, filepath.Join(dir, "b"), "ok-b3")
	poll(true, "ok-b3")
	if diff := cmp.Diff([]string{"ok-a", "ok-a2", "ok-b2"}, runnings); diff != "" {
		t.Errorf("Load's running values (-want +got):\n%s", diff)
	}
}

// TestRun: Run polls on its own, readers see the new value while it
// runs (the race detector watches), and Run returns when its context ends.
func TestRun(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "secret")
	write(t, path, "ok-1")
	w, err := New(Config[string]{Name: "encryption_key", Load: secretLoad(path), Interval: time.Millisecond}, zerolog.Nop(), metrics.New())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.Run(ctx)
	}()
	write(t, path, "ok-2")
	// A polling assertion: wait for the value, with a generous bound
	// that only a hung watcher reaches.
	deadline := time.Now().Add(10 * time.Second)
	for w.Value() != "ok-2" {
		if time.Now().After(deadline) {
			t.Fatalf("Run did not pick up the change; Value() = %q", w.Value())
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended (a leaked goroutine)")
	}
}

func TestOnReload(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "secret")
	write(t, path, "ok-1")
	var got []string
	w, err := New(Config[string]{Name: "signing_secrets", Load: secretLoad(path), OnReload: func(v string) { got = append(got, v) }},
		zerolog.Nop(), metrics.New())
	if err != nil {
		t.Fatal(err)
	}
	for _, content := range []string{"ok-2", "bad", "ok-3"} {
		write(t, path, content)
		_, _ = w.Poll()
	}
	// Not on the first load, not on a refused change.
	if diff := cmp.Diff([]string{"ok-2", "ok-3"}, got); diff != "" {
		t.Errorf("OnReload calls (-want +got):\n%s", diff)
	}
}
