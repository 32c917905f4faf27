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

// TestCheckPooled: a pooled step's refill cost widens only the race
// detector's limit, by a quarter of it.
func TestCheckPooled(t *testing.T) {
	eight := func() {
		for range 8 {
			sink = make([]byte, 64)
		}
	}
	pooled := &recorder{TB: t}
	CheckPooled(pooled, 0, 40, eight) // race limit 0+4+10
	plain := &recorder{TB: t}
	Check(plain, 0, eight) // race limit 4
	if RaceEnabled {
		if pooled.failed || !plain.failed {
			t.Errorf("under -race, 8 allocations: CheckPooled(0, refill 40) failed %v (want false), Check(0) failed %v (want true)", pooled.failed, plain.failed)
		}
		return
	}
	if !pooled.failed {
		t.Error("without -race the refill widened the limit: 8 allocations passed a budget of zero")
	}
}
