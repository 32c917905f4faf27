package router

import (
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/engage-bridge/engage-bridge/internal/contracttest"
)

// TestContractDefaultRoutes holds the built-in table of
// docs/contract.md#routing to Default(): the same patterns to the same
// topics in the same order, the same fallback and dead-letter topics.
func TestContractDefaultRoutes(t *testing.T) {
	t.Parallel()
	section := contracttest.Section(t, "routing")
	var doc Config
	for _, row := range contracttest.Table(t, section, 0) {
		topic := contracttest.OneQuoted(t, row[1])
		if patterns := contracttest.Quoted(row[0]); len(patterns) > 0 {
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
