package schemas

import (
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

const contractPath = "../docs/contract.md"

// TestContractRecordHeaders holds the header tables of
// docs/contract.md#event-record and #dead-letter-record to the Record*
// constants: every header the bridge can write is documented, and every
// documented header is one it declares. The engage-dlq-* headers belong
// to dead letters only. A header still being added may instead be listed
// under #extensions. The order of each table is held to the code in
// ingress.
func TestContractRecordHeaders(t *testing.T) {
	t.Parallel()
	declared := packageConsts(t, func(name, _ string) bool { return strings.HasPrefix(name, "Record") })
	event := firstColumn(t, "event-record")
	deadLetter := firstColumn(t, "dead-letter-record")
	extensions := firstColumn(t, "extensions")

	documented := slices.Compact(slices.Sorted(slices.Values(append(slices.Clone(event), deadLetter...))))
	for _, h := range declared {
		if !slices.Contains(documented, h) && !slices.Contains(extensions, h) {
			t.Errorf("record header %q is in neither header table of docs/contract.md (nor #extensions)", h)
		}
	}
	for _, h := range documented {
		if !slices.Contains(declared, h) {
			t.Errorf("docs/contract.md documents record header %q, which schemas does not declare", h)
		}
	}
	for _, h := range []string{RecordDLQReason, RecordDLQDetail} {
		if slices.Contains(event, h) || !slices.Contains(deadLetter, h) {
			t.Errorf("%s must be documented for dead-letter records only", h)
		}
	}
}

// TestContractRecordHeaderValues: the fixed header values the contract
// states are the ones the code writes.
func TestContractRecordHeaderValues(t *testing.T) {
	t.Parallel()
	values := map[string]string{}
	for _, row := range tableRows(t, contractSection(t, "event-record"), 0) {
		values[oneQuoted(t, row[0])] = row[1]
	}
	for header, want := range map[string]string{
		RecordContentType:   ContentTypeJSON,
		RecordCESpecVersion: CESpecVersion,
		RecordCESource:      CESourcePrefix,
		RecordSchemaValid:   SchemaValidFalse,
	} {
		if !slices.Contains(quoted(values[header]), want) {
			t.Errorf("docs/contract.md#event-record: %s should read `%s`, got %q", header, want, values[header])
		}
	}
}

// TestContractDeliveryHeaders: both sets of Svix's request headers are
// named where the contract describes the signature check.
func TestContractDeliveryHeaders(t *testing.T) {
	t.Parallel()
	section := contractSection(t, "http-answers")
	for _, h := range packageConsts(t, func(name, _ string) bool { return strings.HasPrefix(name, "Header") }) {
		if !strings.Contains(section, "`"+h+"`") {
			t.Errorf("docs/contract.md#http-answers does not name the request header %s", h)
		}
	}
}

// packageConsts returns the string values of the package's constants
// (test files excluded) whose name and declared type keep says, sorted.
// A constant defined as another constant takes that one's value. Reading
// the source rather than listing the constants here means a new one
// cannot be forgotten by this test.
func packageConsts(t *testing.T, keep func(name, typ string) bool) []string {
	t.Helper()
	// go/build picks the package's files as the compiler does (build tags
	// included), which parser.ParseDir, deprecated, does not.
	bp, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, name := range bp.GoFiles {
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	exprs := map[string]ast.Expr{}
	var kept []string
	for _, f := range files {
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

// firstColumn is the backquoted names in the first column of the first
// table under a heading of the contract.
func firstColumn(t *testing.T, anchor string) []string {
	t.Helper()
	var out []string
	for _, row := range tableRows(t, contractSection(t, anchor), 0) {
		out = append(out, quoted(row[0])...)
	}
	return out
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
