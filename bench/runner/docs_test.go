package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestDocsQuoteTheLastRun holds README and docs/performance.md to the
// newest committed report (docs/results/*.md): both name it in their "The
// last full run" paragraph and quote its concurrency-64 figures there
// (vegeta's webhooks/s, ratios to the ceiling and to Benthos, p99), and
// every cell of performance.md's concurrency-64 table is the report's own
// cell for that target and generator.
func TestDocsQuoteTheLastRun(t *testing.T) {
	t.Parallel()
	name, report, readme, perf := lastRunDocs(t)
	for _, p := range docProblems(name, report, readme, perf) {
		t.Error(p)
	}
}

// TestDocProblemsFindsStaleFigures: the check above fails on docs whose
// headline or table figures are not the report's.
func TestDocProblemsFindsStaleFigures(t *testing.T) {
	t.Parallel()
	name, report, readme, perf := lastRunDocs(t)
	if p := docProblems(name, report, readme, perf); len(p) != 0 {
		t.Fatalf("the committed docs already fail: %v", p)
	}
	f, err := reportFigures(report)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ what, from, to string }{
		{"throughput", f.throughput, "9 999"},
		{"ceiling ratio", f.ceiling + " of the verify-only ceiling", "0.91 of the verify-only ceiling"},
		{"Benthos ratio", f.benthos + " × Benthos", "2.51 × Benthos"},
		{"p99", f.p99 + " ms", "5 ms"},
	} {
		for _, inREADME := range []bool{true, false} {
			doc, src := "docs/performance.md", perf
			if inREADME {
				doc, src = "README.md", readme
			}
			_, last, _ := strings.Cut(src, "**The last full run**")
			para, _, _ := strings.Cut(last, "\n\n")
			flat := strings.Join(strings.Fields(para), " ")
			changed := strings.Replace(flat, tt.from, tt.to, 1)
			if changed == flat {
				t.Errorf("%s: the headline has no %q to change", doc, tt.from)
				continue
			}
			r, p := readme, perf
			if inREADME {
				r = strings.Replace(readme, para, changed, 1)
			} else {
				p = strings.Replace(perf, para, changed, 1)
			}
			if len(docProblems(name, report, r, p)) == 0 {
				t.Errorf("%s with its %s changed to %q: no problem found", doc, tt.what, tt.to)
			}
		}
	}
	if len(docProblems(name, report, readme, strings.Replace(perf, "| bridge | vegeta | "+f.throughput+" |", "| bridge | vegeta | 1 |", 1))) == 0 {
		t.Error("a changed cell of the c64 table: no problem found")
	}
}

// lastRunDocs reads the newest report in docs/results (named by its UTC
// start time), README.md and docs/performance.md.
func lastRunDocs(t *testing.T) (name, report, readme, perf string) {
	t.Helper()
	root := filepath.Join("..", "..")
	reports, err := filepath.Glob(filepath.Join(root, "docs", "results", "*.md"))
	if err != nil || len(reports) == 0 {
		t.Fatalf("no report in docs/results: %v", err)
	}
	slices.Sort(reports)
	newest := reports[len(reports)-1]
	return filepath.Base(newest), read(t, newest),
		read(t, filepath.Join(root, "README.md")), read(t, filepath.Join(root, "docs", "performance.md"))
}

// figures is what a headline quotes from a report: vegeta at concurrency
// 64, the bridge's webhooks/s with a space between thousands, its ratios
// to the ceiling and to Benthos as the report rounds them, and its client
// p99 in whole milliseconds.
type figures struct{ throughput, ceiling, benthos, p99 string }

func reportFigures(report string) (figures, error) {
	var f figures
	for line := range strings.SplitSeq(report, "\n") {
		if c := cells(line); len(c) == 15 && c[0] == "closed c64" && c[1] == "bridge" && c[2] == "vegeta" {
			n, err := strconv.Atoi(c[3])
			if err != nil {
				return f, err
			}
			f.throughput = thousands(n)
			p99, err := strconv.ParseFloat(c[6], 64)
			if err != nil {
				return f, err
			}
			f.p99 = strconv.FormatFloat(p99, 'f', 0, 64)
		}
		// "  closed c64   bridge / sink   vegeta  0.60  (0.60, 0.72, 0.57)"
		if m := ratioLine.FindStringSubmatch(line); m != nil {
			switch m[1] {
			case "sink":
				f.ceiling = m[2]
			case "benthos":
				f.benthos = m[2]
			}
		}
	}
	if f.throughput == "" || f.ceiling == "" || f.benthos == "" {
		return f, fmt.Errorf("the report has no c64 row or ratios for the bridge with vegeta: %+v", f)
	}
	return f, nil
}

var ratioLine = regexp.MustCompile(`^\s*closed c64\s+bridge / (sink|benthos)\s+vegeta\s+([0-9.]+)\s`)

func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + " " + s[i:]
	}
	return s
}

// docProblems compares README's and performance.md's last-run headlines and
// performance.md's c64 table with the report named name.
func docProblems(name, report, readme, perf string) []string {
	var problems []string
	f, err := reportFigures(report)
	if err != nil {
		return []string{name + ": " + err.Error()}
	}
	for doc, text := range map[string]string{"README.md": readme, "docs/performance.md": perf} {
		_, last, ok := strings.Cut(text, "**The last full run**")
		para, _, _ := strings.Cut(last, "\n\n")
		para = strings.Join(strings.Fields(para), " ") // line breaks are spaces
		if !ok || !strings.Contains(para, name) {
			problems = append(problems, fmt.Sprintf("%s: its \"The last full run\" paragraph does not name %s, the newest report", doc, name))
			continue
		}
		for _, want := range []string{f.throughput + " webhooks/s", f.ceiling + " of the verify-only ceiling", f.benthos + " × Benthos"} {
			if !strings.Contains(para, want) {
				problems = append(problems, fmt.Sprintf("%s: its \"The last full run\" paragraph does not quote %q from %s", doc, want, name))
			}
		}
		if !strings.Contains(para, "p99 "+f.p99+" ms") && !strings.Contains(para, "p99 of "+f.p99+" ms") {
			problems = append(problems, fmt.Sprintf("%s: its \"The last full run\" paragraph does not quote the p99 of %s ms from %s", doc, f.p99, name))
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
		return append(problems, `docs/performance.md has no "Closed loop, concurrency 64:" table`)
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
		checked++
		r, ok := rows[[2]string{targets[c[0]], c[1]}]
		if !ok {
			problems = append(problems, fmt.Sprintf("%s has no closed c64 row for %s with %s", name, c[0], c[1]))
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
			problems = append(problems, fmt.Sprintf("docs/performance.md, c64, %s with %s: %q; %s says %q", c[0], c[1], got, name, want))
		}
	}
	if checked != 6 {
		problems = append(problems, fmt.Sprintf("checked %d rows of the c64 table, want 6 (3 targets, 2 generators)", checked))
	}
	return problems
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
