package schemas

import (
	"slices"
	"strings"
	"testing"

	"github.com/engage-bridge/engage-bridge/internal/contracttest"
)

// TestContractRecordHeaders holds the header tables of
// docs/contract.md#event-record and #dead-letter-record to the Record*
// constants: every header the bridge can write is documented, and every
// documented header is one it declares. The engage-dlq-* headers belong
// to dead letters only. A header still being added may instead be listed
// under #extensions. The order of each table is held to the code in
// ingress.
func TestContractRecordHeaders(t *testing.T) {
	t.Parallel()
	declared := contracttest.Consts(t, func(name, _ string) bool { return strings.HasPrefix(name, "Record") })
	event := contracttest.FirstColumn(t, "event-record")
	deadLetter := contracttest.FirstColumn(t, "dead-letter-record")
	extensions := contracttest.FirstColumn(t, "extensions")

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
	for _, row := range contracttest.Table(t, contracttest.Section(t, "event-record"), 0) {
		values[contracttest.OneQuoted(t, row[0])] = row[1]
	}
	for header, want := range map[string]string{
		RecordContentType:   ContentTypeJSON,
		RecordCESpecVersion: CESpecVersion,
		RecordCESource:      CESourcePrefix,
		RecordSchemaValid:   SchemaValidFalse,
	} {
		if !slices.Contains(contracttest.Quoted(values[header]), want) {
			t.Errorf("docs/contract.md#event-record: %s should read `%s`, got %q", header, want, values[header])
		}
	}
}

// TestContractDeliveryHeaders: both sets of Svix's request headers are
// named where the contract describes the signature check.
func TestContractDeliveryHeaders(t *testing.T) {
	t.Parallel()
	section := contracttest.Section(t, "http-answers")
	for _, h := range contracttest.Consts(t, func(name, _ string) bool { return strings.HasPrefix(name, "Header") }) {
		if !strings.Contains(section, "`"+h+"`") {
			t.Errorf("docs/contract.md#http-answers does not name the request header %s", h)
		}
	}
}
