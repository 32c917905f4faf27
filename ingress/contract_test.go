package ingress

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

	"github.com/google/go-cmp/cmp"

	"github.com/engage-bridge/engage-bridge/publisher"
	"github.com/engage-bridge/engage-bridge/schemas"
)

const contractPath = "../docs/contract.md"

// TestContractHTTPAnswers holds the table of docs/contract.md#http-answers
// to answerFor: every answer the code gives (status, Retry-After, body,
// outcome) is a row of the table, and every row is an answer the code
// gives. Bodies with a <reason> stand for one body per reason named in the
// row (or every dead-letter reason, when the row links to them).
func TestContractHTTPAnswers(t *testing.T) {
	t.Parallel()
	sigReasons := packageConsts(t, func(name, _ string) bool { return strings.HasPrefix(name, "Reason") })
	// The dead-letter reasons are held to the code by
	// TestContractDeadLetterReasons.
	dlqReasons := firstColumn(t, "dead-letter-reasons")

	type input struct {
		res Result
		err error
	}
	inputs := []input{
		{Result{}, ErrForbidden},
		{Result{}, ErrBodyTooLarge},
		{Result{}, ErrUnauthorized},
		{Result{}, ErrOverloaded},
		{Result{}, ErrBodyRead},
		{Result{Outcome: Duplicate}, nil},
		{Result{Outcome: Published}, nil},
		{Result{}, publisher.ErrUnavailable},
		{Result{}, publisher.ErrRejected},
		{Result{}, ErrClientClosed},
		{Result{}, ErrNotFound},
		{Result{}, ErrMethodNotAllowed},
		{Result{}, errPanic},
	}
	for _, r := range sigReasons {
		inputs = append(inputs, input{Result{}, &SignatureError{Reason: r}})
	}
	for _, r := range dlqReasons {
		inputs = append(inputs, input{Result{Outcome: DeadLettered, Reason: r}, nil})
	}
	var code []string
	for _, in := range inputs {
		a := answerFor(in.res, in.err)
		code = append(code, answerRow(a.status, a.retryAfter, a.body, a.outcome))
	}

	var doc []string
	rows := tableRows(t, contractSection(t, "http-answers"), 0)
	for _, row := range rows {
		if len(row) != 7 {
			t.Fatalf("row %q: want 7 cells (order, situation, status, body, reason, outcome, published?)", row)
		}
		statusCell, bodyCell, reasonCell, outcomeCell := row[2], row[3], row[4], row[5]
		status, err := strconv.Atoi(strings.Fields(statusCell)[0])
		if err != nil {
			t.Fatalf("row %q: status %q is not a number", row, statusCell)
		}
		retryAfter := strings.Contains(statusCell, "Retry-After")
		body, outcome := oneQuoted(t, bodyCell), oneQuoted(t, outcomeCell)
		if !strings.Contains(body, "<reason>") {
			doc = append(doc, answerRow(status, retryAfter, body, outcome))
			continue
		}
		reasons := quoted(reasonCell)
		if strings.Contains(reasonCell, "(#dead-letter-reasons)") {
			reasons = firstColumn(t, "dead-letter-reasons")
		}
		if len(reasons) == 0 {
			t.Errorf("row %q: a <reason> body names no reasons", row)
		}
		for _, r := range reasons {
			doc = append(doc, answerRow(status, retryAfter, strings.Replace(body, "<reason>", r, 1), outcome))
		}
	}
	slices.Sort(code)
	slices.Sort(doc)
	if diff := cmp.Diff(slices.Compact(code), slices.Compact(doc)); diff != "" {
		t.Errorf("docs/contract.md#http-answers and answerFor differ (-code +contract):\n%s", diff)
	}
}

func answerRow(status int, retryAfter bool, body, outcome string) string {
	s := strconv.Itoa(status)
	if retryAfter {
		s += " + Retry-After"
	}
	return s + " " + body + " outcome=" + outcome
}

