package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"

	"github.com/engage-bridge/engage-bridge/internal/buildtest"
	"github.com/engage-bridge/engage-bridge/internal/kafkatest"
	"github.com/engage-bridge/engage-bridge/schemas"
)

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

var topics = []string{"engage.contact", "engage.loyalty", "engage.reward", "engage.promotion"}

// startBridge builds the real engage-bridge binary and runs `serve`
// against the cluster, returning its webhook URL.
func startBridge(t *testing.T, brokers []string, extraEnv ...string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "engage-bridge")
	if err := buildtest.Build("", bin, "github.com/engage-bridge/engage-bridge/cmd/engage-bridge"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "serve")
	cmd.Env = append(os.Environ(),
		"BRIDGE_LISTEN=127.0.0.1:0", "BRIDGE_ADMIN_LISTEN=127.0.0.1:0",
		"BRIDGE_SIGNING_SECRETS="+secret, "BRIDGE_KAFKA_BROKERS="+strings.Join(brokers, ","))
	cmd.Env = append(cmd.Env, extraEnv...)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	addr := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`"webhook":"([^"]+)"`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
	}()
	select {
	case a := <-addr:
		return "http://" + a + "/webhooks/engage"
	case <-time.After(30 * time.Second):
		t.Fatal("the bridge did not start listening")
	}
	return ""
}

func post(t *testing.T, url, id string, body []byte) {
	t.Helper()
	wh, _ := svix.NewWebhook(secret)
	now := time.Now()
	sig, _ := wh.Sign(id, now, body)
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("svix-id", id)
	req.Header.Set("svix-timestamp", strconv.FormatInt(now.Unix(), 10))
	req.Header.Set("svix-signature", sig)
	for deadline := time.Now().Add(20 * time.Second); ; {
		resp, err := http.DefaultClient.Do(req.Clone(context.Background()))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery %s not accepted: %v %v", id, err, resp)
		}
		time.Sleep(200 * time.Millisecond) // Kafka not ready yet: retry as Svix would
		req.Body = http.NoBody
		req, _ = http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		req.Header.Set("svix-id", id)
		now = time.Now()
		sig, _ = wh.Sign(id, now, body)
		req.Header.Set("svix-timestamp", strconv.FormatInt(now.Unix(), 10))
		req.Header.Set("svix-signature", sig)
	}
}

// TestConsumerSeesEveryEventOnce: the real bridge publishes Engage's
// example of every event type, some twice under the same svix-id (dedupe
// off, as after a redrive or across bridge instances); the consumer
// handles each svix-id exactly once, and a restarted member of the same
// group finds nothing left to handle.
func TestConsumerSeesEveryEventOnce(t *testing.T) {
	c := kafkatest.Cluster(t)
	for _, tp := range topics {
		kafkatest.CreateTopic(t, c, tp, 3, nil)
	}
	kafkatest.CreateTopic(t, c, "engage.deadletter", 1, nil)
	kafkatest.CreateTopic(t, c, "engage.unrouted", 1, nil)
	url := startBridge(t, c.ListenAddrs(), "BRIDGE_DEDUPE_TTL=0")

	want := map[string]string{}
	for i, et := range schemas.EventTypes() {
		body, _ := schemas.Example(et)
		id := fmt.Sprintf("msg_consumer%02d", i)
		post(t, url, id, body)
		if i%3 == 0 {
			post(t, url, id, body) // the same webhook again: a second record
		}
		want[id] = et
	}
	records := kafkatest.ReadAll(t, c.ListenAddrs(), 15, 15*time.Second, topics...)
	if len(records) != 15 {
		t.Fatalf("%d records in Kafka, want 15 (11 events, 4 of them twice)", len(records))
	}

	var mu sync.Mutex
	handled := map[string]int{}
	var out bytes.Buffer
	p := printer{&out}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cfg := config{brokers: c.ListenAddrs(), group: "pos", topics: topics}
	// Stop once every record is handled and committed.
	go func() {
		for ctx.Err() == nil {
			if lag, err := kafkatest.GroupLag(ctx, c.ListenAddrs(), "pos", topics...); err == nil && lag == 0 {
				cancel()
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	err := consume(ctx, cfg, func(ctx context.Context, d Delivery) error {
		mu.Lock()
		defer mu.Unlock()
		handled[d.SvixID]++
		if d.Event.EventType != want[d.SvixID] || d.Payload == nil {
			t.Errorf("%s: event type %q payload %T", d.SvixID, d.Event.EventType, d.Payload)
		}
		return p.handle(ctx, d)
	})
	if ctx.Err() == nil {
		t.Fatalf("consume: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	for id, et := range want {
		if handled[id] != 1 {
			t.Errorf("%s (%s) handled %d times, want once", id, et, handled[id])
		}
	}
	for _, s := range []string{"erase the personal data of d3bdcad4", "record 100.10 points", "make voucher RWD-7F3K-9Q2M (100.00 SEK)"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("output lacks %q:\n%s", s, out.String())
		}
	}

	// Offsets were committed after handling: the group restarts at the end.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel2()
	again := 0
	_ = consume(ctx2, cfg, func(context.Context, Delivery) error { again++; return nil })
	if again != 0 {
		t.Errorf("a restarted group member handled %d records again", again)
	}
}
