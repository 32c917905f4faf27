package ingress

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"

	"github.com/engage-bridge/engage-bridge/dedupe"
	"github.com/engage-bridge/engage-bridge/internal/allocbudget"
	"github.com/engage-bridge/engage-bridge/schemas"
)

// TestAllocBudgets holds the request path's steps to the allocations they
// make today (docs/performance.md, "Where the time goes"): raising a
// budget is a decision to write down, not a side effect.
func TestAllocBudgets(t *testing.T) {
	t.Run("verify", func(t *testing.T) {
		body, _ := schemas.Example(schemas.EventContactUpdated)
		signer, _ := svix.NewWebhook(rotatedSecret)
		now := time.Now()
		sig, _ := signer.Sign("msg_allocs", now, body)
		h := http.Header{}
		h.Set("svix-id", "msg_allocs")
		h.Set("svix-timestamp", strconv.FormatInt(now.Unix(), 10))
		h.Set("svix-signature", sig)
		v, _ := NewVerifier([]string{vectorSecret, rotatedSecret}, 5*time.Minute, nil)
		allocbudget.Check(t, 7, func() {
			if _, err := v.Verify(h, body); err != nil {
				t.Fatal(err)
			}
		})
	})
	t.Run("record headers", func(t *testing.T) {
		env, err := schemas.ParseEnvelope(example(t, schemas.EventContactUpdated))
		if err != nil {
			t.Fatal(err)
		}
		contactID, _ := env.ContactID()
		d := Delivery{ID: "msg_p5jXN8AQM9LWM0D4loKWxJek", Timestamp: "1614265330"}
		allocbudget.Check(t, 1, func() { eventHeaders(d, &env, contactID, false) })
	})
	for mode, budget := range map[string]float64{"cleartext": 19, "encrypted": 21} {
		t.Run("accept "+mode, func(t *testing.T) {
			tb := newTestHandler(t, nil)
			seen, _ := dedupe.New(dedupe.Config{TTL: 0}, nil)
			tb.h.proc.seen = seen
			tb.h.proc.pub = nopPublisher{}
			body := example(t, schemas.EventContactUpdated)
			if mode == "encrypted" {
				body, _ = encrypted(t, schemas.EventContactUpdated)
			}
			h := signed(t, "msg_allocs", body)
			allocbudget.Check(t, budget, func() {
				if res, err := tb.h.Accept(context.Background(), h, body); err != nil || res.Outcome != Published {
					t.Fatal(res, err)
				}
			})
		})
	}
}
