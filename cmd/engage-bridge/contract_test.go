package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/engage-bridge/engage-bridge/internal/contracttest"
)

// TestContractDocumentsEverySetting holds the table of
// docs/contract.md#configuration to settings(): one row per variable, its
// default as the code has it, a _FILE variant exactly for secrets, and no row
// for a variable the code does not read. A variable still being added may
// be listed under #extensions instead.
func TestContractDocumentsEverySetting(t *testing.T) {
	t.Parallel()
	rows := map[string][]string{}
	for _, row := range contracttest.Table(t, contracttest.Section(t, "configuration"), 0) {
		names := contracttest.Quoted(row[0])
		if len(names) == 0 || len(row) != 3 {
			t.Fatalf("row %q: want a backquoted variable and three cells", row)
		}
		if _, dup := rows[names[0]]; dup {
			t.Errorf("%s has two rows", names[0])
		}
		rows[names[0]] = row
	}
	extensions := contracttest.FirstColumn(t, "extensions")
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
	doc := contracttest.Read(t)
	anchors := contracttest.Anchors(t)
	for _, a := range []string{
		"commands", "configuration", "http-answers", "event-record", "dead-letter-record",
		"dead-letter-reasons", "routing", "operations", "invariants", "extensions",
	} {
		if !anchors[a] {
			t.Errorf("docs/contract.md has no section #%s", a)
		}
	}
	for _, m := range regexp.MustCompile(`\]\(#([a-z0-9_-]+)\)`).FindAllStringSubmatch(doc, -1) {
		if !anchors[m[1]] {
			t.Errorf("docs/contract.md links to #%s, which it does not have", m[1])
		}
	}
	cite := regexp.MustCompile(`contract\.md#([a-z0-9_-]+)`)
	root := contracttest.Root(t)
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), ".") && path != root {
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
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		for _, m := range cite.FindAllStringSubmatch(string(b), -1) {
			if !anchors[m[1]] {
				t.Errorf("%s cites docs/contract.md#%s, which does not exist", rel, m[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
