package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/engage-bridge/engage-bridge/internal/kafkatest"
	"github.com/engage-bridge/engage-bridge/internal/loadgen"
)

// TestSendLoad runs `send --load` against the bridge, closed and open
// loop, with and without encryption, and checks the figures against what
// reached Kafka: every 2xx is a record with its own svix-id, keyed by a
// random contactId.
func TestSendLoad(t *testing.T) {
	// Not parallel: it asserts request counts per second of load, which
	// the CPU other tests take would make flaky; serial tests run alone.
	c := kafkatest.Cluster(t)
	b := startBridge(t, c, nil, true)
	env := envOf(map[string]string{"BRIDGE_SIGNING_SECRETS": e2eSecret, "BRIDGE_ENCRYPTION_KEY": e2eKey})
	var total int64
	for _, tc := range []struct {
		name string
		args []string
		want func(loadgen.Result) bool
	}{
		{"closed loop", []string{"--concurrency", "4", "--duration", "1s"}, func(r loadgen.Result) bool { return r.Mode == "closed" && r.Requests > 20 }},
		{"open loop", []string{"--rate", "50", "--duration", "1s", "--concurrency", "8"}, func(r loadgen.Result) bool { return r.Mode == "open" && r.Requests >= 40 && r.Requests <= 51 }},
		{"encrypted, bounded count", []string{"--encrypt", "--concurrency", "2", "--duration", "5s", "--max-requests", "30"}, func(r loadgen.Result) bool { return r.Encrypted && r.Requests == 30 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			args := append([]string{"send", "--load", "--url", b.webhookURL(), "--warmup", "0s"}, tc.args...)
			if err := run(context.Background(), args, env, &out, &out); err != nil {
				t.Fatalf("%v\n%s", err, out.String())
			}
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			var res loadgen.Result
			if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
				t.Fatalf("last line is not the JSON result: %v\n%s", err, out.String())
			}
			for _, want := range []string{"requests ", "throughput ", "latency     p50 ", "p99.9 "} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("output lacks %q:\n%s", want, out.String())
				}
			}
			if res.Errors != 0 || res.Statuses["200"] != res.Requests || !tc.want(res) {
				t.Errorf("result %+v", res)
			}
			if !(res.P50 > 0 && res.P50 <= res.P90 && res.P90 <= res.P99 && res.P99 <= res.P999 && res.P999 <= res.Max) {
				t.Errorf("percentiles out of order: %+v", res)
			}
			total += res.Requests
		})
	}
	recs := kafkatest.ReadToEnd(t, b.brokers, routedTopics...)
	ids, keys := map[string]bool{}, map[string]bool{}
	for _, r := range recs {
		if strings.HasPrefix(r.Headers["svix-id"], "msg_") {
			ids[r.Headers["svix-id"]] = true
			keys[r.Key] = true
		}
		if r.Topic == "engage.deadletter" {
			t.Errorf("dead letter %s: %s", r.Headers["svix-id"], r.Headers["engage-dlq-reason"])
		}
	}
	// vegeta lets the requests in flight at the end finish, and counts
	// them: every 2xx is exactly one record.
	if n := int64(len(ids)); n != total || len(recs) != len(ids) {
		t.Errorf("%d records with %d distinct svix-ids for %d answers 2xx", len(recs), len(ids), total)
	}
	// The bodies are a pool of 2 × 2048, each with its own contactId.
	if want := min(len(ids), 2*2048) * 9 / 10; len(keys) < want {
		t.Errorf("%d distinct contactIds among %d records, want at least %d: the contactIds are not random", len(keys), len(ids), want)
	}
}

