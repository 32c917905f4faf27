// Package allocbudget holds the hot steps of the request path to the
// number of heap allocations they make per call. Timing targets live in
// benchmarks, where a noisy machine cannot fail the suite; allocation
// counts are deterministic, so a test can hold them and a regression
// fails CI instead of waiting for someone to run the benchmarks.
package allocbudget

import (
	"runtime"
	"testing"
)

// runs is how many calls the average is taken over.
const runs = 500

// slack is the part of an allocation per call that is not the step's: the
// runtime's own now and then. A step that allocates on one call in ten
// more than its budget fails.
const slack = 0.1

// Check fails t when fn makes more than budget allocations per call on
// average over many calls. Unlike testing.AllocsPerRun, which rounds the
// average down, a step that allocates on every other call fails a budget
// of zero.
//
// Under the race detector sync.Pool drops a quarter of what is put back,
// on purpose, so pooled objects are made again at random; the limit there
// is twice the budget plus four, which still catches a step that starts to
// allocate per call what it used to reuse. A step whose pooled objects
// cost more than that to make again is held by CheckPooled.
func Check(t testing.TB, budget float64, fn func()) {
	t.Helper()
	CheckPooled(t, budget, 0, fn)
}

// CheckPooled is Check for a step that takes objects from sync.Pool whose
// making costs refill allocations per call (all of them made afresh).
// Without the race detector it is Check. Under it, where a quarter of the
// pooled objects are dropped at random, the limit grows by a quarter of
// refill: the verifier's budget of 0 with two secrets, each a signer of
// about 12 allocations to make, measures about 6 per call there.
func CheckPooled(t testing.TB, budget, refill float64, fn func()) {
	t.Helper()
	limit := budget + slack
	if RaceEnabled {
		limit = 2*budget + 4 + refill/4
	}
	if got := perCall(fn); got > limit {
		t.Errorf("%.2f allocations per call, budget %v (limit %.1f here)", got, budget, limit)
	}
}

// perCall is the average number of heap allocations of a call of fn, on
// one P so that other goroutines interfere less, after one warm-up call
// for lazy set-up.
func perCall(fn func()) float64 {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	fn()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range runs {
		fn()
	}
	runtime.ReadMemStats(&after)
	return float64(after.Mallocs-before.Mallocs) / runs
}
