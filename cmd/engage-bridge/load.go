package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/engage-bridge/engage-bridge/internal/loadgen"
	"github.com/engage-bridge/engage-bridge/internal/payloadcrypto"
)

// loadOptions are the flags of `send --load`.
type loadOptions struct {
	concurrency int
	duration    time.Duration
	rate        float64 // requests a second; 0 is a closed loop
	maxRequests int     // hard bound on the number of requests
	warmup      time.Duration
	pool        int // distinct bodies of each kind, each with its own contactId
}

// runLoad sends signed deliveries with vegeta for lo.duration (and at most
// lo.maxRequests): closed loop with lo.concurrency workers, each sending
// its next request when the last is answered, or open loop at lo.rate with
// at most lo.concurrency requests in flight. It prints the figures and a
// final JSON line.
func runLoad(ctx context.Context, o sendOptions, lo loadOptions, stdout io.Writer) (loadgen.Result, error) {
	var key *payloadcrypto.Key
	if o.encrypt {
		k, err := payloadcrypto.ParseKey(o.key)
		if err != nil {
			return loadgen.Result{}, &usageError{"send: --encrypt needs --encryption-key (or $BRIDGE_ENCRYPTION_KEY): " + err.Error()}
		}
		key = &k
	}
	bodies, err := loadgen.Bodies(lo.pool, key)
	if err != nil {
		return loadgen.Result{}, err
	}
	runID := strconv.FormatInt(time.Now().UnixNano()%1e12, 36)
	targets := func(prefix string) (vegeta.Targeter, error) {
		return loadgen.NewTargeter(loadgen.Targets{URL: o.url, Secret: o.secret, HeaderSet: o.headerSet, Bodies: bodies, IDPrefix: runID + prefix})
	}
	measured, err := targets("m")
	if err != nil {
		return loadgen.Result{}, &usageError{"send: --secret must be a whsec_ signing secret"}
	}
	// One transport for the warm-up and the run, so that the run starts on
	// warm connections. No Accept-Encoding, as Svix sends none (Go's
	// transport would add gzip, and some servers then compress every
	// answer: docs/performance.md#the-load-generator).
	transport := &http.Transport{
		DisableCompression:  true,
		MaxIdleConns:        lo.concurrency,
		MaxIdleConnsPerHost: lo.concurrency,
		IdleConnTimeout:     90 * time.Second,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
	}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: o.timeout}
	attacker := func() *vegeta.Attacker {
		return vegeta.NewAttacker(vegeta.Client(client), vegeta.Workers(uint64(lo.concurrency)),
			vegeta.MaxWorkers(uint64(lo.concurrency)), vegeta.MaxBody(0), vegeta.Redirects(vegeta.NoFollow))
	}

	var pacer vegeta.Pacer = vegeta.Rate{} // zero: no pacing, a closed loop
	if lo.rate > 0 {
		pacer = ratePacer(lo.rate)
	}
	// Warm-up, not measured: connections, the target's pools, Kafka
	// metadata, the Go runtime's heap size. At the run's own pace: a
	// --rate is the most the target is sent, warm-up included (it was a
	// closed loop, which sent a 200/s run's target thousands a second).
	if lo.warmup > 0 {
		warm, _ := targets("w")
		attack(ctx, attacker(), warm, pacer, lo.warmup, func(*vegeta.Result) {})
	}
	// A marker for tools that measure the target (bench/runner reads its
	// CPU time here).
	fmt.Fprintln(stdout, "measuring")
	var sum loadgen.Summary
	attack(ctx, attacker(), measured, bounded{pacer, uint64(lo.maxRequests)}, lo.duration, sum.Add)
	res := sum.Result()
	res.Conc, res.Encrypted, res.Mode, res.Rate = lo.concurrency, o.encrypt, "closed", lo.rate
	if lo.rate > 0 {
		res.Mode = "open"
	}
	printLoad(stdout, res, sum.NoAnswer(), lo)
	return res, nil
}