// TestSendLoadRequestShape checks that the load sends what Svix sends and
// nothing a server could treat differently: a Content-Length (not
// chunked), no Expect: 100-continue, and no Accept-Encoding. Go's
// transport adds "Accept-Encoding: gzip" unless told not to, and Benthos's
// http_server then gzips every answer, even an empty one, with a fresh
// compressor per request: that cost Benthos 4-5 times its throughput in
// our benchmark (docs/performance.md#the-load-generator).
func TestSendLoadRequestShape(t *testing.T) {
	t.Parallel()
	type shape struct {
		AcceptEncoding   string
		Expect           string
		TransferEncoding string
		ContentLength    bool
	}
	var (
		mu   sync.Mutex
		seen = map[shape]int{}
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		mu.Lock()
		seen[shape{r.Header.Get("Accept-Encoding"), r.Header.Get("Expect"), strings.Join(r.TransferEncoding, ","), r.ContentLength > 0}]++
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	var out bytes.Buffer
	args := []string{"send", "--load", "--url", srv.URL, "--secret", e2eSecret, "--warmup", "0s", "--concurrency", "2", "--duration", "5s", "--max-requests", "10"}
	if err := run(context.Background(), args, envOf(nil), &out, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff(map[shape]int{{ContentLength: true}: 10}, seen); diff != "" {
		t.Errorf("requests' shapes (-want +got):\n%s", diff)
	}
}

// TestSendLoadWarmupKeepsTheRate: with --rate the warm-up is paced like
// the run, so the target never sees more than the rate asked for (the
// warm-up was a closed loop, thousands of requests a second).
func TestSendLoadWarmupKeepsTheRate(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		n.Add(1)
	}))
	defer srv.Close()
	var out bytes.Buffer
	args := []string{"send", "--load", "--url", srv.URL, "--secret", e2eSecret, "--rate", "20", "--warmup", "1s", "--duration", "1s", "--concurrency", "8"}
	if err := run(context.Background(), args, envOf(nil), &out, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	// 2 s at 20/s: 40 requests; a slow machine sends fewer, never more
	// than the pacer's 20 a second plus one each at the two starts.
	if got := n.Load(); got < 20 || got > 42 {
		t.Errorf("the server saw %d requests for 1 s of warm-up and 1 s of run at 20/s, want about 40", got)
	}
}

// TestSendLoadCountsErrors runs the load against servers that fail: every
// non-2xx answer and every request without an answer is an error, and a
// load without any 2xx answer fails.
func TestSendLoadCountsErrors(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	halfFailing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if n.Add(1)%2 == 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer halfFailing.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	for _, tc := range []struct {
		name    string
		url     string
		wantErr bool
		want    func(loadgen.Result) bool
	}{
		{"every other answer 503", halfFailing.URL, false, func(r loadgen.Result) bool {
			return r.Requests == 20 && r.Errors == 10 && r.Statuses["503"] == 10 && r.Statuses["200"] == 10
		}},
		{"nothing listening", closed.URL, true, func(r loadgen.Result) bool {
			return r.Requests == 20 && r.Errors == 20 && len(r.Statuses) == 0
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			args := []string{"send", "--load", "--url", tc.url, "--secret", e2eSecret, "--warmup", "0s", "--concurrency", "1", "--duration", "10s", "--max-requests", "20"}
			err := run(context.Background(), args, envOf(nil), &out, &out)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, want an error: %v\n%s", err, tc.wantErr, out.String())
			}
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			var res loadgen.Result
			if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
				t.Fatalf("last line is not the JSON result: %v\n%s", err, out.String())
			}
			if !tc.want(res) {
				t.Errorf("result %+v", res)
			}
		})
	}
}

// TestSendLoadRefusesBadValues: every --load flag with a value it cannot
// use is a usage error naming that flag, before anything is sent (a rate
// that rounded to none was an unpaced flood, NaN a closed loop, a negative
// warm-up the default run).
func TestSendLoadRefusesBadValues(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { n.Add(1) }))
	defer srv.Close()
	for _, tc := range []struct {
		args []string
		flag string
	}{
		{[]string{"--rate", "-1"}, "--rate"},
		{[]string{"--rate", "NaN"}, "--rate"},
		{[]string{"--rate", "+Inf"}, "--rate"},
		{[]string{"--rate", "0.0001"}, "--rate"},
		{[]string{"--concurrency", "0"}, "--concurrency"},
		{[]string{"--duration", "0s"}, "--duration"},
		{[]string{"--warmup", "-1s"}, "--warmup"},
		{[]string{"--max-requests", "0"}, "--max-requests"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out bytes.Buffer
			args := append([]string{"send", "--load", "--url", srv.URL, "--secret", e2eSecret, "--duration", "1s"}, tc.args...)
			err := run(context.Background(), args, envOf(nil), &out, &out)
			var usage *usageError
			if !errors.As(err, &usage) || !strings.Contains(err.Error(), tc.flag) {
				t.Errorf("err %v, want a usage error naming %s", err, tc.flag)
			}
		})
	}
	if got := n.Load(); got != 0 {
		t.Errorf("%d requests were sent", got)
	}
}
