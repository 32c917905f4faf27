package schemas

import (
	"testing"

	"github.com/engage-bridge/engage-bridge/internal/allocbudget"
)

// TestAllocBudgets holds parsing and the drift check to the allocations
// they make today (docs/performance.md).
func TestAllocBudgets(t *testing.T) {
	body, _ := Example(EventContactUpdated)
	t.Run("parse envelope and contactId", func(t *testing.T) {
		allocbudget.Check(t, 5, func() {
			env, err := ParseEnvelope(body)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := env.ContactID(); err != nil {
				t.Fatal(err)
			}
		})
	})
	t.Run("drift check", func(t *testing.T) {
		env, _ := ParseEnvelope(body)
		v, err := NewValidator()
		if err != nil {
			t.Fatal(err)
		}
		allocbudget.Check(t, 0, func() {
			if _, err := v.Check(EventContactUpdated, env.Payload); err != nil {
				t.Fatal(err)
			}
		})
	})
}

// TestDocumentedNames holds the allocation-free lookup of parsing to the
// documented event types: every one is found as written, and nothing else
// is, an escaped spelling included (parsing unescapes that one instead).
func TestDocumentedNames(t *testing.T) {
	for _, et := range EventTypes() {
		if got, ok := documented([]byte(et)); !ok || got != et {
			t.Errorf("documented(%q) = %q, %v", et, got, ok)
		}
	}
	for _, other := range []string{"", "contact", "contact.Updated", `contact\u002eupdated`, "contact.updated ", "order.created"} {
		if got, ok := documented([]byte(other)); ok {
			t.Errorf("documented(%q) = %q, true; want no match", other, got)
		}
	}
	env, err := ParseEnvelope([]byte(`{"eventType":"contact\u002eupdated","payload":{"contactId":"c1"}}`))
	if err != nil || env.EventType != EventContactUpdated {
		t.Errorf("escaped eventType parsed as %q, %v", env.EventType, err)
	}
}
