package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/segmentio/kafka-go"
	svix "github.com/svix/svix-webhooks/go"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/engage-bridge/engage-bridge/internal/kafkatest"
	"github.com/engage-bridge/engage-bridge/schemas"
)

func runCmd(t *testing.T, env map[string]string, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(context.Background(), args, envOf(env), &out, &out)
	return out.String(), err
}

func TestTopicsCommand(t *testing.T) {
	t.Parallel()
	c := kafkatest.Cluster(t)
	kafkatest.CreateTopic(t, c, "engage.reward", 1, map[string]string{"max.message.bytes": "1048588"})
	env := map[string]string{"BRIDGE_KAFKA_BROKERS": strings.Join(c.ListenAddrs(), ",")}

	out, err := runCmd(t, env, "topics", "--partitions", "4", "--replication-factor", "1")
	if err != nil {
		t.Fatalf("topics: %v\n%s", err, out)
	}
	for _, want := range []string{
		`engage.contact\s+created\s+4 partitions, replication factor 1, max.message.bytes 1114112`,
		`engage.deadletter\s+created`, `engage.loyalty\s+created`, `engage.promotion\s+created`, `engage.unrouted\s+created`,
		`engage.reward\s+exists with other settings\s+1 partitions \(want 4\); max.message.bytes 1048588 \(want at least 1114112`,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("first run lacks %q:\n%s", want, out)
		}
	}
	out, err = runCmd(t, env, "topics", "--partitions", "4", "--replication-factor", "1")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "created") || !regexp.MustCompile(`engage.contact\s+exists\s+4 partitions\n`).MatchString(out) {
		t.Errorf("second run changed something:\n%s", out)
	}
}

