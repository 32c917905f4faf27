// Command runner is the repeatable benchmark behind bench/run.sh. On one
// machine it starts a kfake broker (its own process), a target, and the
// load mode of `engage-bridge send`, for each scenario, target and run,
// and prints throughput, latency percentiles, the target's CPU time per
// request (from /proc/<pid>/stat) and its peak RSS (VmHWM), with medians
// over the runs and our throughput as a ratio of the two references
// measured in the same run:
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

type result struct {
	Scenario   string  `json:"scenario"`
	Target     string  `json:"target"`
	Run        int     `json:"run"`
	Requests   int64   `json:"requests"`
	Errors     int64   `json:"errors"`
	Throughput float64 `json:"throughput_per_s"`
	P50        float64 `json:"p50_ms"`
	P90        float64 `json:"p90_ms"`
	P99        float64 `json:"p99_ms"`
	P999       float64 `json:"p99_9_ms"`
	Max        float64 `json:"max_ms"`
	CPUPerReq  float64 `json:"cpu_us_per_request"`
	BrokerCPU  float64 `json:"broker_cpu_us_per_request"`
	ServerP50  float64 `json:"server_p50_ms,omitempty"` // the bridge's own request duration histogram
	ServerP99  float64 `json:"server_p99_ms,omitempty"`
	PeakRSSMiB float64 `json:"peak_rss_mib"`
}

func main() {
	runs := flag.Int("runs", 3, "runs of each scenario and target (the median is reported)")
	duration := flag.Duration("duration", 10*time.Second, "length of each load run")
	bin := flag.String("bin", "bench/.bin", "directory with engage-bridge, kfake, sink and benthos binaries")
	only := flag.String("scenarios", "", "comma-separated scenario names (default: all)")
	out := flag.String("out", "", "write every result as JSON here")
	flag.Parse()

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
	for _, s := range all {
		if *only == "" || slices.Contains(strings.Split(*only, ","), s.Name) {
			scenarios = append(scenarios, s)
		}
	}
	if _, err := os.Stat(filepath.Join(*bin, "benthos")); err != nil {
		fmt.Fprintln(os.Stderr, "runner: no benthos binary; the benthos reference is skipped")
		for i := range scenarios {
			scenarios[i].Targets = slices.DeleteFunc(scenarios[i].Targets, func(t string) bool { return t == "benthos" })
		}
	}
	fmt.Printf("engage-bridge benchmark, %s, %s/%s, %d CPUs, %d runs of %v each\n\n",
		time.Now().UTC().Format("2006-01-02"), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), *runs, *duration)

	var results []result
	for run := 1; run <= *runs; run++ {
		for _, s := range scenarios {
			for _, target := range s.Targets {
				r, err := measure(*bin, s, target, *duration)
				if err != nil {
					fmt.Fprintf(os.Stderr, "runner: %s / %s run %d: %v\n", s.Name, target, run, err)
					os.Exit(1)
				}
				r.Run = run
				results = append(results, r)
				fmt.Fprintf(os.Stderr, "run %d %-22s %-8s %9.0f/s p50 %6.2fms p99 %6.2fms errors %d cpu %5.1fµs/req broker %5.1fµs/req rss %5.1fMiB server p50 %.2fms p99 %.2fms\n",
					run, s.Name, target, r.Throughput, r.P50, r.P99, r.Errors, r.CPUPerReq, r.BrokerCPU, r.PeakRSSMiB, r.ServerP50, r.ServerP99)
			}
		}
	}
	report(scenarios, results)
	if *out != "" {
		b, _ := json.MarshalIndent(results, "", "  ")
		if err := os.WriteFile(*out, b, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}
}

