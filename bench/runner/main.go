// Command runner is the repeatable benchmark behind bench/run.sh. On one
// machine it starts a kfake broker (its own process) and a target for each
// scenario, target, generator and run, drives the target with one of two
// load generators, and prints throughput, latency percentiles, the
// target's CPU time per request (from /proc/<pid>/stat) and its peak RSS
// (VmHWM), with medians over the runs and our throughput as a ratio of the
// two references measured in the same run, per generator:
//
//   - send: `engage-bridge send --load` (vegeta's library, our targeter);
//   - vegeta: the vegeta CLI, code nobody here wrote, fed targets signed
//     beforehand (internal/loadgen writes them; -format json -lazy).
//
// Every ratio must agree within 15 % between the two generators; the
// report says which do not.
//
// For an open-loop scenario it also measures the broker's floor in the
// same run: bench/brokerfloor (franz-go, one record at a time, acks=all)
// at the scenario's rate against a fresh kfake, the wait for the broker
// that the bridge's server-side latency includes.
//
// The references:
//
//   - sink: the ceiling of the machine, a server that reads the body,
//     verifies the signature and answers 200 (bench/sink);
//   - benthos: Benthos v4.27.0 with http_server → bloblang → kafka_franz
//     (bench/benthos.yaml), the pipeline a user would otherwise deploy.
//
// Everything listens on loopback; each load run is bounded in time.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/engage-bridge/engage-bridge/internal/loadgen"
	"github.com/engage-bridge/engage-bridge/internal/payloadcrypto"
)

const (
	secret     = "whsec_ZW5nYWdlLWJyaWRnZS1iZW5jaC1zZWNyZXQ="
	key        = "BenchOnlyInsecureEngageBridgeKey"
	brokerAddr = "127.0.0.1:19092"
	targetAddr = "127.0.0.1:18080"
	adminAddr  = "127.0.0.1:19090"
)

type scenario struct {
	Name        string
	Concurrency int
	Rate        float64
	Encrypt     bool
	Targets     []string
	BridgeEnv   []string // extra variables of the bridge
}

// The generators.
const (
	genSend   = "send"
	genVegeta = "vegeta"
)

// The broker's floor: bench/brokerfloor (franz-go, one record at a time,
// acks=all) at an open-loop scenario's rate against a fresh kfake, in the
// same run as the bridge, so that the bridge's server-side latency, which
// includes the same wait for the broker, can be read against it.
const (
	targetFloor = "broker floor"
	genFloor    = "franz-go"
)

// warmup is each load's unmeasured start, with either generator.
const warmup = 2 * time.Second

// agreement is how far (relative) the two generators' ratios may differ.
const agreement = 0.15

type result struct {
	Scenario  string `json:"scenario"`
	Target    string `json:"target"`
	Generator string `json:"generator"`
	Run       int    `json:"run"`
	loadgen.Result
	CPUPerReq  float64 `json:"cpu_us_per_request"`
	GenCPU     float64 `json:"generator_cpu_us_per_request"` // the load generator's own CPU over the measured window
	BrokerCPU  float64 `json:"broker_cpu_us_per_request"`
	ServerP50  float64 `json:"server_p50_ms,omitempty"` // the bridge's own request duration histogram
	ServerP99  float64 `json:"server_p99_ms,omitempty"`
	PeakRSSMiB float64 `json:"peak_rss_mib"`
}

