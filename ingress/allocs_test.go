package ingress

import (
	"context"
	"testing"
	"time"

	"github.com/engage-bridge/engage-bridge/internal/allocbudget"
)

// TestAllocBudgets holds the request path's steps to the allocations they
// make today (docs/performance.md, "Where the time goes"): raising a
// budget is a decision to write down, not a side effect.
func TestAllocBudgets(t *testing.T) {
	t.Run("verify", func(t *testing.T) {
		h, body := signedByRotated("msg_allocs")
		v, _ := NewVerifier([]string{vectorSecret, rotatedSecret}, 5*time.Minute, nil)
		allocbudget.Check(t, 0, func() {
			if _, err := v.Verify(h, body); err != nil {
				t.Fatal(err)
			}
		})
	})
	t.Run("record headers", func(t *testing.T) {
		d, env, contactID := recordInputs(t)
		b := &headerBuilder{}
		allocbudget.Check(t, 0, func() { eventHeaders(b, d, &env, contactID, DefaultEndpoint, false) })
	})
	for mode, budget := range map[string]float64{"cleartext": 10, "encrypted": 12} {
		t.Run("accept "+mode, func(t *testing.T) {
			handler, h, body := acceptOnly(t, mode == "encrypted")
			allocbudget.Check(t, budget, func() {
				if res, err := handler.Accept(context.Background(), h, body, nil); err != nil || res.Outcome != Published {
					t.Fatal(res, err)
				}
			})
		})
	}
}
