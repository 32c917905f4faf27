package deploy

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"

	"github.com/engage-bridge/engage-bridge/internal/buildtest"
	"github.com/engage-bridge/engage-bridge/internal/kafkatest"
	"github.com/engage-bridge/engage-bridge/router"
	"github.com/engage-bridge/engage-bridge/schemas"
)

// scrapeBridge builds the real engage-bridge binary, runs `serve` against
// an in-process kfake broker, sends traffic that touches every metric
// family (published, duplicate, dead-lettered, bad signature, schema
// drift, a record Kafka refuses for good), and returns the names its
// /metrics exports (histograms with their _bucket, _sum and _count).
// The alert rules and the dashboard may name only these.
func scrapeBridge(t *testing.T) map[string]bool {
	t.Helper()
	webhook, admin, _ := startBridge(t)
	return sendAndScrape(t, webhook, admin)
}

// startBridge builds the binary and runs `serve` against a kfake broker
// with the routed topics, and returns its URLs once it is ready.
func startBridge(t *testing.T) (webhook, admin, bin string) {
	t.Helper()
	bin = filepath.Join(t.TempDir(), "engage-bridge")
	// Built in the product's own module, with its go.mod, as released.
	if err := buildtest.Build("..", bin, "./cmd/engage-bridge"); err != nil {
		t.Fatal(err)
	}

	c := kafkatest.Cluster(t)
	table, err := router.New(router.Default())
	if err != nil {
		t.Fatal(err)
	}
	for _, topic := range table.Topics() {
		configs := map[string]string{}
		if topic == "engage.contact" {
			// Small enough that a padded delivery is refused for good
			// (MESSAGE_TOO_LARGE), large enough for Engage's examples.
			configs["max.message.bytes"] = "4000"
		}
		kafkatest.CreateTopic(t, c, topic, 3, configs)
	}

	// The default table plus a template route for event types outside
	// the documented ones: their topics exist only when someone creates
	// them, so custom.thing makes a missing-topic answer.
	routes := filepath.Join(t.TempDir(), "routes.yaml")
	if err := os.WriteFile(routes, []byte(`routes:
  - match: ["contact.*"]
    topic: engage.contact
  - match: ["loyalty.*", "point.*"]
    topic: engage.loyalty
  - match: ["reward.*"]
    topic: engage.reward
  - match: ["promotion.*"]
    topic: engage.promotion
  - match: ["custom.*"]
    topic: "engage.{eventType}"
`), 0o600); err != nil {
		t.Fatal(err)
	}

	// No encryption key: an encrypted payload is dead-lettered.
	cmd := exec.Command(bin, "serve")
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"BRIDGE_LISTEN=127.0.0.1:0", "BRIDGE_ADMIN_LISTEN=127.0.0.1:0",
		"BRIDGE_SIGNING_SECRETS=" + testSecret,
		"BRIDGE_ROUTES_FILE=" + routes,
		"BRIDGE_KAFKA_BROKERS=" + strings.Join(c.ListenAddrs(), ","),
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	listening := make(chan [2]string, 1)
	go func() {
		re := regexp.MustCompile(`"webhook":"([^"]+)".*"admin":"([^"]+)"`)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				listening <- [2]string{m[1], m[2]}
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	select {
	case a := <-listening:
		webhook, admin = "http://"+a[0]+"/webhooks/engage", "http://"+a[1]
	case <-time.After(60 * time.Second):
		t.Fatal("the bridge did not start listening")
	}
	waitReady(t, admin)
	return webhook, admin, bin
}

// sendAndScrape sends the traffic and returns the metric names exported.
func sendAndScrape(t *testing.T, webhook, admin string) map[string]bool {
	t.Helper()
	example := func(et string) []byte {
		b, ok := schemas.Example(et)
		if !ok {
			t.Fatalf("no example for %s", et)
		}
		return b
	}
	wh, err := svix.NewWebhook(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	send := func(id string, body []byte, sign bool) int {
		t.Helper()
		now := time.Now()
		req, _ := http.NewRequest(http.MethodPost, webhook, strings.NewReader(string(body)))
		req.Header.Set("content-type", "application/json")
		req.Header.Set("svix-id", id)
		req.Header.Set("svix-timestamp", strconv.FormatInt(now.Unix(), 10))
		sig := "v1,bm90IGEgc2lnbmF0dXJl"
		if sign {
			sig, _ = wh.Sign(id, now, body)
		}
		req.Header.Set("svix-signature", sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	padded := fmt.Sprintf(`{"eventType":"contact.updated","id":"x","payload":{"contactId":"c","note":%q},"tenant":"t"}`, strings.Repeat("x", 8000))
	for _, d := range []struct {
		id     string
		body   []byte
		sign   bool
		status int
	}{
		{"msg_published", example(schemas.EventContactUpdated), true, 200},
		{"msg_published", example(schemas.EventContactUpdated), true, 200}, // duplicate
		{"msg_encrypted", []byte(`{"eventType":"contact.updated","id":"x","payload":"AAAAAAAAAAAAAAAAAAAAAA","tenant":"t"}`), true, 200},
		{"msg_drift", []byte(`{"eventType":"point.balance.updated","id":"x","payload":{"contactId":"c","balance":"12.5"},"tenant":"t"}`), true, 200},
		{"msg_unsigned", []byte(`{}`), false, 401},
		{"msg_too_large", []byte(padded), true, 503},
		{"msg_missing_topic", []byte(`{"eventType":"custom.thing","id":"x","payload":{"contactId":"c"},"tenant":"t"}`), true, 503},
	} {
		if got := send(d.id, d.body, d.sign); got != d.status {
			t.Fatalf("%s: status %d, want %d", d.id, got, d.status)
		}
	}

	resp, err := http.Get(admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	names := map[string]bool{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		names[strings.FieldsFunc(line, func(r rune) bool { return r == '{' || r == ' ' })[0]] = true
	}
	for _, want := range []string{
		"engage_bridge_requests_total", "engage_bridge_request_duration_seconds_bucket",
		"engage_bridge_deadletters_total", "engage_bridge_signature_failures_total",
		"engage_bridge_duplicates_total", "engage_bridge_schema_drift_total",
		"engage_bridge_kafka_rejected_total", "engage_bridge_kafka_publish_duration_seconds_bucket",
		"engage_bridge_kafka_missing_topic_total",
	} {
		if !names[want] {
			t.Fatalf("the traffic did not make the bridge export %s; the checks below need every family", want)
		}
	}
	return names
}

// waitReady waits until /readyz answers 200 (Kafka reached, topics found).
func waitReady(t *testing.T, admin string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		if resp, err := http.Get(admin + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("the bridge did not become ready")
}
