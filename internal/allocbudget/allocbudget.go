// Package allocbudget holds the hot steps of the request path to the
// number of heap allocations they make per call. Timing targets live in
// benchmarks, where a noisy machine cannot fail the suite; allocation
// counts are deterministic, so a test can hold them and a regression
// fails CI instead of waiting for someone to run the benchmarks.
package allocbudget

import "testing"

// Check fails t when fn makes more than budget allocations per call,
// averaged over many calls (a garbage collection emptying a sync.Pool now
// and then does not count).
//
// Under the race detector sync.Pool drops a quarter of what is put back,
// on purpose, so pooled objects are made again at random (the verifier's
// 7 become about 11); the limit there is twice the budget plus four, which
// still catches a step that starts to allocate per call what it used to
// reuse. Without -race the budget is exact.
func Check(t testing.TB, budget float64, fn func()) {
	t.Helper()
	limit := budget
	if raceEnabled {
		limit = 2*budget + 4
	}
	if got := testing.AllocsPerRun(500, fn); got > limit {
		t.Errorf("%v allocations per call, budget %v (limit %v here)", got, budget, limit)
	}
}
