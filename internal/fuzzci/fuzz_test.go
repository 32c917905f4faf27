// Package fuzzci fuzzes every fuzz target of the module for a while, one
// after another: `FUZZTIME=2s go test ./internal/fuzzci`. A failure leaves
// the crasher in the package's testdata/fuzz directory, where `go test`
// replays it from then on: commit it as a seed.
//
// It runs only when FUZZTIME is set (it sets each target's -fuzztime), so
// not in the ordinary test command: there every target's seed corpus and
// committed crashers run as plain tests of their own package. Fuzzing
// costs more than the fuzztime: before it, the go command builds the
// package and every package it imports, the standard library included,
// with coverage instrumentation. That build shares nothing with the
// suite's own (-race) build; on a cold build cache it took 219 s of a
// 13-minute CI run (./ingress imports Echo, kafka-go and svix), which is
// why CI leaves it out. Once cached, a target still pays a link and
// worker start-up. Each target's log line says how long its whole
// command took.
// The longer campaign and its results are in docs/reliability.md.
package fuzzci

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

type target struct{ pkg, name string }

// targets finds every `func FuzzX(f *testing.F)` in the module's tests.
func targets(t *testing.T, root string) []target {
	t.Helper()
	re := regexp.MustCompile(`(?m)^func (Fuzz\w+)\(\w+ \*testing\.F\)`)
	var out []target
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) {
			return filepath.SkipDir
		}
		if !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range re.FindAllSubmatch(src, -1) {
			rel, _ := filepath.Rel(root, filepath.Dir(path))
			out = append(out, target{pkg: "./" + filepath.ToSlash(rel), name: string(m[1])})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestFuzzTargets(t *testing.T) {
	fuzztime := os.Getenv("FUZZTIME")
	if fuzztime == "" || testing.Short() {
		t.Skip("fuzzing every target is opt-in: FUZZTIME=2s go test ./internal/fuzzci (seed corpora run in each package's tests)")
	}
	per, err := time.ParseDuration(fuzztime)
	if err != nil {
		t.Fatalf("FUZZTIME=%q: %v", fuzztime, err)
	}
	root, _ := filepath.Abs("../..")
	ts := targets(t, root)
	if len(ts) < 7 {
		t.Fatalf("found %d fuzz targets, expected at least 7: %v", len(ts), ts)
	}
	for _, tg := range ts {
		t.Run(tg.name, func(t *testing.T) {
			for attempt := 1; ; attempt++ {
				start := time.Now()
				out, err := fuzz(root, tg, fuzztime, per)
				if err == nil {
					execs := "no"
					if m := regexp.MustCompile(`elapsed: \S+, execs: (\d+)`).FindAllStringSubmatch(out, -1); len(m) > 0 {
						execs = m[len(m)-1][1]
					}
					// Reported, not asserted: the build's share depends on the cache.
					t.Logf("%s: %s executions in -fuzztime=%s; the whole go test -fuzz command (instrumented build included) took %s",
						tg.name, execs, fuzztime, time.Since(start).Round(100*time.Millisecond))
					return
				}
				if !coordinatorRace(out) {
					t.Fatalf("%s %s: %v\n%s", tg.pkg, tg.name, err, out)
				}
				// Go 1.26's fuzz coordinator can report its own -fuzztime
				// deadline as a failure when a loaded machine keeps a worker
				// from stopping in time (go.dev/issue/75804, fixed in Go 1.27).
				// It is never a finding: a finding writes a failing input.
				if attempt == 2 {
					t.Logf("%s: the coordinator's deadline race twice, no failing input (go.dev/issue/75804)", tg.name)
					return
				}
			}
		})
	}
}

// TestTargetsDocumented runs in the ordinary test command: every fuzz
// target is found, and README.md and docs/reliability.md name each one.
func TestTargetsDocumented(t *testing.T) {
	root, _ := filepath.Abs("../..")
	ts := targets(t, root)
	if len(ts) < 12 {
		t.Fatalf("found %d fuzz targets, expected at least 12: %v", len(ts), ts)
	}
	for _, doc := range []string{"README.md", "docs/reliability.md"} {
		b, err := os.ReadFile(filepath.Join(root, doc))
		if err != nil {
			t.Fatal(err)
		}
		for _, tg := range ts {
			if !regexp.MustCompile(`\b` + tg.name + `\b`).Match(b) {
				t.Errorf("%s does not name the fuzz target %s (%s)", doc, tg.name, tg.pkg)
			}
		}
	}
}

func fuzz(root string, tg target, fuzztime string, per time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), per+3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "test", "-run=^$", "-fuzz=^"+tg.name+"$",
		"-fuzztime="+fuzztime, "-parallel=2", tg.pkg)
	cmd.Dir = root
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// coordinatorRace recognises go.dev/issue/75804: the only failure is the
// fuzzing engine's own "context deadline exceeded", with no failing input
// written, no panic and no test error.
func coordinatorRace(out string) bool {
	return strings.Contains(out, "context deadline exceeded") &&
		!strings.Contains(out, "Failing input written") &&
		!strings.Contains(out, "panic:") &&
		!regexp.MustCompile(`(?m)^\s+\S+_test\.go:\d+:`).MatchString(out)
}

func TestCoordinatorRace(t *testing.T) {
	race := "fuzz: elapsed: 2s, execs: 8215 (3925/sec), new interesting: 0 (total: 32)\n--- FAIL: FuzzVerify (2.10s)\n    context deadline exceeded\nFAIL\nexit status 1\n"
	for _, tc := range []struct {
		out  string
		want bool
	}{
		{race, true},
		{race + "    Failing input written to testdata/fuzz/FuzzVerify/582528ddfad69eb5\n", false},
		{"--- FAIL: FuzzVerify (0.10s)\n    --- FAIL: FuzzVerify (0.00s)\n        verify_test.go:88: verifier accepted what svix refused\n    context deadline exceeded\n", false},
		{"panic: runtime error: index out of range\n    context deadline exceeded\n", false},
		{"--- FAIL: FuzzVerify (0.10s)\n    exit status 2\n", false},
	} {
		if got := coordinatorRace(tc.out); got != tc.want {
			t.Errorf("coordinatorRace(%q) = %v, want %v", tc.out, got, tc.want)
		}
	}
}