// measure runs one scenario against one target on a fresh broker.
func measure(bin string, s scenario, target string, d time.Duration) (result, error) {
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
			"BRIDGE_SIGNING_SECRETS="+secret, "BRIDGE_ENCRYPTION_KEY="+key, "BRIDGE_KAFKA_BROKERS="+brokerAddr,
			"BRIDGE_LOG_LEVEL=warn")
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

	args := []string{"send", "--load", "--url", "http://" + targetAddr + "/webhooks/engage", "--secret", secret,
		"--concurrency", strconv.Itoa(s.Concurrency), "--duration", d.String(), "--warmup", "2s"}
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
		return result{}, err
	}
	// The warm-up is not measured: take the CPU reading when the load
	// says it starts measuring.
	var cpu0, bcpu0 float64
	var hist0 map[float64]float64
	var last string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		last = sc.Text()
		if last == "measuring" {
			cpu0, bcpu0 = cpuSeconds(t.Process.Pid), cpuSeconds(broker.Process.Pid)
			if target == "bridge" {
				hist0 = durationBuckets()
			}
		}
	}
	if err := load.Wait(); err != nil {
		return result{}, fmt.Errorf("load: %w (%s)", err, last)
	}
	cpu1, bcpu1 := cpuSeconds(t.Process.Pid), cpuSeconds(broker.Process.Pid)
	// The load's JSON line uses the same field names as result.
	var r result
	if err := json.Unmarshal([]byte(last), &r); err != nil {
		return result{}, fmt.Errorf("load output %q: %w", last, err)
	}
	r.Scenario, r.Target, r.PeakRSSMiB = s.Name, target, float64(vmHWM(t.Process.Pid))/1024
	if hist0 != nil {
		hist1 := durationBuckets()
		r.ServerP50, r.ServerP99 = histQuantile(hist0, hist1, 0.5), histQuantile(hist0, hist1, 0.99)
	}
	if r.Requests > 0 {
		r.CPUPerReq = (cpu1 - cpu0) / float64(r.Requests) * 1e6
		r.BrokerCPU = (bcpu1 - bcpu0) / float64(r.Requests) * 1e6
	}
	return r, nil
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

// report prints the medians per scenario and target, and the bridge's
// throughput as a ratio of each reference, per run, then the median ratio.
func report(scenarios []scenario, results []result) {
	fmt.Println("| scenario | target | throughput/s | p50 ms | p90 ms | p99 ms | p99.9 ms | errors | CPU µs/req | broker CPU µs/req | peak RSS MiB | server p50 ms | server p99 ms |")
	fmt.Println("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	get := func(s, t string, f func(result) float64) []float64 {
		var xs []float64
		for _, r := range results {
			if r.Scenario == s && r.Target == t {
				xs = append(xs, f(r))
			}
		}
		return xs
	}
	for _, s := range scenarios {
		for _, t := range s.Targets {
			m := func(f func(result) float64) float64 { return median(get(s.Name, t, f)) }
			server := "– | –"
			if t == "bridge" {
				server = fmt.Sprintf("%.2f | %.2f", m(func(r result) float64 { return r.ServerP50 }), m(func(r result) float64 { return r.ServerP99 }))
			}
			fmt.Printf("| %s | %s | %.0f | %.2f | %.2f | %.2f | %.2f | %.0f | %.1f | %.1f | %.1f | %s |\n", s.Name, t,
				m(func(r result) float64 { return r.Throughput }), m(func(r result) float64 { return r.P50 }),
				m(func(r result) float64 { return r.P90 }), m(func(r result) float64 { return r.P99 }),
				m(func(r result) float64 { return r.P999 }), m(func(r result) float64 { return float64(r.Errors) }),
				m(func(r result) float64 { return r.CPUPerReq }), m(func(r result) float64 { return r.BrokerCPU }),
				m(func(r result) float64 { return r.PeakRSSMiB }), server)
		}
	}
	fmt.Println()
	fmt.Println("Ratios of the bridge's throughput (median of the per-run ratios):")
	for _, s := range scenarios {
		if s.Rate > 0 {
			continue // open loop: throughput is the offered rate
		}
		bridge := get(s.Name, "bridge", func(r result) float64 { return r.Throughput })
		for _, ref := range s.Targets[1:] {
			other := get(s.Name, ref, func(r result) float64 { return r.Throughput })
			var ratios []float64
			for i := range min(len(bridge), len(other)) {
				if other[i] > 0 {
					ratios = append(ratios, bridge[i]/other[i])
				}
			}
			fmt.Printf("  %-22s bridge / %-8s %.2f\n", s.Name, ref, median(ratios))
		}
	}
	plain := median(get("closed c64", "bridge", func(r result) float64 { return r.Throughput }))
	enc := median(get("closed c64 encrypted", "bridge", func(r result) float64 { return r.Throughput }))
	if plain > 0 && enc > 0 {
		fmt.Printf("  encryption on, c64: %.1f%% fewer webhooks/s than off\n", 100*(1-enc/plain))
	}
}