func main() {
	runs := flag.Int("runs", 3, "runs of each scenario and target (the median is reported)")
	duration := flag.Duration("duration", 10*time.Second, "length of each load run")
	bin := flag.String("bin", "bench/.bin", "directory with engage-bridge, kfake, sink and benthos binaries")
	only := flag.String("scenarios", "", "comma-separated scenario names (default: all; an unknown name lists them)")
	out := flag.String("out", "", "write every result as JSON here")
	flag.Parse()
	if err := checkFlags(*runs, *duration); err != nil {
		fmt.Fprintln(os.Stderr, "runner:", err)
		os.Exit(2)
	}

	all := []scenario{
		{"closed c1", 1, 0, false, []string{"bridge", "sink", "benthos"}, nil},
		{"closed c64", 64, 0, false, []string{"bridge", "sink", "benthos"}, nil},
		{"closed c256", 256, 0, false, []string{"bridge", "sink", "benthos"}, nil},
		{"open 200/s", 64, 200, false, []string{"bridge", "sink", "benthos"}, nil},
		{"open 2000/s", 256, 2000, false, []string{"bridge", "sink", "benthos"}, nil},
		{"closed c64 encrypted", 64, 0, true, []string{"bridge"}, nil},
		// Where the memory goes: the dedupe cache remembers every published
		// svix-id (about 25 bytes each, outside the Go heap) for
		// BRIDGE_DEDUPE_TTL.
		{"closed c64 dedupe off", 64, 0, false, []string{"bridge"}, []string{"BRIDGE_DEDUPE_TTL=0"}},
	}
	var scenarios []scenario
	var names []string
	for _, s := range all {
		names = append(names, s.Name)
	}
	var wanted []string
	if *only != "" {
		for _, name := range strings.Split(*only, ",") {
			name = strings.TrimSpace(name)
			if !slices.Contains(names, name) {
				fmt.Fprintf(os.Stderr, "runner: no scenario %q; the scenarios are: %s\n", name, strings.Join(names, ", "))
				os.Exit(2)
			}
			wanted = append(wanted, name)
		}
	}
	for _, s := range all {
		if len(wanted) == 0 || slices.Contains(wanted, s.Name) {
			scenarios = append(scenarios, s)
		}
	}
	if _, err := os.Stat(filepath.Join(*bin, "benthos")); err != nil {
		fmt.Fprintln(os.Stderr, "runner: no benthos binary; the benthos reference is skipped")
		for i := range scenarios {
			scenarios[i].Targets = slices.DeleteFunc(scenarios[i].Targets, func(t string) bool { return t == "benthos" })
		}
	}
	plural := "s"
	if *runs == 1 {
		plural = ""
	}
	fmt.Printf("engage-bridge benchmark, %s, %s/%s, %d CPUs, %d run%s of %v each\n\n",
		time.Now().UTC().Format("2006-01-02"), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), *runs, plural, *duration)

	gens := []string{genSend, genVegeta}
	if _, err := os.Stat(filepath.Join(*bin, "vegeta")); err != nil {
		fmt.Fprintln(os.Stderr, "runner: no vegeta binary; only send --load is measured, and no ratio is checked against a second generator")
		gens = gens[:1]
	}
	floor := true
	if _, err := os.Stat(filepath.Join(*bin, "brokerfloor")); err != nil {
		fmt.Fprintln(os.Stderr, "runner: no brokerfloor binary; the broker's floor is not measured")
		floor = false
	}
	var results []result
	for run := 1; run <= *runs; run++ {
		for _, s := range scenarios {
			if floor && s.Rate > 0 && slices.Contains(s.Targets, "bridge") {
				r, err := measureFloor(*bin, s, *duration)
				if err != nil {
					fmt.Fprintf(os.Stderr, "runner: %s / %s run %d: %v\n", s.Name, targetFloor, run, err)
					os.Exit(1)
				}
				r.Run = run
				results = append(results, r)
				fmt.Fprintf(os.Stderr, "run %d %-22s %s (%s, one record at a time) p50 %.2fms p90 %.2fms p99 %.2fms\n",
					run, s.Name, targetFloor, genFloor, r.P50, r.P90, r.P99)
			}
			for _, target := range s.Targets {
				var hint float64 // send's throughput: how many targets vegeta needs
				for _, gen := range gens {
					r, err := measure(*bin, s, target, gen, *duration, hint)
					if err != nil {
						fmt.Fprintf(os.Stderr, "runner: %s / %s / %s run %d: %v\n", s.Name, target, gen, run, err)
						os.Exit(1)
					}
					hint = r.Throughput
					r.Run = run
					results = append(results, r)
					server := "server –" // only the bridge exports its request histogram
					if target == "bridge" {
						server = fmt.Sprintf("server p50 %.2fms p99 %.2fms", r.ServerP50, r.ServerP99)
					}
					fmt.Fprintf(os.Stderr, "run %d %-22s %-8s %-6s %9.0f/s p50 %6.2fms p99 %6.2fms errors %d cpu %5.1fµs/req broker %5.1fµs/req generator %5.1fµs/req rss %5.1fMiB %s\n",
						run, s.Name, target, gen, r.Throughput, r.P50, r.P99, r.Errors, r.CPUPerReq, r.BrokerCPU, r.GenCPU, r.PeakRSSMiB, server)
				}
			}
		}
	}
	report(os.Stdout, scenarios, gens, results)
	if *out != "" {
		b, _ := json.MarshalIndent(results, "", "  ")
		if err := os.WriteFile(*out, b, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}
}

