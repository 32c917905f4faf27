package metrics

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/engage-bridge/engage-bridge/internal/contracttest"
)

// TestContractMetrics holds the metrics table of
// docs/contract.md#operations to the registry: every engage_bridge_ metric
// with its type and label names, and nothing the registry lacks.
func TestContractMetrics(t *testing.T) {
	t.Parallel()
	m := New()
	// A vector is gathered only once it has a child: touch every metric.
	m.Request("published", "default", time.Millisecond)
	m.Published("engage.contact", "contact.updated", "default")
	m.DeadLetter("invalid_json", "default")
	m.SignatureFailure("no_match", "default")
	m.Duplicate()
	m.SchemaDrift("contact.updated")
	m.Publish("ok", time.Millisecond)
	m.Rejected("engage.contact")
	m.MissingTopic("engage.contact")
	m.InFlight(1)
	m.Ready(true)
	m.ConfigReload("signing_secrets", true)
	m.ConfigReload("signing_secrets", false)
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var code []string
	for _, f := range families {
		if !strings.HasPrefix(f.GetName(), namespace+"_") {
			continue
		}
		var labels []string
		for _, l := range f.GetMetric()[0].GetLabel() {
			labels = append(labels, l.GetName())
		}
		slices.Sort(labels)
		code = append(code, f.GetName()+" "+strings.ToLower(f.GetType().String())+" "+strings.Join(labels, ","))
	}

	var doc []string
	for _, row := range metricsTable(t) {
		labels := contracttest.Quoted(row[2])
		slices.Sort(labels)
		doc = append(doc, strings.Join(contracttest.Quoted(row[0]), "")+" "+row[1]+" "+strings.Join(labels, ","))
	}
	slices.Sort(code)
	slices.Sort(doc)
	if diff := cmp.Diff(code, doc); diff != "" {
		t.Errorf("docs/contract.md#operations metrics and the registry differ (-code +contract):\n%s", diff)
	}
}

// metricsTable is the table of the operations section whose first column
// is "metric".
func metricsTable(t *testing.T) [][]string {
	t.Helper()
	section := contracttest.Section(t, "operations")
	for i := 0; ; i++ {
		rows := contracttest.Table(t, section, i)
		if len(rows) > 0 && strings.HasPrefix(strings.Join(contracttest.Quoted(rows[0][0]), ""), namespace+"_") {
			return rows
		}
	}
}

// quoted is kept for review_test.go, outside this change; call
// contracttest.Quoted in new tests.
func quoted(cell string) []string { return contracttest.Quoted(cell) }
