package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestDocsQuoteTheLastRun holds README and docs/performance.md to the
// newest committed report (docs/results/*.md): both name it as the last
// full run, and every cell of performance.md's concurrency-64 table is the
// report's own cell for that target and generator.
func TestDocsQuoteTheLastRun(t *testing.T) {
	t.Parallel()
	root := filepath.Join("..", "..")
	reports, err := filepath.Glob(filepath.Join(root, "docs", "results", "*.md"))
	if err != nil || len(reports) == 0 {
		t.Fatalf("no report in docs/results: %v", err)
	}
	slices.Sort(reports) // named by UTC start time
	newest := filepath.Base(reports[len(reports)-1])
	report := read(t, reports[len(reports)-1])
	perf := read(t, filepath.Join(root, "docs", "performance.md"))
	for name, doc := range map[string]string{"README.md": read(t, filepath.Join(root, "README.md")), "docs/performance.md": perf} {
		_, last, ok := strings.Cut(doc, "**The last full run**")
		if para, _, _ := strings.Cut(last, "\n\n"); !ok || !strings.Contains(para, newest) {
			t.Errorf("%s: its \"The last full run\" paragraph does not name %s, the newest report", name, newest)
		}
	}

	// | closed c64 | bridge | vegeta | 8457 | 5.74 | 9.90 | 19.94 | 51.21 | 0 | 90.4 | 34.5 | 87.5 | 32.9 | 3.10 | 15.99 |
	rows := map[[2]string][]string{}
	for line := range strings.SplitSeq(report, "\n") {
		if c := cells(line); len(c) == 15 && c[0] == "closed c64" {
			rows[[2]string{c[1], c[2]}] = c
		}
	}
	_, table, ok := strings.Cut(perf, "Closed loop, concurrency 64:")
	if !ok {
		t.Fatal(`docs/performance.md has no "Closed loop, concurrency 64:" table`)
	}
	targets := map[string]string{"bridge": "bridge", "sink (ceiling)": "sink", "Benthos v4.27": "benthos"}
	checked := 0
	for line := range strings.SplitSeq(table, "\n") {
		c := cells(line)
		if len(c) != 9 || targets[c[0]] == "" {
			if checked > 0 && !strings.HasPrefix(line, "|") {
				break
			}
			continue
		}
		r, ok := rows[[2]string{targets[c[0]], c[1]}]
		if !ok {
			t.Errorf("%s has no closed c64 row for %s with %s", newest, c[0], c[1])
			continue
		}
		server := "" // the table's "p50 / p99", the report's two columns
		if r[13] != "–" {
			server = r[13] + " / " + r[14]
		}
		// webhooks/s, p50, p99, errors, CPU, RSS, server: the report's
		// columns 3, 4, 6, 8, 9, 12 and 13-14.
		want := []string{r[3], r[4], r[6], r[8], r[9], r[12], server}
		got := []string{strings.ReplaceAll(c[2], " ", ""), c[3], c[4], c[5], c[6], c[7], c[8]}
		if !slices.Equal(got, want) {
			t.Errorf("docs/performance.md, c64, %s with %s: %q; %s says %q", c[0], c[1], got, newest, want)
		}
		checked++
	}
	if checked != 6 {
		t.Errorf("checked %d rows of the c64 table, want 6 (3 targets, 2 generators)", checked)
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// cells splits a Markdown table row into its trimmed cells.
func cells(line string) []string {
	line = strings.TrimSpace(line)
	if !strings.HasPrefix(line, "|") || !strings.HasSuffix(line, "|") {
		return nil
	}
	parts := strings.Split(line[1:len(line)-1], "|")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}