// checkFlags refuses a run that would measure nothing, before anything is
// started: no runs (a report of zeros and NaN), no duration.
func checkFlags(runs int, d time.Duration) error {
	var problems []string
	if runs < 1 {
		problems = append(problems, "-runs must be at least 1")
	}
	if d <= 0 {
		problems = append(problems, "-duration must be positive")
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// measure runs one scenario against one target with one generator, on a
// fresh broker and target. hint is the throughput the other generator
// reached, to size vegeta's targets in a closed loop.
func measure(bin string, s scenario, target, gen string, d time.Duration, hint float64) (result, error) {
	for attempt := 0; ; attempt++ {
		r, err := measureOnce(bin, s, target, gen, d, hint)
		if errors.Is(err, errOutOfTargets) && attempt < 2 {
			hint = max(hint, r.Throughput) * 3
			continue
		}
		return r, err
	}
}

// errOutOfTargets: vegeta used every target written before the run ended.
var errOutOfTargets = errors.New("vegeta ran out of targets")

func measureOnce(bin string, s scenario, target, gen string, d time.Duration, hint float64) (result, error) {
	broker := exec.Command(filepath.Join(bin, "kfake"), "-addr", brokerAddr, "-partitions", "6")
	if err := start(broker, brokerAddr); err != nil {
		return result{}, fmt.Errorf("kfake: %w", err)
	}
	defer stop(broker)

	var t *exec.Cmd
	switch target {
	case "bridge":
		t = exec.Command(filepath.Join(bin, "engage-bridge"), "serve")
		t.Env = append(os.Environ(), "BRIDGE_LISTEN="+targetAddr, "BRIDGE_ADMIN_LISTEN="+adminAddr,
			"BRIDGE_SIGNING_SECRETS="+secret, "BRIDGE_ENCRYPTION_KEY="+key, "BRIDGE_KAFKA_BROKERS="+brokerAddr)
		// The default configuration, info level: one log line per request
		// (to /dev/null here), measured as part of the bridge.
		t.Env = append(t.Env, s.BridgeEnv...)
	case "sink":
		t = exec.Command(filepath.Join(bin, "sink"), "-addr", targetAddr, "-secret", secret)
	case "benthos":
		t = exec.Command(filepath.Join(bin, "benthos"), "-c", "bench/benthos.yaml")
		t.Env = append(os.Environ(), "BENTHOS_ADDR="+targetAddr, "BENTHOS_BROKERS="+brokerAddr)
	}
	if err := start(t, targetAddr, adminAddr); err != nil {
		return result{}, fmt.Errorf("%s: %w", target, err)
	}
	defer stop(t)
	if target == "bridge" {
		if err := waitReady("http://" + adminAddr + "/readyz"); err != nil {
			return result{}, err
		}
	}

	// The warm-up is not measured: the CPU readings start when the
	// generator starts measuring.
	var cpu0, bcpu0 float64
	var hist0 map[float64]float64
	measuring := func() {
		cpu0, bcpu0 = cpuSeconds(t.Process.Pid), cpuSeconds(broker.Process.Pid)
		if target == "bridge" {
			hist0 = durationBuckets()
		}
	}
	var (
		r      result
		genCPU float64
		err    error
	)
	switch gen {
	case genSend:
		r.Result, genCPU, err = loadSend(bin, s, d, measuring)
	case genVegeta:
		r.Result, genCPU, err = loadVegeta(bin, s, d, hint, measuring)
	}
	if err != nil {
		r.Scenario, r.Target, r.Generator = s.Name, target, gen
		return r, err
	}
	cpu1, bcpu1 := cpuSeconds(t.Process.Pid), cpuSeconds(broker.Process.Pid)
	r.Scenario, r.Target, r.Generator, r.PeakRSSMiB = s.Name, target, gen, float64(vmHWM(t.Process.Pid))/1024
	if hist0 != nil {
		hist1 := durationBuckets()
		r.ServerP50, r.ServerP99 = histQuantile(hist0, hist1, 0.5), histQuantile(hist0, hist1, 0.99)
	}
	if r.Requests > 0 {
		r.CPUPerReq = (cpu1 - cpu0) / float64(r.Requests) * 1e6
		r.BrokerCPU = (bcpu1 - bcpu0) / float64(r.Requests) * 1e6
		r.GenCPU = genCPU / float64(r.Requests) * 1e6
	}
	return r, nil
}

// measureFloor runs bench/brokerfloor at the scenario's rate for d
// against a fresh kfake and returns its round trip's percentiles.
func measureFloor(bin string, s scenario, d time.Duration) (result, error) {
	broker := exec.Command(filepath.Join(bin, "kfake"), "-addr", brokerAddr, "-partitions", "6")
	if err := start(broker, brokerAddr); err != nil {
		return result{}, fmt.Errorf("kfake: %w", err)
	}
	defer stop(broker)
	c := exec.Command(filepath.Join(bin, "brokerfloor"), "-brokers", brokerAddr,
		"-rate", strconv.Itoa(int(s.Rate)), "-duration", d.String())
	c.Stderr = os.Stderr
	out, err := c.Output()
	if err != nil {
		return result{}, fmt.Errorf("brokerfloor: %w", err)
	}
	var f struct {
		Records int     `json:"records"`
		P50     float64 `json:"p50_ms"`
		P90     float64 `json:"p90_ms"`
		P99     float64 `json:"p99_ms"`
	}
	if err := json.Unmarshal(out, &f); err != nil {
		return result{}, fmt.Errorf("brokerfloor's output %q: %w", out, err)
	}
	r := result{Scenario: s.Name, Target: targetFloor, Generator: genFloor}
	r.Requests, r.Rate, r.Throughput = int64(f.Records), s.Rate, s.Rate
	r.P50, r.P90, r.P99 = f.P50, f.P90, f.P99
	return r, nil
}

// loadSend runs `engage-bridge send --load` and reads its JSON line; it
// returns the generator's CPU seconds over the measured window too.
func loadSend(bin string, s scenario, d time.Duration, measuring func()) (loadgen.Result, float64, error) {
	args := []string{"send", "--load", "--url", "http://" + targetAddr + "/webhooks/engage", "--secret", secret,
		"--concurrency", strconv.Itoa(s.Concurrency), "--duration", d.String(), "--warmup", warmup.String()}
	if s.Rate > 0 {
		args = append(args, "--rate", strconv.FormatFloat(s.Rate, 'f', -1, 64))
	}
	if s.Encrypt {
		args = append(args, "--encrypt", "--encryption-key", key)
	}
	load := exec.Command(filepath.Join(bin, "engage-bridge"), args...)
	stdout, _ := load.StdoutPipe()
	load.Stderr = os.Stderr
	if err := load.Start(); err != nil {
		return loadgen.Result{}, 0, err
	}
	var last string
	var gen0 float64
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		last = sc.Text()
		if last == "measuring" {
			measuring()
			gen0 = cpuSeconds(load.Process.Pid)
		}
	}
	if err := load.Wait(); err != nil {
		return loadgen.Result{}, 0, fmt.Errorf("load: %w (%s)", err, last)
	}
	var r loadgen.Result
	if err := json.Unmarshal([]byte(last), &r); err != nil {
		return r, 0, fmt.Errorf("load output %q: %w", last, err)
	}
	return r, processSeconds(load.ProcessState) - gen0, nil
}

// processSeconds is the user and system CPU time of an ended process.
func processSeconds(ps *os.ProcessState) float64 {
	return (ps.UserTime() + ps.SystemTime()).Seconds()
}

// loadVegeta runs the vegeta CLI twice, a warm-up and the measured run,
// each on its own file of targets signed just before (unique ids, fresh
// timestamps), and summarises the CLI's results as send does. In a closed
// loop the run needs as many targets as it can send: twice hint's rate
// (vegeta stops when they run out, and measure then retries with more).
func loadVegeta(bin string, s scenario, d time.Duration, hint float64, measuring func()) (loadgen.Result, float64, error) {
	dir, err := os.MkdirTemp("", "engage-bridge-vegeta-")
	if err != nil {
		return loadgen.Result{}, 0, err
	}
	defer os.RemoveAll(dir)
	var k *payloadcrypto.Key
	if s.Encrypt {
		pk, err := payloadcrypto.ParseKey(key)
		if err != nil {
			return loadgen.Result{}, 0, err
		}
		k = &pk
	}
	bodies, err := loadgen.Bodies(2048, k)
	if err != nil {
		return loadgen.Result{}, 0, err
	}
	count := func(span time.Duration) int {
		if s.Rate > 0 {
			return int(s.Rate*span.Seconds()*1.1) + 100
		}
		return max(int(2*hint*span.Seconds()), 5000)
	}
	runID := strconv.FormatInt(time.Now().UnixNano()%1e12, 36)
	write := func(name, prefix string, n int) (string, error) {
		tr, err := loadgen.NewTargeter(loadgen.Targets{URL: "http://" + targetAddr + "/webhooks/engage", Secret: secret, Bodies: bodies, IDPrefix: runID + prefix})
		if err != nil {
			return "", err
		}
		path := filepath.Join(dir, name)
		f, err := os.Create(path)
		if err != nil {
			return "", err
		}
		w := bufio.NewWriterSize(f, 1<<20)
		// The CLI cannot turn off Go's automatic Accept-Encoding: gzip;
		// identity asks for what Svix's absent header means.
		err = loadgen.WriteTargets(w, tr, n, http.Header{"Accept-Encoding": {"identity"}})
		if err == nil {
			err = w.Flush()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return path, err
	}
	warmTargets, err := write("warmup.json", "w", count(warmup))
	if err != nil {
		return loadgen.Result{}, 0, err
	}
	n := count(d)
	runTargets, err := write("run.json", "m", n)
	if err != nil {
		return loadgen.Result{}, 0, err
	}
	attack := func(targets, output string, span time.Duration) (float64, error) {
		args := []string{"attack", "-format", "json", "-lazy", "-targets", targets, "-duration", span.String(),
			"-workers", strconv.Itoa(s.Concurrency), "-max-workers", strconv.Itoa(s.Concurrency),
			"-max-body", "0", "-timeout", "15s", "-output", output, "-rate"}
		if s.Rate > 0 {
			args = append(args, strconv.FormatFloat(s.Rate, 'f', -1, 64)+"/1s")
		} else {
			args = append(args, "0")
		}
		c := exec.Command(filepath.Join(bin, "vegeta"), args...)
		c.Stderr = os.Stderr
		if err := c.Run(); err != nil {
			return 0, err
		}
		return processSeconds(c.ProcessState), nil
	}
	if _, err := attack(warmTargets, os.DevNull, warmup); err != nil {
		return loadgen.Result{}, 0, fmt.Errorf("vegeta warm-up: %w", err)
	}
	measuring()
	results := filepath.Join(dir, "results.bin")
	genCPU, err := attack(runTargets, results, d)
	if err != nil {
		return loadgen.Result{}, 0, fmt.Errorf("vegeta: %w", err)
	}
	f, err := os.Open(results)
	if err != nil {
		return loadgen.Result{}, 0, err
	}
	defer f.Close()
	var sum loadgen.Summary
	dec := vegeta.NewDecoder(bufio.NewReader(f))
	for {
		var vr vegeta.Result
		if err := dec.Decode(&vr); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return loadgen.Result{}, 0, fmt.Errorf("vegeta results: %w", err)
		}
		if vr.Error == vegeta.ErrNoTargets.Error() {
			return sum.Result(), 0, fmt.Errorf("%w (%d)", errOutOfTargets, n)
		}
		sum.Add(&vr)
	}
	r := sum.Result()
	r.Conc, r.Encrypted, r.Mode, r.Rate = s.Concurrency, s.Encrypt, "closed", s.Rate
	if s.Rate > 0 {
		r.Mode = "open"
	}
	return r, genCPU, nil
}

// durationBuckets scrapes the bridge's cumulative histogram of published
// requests' durations: upper bound in seconds → count.
func durationBuckets() map[float64]float64 {
	resp, err := http.Get("http://" + adminAddr + "/metrics")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	out := map[float64]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		const prefix = `engage_bridge_request_duration_seconds_bucket{outcome="published",le="`
		rest, ok := strings.CutPrefix(line, prefix)
		if !ok {
			continue
		}
		le, count, _ := strings.Cut(rest, `"} `)
		bound, err := strconv.ParseFloat(le, 64)
		if le == "+Inf" {
			bound, err = 1e9, nil
		}
		n, err2 := strconv.ParseFloat(count, 64)
		if err == nil && err2 == nil {
			out[bound] = n
		}
	}
	return out
}

