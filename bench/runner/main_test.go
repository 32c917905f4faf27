package main

import (
	"bytes"
	"strings"
	"testing"

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
