package router

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/google/go-cmp/cmp"
)

const contractPath = "../docs/contract.md"

// TestContractDefaultRoutes holds the built-in table of
// docs/contract.md#routing to Default(): the same patterns to the same
// topics in the same order, the same fallback and dead-letter topics.
func TestContractDefaultRoutes(t *testing.T) {
	t.Parallel()
	section := contractSection(t, "routing")
	var doc Config
	for _, row := range tableRows(t, section, 0) {
		topic := oneQuoted(t, row[1])
		if patterns := quoted(row[0]); len(patterns) > 0 {
			doc.Routes = append(doc.Routes, Route{Match: patterns, Topic: topic})
			continue
		}
		doc.Fallback = topic
	}
	if m := regexp.MustCompile("Dead letters\\s+go to `([^`]+)`").FindStringSubmatch(section); m != nil {
		doc.DeadLetter = m[1]
	}
	want := Default()
	if diff := cmp.Diff(want, doc); diff != "" {
		t.Errorf("docs/contract.md#routing and Default() differ (-code +contract):\n%s", diff)
	}
}

var backquoted = regexp.MustCompile("`([^`]+)`")

// quoted returns the backquoted texts of a table cell.
func quoted(cell string) []string {
	var out []string
	for _, m := range backquoted.FindAllStringSubmatch(cell, -1) {
		out = append(out, m[1])
	}
	return out
}

func oneQuoted(t *testing.T, cell string) string {
	t.Helper()
	q := quoted(cell)
	if len(q) != 1 {
		t.Fatalf("cell %q: want one backquoted value", cell)
	}
	return q[0]
}

// contractSection returns the text under the heading of docs/contract.md
// whose GitHub anchor is anchor, up to the next heading of the same or a
// higher level.
func contractSection(t *testing.T, anchor string) string {
	t.Helper()
	doc, err := os.ReadFile(contractPath)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	level, fenced := 0, false
	for line := range strings.SplitSeq(string(doc), "\n") {
		if strings.HasPrefix(line, "```") {
			fenced = !fenced
		}
		if h := strings.TrimLeft(line, "#"); !fenced && h != line && strings.HasPrefix(h, " ") {
			n := len(line) - len(h)
			if level > 0 && n <= level {
				break
			}
			if level == 0 && githubAnchor(h) == anchor {
				level = n
				continue
			}
		}
		if level > 0 {
			out = append(out, line)
		}
	}
	if level == 0 {
		t.Fatalf("%s has no heading with the anchor #%s", contractPath, anchor)
	}
	return strings.Join(out, "\n")
}

// githubAnchor is the id GitHub gives a heading: lower case, spaces as
// hyphens, punctuation other than - and _ dropped.
func githubAnchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case unicode.IsLetter(r), unicode.IsDigit(r), r == '-', r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	return b.String()
}

// tableRows returns the cells of the n-th table of a section, without its
// header and separator rows.
func tableRows(t *testing.T, section string, n int) [][]string {
	t.Helper()
	var tables [][][]string
	var rows [][]string
	for line := range strings.SplitSeq(section+"\n", "\n") {
		if !strings.HasPrefix(line, "|") {
			if len(rows) > 2 {
				tables = append(tables, rows[2:])
			}
			rows = nil
			continue
		}
		cells := strings.Split(strings.TrimSuffix(strings.TrimPrefix(line, "|"), "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		rows = append(rows, cells)
	}
	if n >= len(tables) {
		t.Fatalf("the section has %d tables, not %d", len(tables), n+1)
	}
	return tables[n]
}
