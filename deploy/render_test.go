package deploy

import (
	"bufio"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestRenderDashboard draws docs/dashboard.png: the dashboard's main
// panels computed, with the same PromQL arithmetic (rate, histogram
// quantile), from /metrics samples taken once a second while
// `engage-bridge send --load` drives the real binary against kfake.
// Grafana cannot run here; this is the stand-in screenshot. It runs only
// when asked (it takes about 40 s and needs gnuplot):
//
//	RENDER_DASHBOARD=1 go test -run TestRenderDashboard -v .
func TestRenderDashboard(t *testing.T) {
	if os.Getenv("RENDER_DASHBOARD") == "" {
		t.Skip("set RENDER_DASHBOARD=1 to redraw docs/dashboard.png")
	}
	gnuplot, err := exec.LookPath("gnuplot")
	if err != nil {
		t.Skip("gnuplot is not installed (apt-get install gnuplot-nox)")
	}
	webhook, admin, bin := startBridge(t)

	type sample struct {
		at     time.Time
		series map[string]float64
	}
	scrape := func() sample {
		resp, err := http.Get(admin + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		s := sample{at: time.Now(), series: map[string]float64{}}
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			line := sc.Text()
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			i := strings.LastIndexByte(line, ' ')
			v, _ := strconv.ParseFloat(line[i+1:], 64)
			s.series[line[:i]] = v
		}
		return s
	}
	done := make(chan []sample)
	stop := make(chan struct{})
	go func() {
		var samples []sample
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			samples = append(samples, scrape())
			select {
			case <-stop:
				done <- samples
				return
			case <-tick.C:
			}
		}
	}()
	time.Sleep(3 * time.Second)
	load := exec.Command(bin, "send", "--load", "--url", webhook, "--secret", testSecret,
		"--concurrency", "16", "--rate", "2000", "--duration", "25s", "--warmup", "0s")
	out, err := load.CombinedOutput()
	if err != nil {
		t.Fatalf("send --load: %v\n%s", err, out)
	}
	t.Logf("load run:\n%s", out)
	time.Sleep(3 * time.Second)
	close(stop)
	samples := <-done

	// Per interval: webhooks/s by outcome, answer p50/p99 and Kafka p99
	// (histogram_quantile over bucket increases), in-flight, CPU, RSS.
	sum := func(s sample, prefix string, match func(string) bool) float64 {
		var v float64
		for k, x := range s.series {
			if strings.HasPrefix(k, prefix) && match(k) {
				v += x
			}
		}
		return v
	}
	all := func(string) bool { return true }
	leLabel := regexp.MustCompile(`le="([^"]+)"`)
	quantile := func(q float64, prev, cur sample, bucket string, match func(string) bool) float64 {
		type b struct{ le, n float64 }
		byLE := map[float64]float64{}
		for k, x := range cur.series {
			if !strings.HasPrefix(k, bucket+"{") || !match(k) {
				continue
			}
			m := leLabel.FindStringSubmatch(k)
			if m == nil {
				continue
			}
			le, _ := strconv.ParseFloat(m[1], 64) // "+Inf" parses as +Inf
			byLE[le] += x - prev.series[k]
		}
		var bs []b
		for le, n := range byLE {
			bs = append(bs, b{le, n})
		}
		slices.SortFunc(bs, func(x, y b) int {
			switch {
			case x.le < y.le:
				return -1
			case x.le > y.le:
				return 1
			}
			return 0
		})
		if len(bs) == 0 || bs[len(bs)-1].n == 0 {
			return math.NaN()
		}
		rank := q * bs[len(bs)-1].n
		lower, below := 0.0, 0.0
		for _, x := range bs {
			if x.n >= rank {
				if math.IsInf(x.le, 1) {
					return lower
				}
				return lower + (x.le-lower)*(rank-below)/(x.n-below)
			}
			lower, below = x.le, x.n
		}
		return math.NaN()
	}
	outcome := func(o string) func(string) bool {
		return func(k string) bool { return strings.Contains(k, `outcome="`+o+`"`) }
	}
	okResult := func(k string) bool { return strings.Contains(k, `result="ok"`) }
	var tsv strings.Builder
	tsv.WriteString("# s\tpublished/s\tother/s\tanswer_p50_ms\tanswer_p99_ms\tkafka_p99_ms\tin_flight\tcpu\trss_mib\tready\n")
	for i := 1; i < len(samples); i++ {
		prev, cur := samples[i-1], samples[i]
		dt := cur.at.Sub(prev.at).Seconds()
		published := (sum(cur, "engage_bridge_requests_total", outcome("published")) - sum(prev, "engage_bridge_requests_total", outcome("published"))) / dt
		total := (sum(cur, "engage_bridge_requests_total", all) - sum(prev, "engage_bridge_requests_total", all)) / dt
		fmt.Fprintf(&tsv, "%.0f\t%.1f\t%.1f\t%.3f\t%.3f\t%.3f\t%.0f\t%.3f\t%.1f\t%.0f\n",
			cur.at.Sub(samples[0].at).Seconds(), published, total-published,
			1000*quantile(0.5, prev, cur, "engage_bridge_request_duration_seconds_bucket", all),
			1000*quantile(0.99, prev, cur, "engage_bridge_request_duration_seconds_bucket", all),
			1000*quantile(0.99, prev, cur, "engage_bridge_kafka_publish_duration_seconds_bucket", okResult),
			sum(cur, "engage_bridge_in_flight_requests", all),
			(sum(cur, "process_cpu_seconds_total", all)-sum(prev, "process_cpu_seconds_total", all))/dt,
			sum(cur, "process_resident_memory_bytes", all)/(1<<20),
			sum(cur, "engage_bridge_kafka_ready", all))
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "samples.tsv")
	if err := os.WriteFile(data, []byte(tsv.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("../docs/results/dashboard-samples.tsv", []byte(tsv.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	png, _ := filepath.Abs("../docs/dashboard.png")
	plot := exec.Command(gnuplot, "-e", fmt.Sprintf("data=%q; out=%q", data, png), "grafana/screenshot.gp")
	if out, err := plot.CombinedOutput(); err != nil {
		t.Fatalf("gnuplot: %v\n%s", err, out)
	}
}
