package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

const contractPath = "../../docs/contract.md"

// TestContractDocumentsEverySetting holds the table of
// docs/contract.md#configuration to settings(): one row per variable, its
// default as the code has it, a _FILE variant exactly for secrets, and no row
// for a variable the code does not read. A variable still being added may
// be listed under #extensions instead.
func TestContractDocumentsEverySetting(t *testing.T) {
	t.Parallel()
	rows := map[string][]string{}
	for _, row := range tableRows(t, contractSection(t, "configuration"), 0) {
		names := quoted(row[0])
		if len(names) == 0 || len(row) != 3 {
			t.Fatalf("row %q: want a backquoted variable and three cells", row)
		}
		if _, dup := rows[names[0]]; dup {
			t.Errorf("%s has two rows", names[0])
		}
		rows[names[0]] = row
	}
	var extensions []string
	for _, row := range tableRows(t, contractSection(t, "extensions"), 0) {
		extensions = append(extensions, quoted(row[0])...)
	}
	known := map[string]bool{}
	for _, s := range settings() {
		known[s.name] = true
		row, ok := rows[s.name]
		if !ok {
			if !strings.Contains(strings.Join(extensions, " "), s.name) {
				t.Errorf("docs/contract.md#configuration has no row for %s", s.name)
			}
			continue
		}
		if fromFile := strings.Contains(row[0], "/ `_FILE`"); fromFile != s.secret {
			t.Errorf("%s: the contract says it can come from %s_FILE: %v; the code: %v", s.name, s.name, fromFile, s.secret)
		}
		def := row[1]
		switch {
		case s.def != "" && def != "`"+s.def+"`":
			t.Errorf("%s: the contract's default is %s, the code's `%s`", s.name, def, s.def)
		case s.def == "" && strings.HasPrefix(def, "`"):
			t.Errorf("%s: the contract gives the default %s, the code has none", s.name, def)
		}
	}
	for name := range rows {
		if !known[name] {
			t.Errorf("docs/contract.md#configuration documents %s, which the code does not read", name)
		}
	}
}

// TestContractAnchors: the contract has the sections code and docs cite,
// and every citation of one of its anchors anywhere in the repository
// (and every anchor link inside the contract) leads to one of them.
func TestContractAnchors(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile(contractPath)
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	fenced := false
	for line := range strings.SplitSeq(string(doc), "\n") {
		if strings.HasPrefix(line, "```") {
			fenced = !fenced
		}
		if h := strings.TrimLeft(line, "#"); !fenced && h != line && strings.HasPrefix(h, " ") {
			anchors[githubAnchor(h)] = true
		}
	}
	for _, a := range []string{
		"commands", "configuration", "http-answers", "event-record", "dead-letter-record",
		"dead-letter-reasons", "routing", "operations", "invariants", "extensions",
	} {
		if !anchors[a] {
			t.Errorf("docs/contract.md has no section #%s", a)
		}
	}
	for _, m := range regexp.MustCompile(`\]\(#([a-z0-9_-]+)\)`).FindAllStringSubmatch(string(doc), -1) {
		if !anchors[m[1]] {
			t.Errorf("docs/contract.md links to #%s, which it does not have", m[1])
		}
	}
	cite := regexp.MustCompile(`contract\.md#([a-z0-9_-]+)`)
	err = filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), ".") && path != "../.." {
				return filepath.SkipDir
			}
			return nil
		}
		switch filepath.Ext(path) {
		case ".go", ".md", ".yaml", ".yml", ".sh":
		default:
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range cite.FindAllStringSubmatch(string(b), -1) {
			if !anchors[m[1]] {
				t.Errorf("%s cites docs/contract.md#%s, which does not exist", path, m[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
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