// TestTopicsLeaveCompressionToBroker: topics never sets compression.type,
// so a created topic keeps the broker's default, "producer", and stores
// each batch in the codec BRIDGE_KAFKA_COMPRESSION chose (a topic codec
// would make the broker recompress every batch). Setting
// BRIDGE_KAFKA_COMPRESSION does not change that.
func TestTopicsLeaveCompressionToBroker(t *testing.T) {
	t.Parallel()
	c := kafkatest.Cluster(t)
	var mu sync.Mutex
	configs := map[string][]string{} // topic → config names it was created with
	c.ControlKey(int16(kmsg.CreateTopics), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		mu.Lock()
		defer mu.Unlock()
		for _, rt := range req.(*kmsg.CreateTopicsRequest).Topics {
			for _, rc := range rt.Configs {
				configs[rt.Topic] = append(configs[rt.Topic], rc.Name)
			}
		}
		return nil, nil, false
	})
	env := map[string]string{"BRIDGE_KAFKA_BROKERS": strings.Join(c.ListenAddrs(), ","), "BRIDGE_KAFKA_COMPRESSION": "zstd"}
	if out, err := runCmd(t, env, "topics", "--partitions", "1", "--replication-factor", "1"); err != nil {
		t.Fatalf("topics: %v\n%s", err, out)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(configs) == 0 {
		t.Fatal("no CreateTopics request seen")
	}
	for topic, names := range configs {
		if diff := cmp.Diff([]string{"max.message.bytes"}, names); diff != "" {
			t.Errorf("%s created with configs (-want +got):\n%s", topic, diff)
		}
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	req := kmsg.NewPtrDescribeConfigsRequest()
	for _, topic := range routedTopics {
		r := kmsg.NewDescribeConfigsRequestResource()
		r.ResourceType, r.ResourceName, r.ConfigNames = kmsg.ConfigResourceTypeTopic, topic, []string{"compression.type"}
		req.Resources = append(req.Resources, r)
	}
	resp, err := req.RequestWith(context.Background(), cl)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range resp.Resources {
		if r.ErrorCode != 0 || len(r.Configs) != 1 {
			t.Errorf("%s: error %d, configs %v", r.ResourceName, r.ErrorCode, r.Configs)
			continue
		}
		got := r.Configs[0]
		value := "(null)"
		if got.Value != nil {
			value = *got.Value
		}
		if got.Value == nil || *got.Value != "producer" || got.Source != kmsg.ConfigSourceDefaultConfig {
			t.Errorf("%s: compression.type %q from %v, want the broker default producer", r.ResourceName, value, got.Source)
		}
	}
}

// TestRedrive: an encrypted delivery dead-lettered as no_encryption_key is
// published to its topic once the key is configured and redrive runs; a
// record that still cannot be used stays dead-lettered.
func TestRedrive(t *testing.T) {
	t.Parallel()
	c := kafkatest.Cluster(t)
	b := startBridge(t, c, map[string]string{"BRIDGE_ENCRYPTION_KEY": ""}, true)
	body, want := encryptedExample(t, schemas.EventContactUpdated)
	if a := deliver(t, b.webhookURL(), e2eSecret, "msg_redrive", time.Now(), body, nil); a.body != `{"status":"deadlettered","reason":"no_encryption_key"}` {
		t.Fatalf("without a key: %+v", a)
	}
	garbage := []byte(`{"eventType":"contact.updated","payload":{"email":"x"},"tenant":"t"}`)
	if a := deliver(t, b.webhookURL(), e2eSecret, "msg_garbage", time.Now(), garbage, nil); a.body != `{"status":"deadlettered","reason":"missing_contact_id"}` {
		t.Fatalf("garbage: %+v", a)
	}
	env := map[string]string{"BRIDGE_KAFKA_BROKERS": strings.Join(b.brokers, ","), "BRIDGE_ENCRYPTION_KEY": e2eKey}

	out, err := runCmd(t, env, "redrive", "--dry-run")
	if err != nil {
		t.Fatalf("dry run: %v\n%s", err, out)
	}
	if !strings.Contains(out, "msg_redrive  contact.updated  was no_encryption_key -> would publish to engage.contact") ||
		!strings.Contains(out, "msg_garbage  contact.updated  was missing_contact_id -> would stay dead-lettered: missing_contact_id") {
		t.Errorf("dry run output:\n%s", out)
	}
	if recs := kafkatest.ReadAll(t, b.brokers, 1, time.Second, "engage.contact"); len(recs) != 0 {
		t.Fatalf("the dry run published %d records", len(recs))
	}

	out, err = runCmd(t, env, "redrive")
	if err != nil {
		t.Fatalf("redrive: %v\n%s", err, out)
	}
	if !strings.Contains(out, "2 records, 1 published, 1 still dead-lettered") || !strings.Contains(out, "-> published to engage.contact/") {
		t.Errorf("redrive output:\n%s", out)
	}
	recs := kafkatest.ReadAll(t, b.brokers, 1, 10*time.Second, "engage.contact")
	if len(recs) != 1 || !bytes.Equal(recs[0].Value, want) || recs[0].Headers["svix-id"] != "msg_redrive" {
		t.Fatalf("engage.contact after redrive: %d records", len(recs))
	}
	if recs[0].Key != "515c1b2a-7124-4bb9-826b-aedbbe5da8c4" || recs[0].Headers["ce_type"] != "contact.updated" {
		t.Errorf("redriven record key %q headers %v", recs[0].Key, recs[0].Headers)
	}
	dlq := kafkatest.ReadAll(t, b.brokers, 3, 10*time.Second, "engage.deadletter")
	copies := 0
	for _, r := range dlq {
		if r.Headers["svix-id"] == "msg_garbage" && bytes.Equal(r.Value, garbage) && r.Headers["engage-dlq-reason"] == "missing_contact_id" {
			copies++
		}
	}
	if len(dlq) != 3 || copies != 2 {
		t.Errorf("the still unusable record is not dead-lettered again: %d dead letters, %d copies of it", len(dlq), copies)
	}

	// The group remembers: the next run sees only the re-dead-lettered record.
	out, err = runCmd(t, env, "redrive")
	if err != nil || !strings.Contains(out, "1 records, 0 published, 1 still dead-lettered") {
		t.Errorf("second redrive: %v\n%s", err, out)
	}
}

// TestReplay moves a real consumer group's offsets on kfake.
func TestReplay(t *testing.T) {
	t.Parallel()
	c := kafkatest.Cluster(t)
	kafkatest.CreateTopic(t, c, "engage.contact", 2, nil)
	addrs := c.ListenAddrs()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for i := range 10 {
		r := &kgo.Record{Topic: "engage.contact", Partition: int32(i % 2), Value: []byte("{}"), Timestamp: base.Add(time.Duration(i) * time.Hour)}
		if err := cl.ProduceSync(context.Background(), r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	consumeAll := func(want int) int {
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: addrs, GroupID: "pos", Topic: "engage.contact", StartOffset: kafka.FirstOffset, MaxWait: 200 * time.Millisecond})
		defer r.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		n := 0
		for n < want {
			m, err := r.FetchMessage(ctx)
			if err != nil {
				break
			}
			if err := r.CommitMessages(ctx, m); err != nil {
				t.Fatal(err)
			}
			n++
		}
		return n
	}
	if n := consumeAll(10); n != 10 {
		t.Fatalf("consumed %d, want 10", n)
	}
	env := map[string]string{"BRIDGE_KAFKA_BROKERS": strings.Join(addrs, ",")}

	// Records at 06:00 and later: offsets 3 (partition 0, 06:00) and 3 (partition 1, 07:00).
	out, err := runCmd(t, env, "replay", "--group", "pos", "--topic", "engage.contact", "--to-time", "2026-11-01T06:00:00Z")
	if err != nil {
		t.Fatalf("dry run: %v\n%s", err, out)
	}
	for _, want := range []string{"engage.contact  0          5    3", "engage.contact  1          5    3", "dry run: nothing changed"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run lacks %q:\n%s", want, out)
		}
	}
	lag := func() int64 {
		l, err := kafkatest.GroupLag(context.Background(), addrs, "pos", "engage.contact")
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	if l := lag(); l != 0 {
		t.Fatalf("the dry run moved the offsets: lag %d", l)
	}

	if out, err := runCmd(t, env, "replay", "--group", "pos", "--topic", "engage.contact", "--to-time", "2026-11-01T06:00:00Z", "--execute"); err != nil {
		t.Fatalf("execute: %v\n%s", err, out)
	}
	if l := lag(); l != 4 {
		t.Fatalf("after the replay the group is %d records behind, want 4", l)
	}
	if n := consumeAll(4); n != 4 {
		t.Fatalf("after the replay %d records were read again, want 4", n)
	}

	// A time after the last record moves to the end; earliest to the start.
	if out, _ := runCmd(t, env, "replay", "--group", "pos", "--topic", "engage.contact", "--to-time", "2027-01-01T00:00:00Z"); !strings.Contains(out, "engage.contact  0          5    5") {
		t.Errorf("future time:\n%s", out)
	}
	if out, err := runCmd(t, env, "replay", "--group", "pos", "--topic", "engage.contact", "--to-earliest", "--execute"); err != nil {
		t.Fatalf("earliest: %v\n%s", err, out)
	}
	if n := consumeAll(10); n != 10 {
		t.Fatalf("after --to-earliest %d records were read again, want 10", n)
	}

	// With a member in the group, --execute refuses.
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: addrs, GroupID: "pos", Topic: "engage.contact", MaxWait: 200 * time.Millisecond})
	defer r.Close()
	fetchCtx, stopFetch := context.WithCancel(context.Background())
	defer stopFetch()
	go func() { _, _ = r.FetchMessage(fetchCtx) }() // joins the group
	waitMembers(t, env, "pos")
	out, err = runCmd(t, env, "replay", "--group", "pos", "--topic", "engage.contact", "--to-earliest", "--execute")
	if err == nil || !strings.Contains(err.Error(), "active members") {
		t.Errorf("replay with an active member: %v\n%s", err, out)
	}

	for _, args := range [][]string{
		{"replay", "--topic", "engage.contact", "--to-earliest"},
		{"replay", "--group", "pos", "--to-earliest"},
		{"replay", "--group", "pos", "--topic", "engage.contact"},
		{"replay", "--group", "pos", "--topic", "engage.contact", "--to-earliest", "--to-time", "2026-01-01T00:00:00Z"},
		{"replay", "--group", "pos", "--topic", "engage.contact", "--to-time", "yesterday"},
	} {
		_, err := runCmd(t, env, args...)
		var ue *usageError
		if !errors.As(err, &ue) {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
}

// waitMembers waits until the group has a member.
func waitMembers(t *testing.T, env map[string]string, group string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		out, _ := runCmd(t, env, "replay", "--group", group, "--topic", "engage.contact", "--to-earliest")
		if strings.Contains(out, "active members") {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("the group never had an active member")
}

// TestSendRetryAttempts: with --retry every attempt carries the same
// svix-id with a fresh timestamp and a signature valid for it, on Svix's
// schedule compressed by --fast-retries, until a 2xx.
func TestSendRetryAttempts(t *testing.T) {
	t.Parallel()
	type attempt struct {
		at          time.Time
		id, ts, sig string
		body        []byte
	}
	var mu sync.Mutex
	var attempts []attempt
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var buf bytes.Buffer
		_, _ = buf.ReadFrom(r.Body)
		mu.Lock()
		attempts = append(attempts, attempt{time.Now(), r.Header.Get("svix-id"), r.Header.Get("svix-timestamp"), r.Header.Get("svix-signature"), buf.Bytes()})
		n := len(attempts)
		mu.Unlock()
		if n < 4 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte(`{"status":"published"}`))
	}))
	defer srv.Close()
	out, err := runCmd(t, nil, "send", "--url", srv.URL, "--secret", e2eSecret, "--event", "contact.deleted", "--retry", "--fast-retries")
	if err != nil {
		t.Fatalf("send: %v\n%s", err, out)
	}
	if len(attempts) != 4 {
		t.Fatalf("%d attempts, want 4:\n%s", len(attempts), out)
	}
	wh, _ := svix.NewWebhook(e2eSecret)
	// Svix's delays after the first three failures: 5 s, 5 min, 30 min, compressed 3600 times.
	wantGaps := []time.Duration{5 * time.Second / fastScale, 5 * time.Minute / fastScale, 30 * time.Minute / fastScale}
	for i, a := range attempts {
		if a.id != attempts[0].id || !regexp.MustCompile(`^msg_[0-9A-Za-z]{27}$`).MatchString(a.id) {
			t.Errorf("attempt %d id %q", i, a.id)
		}
		sec, _ := strconv.ParseInt(a.ts, 10, 64)
		if d := a.at.Sub(time.Unix(sec, 0)); d < 0 || d > 2*time.Second {
			t.Errorf("attempt %d timestamp %s is not the attempt's time", i, a.ts)
		}
		h := http.Header{}
		h.Set("svix-id", a.id)
		h.Set("svix-timestamp", a.ts)
		h.Set("svix-signature", a.sig)
		if err := wh.Verify(a.body, h); err != nil {
			t.Errorf("attempt %d signature: %v", i, err)
		}
		if i > 0 && a.at.Sub(attempts[i-1].at) < wantGaps[i-1] {
			t.Errorf("attempt %d came %v after the previous one, want at least %v", i, a.at.Sub(attempts[i-1].at), wantGaps[i-1])
		}
	}
	if n := strings.Count(out, "503"); n != 3 || !strings.Contains(out, `200 {"status":"published"}`) {
		t.Errorf("output:\n%s", out)
	}
}