// histQuantile estimates a quantile in milliseconds from the difference
// of two cumulative histograms, interpolating linearly inside the bucket
// as Prometheus's histogram_quantile does.
func histQuantile(before, after map[float64]float64, q float64) float64 {
	bounds := slices.Sorted(func(yield func(float64) bool) {
		for b := range after {
			if !yield(b) {
				return
			}
		}
	})
	if len(bounds) == 0 {
		return 0
	}
	total := after[bounds[len(bounds)-1]] - before[bounds[len(bounds)-1]]
	if total <= 0 {
		return 0
	}
	rank, prevBound, prevCount := q*total, 0.0, 0.0
	for _, b := range bounds {
		c := after[b] - before[b]
		if c >= rank {
			if b == 1e9 {
				return prevBound * 1000
			}
			return (prevBound + (b-prevBound)*(rank-prevCount)/(c-prevCount)) * 1000
		}
		prevBound, prevCount = b, c
	}
	return prevBound * 1000
}

// start starts c and waits until it listens on addr. A leftover process
// on one of its ports (addr and also) would answer in place of the one
// started here, which would exit unnoticed and leave its CPU and memory
// figures at zero: the ports must be free before, and c still running
// after.
func start(c *exec.Cmd, addr string, also ...string) error {
	for _, a := range append([]string{addr}, also...) {
		if conn, err := net.Dial("tcp", a); err == nil {
			conn.Close()
			return fmt.Errorf("something already listens on %s: stop it first", a)
		}
	}
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := c.Start(); err != nil {
		return err
	}
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if conn, err := net.Dial("tcp", addr); err == nil {
			conn.Close()
			if exited(c.Process.Pid) {
				return fmt.Errorf("%s exited right after starting", c.Path)
			}
			return nil
		}
	}
	stop(c)
	return errors.New("not listening after 20s")
}

