package ingress

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/engage-bridge/engage-bridge/internal/contracttest"
	"github.com/engage-bridge/engage-bridge/publisher"
	"github.com/engage-bridge/engage-bridge/schemas"
)

// TestContractHTTPAnswers holds the table of docs/contract.md#http-answers
// to answerFor: every answer the code gives (status, Retry-After, body,
// outcome) is a row of the table, and every row is an answer the code
// gives. Bodies with a <reason> stand for one body per reason named in the
// row (or every dead-letter reason, when the row links to them).
func TestContractHTTPAnswers(t *testing.T) {
	t.Parallel()
	sigReasons := contracttest.Consts(t, func(name, _ string) bool { return strings.HasPrefix(name, "Reason") })
	// The dead-letter reasons are held to the code by
	// TestContractDeadLetterReasons.
	dlqReasons := contracttest.FirstColumn(t, "dead-letter-reasons")

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
	rows := contracttest.Table(t, contracttest.Section(t, "http-answers"), 0)
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
		body, outcome := contracttest.OneQuoted(t, bodyCell), contracttest.OneQuoted(t, outcomeCell)
		if !strings.Contains(body, "<reason>") {
			doc = append(doc, answerRow(status, retryAfter, body, outcome))
			continue
		}
		reasons := contracttest.Quoted(reasonCell)
		if strings.Contains(reasonCell, "(#dead-letter-reasons)") {
			reasons = contracttest.FirstColumn(t, "dead-letter-reasons")
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
	declared := contracttest.Consts(t, func(name, typ string) bool {
		return strings.HasPrefix(name, "outcome") || typ == "Outcome"
	})
	if len(declared) < 5 {
		t.Fatalf("found only %d outcome constants (%q): has their naming changed? update this test", len(declared), declared)
	}
	var documented []string
	for _, row := range contracttest.Table(t, contracttest.Section(t, "http-answers"), 0) {
		documented = append(documented, contracttest.Quoted(row[5])...)
	}
	documented = append(documented, contracttest.FirstColumn(t, "extensions")...)
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
	doc := contracttest.FirstColumn(t, "dead-letter-reasons")
	declared := contracttest.Consts(t, func(name, _ string) bool { return strings.HasPrefix(name, "DLQ") })
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
	extensions := contracttest.FirstColumn(t, "extensions")
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
	extensions := contracttest.FirstColumn(t, "extensions")
	env, err := schemas.ParseEnvelope([]byte(`{"eventId":"e1","eventType":"contact.updated","isEncrypted":false,"payload":{"contactId":"c1"},"tenant":"t1"}`))
	if err != nil {
		t.Fatal(err)
	}
	d := Delivery{ID: "msg_1", Timestamp: "1700000000"}
	for _, tt := range []struct {
		anchor  string
		headers []publisher.Header
	}{
		{"event-record", eventHeaders(&headerBuilder{}, d, &env, "c1", DefaultEndpoint, true)},
		{"dead-letter-record", deadLetterHeaders(d, DLQMissingContactID, schemas.ErrMissingContactID, env.EventType, env.Tenant, DefaultEndpoint)},
	} {
		var written []string
		for _, h := range tt.headers {
			if !slices.Contains(extensions, h.Key) {
				written = append(written, h.Key)
			}
		}
		written = append(written, schemas.RecordTraceparent)
		if diff := cmp.Diff(written, contracttest.FirstColumn(t, tt.anchor)); diff != "" {
			t.Errorf("docs/contract.md#%s headers and the code differ (-code +contract):\n%s", tt.anchor, diff)
		}
	}
}

// contractSection is kept for review_test.go, outside this change; call
// contracttest.Section in new tests.
func contractSection(t *testing.T, anchor string) string {
	t.Helper()
	return contracttest.Section(t, anchor)
}
