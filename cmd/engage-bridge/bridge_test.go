package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/engage-bridge/engage-bridge/internal/loadgen"
	"github.com/engage-bridge/engage-bridge/internal/payloadcrypto"
	"github.com/engage-bridge/engage-bridge/schemas"
)

const (
	e2eSecret  = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	e2eSecret2 = "whsec_ZW5nYWdlLWJyaWRnZS1lMmUtcm90YXRlZC1zZWNyZXQ="
	e2eKey     = "DaqfT7Ys6tGqM3zbesEKpmacTJEqBCp2"
	partitions = 3
)

// syncBuffer is a log sink safe for the bridge's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testBridge is a bridge started the way serve starts it, from variables.
type testBridge struct {
	*bridge
	logs    *syncBuffer
	brokers []string
	stop    func()
	done    chan error
}

// startBridge starts a bridge on loopback port 0 against the cluster, with
// the given variables on top of test defaults, after creating the routed
// topics (unless createTopics is false).
func startBridge(t testing.TB, c *kfake.Cluster, env map[string]string, withTopics bool) *testBridge {
	t.Helper()
	return startBridgeWith(t, c, env, withTopics, nil)
}

// startBridgeWith is startBridge with a last change to the configuration
// read from the variables, for what has no variable (server timeouts).
func startBridgeWith(t testing.TB, c *kfake.Cluster, env map[string]string, withTopics bool, change func(*config)) *testBridge {
	t.Helper()
	vars := map[string]string{
		"BRIDGE_LISTEN":          "127.0.0.1:0",
		"BRIDGE_ADMIN_LISTEN":    "127.0.0.1:0",
		"BRIDGE_SIGNING_SECRETS": e2eSecret2 + "," + e2eSecret,
		"BRIDGE_ENCRYPTION_KEY":  e2eKey,
		"BRIDGE_KAFKA_BROKERS":   strings.Join(c.ListenAddrs(), ","),
		"BRIDGE_LOG_LEVEL":       "debug",
	}
	for k, v := range env {
		vars[k] = v
	}
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	v := newValues(fs, func(k string) string { return vars[k] })
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	cfg := v.bridgeConfig(true)
	if err := v.err(); err != nil {
		t.Fatal(err)
	}
	if change != nil {
		change(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if withTopics {
		if _, err := createTopics(ctx, cfg, partitions, 1); err != nil {
			t.Fatal(err)
		}
	}
	logs := &syncBuffer{}
	log := newLogger(logs, "json", cfg.LogLevel)
	logConfig(log, cfg)
	b, err := newBridge(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	tb := &testBridge{bridge: b, logs: logs, brokers: c.ListenAddrs(), stop: cancel, done: make(chan error, 1)}
	go func() { tb.done <- b.run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-tb.done:
		case <-time.After(20 * time.Second):
			t.Error("bridge did not stop")
		}
	})
	if withTopics {
		wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
		defer wcancel()
		if err := b.admin.Wait(wctx); err != nil {
			t.Fatalf("bridge not ready: %v", err)
		}
	}
	return tb
}

type answer struct {
	status     int
	body       string
	retryAfter string
}

// deliver posts body signed with secret, as Svix would, at time at.
func deliver(t *testing.T, url, secret, id string, at time.Time, body []byte, extra http.Header) answer {
	t.Helper()
	h := http.Header{}
	if secret != "" {
		wh, err := svix.NewWebhook(secret)
		if err != nil {
			t.Fatal(err)
		}
		sig, _ := wh.Sign(id, at, body)
		h.Set("svix-id", id)
		h.Set("svix-timestamp", strconv.FormatInt(at.Unix(), 10))
		h.Set("svix-signature", sig)
	}
	for k, v := range extra {
		h[k] = v
	}
	return do(t, http.MethodPost, url, h, body)
}

func do(t *testing.T, method, url string, h http.Header, body []byte) answer {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = h
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, strings.TrimSpace(string(b)), resp.Header.Get("Retry-After")}
}

func example(t *testing.T, eventType string) []byte {
	t.Helper()
	b, ok := schemas.Example(eventType)
	if !ok {
		t.Fatalf("no example for %s", eventType)
	}
	return b
}

// encryptedExample is the example with its payload encrypted as Engage
// does, and the record value the bridge must write for it.
func encryptedExample(t *testing.T, eventType string) (body, want []byte) {
	t.Helper()
	key, err := payloadcrypto.ParseKey(e2eKey)
	if err != nil {
		t.Fatal(err)
	}
	body, err = loadgen.EncryptBody(key, example(t, eventType))
	if err != nil {
		t.Fatal(err)
	}
	env, err := schemas.ParseEnvelope(body)
	if err != nil {
		t.Fatal(err)
	}
	text, _ := env.Ciphertext()
	plain, err := key.Decrypt(text)
	if err != nil {
		t.Fatal(err)
	}
	// Independently of the bridge's splice: the same JSON with the payload
	// object in place and the flag false.
	var m map[string]json.RawMessage
	_ = json.Unmarshal(body, &m)
	m["payload"] = plain
	m["isEncrypted"] = json.RawMessage("false")
	want, _ = json.Marshal(m)
	return body, want
}

// signedHeaders are the Svix headers of body signed now with e2eSecret.
func signedHeaders(t *testing.T, id string, body []byte) http.Header {
	t.Helper()
	wh, err := svix.NewWebhook(e2eSecret)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	sig, _ := wh.Sign(id, now, body)
	h := http.Header{}
	h.Set("svix-id", id)
	h.Set("svix-timestamp", strconv.FormatInt(now.Unix(), 10))
	h.Set("svix-signature", sig)
	return h
}

// metricValue scrapes /metrics and returns the value of the sample whose
// line starts with series (name and labels as Prometheus prints them).
func metricValue(t *testing.T, adminURL, series string) float64 {
	t.Helper()
	v, err := scrapeMetric(http.DefaultClient, adminURL, series)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// scrapeMetric reads the value of series (name and labels as Prometheus
// prints them) from the bridge's /metrics.
func scrapeMetric(client *http.Client, adminURL, series string) (float64, error) {
	resp, err := client.Get(adminURL + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(rest), 64)
		}
	}
	return 0, errors.New("/metrics has no " + series)
}
