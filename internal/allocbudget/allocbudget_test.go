package allocbudget

import "testing"

var sink []byte

type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Errorf(string, ...any) { r.failed = true }
func (r *recorder) Helper()               {}

// TestCheck: a step within its budget passes, one over it fails.
func TestCheck(t *testing.T) {
	within := &recorder{TB: t}
	Check(within, 1, func() { sink = make([]byte, 64) })
	if within.failed {
		t.Error("one allocation failed a budget of one")
	}
	over := &recorder{TB: t}
	Check(over, 1, func() {
		for range 8 {
			sink = make([]byte, 64)
		}
	})
	if !over.failed {
		t.Error("eight allocations passed a budget of one")
	}
}