func stop(c *exec.Cmd) {
	_ = syscall.Kill(-c.Process.Pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = c.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

func waitReady(url string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.New("the bridge was not ready after 20s")
}

// cpuSeconds is utime+stime of a process from /proc/<pid>/stat.
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	return (utime + stime) / 100 // USER_HZ is 100 on Linux
}

// exited reports whether the process has ended (a zombie not yet waited
// for, or gone).
func exited(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	rest := string(b[strings.LastIndexByte(string(b), ')')+1:])
	return strings.HasPrefix(strings.TrimSpace(rest), "Z")
}

// vmHWM is the peak RSS of a process in KiB.
func vmHWM(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// report prints the medians per scenario, target and generator, the
// bridge's throughput as a ratio of each reference per generator (per run
// and the median), whether the two generators' ratios agree within
// agreement, and the targets as each generator measured them.
func report(w io.Writer, scenarios []scenario, gens []string, results []result) {
	fmt.Fprintln(w, "| scenario | target | generator | throughput/s | p50 ms | p90 ms | p99 ms | p99.9 ms | errors | CPU µs/req | broker CPU µs/req | generator CPU µs/req | peak RSS MiB | server p50 ms | server p99 ms |")
	fmt.Fprintln(w, "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, s := range scenarios {
		for _, t := range s.Targets {
			for _, g := range gens {
				m := func(f func(result) float64) float64 { return median(values(results, s.Name, t, g, f)) }
				server := "– | –"
				if t == "bridge" {
					server = fmt.Sprintf("%.2f | %.2f", m(func(r result) float64 { return r.ServerP50 }), m(func(r result) float64 { return r.ServerP99 }))
				}
				fmt.Fprintf(w, "| %s | %s | %s | %.0f | %.2f | %.2f | %.2f | %.2f | %.0f | %.1f | %.1f | %.1f | %.1f | %s |\n", s.Name, t, g,
					m(func(r result) float64 { return r.Throughput }), m(func(r result) float64 { return r.P50 }),
					m(func(r result) float64 { return r.P90 }), m(func(r result) float64 { return r.P99 }),
					m(func(r result) float64 { return r.P999 }), m(func(r result) float64 { return float64(r.Errors) }),
					m(func(r result) float64 { return r.CPUPerReq }), m(func(r result) float64 { return r.BrokerCPU }),
					m(func(r result) float64 { return r.GenCPU }), m(func(r result) float64 { return r.PeakRSSMiB }), server)
			}
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Ratios of the bridge's throughput, per generator (median of the per-run ratios; per run):")
	var disagree []string
	compared := false // any ratio checked between the generators
	for _, s := range scenarios {
		if s.Rate > 0 {
			continue // open loop: throughput is the offered rate
		}
		for _, ref := range s.Targets {
			if ref == "bridge" {
				continue
			}
			med := map[string]float64{}
			for _, g := range gens {
				rs := ratios(results, s.Name, ref, g, func(r result) float64 { return r.Throughput })
				med[g] = median(rs)
				fmt.Fprintf(w, "  %-22s bridge / %-8s %-6s %5.2f  (%s)\n", s.Name, ref, g, med[g], list(rs))
			}
			if len(gens) == 2 {
				compared = true
				d, ok := agree(med[genSend], med[genVegeta])
				verdict := "agree"
				if !ok {
					verdict = "DISAGREE"
					disagree = append(disagree, fmt.Sprintf("%s bridge / %s", s.Name, ref))
				}
				fmt.Fprintf(w, "  %-22s bridge / %-8s send vs vegeta: %+.1f %% (%s within %.0f %%)\n", s.Name, ref, 100*d, verdict, 100*agreement)
			}
		}
	}
	if compared {
		if len(disagree) == 0 {
			fmt.Fprintf(w, "Every ratio agrees within %.0f %% between the two generators.\n", 100*agreement)
		} else {
			fmt.Fprintf(w, "NOT every ratio agrees within %.0f %% between the generators: %s. Quote vegeta's (the independent generator's) figures, and say which is which.\n",
				100*agreement, strings.Join(disagree, "; "))
		}
	}
	for _, r := range results {
		if r.Rate > 0 && r.SentRate < 0.97*r.Rate && r.Target != targetFloor {
			fmt.Fprintf(w, "  %s / %s / %s run %d: sent %.0f/s of %.0f/s: every worker was busy at times, and vegeta's latency counts from the actual send time (coordinated omission)\n",
				r.Scenario, r.Target, r.Generator, r.Run, r.SentRate, r.Rate)
		}
	}
	for _, g := range gens {
		plain := median(values(results, "closed c64", "bridge", g, func(r result) float64 { return r.Throughput }))
		enc := median(values(results, "closed c64 encrypted", "bridge", g, func(r result) float64 { return r.Throughput }))
		if plain > 0 && enc > 0 {
			change := "fewer"
			if enc > plain {
				change = "more"
			}
			fmt.Fprintf(w, "  encryption on, c64, %s: %.1f %% %s webhooks/s than off\n", g, 100*math.Abs(1-enc/plain), change)
		}
	}
	for _, s := range scenarios {
		p50s := values(results, s.Name, targetFloor, genFloor, func(r result) float64 { return r.P50 })
		if len(p50s) == 0 {
			continue
		}
		p99s := values(results, s.Name, targetFloor, genFloor, func(r result) float64 { return r.P99 })
		fmt.Fprintf(w, "  %-22s broker floor (%s, one record at a time, acks=all, against kfake): p50 %.2f ms (%s), p99 %.2f ms (%s)\n",
			s.Name, genFloor, median(p50s), list(p50s), median(p99s), list(p99s))
		for _, g := range gens {
			if sp50 := median(values(results, s.Name, "bridge", g, func(r result) float64 { return r.ServerP50 })); sp50 > 0 {
				fmt.Fprintf(w, "  %-22s bridge's server-side p50 above the floor, %s: %+.2f ms\n", s.Name, g, sp50-median(p50s))
			}
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Targets (issue 17), medians per generator:")
	for _, g := range gens {
		for _, c := range checkTargets(results, g) {
			fmt.Fprintf(w, "  %-6s %s\n", g, c)
		}
	}
	// The machine's speed moves between runs: how many targets each run
	// met on its own shows whether the medians hide that.
	runs := 0
	for _, r := range results {
		runs = max(runs, r.Run)
	}
	if runs > 1 {
		for _, g := range gens {
			var per []string
			for run := 1; run <= runs; run++ {
				var mine []result
				for _, r := range results {
					if r.Run == run {
						mine = append(mine, r)
					}
				}
				checks := checkTargets(mine, g)
				met := 0
				for _, c := range checks {
					if !strings.HasSuffix(c, "NOT met") {
						met++
					}
				}
				per = append(per, fmt.Sprintf("run %d: %d of %d", run, met, len(checks)))
			}
			fmt.Fprintf(w, "  %-6s met run by run: %s\n", g, strings.Join(per, ", "))
		}
	}
}

// values are one figure of every run of a scenario, target and generator,
// in run order.
func values(results []result, scenario, target, gen string, f func(result) float64) []float64 {
	var xs []float64
	for _, r := range results {
		if r.Scenario == scenario && r.Target == target && r.Generator == gen {
			xs = append(xs, f(r))
		}
	}
	return xs
}

// ratios are the bridge's figure over ref's, run by run.
func ratios(results []result, scenario, ref, gen string, f func(result) float64) []float64 {
	bridge, other := values(results, scenario, "bridge", gen, f), values(results, scenario, ref, gen, f)
	var rs []float64
	for i := range min(len(bridge), len(other)) {
		if other[i] > 0 {
			rs = append(rs, bridge[i]/other[i])
		}
	}
	return rs
}

// agree compares send's ratio with vegeta's: the relative difference, and
// whether it is within agreement. No ratio is no agreement.
func agree(send, vegeta float64) (float64, bool) {
	if send <= 0 || vegeta <= 0 {
		return math.NaN(), false
	}
	d := send/vegeta - 1
	return d, math.Abs(d) <= agreement
}

func list(xs []float64) string {
	var parts []string
	for _, x := range xs {
		parts = append(parts, strconv.FormatFloat(x, 'f', 2, 64))
	}
	return strings.Join(parts, ", ")
}

// checkTargets states issue 17's targets as one generator measured them.
func checkTargets(results []result, gen string) []string {
	m := func(scenario, target string, f func(result) float64) float64 {
		return median(values(results, scenario, target, gen, f))
	}
	tput := func(r result) float64 { return r.Throughput }
	cpu := func(r result) float64 { return r.CPUPerReq }
	var out []string
	check := func(name, measured string, ok bool) {
		verdict := "met"
		if !ok {
			verdict = "NOT met"
		}
		out = append(out, fmt.Sprintf("%-44s %-28s %s", name, measured, verdict))
	}
	c64 := "closed c64"
	if rs := ratios(results, c64, "sink", gen, tput); len(rs) > 0 {
		check("c64: ≥ 0.55 of the verify-only ceiling", fmt.Sprintf("%.3f", median(rs)), median(rs) >= 0.55)
	}
	if rs := ratios(results, c64, "benthos", gen, tput); len(rs) > 0 {
		check("c64: ≥ 1.3 × Benthos", fmt.Sprintf("%.3f ×", median(rs)), median(rs) >= 1.3)
	}
	if xs := values(results, c64, "bridge", gen, tput); len(xs) > 0 {
		errs, p99 := m(c64, "bridge", func(r result) float64 { return float64(r.Errors) }), m(c64, "bridge", func(r result) float64 { return r.P99 })
		check("c64: 0 errors, p99 ≤ 12 ms", fmt.Sprintf("%.0f errors, p99 %.2f ms", errs, p99), errs == 0 && p99 <= 12)
		rss := m(c64, "bridge", func(r result) float64 { return r.PeakRSSMiB })
		check("c64: peak RSS ≤ 40 MiB", fmt.Sprintf("%.1f MiB", rss), rss <= 40)
	}
	if b, sk := m(c64, "bridge", cpu), m(c64, "sink", cpu); b > 0 && sk > 0 {
		check("c64: bridge CPU/request ≤ 2 × the ceiling's", fmt.Sprintf("%.1f / %.1f µs = %.2f", b, sk, b/sk), b <= 2*sk)
	}
	if xs := values(results, "closed c1", "bridge", gen, tput); len(xs) > 0 {
		p50 := m("closed c1", "bridge", func(r result) float64 { return r.P50 })
		check("c1: p50 ≤ 0.4 ms", fmt.Sprintf("%.2f ms", p50), p50 <= 0.4)
	}
	if xs := values(results, "open 200/s", "bridge", gen, tput); len(xs) > 0 {
		sp50 := m("open 200/s", "bridge", func(r result) float64 { return r.ServerP50 })
		measured := fmt.Sprintf("%.2f ms", sp50)
		if fl := values(results, "open 200/s", targetFloor, genFloor, func(r result) float64 { return r.P50 }); len(fl) > 0 {
			measured += fmt.Sprintf(" (broker floor %.2f ms)", median(fl))
		}
		check("open 200/s: server-side p50 ≤ 0.3 ms", measured, sp50 <= 0.3)
	}
	return out
}