// attack runs one vegeta attack, passing each result to add; ctx's end
// stops it (requests in flight are still answered and counted).
func attack(ctx context.Context, a *vegeta.Attacker, tr vegeta.Targeter, p vegeta.Pacer, d time.Duration, add func(*vegeta.Result)) {
	stop := context.AfterFunc(ctx, func() { a.Stop() })
	defer stop()
	for r := range a.Attack(tr, p, d, "") {
		add(r)
	}
}

// minRate is the lowest --rate: ratePacer paces in thousandths of a
// request per second, and a rate that rounds to none would not be paced
// at all (vegeta's zero rate is a closed loop).
const minRate = 0.001

// validate names every --load flag with a value it cannot use.
func (lo loadOptions) validate() error {
	var problems []string
	if lo.concurrency < 1 {
		problems = append(problems, "--concurrency must be at least 1")
	}
	if lo.duration <= 0 {
		problems = append(problems, "--duration must be positive")
	}
	if lo.warmup < 0 {
		problems = append(problems, "--warmup must not be negative")
	}
	if lo.maxRequests < 1 {
		problems = append(problems, "--max-requests must be at least 1")
	}
	if math.IsNaN(lo.rate) || math.IsInf(lo.rate, 0) || lo.rate < 0 || (lo.rate > 0 && lo.rate < minRate) {
		problems = append(problems, fmt.Sprintf("--rate must be 0 (a closed loop) or a number from %g to the requests a second to pace", minRate))
	}
	if len(problems) == 0 {
		return nil
	}
	return &usageError{"send --load: " + strings.Join(problems, "; ")}
}

// ratePacer is vegeta's constant pacer for a rate that need not be whole.
func ratePacer(rate float64) vegeta.Pacer {
	if rate == math.Trunc(rate) {
		return vegeta.Rate{Freq: int(rate), Per: time.Second}
	}
	return vegeta.Rate{Freq: int(math.Round(rate * 1000)), Per: 1000 * time.Second}
}

// bounded is a pacer that stops after max hits.
type bounded struct {
	vegeta.Pacer
	max uint64
}

func (b bounded) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	if hits >= b.max {
		return 0, true
	}
	return b.Pacer.Pace(elapsed, hits)
}

func printLoad(stdout io.Writer, res loadgen.Result, noAnswer int64, lo loadOptions) {
	codes := slices.Sorted(func(yield func(string) bool) {
		for k := range res.Statuses {
			if !yield(k) {
				return
			}
		}
	})
	var by []string
	for _, k := range codes {
		by = append(by, fmt.Sprintf("%s: %d", k, res.Statuses[k]))
	}
	if noAnswer > 0 {
		by = append(by, fmt.Sprintf("no answer: %d", noAnswer))
	}
	fmt.Fprintf(stdout, "mode        %s loop, concurrency %d", res.Mode, lo.concurrency)
	if lo.rate > 0 {
		fmt.Fprintf(stdout, ", %g req/s intended, %.1f req/s sent", lo.rate, res.SentRate)
	}
	fmt.Fprintf(stdout, ", encrypted %v\n", res.Encrypted)
	fmt.Fprintf(stdout, "requests    %d in %.2fs (%s)\n", res.Requests, res.Seconds, strings.Join(by, ", "))
	fmt.Fprintf(stdout, "errors      %d\n", res.Errors)
	fmt.Fprintf(stdout, "throughput  %.1f/s (2xx)\n", res.Throughput)
	fmt.Fprintf(stdout, "latency     p50 %.3fms  p90 %.3fms  p99 %.3fms  p99.9 %.3fms  max %.3fms\n", res.P50, res.P90, res.P99, res.P999, res.Max)
	// vegeta measures each request from when it was sent. In an open loop
	// that is the intended time only while a worker is free: with all
	// lo.concurrency busy, the pacer waits, and latency no longer counts
	// the wait (coordinated omission). Say so when it happened.
	if lo.rate > 0 && res.SentRate < 0.97*lo.rate && res.Requests < int64(lo.maxRequests) {
		fmt.Fprintf(stdout, "warning     sent %.1f/s of %g/s intended: every worker was busy at times, latency is from the actual send times\n", res.SentRate, lo.rate)
	}
	line, _ := json.Marshal(res)
	fmt.Fprintf(stdout, "%s\n", line)
}
