// Package contracttest reads docs/contract.md for the tests that hold it to
// the code: a section by its anchor, the rows of its tables, the backquoted
// names in a cell, and the constants a package declares, read from its
// source so that a new one cannot be left out of a test.
//
// It is imported only by _test.go files and imports only the standard
// library. Every function stops the test with t.Fatal when the contract or
// the source cannot be read as expected.
package contracttest

import (
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// Root returns the module's root directory: the nearest directory at or
// above the working directory (the package under test) holding go.mod.
func Root(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod at or above the working directory")
		}
		dir = parent
	}
}

// Path returns the path of docs/contract.md.
func Path(t testing.TB) string {
	t.Helper()
	return filepath.Join(Root(t), "docs", "contract.md")
}

// Read returns the text of docs/contract.md.
func Read(t testing.TB) string {
	t.Helper()
	doc, err := os.ReadFile(Path(t))
	if err != nil {
		t.Fatal(err)
	}
	return string(doc)
}

// Anchors returns the GitHub anchor of every heading of the contract.
func Anchors(t testing.TB) map[string]bool {
	t.Helper()
	anchors := map[string]bool{}
	for _, line := range lines(Read(t)) {
		if line.level > 0 {
			anchors[anchor(line.heading)] = true
		}
	}
	return anchors
}

// Section returns the text under the heading of the contract whose GitHub
// anchor is a, up to the next heading of the same or a higher level.
func Section(t testing.TB, a string) string {
	t.Helper()
	var out []string
	level := 0
	for _, line := range lines(Read(t)) {
		if line.level > 0 {
			if level > 0 && line.level <= level {
				break
			}
			if level == 0 && anchor(line.heading) == a {
				level = line.level
				continue
			}
		}
		if level > 0 {
			out = append(out, line.text)
		}
	}
	if level == 0 {
		t.Fatalf("docs/contract.md has no heading with the anchor #%s", a)
	}
	return strings.Join(out, "\n")
}

// line is one line of the contract; level is the number of # of a
// heading outside a code fence, else 0.
type line struct {
	text    string
	level   int
	heading string
}

func lines(doc string) []line {
	var out []line
	fenced := false
	for text := range strings.SplitSeq(doc, "\n") {
		if strings.HasPrefix(text, "```") {
			fenced = !fenced
		}
		l := line{text: text}
		if h := strings.TrimLeft(text, "#"); !fenced && h != text && strings.HasPrefix(h, " ") {
			l.level, l.heading = len(text)-len(h), h
		}
		out = append(out, l)
	}
	return out
}

// anchor is the id GitHub gives a heading: lower case, spaces as hyphens,
// punctuation other than - and _ dropped.
func anchor(heading string) string {
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

// Table returns the cells of the n-th table (from 0) of a section, without
// its header and separator rows.
func Table(t testing.TB, section string, n int) [][]string {
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

// FirstColumn returns the backquoted names in the first column of the
// first table of the section with the anchor a.
func FirstColumn(t testing.TB, a string) []string {
	t.Helper()
	var out []string
	for _, row := range Table(t, Section(t, a), 0) {
		out = append(out, Quoted(row[0])...)
	}
	return out
}

var backquoted = regexp.MustCompile("`([^`]+)`")

// Quoted returns the backquoted texts of a table cell.
func Quoted(cell string) []string {
	var out []string
	for _, m := range backquoted.FindAllStringSubmatch(cell, -1) {
		out = append(out, m[1])
	}
	return out
}

// OneQuoted returns the one backquoted text of a table cell.
func OneQuoted(t testing.TB, cell string) string {
	t.Helper()
	q := Quoted(cell)
	if len(q) != 1 {
		t.Fatalf("cell %q: want one backquoted value", cell)
	}
	return q[0]
}

// Consts returns the string values, sorted, of the constants declared by
// the package in the working directory (the package under test; test files
// excluded) whose name and declared type keep says. A constant defined as
// another constant takes that one's value.
func Consts(t testing.TB, keep func(name, typ string) bool) []string {
	t.Helper()
	// go/build picks the package's files as the compiler does (build tags
	// included), which parser.ParseDir, deprecated, does not.
	bp, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	exprs := map[string]ast.Expr{}
	var kept []string
	for _, name := range bp.GoFiles {
		f, err := parser.ParseFile(fset, filepath.Join(bp.Dir, name), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				typ := ""
				if id, ok := vs.Type.(*ast.Ident); ok {
					typ = id.Name
				}
				for i, name := range vs.Names {
					if i >= len(vs.Values) {
						continue
					}
					exprs[name.Name] = vs.Values[i]
					if keep(name.Name, typ) {
						kept = append(kept, name.Name)
					}
				}
			}
		}
	}
	var value func(e ast.Expr) (string, bool)
	value = func(e ast.Expr) (string, bool) {
		switch e := e.(type) {
		case *ast.BasicLit:
			if e.Kind != token.STRING {
				return "", false
			}
			s, err := strconv.Unquote(e.Value)
			return s, err == nil
		case *ast.Ident:
			if x, ok := exprs[e.Name]; ok {
				return value(x)
			}
		}
		return "", false
	}
	var out []string
	for _, name := range kept {
		if s, ok := value(exprs[name]); ok {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}