// TestContractOutcomes: every outcome label the package declares is named
// in the contract, in the answers table or among the extensions being
// added, so that a new outcome cannot reach the metrics undocumented.
func TestContractOutcomes(t *testing.T) {
	t.Parallel()
	declared := packageConsts(t, func(name, typ string) bool {
		return strings.HasPrefix(name, "outcome") || typ == "Outcome"
	})
	if len(declared) < 5 {
		t.Fatalf("found only %d outcome constants (%q): has their naming changed? update this test", len(declared), declared)
	}
	var documented []string
	for _, row := range tableRows(t, contractSection(t, "http-answers"), 0) {
		documented = append(documented, quoted(row[5])...)
	}
	documented = append(documented, firstColumn(t, "extensions")...)
	for _, o := range declared {
		if !slices.Contains(documented, o) {
			t.Errorf("outcome %q is not in docs/contract.md#http-answers (nor #extensions)", o)
		}
	}
}

// TestContractDeadLetterReasons holds docs/contract.md#dead-letter-reasons
// to the reasons the code declares and to what deadLetterReason returns
// for each way a signed delivery can be unusable.
func TestContractDeadLetterReasons(t *testing.T) {
	t.Parallel()
	doc := firstColumn(t, "dead-letter-reasons")
	declared := packageConsts(t, func(name, _ string) bool { return strings.HasPrefix(name, "DLQ") })
	var mapped []string
	for _, err := range []error{
		schemas.ErrNotObject, schemas.ErrMissingEventType, schemas.ErrMissingContactID,
		ErrNoEncryptionKey, schemas.ErrPayloadNotJSON, schemas.ErrInvalidPayload, ErrInvalidTopic,
		ErrTenantMismatch,
	} {
		r, ok := deadLetterReason(err)
		if !ok {
			t.Errorf("deadLetterReason(%v) is not a dead letter", err)
		}
		mapped = append(mapped, r)
	}
	if _, ok := deadLetterReason(publisher.ErrUnavailable); ok {
		t.Errorf("deadLetterReason(ErrUnavailable): a Kafka error must never be dead-lettered")
	}
	for _, l := range [][]string{doc, declared, mapped} {
		slices.Sort(l)
	}
	// A reason still being added may be listed under #extensions instead.
	extensions := firstColumn(t, "extensions")
	declared = slices.DeleteFunc(declared, func(r string) bool {
		return slices.Contains(extensions, r) && !slices.Contains(doc, r)
	})
	if diff := cmp.Diff(declared, doc); diff != "" {
		t.Errorf("the DLQ constants and docs/contract.md#dead-letter-reasons differ (-code +contract):\n%s", diff)
	}
	if diff := cmp.Diff(mapped, doc); diff != "" {
		t.Errorf("deadLetterReason and docs/contract.md#dead-letter-reasons differ (-code +contract):\n%s", diff)
	}
}

// TestContractRecordHeaderOrder holds the header tables of
// docs/contract.md#event-record and #dead-letter-record, in their order,
// to the headers the code writes (traceparent, last in both tables, is
// added at publish time when tracing is on). A header still being added
// may be listed under #extensions instead.
func TestContractRecordHeaderOrder(t *testing.T) {
	t.Parallel()
	extensions := firstColumn(t, "extensions")
	env, err := schemas.ParseEnvelope([]byte(`{"eventId":"e1","eventType":"contact.updated","isEncrypted":false,"payload":{"contactId":"c1"},"tenant":"t1"}`))
	if err != nil {
		t.Fatal(err)
	}
	d := Delivery{ID: "msg_1", Timestamp: "1700000000"}
	for _, tt := range []struct {
		anchor  string
		headers []publisher.Header
	}{
		{"event-record", eventHeaders(d, &env, "c1", DefaultEndpoint, true)},
		{"dead-letter-record", deadLetterHeaders(d, DLQMissingContactID, schemas.ErrMissingContactID, env.EventType, env.Tenant, DefaultEndpoint)},
	} {
		var written []string
		for _, h := range tt.headers {
			if !slices.Contains(extensions, h.Key) {
				written = append(written, h.Key)
			}
		}
		written = append(written, schemas.RecordTraceparent)
		if diff := cmp.Diff(written, firstColumn(t, tt.anchor)); diff != "" {
			t.Errorf("docs/contract.md#%s headers and the code differ (-code +contract):\n%s", tt.anchor, diff)
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
