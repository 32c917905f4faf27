package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/engage-bridge/engage-bridge/internal/loadgen"
)

func TestAgree(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		send, vegeta float64
		want         bool
	}{
		{1.5, 1.5, true},
		{1.7, 1.5, true},   // +13 %
		{1.3, 1.5, true},   // -13 %
		{1.75, 1.5, false}, // +17 %
		{1.2, 1.5, false},  // -20 %
		{0, 1.5, false},    // no figure is no agreement
		{1.5, 0, false},
	} {
		if _, got := agree(tc.send, tc.vegeta); got != tc.want {
			t.Errorf("agree(%v, %v) = %v, want %v", tc.send, tc.vegeta, got, tc.want)
		}
	}
}

// TestReport checks that the report gives each generator's ratios run by
// run and names the ratios on which the generators disagree.
func TestReport(t *testing.T) {
	t.Parallel()
	r := func(target, gen string, run int, tput float64) result {
		return result{Scenario: "closed c64", Target: target, Generator: gen, Run: run, Result: loadgen.Result{Throughput: tput}}
	}
	results := []result{
		r("bridge", genSend, 1, 1000), r("sink", genSend, 1, 2000), r("benthos", genSend, 1, 500),
		r("bridge", genVegeta, 1, 1000), r("sink", genVegeta, 1, 1900), r("benthos", genVegeta, 1, 800),
		r("bridge", genSend, 2, 1100), r("sink", genSend, 2, 2000), r("benthos", genSend, 2, 550),
		r("bridge", genVegeta, 2, 1000), r("sink", genVegeta, 2, 2000), r("benthos", genVegeta, 2, 800),
	}
	if diff := cmp.Diff([]float64{2, 2}, ratios(results, "closed c64", "benthos", genSend, func(r result) float64 { return r.Throughput })); diff != "" {
		t.Errorf("ratios (-want +got):\n%s", diff)
	}
	var out bytes.Buffer
	s := []scenario{{Name: "closed c64", Concurrency: 64, Targets: []string{"bridge", "sink", "benthos"}}}
	report(&out, s, []string{genSend, genVegeta}, results)
	for _, want := range []string{
		"bridge / sink     send    0.55  (0.50, 0.55)",
		"bridge / sink     send vs vegeta: +4.5 % (agree within 15 %)",
		"bridge / benthos  vegeta  1.25  (1.25, 1.25)",
		"bridge / benthos  send vs vegeta: +60.0 % (DISAGREE within 15 %)",
		"NOT every ratio agrees within 15 % between the generators: closed c64 bridge / benthos.",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

// TestReportFloor: an open-loop scenario's broker floor is reported run by
// run, with the bridge's server-side p50 above it per generator, and the
// 200/s target names it.
func TestReportFloor(t *testing.T) {
	t.Parallel()
	const s200 = "open 200/s"
	floor := func(run int, p50 float64) result {
		return result{Scenario: s200, Target: targetFloor, Generator: genFloor, Run: run, Result: loadgen.Result{Throughput: 200, P50: p50, P99: 2 * p50}}
	}
	bridge := func(gen string, run int, server float64) result {
		return result{Scenario: s200, Target: "bridge", Generator: gen, Run: run, Result: loadgen.Result{Throughput: 200}, ServerP50: server}
	}
	results := []result{
		floor(1, 0.30), bridge(genSend, 1, 0.35), bridge(genVegeta, 1, 0.40),
		floor(2, 0.36), bridge(genSend, 2, 0.37), bridge(genVegeta, 2, 0.39),
		floor(3, 0.40), bridge(genSend, 3, 0.45), bridge(genVegeta, 3, 0.50),
	}
	var out bytes.Buffer
	report(&out, []scenario{{Name: s200, Concurrency: 64, Rate: 200, Targets: []string{"bridge"}}}, []string{genSend, genVegeta}, results)
	for _, want := range []string{
		"open 200/s             broker floor (franz-go, one record at a time, acks=all, against kfake): p50 0.36 ms (0.30, 0.36, 0.40), p99 0.72 ms (0.60, 0.72, 0.80)",
		"open 200/s             bridge's server-side p50 above the floor, send: +0.01 ms",
		"open 200/s             bridge's server-side p50 above the floor, vegeta: +0.04 ms",
		"open 200/s: server-side p50 ≤ 0.3 ms         0.40 ms (broker floor 0.36 ms)",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "coordinated omission") {
		t.Errorf("the floor's measurement is reported as a generator's:\n%s", out.String())
	}
	if strings.Contains(out.String(), "| open 200/s | broker floor") {
		t.Errorf("the floor is a row of the targets' table:\n%s", out.String())
	}
}

// TestCheckFlags: a run that would measure nothing is refused, naming the
// flag.
func TestCheckFlags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		runs int
		d    time.Duration
		want string
	}{
		{3, 10 * time.Second, ""},
		{0, 10 * time.Second, "-runs"},
		{-1, time.Second, "-runs"},
		{1, 0, "-duration"},
		{0, -time.Second, "-runs must be at least 1; -duration must be positive"},
	} {
		err := checkFlags(tc.runs, tc.d)
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("checkFlags(%d, %v) = %v, want %q", tc.runs, tc.d, err, tc.want)
		}
	}
}

// TestReportTargetsPerRun: the report says how many targets each run met
// on its own, beside the medians.
func TestReportTargetsPerRun(t *testing.T) {
	t.Parallel()
	r := func(target, gen string, run int, tput, p99 float64) result {
		return result{Scenario: "closed c64", Target: target, Generator: gen, Run: run, Result: loadgen.Result{Throughput: tput, P99: p99}}
	}
	var results []result
	for _, g := range []string{genSend, genVegeta} {
		results = append(results,
			r("bridge", g, 1, 600, 9), r("sink", g, 1, 1000, 5), r("benthos", g, 1, 400, 12), // 0.60, 1.5 ×, p99 9: met
			r("bridge", g, 2, 400, 15), r("sink", g, 2, 1000, 5), r("benthos", g, 2, 400, 12)) // 0.40, 1.0 ×, p99 15: not
	}
	var out bytes.Buffer
	report(&out, []scenario{{Name: "closed c64", Concurrency: 64, Targets: []string{"bridge", "sink", "benthos"}}}, []string{genSend, genVegeta}, results)
	// Per run: the ceiling ratio, the Benthos ratio, errors and p99, RSS
	// (0 MiB here, met); CPU is not checked without CPU figures.
	for _, want := range []string{"send   met run by run: run 1: 4 of 4, run 2: 1 of 4", "vegeta met run by run: run 1: 4 of 4, run 2: 1 of 4"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}
