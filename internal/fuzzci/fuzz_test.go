// Package fuzzci runs every fuzz target of the module for a few seconds
// each as part of the ordinary test suite, so that CI fuzzes on every run.
// A failure leaves the crasher in the package's testdata/fuzz directory,
// where `go test` replays it from then on: commit it as a seed.
//
// FUZZTIME sets the time per target (default 2s); -short skips the run.
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
	if testing.Short() {
		t.Skip("fuzzing skipped with -short")
	}
	fuzztime := os.Getenv("FUZZTIME")
	if fuzztime == "" {
		fuzztime = "2s"
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
			ctx, cancel := context.WithTimeout(context.Background(), per+3*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, "go", "test", "-run=^$", "-fuzz=^"+tg.name+"$",
				"-fuzztime="+fuzztime, "-parallel=2", tg.pkg)
			cmd.Dir = root
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Run(); err != nil {
				t.Fatalf("%s %s: %v\n%s", tg.pkg, tg.name, err, out.String())
			}
			if m := regexp.MustCompile(`elapsed: \S+, execs: (\d+)`).FindAllStringSubmatch(out.String(), -1); len(m) > 0 {
				t.Logf("%s: %s executions in %s", tg.name, m[len(m)-1][1], fuzztime)
			}
		})
	}
}
