package ingress

import (
	"strings"
	"testing"
)

// TestPooledBuilderHoldsNoGrownBuffer: a record whose header values outgrow
// the inline buffer (a contactId of most of a 1 MiB body) lays them out in
// a buffer of its own, which must go with the record when the builder goes
// back to the pool: a pooled builder that still refers to it keeps up to a
// body's worth of memory, and the contactId in it, for as long as the pool
// keeps the builder, beyond what BRIDGE_MAX_IN_FLIGHT x
// BRIDGE_MAX_BODY_BYTES accounts for (docs/contract.md#invariants).
func TestPooledBuilderHoldsNoGrownBuffer(t *testing.T) {
	d, env, _ := recordInputs(t)
	for _, tc := range []struct {
		name      string
		contactID string
	}{
		{"inline", "c1"},
		{"grown", strings.Repeat("c", 900<<10)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var bp builderPool
			b := bp.get()
			eventHeaders(b, d, &env, tc.contactID, DefaultEndpoint, false)
			bp.put(b)
			// b is in the pool now; what it refers to outside itself
			// stays as long as it does.
			retained := 0
			for _, h := range b.headers {
				if len(h.Value) > len(b.inline) {
					retained += cap(h.Value)
				}
			}
			if retained > 0 || b.buf != nil {
				t.Errorf("pooled builder still refers to %d bytes of header values outside its inline buffer (buf %d bytes)", retained, cap(b.buf))
			}
		})
	}
}
