package allocbudget

import "testing"

var sink []byte

type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Errorf(string, ...any) { r.failed = true }
func (r *recorder) Helper()               {}

// TestCheck: a step within its budget passes; one over it fails, also
// when it allocates on only some calls.
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
	if RaceEnabled {
		return // the race limit is deliberately coarse
	}
	sometimes := &recorder{TB: t}
	call := 0
	Check(sometimes, 0, func() {
		if call++; call%2 == 0 {
			sink = make([]byte, 64)
		}
	})
	if !sometimes.failed {
		t.Error("an allocation on every other call passed a budget of zero")
	}
}
