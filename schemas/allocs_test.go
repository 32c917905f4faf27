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
		allocbudget.Check(t, 7, func() {
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
