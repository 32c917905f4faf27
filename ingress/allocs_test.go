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
		// What making every secret's pooled signer again costs, its first
		// use included (the HMAC's pads, the prefix growing): under the
		// race detector the pools drop some at random (helper-28 found
		// the budget of 0 failing there at about 6 per call).
		refill := testing.AllocsPerRun(100, func() {
			for _, pool := range v.macs {
				s := pool.New().(*signer)
				s.prefix = append(append(s.prefix[:0], "msg_allocs"...), ".1700000000."...)
				s.mac.Reset()
				_, _ = s.mac.Write(s.prefix)
				_, _ = s.mac.Write(body)
				s.mac.Sum(s.sum[:0])
			}
		})
		allocbudget.CheckPooled(t, 0, refill, func() {
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
