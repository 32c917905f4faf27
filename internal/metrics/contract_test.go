package metrics

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/google/go-cmp/cmp"
)

const contractPath = "../../docs/contract.md"

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
		labels := quoted(row[2])
		slices.Sort(labels)
		doc = append(doc, strings.Join(quoted(row[0]), "")+" "+row[1]+" "+strings.Join(labels, ","))
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
	section := contractSection(t, "operations")
	for i := 0; ; i++ {
		rows := tableRows(t, section, i)
		if len(rows) > 0 && strings.HasPrefix(strings.Join(quoted(rows[0][0]), ""), namespace+"_") {
			return rows
		}
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
