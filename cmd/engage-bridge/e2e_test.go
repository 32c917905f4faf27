package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/twmb/franz-go/pkg/kmsg"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/engage-bridge/engage-bridge/internal/kafkatest"
	"github.com/engage-bridge/engage-bridge/schemas"
)

var routedTopics = []string{"engage.contact", "engage.deadletter", "engage.loyalty", "engage.promotion", "engage.reward", "engage.unrouted"}

func topicFor(eventType string) string {
	switch strings.SplitN(eventType, ".", 2)[0] {
	case "contact":
		return "engage.contact"
	case "loyalty", "point":
		return "engage.loyalty"
	case "reward":
		return "engage.reward"
	case "promotion":
		return "engage.promotion"
	}
	return "engage.unrouted"
}

// TestEndToEndRecords sends Engage's example of every documented event
// type, in cleartext and encrypted, through the real server, and reads the
// records back with an independent client: topic, key, murmur2 partition,
// value bytes and every header.
func TestEndToEndRecords(t *testing.T) {
	t.Parallel()
	c := kafkatest.Cluster(t)
	b := startBridge(t, c, nil, true)

	type sent struct {
		eventType, id, ts string
		value             []byte
	}
	byID := map[string]sent{}
	for i, et := range schemas.EventTypes() {
		for _, enc := range []bool{false, true} {
			body, want := example(t, et), example(t, et)
			if enc {
				body, want = encryptedExample(t, et)
			}
			id := fmt.Sprintf("msg_e2e%02d%v", i, enc)
			at := time.Now()
			if a := deliver(t, b.webhookURL(), e2eSecret, id, at, body, nil); a.status != 200 || a.body != `{"status":"published"}` {
				t.Fatalf("%s (encrypted %v): %d %s", et, enc, a.status, a.body)
			}
			byID[id] = sent{et, id, fmt.Sprint(at.Unix()), want}
		}
	}

	recs := kafkatest.ReadAll(t, b.brokers, len(byID), 15*time.Second, routedTopics...)
	if len(recs) != len(byID) {
		t.Fatalf("read %d records, sent %d", len(recs), len(byID))
	}
	for _, r := range recs {
		s, ok := byID[r.Headers["svix-id"]]
		if !ok {
			t.Fatalf("unexpected record %s/%d@%d", r.Topic, r.Partition, r.Offset)
		}
		contactID, err := schemas.ContactID(mustPayload(t, s.value))
		if err != nil {
			t.Fatal(err)
		}
		if r.Topic != topicFor(s.eventType) {
			t.Errorf("%s on %s, want %s", s.eventType, r.Topic, topicFor(s.eventType))
		}
		if r.Key != contactID {
			t.Errorf("%s key %q, want contactId %q", s.eventType, r.Key, contactID)
		}
		if want := kafkatest.Murmur2Partition([]byte(r.Key), partitions); r.Partition != want {
			t.Errorf("%s partition %d, Java murmur2 says %d", s.eventType, r.Partition, want)
		}
		if !bytes.Equal(r.Value, s.value) {
			t.Errorf("%s value:\n%s\nwant:\n%s", s.eventType, r.Value, s.value)
		}
		env, _ := schemas.ParseEnvelope(s.value)
		want := map[string]string{
			"svix-id": s.id, "svix-timestamp": s.ts, "engage-event-type": s.eventType,
			"engage-event-id": env.EventID, "engage-tenant": "myTenantName", "engage-endpoint": "default",
			"content-type": "application/json", "ce_specversion": "1.0", "ce_id": s.id,
			"ce_source": "/engage/myTenantName", "ce_type": s.eventType, "ce_subject": contactID,
		}
		if diff := cmp.Diff(want, r.Headers); diff != "" {
			t.Errorf("%s headers (-want +got):\n%s", s.eventType, diff)
		}
	}
	assertNoPersonalData(t, b.logs.String())
}

func mustPayload(t *testing.T, value []byte) []byte {
	t.Helper()
	env, err := schemas.ParseEnvelope(value)
	if err != nil {
		t.Fatal(err)
	}
	return env.Payload
}

// assertNoPersonalData: the log of a whole run holds no payload value, no
// contactId and no secret (docs/contract.md#invariants).
func assertNoPersonalData(t *testing.T, logs string) {
	t.Helper()
	if !strings.Contains(logs, `"message":"webhook"`) {
		t.Fatalf("no request log lines captured:\n%s", logs)
	}
	for _, s := range []string{
		"john.doe@example.com", "previousEmail@email.com", "+46701234567", "20040217-7935",
		"Storgatan", "Stockholm", "John", "Doe", "CRM-12345", "RWD-7F3K-9Q2M", "cancelled membership",
		"515c1b2a-7124-4bb9-826b-aedbbe5da8c4", "d3bdcad4-3f90-46ce-be4c-b3d800dc7979",
		e2eSecret, e2eSecret[6:], e2eSecret2, e2eSecret2[6:], e2eKey,
	} {
		if strings.Contains(logs, s) {
			t.Errorf("the log contains %q", s)
		}
	}
}

// TestEndToEndEveryRow sends a request for every row of docs/contract.md#http-answers to a real
// server and checks the answer, then reads every topic to check that what
// was answered 2xx is there and nothing else is.
func TestEndToEndEveryRow(t *testing.T) {
	t.Parallel()
	body := example(t, schemas.EventContactUpdated)
	now := time.Now()
	c := kafkatest.Cluster(t)
	main := startBridge(t, c, nil, true)
	url := main.webhookURL()

	rows := []struct {
		name string
		got  func() answer
		want answer
	}{
		{"published", func() answer { return deliver(t, url, e2eSecret, "msg_row_pub", now, body, nil) },
			answer{200, `{"status":"published"}`, ""}},
		{"duplicate", func() answer { return deliver(t, url, e2eSecret, "msg_row_pub", now, body, nil) },
			answer{200, `{"status":"duplicate"}`, ""}},
		{"signed with the rotated-in second secret", func() answer { return deliver(t, url, e2eSecret2, "msg_row_rot", now, body, nil) },
			answer{200, `{"status":"published"}`, ""}},
		{"deadlettered", func() answer {
			return deliver(t, url, e2eSecret, "msg_row_dlq", now, []byte(`{"eventType":"contact.updated","payload":{"email":"x"},"tenant":"t"}`), nil)
		}, answer{200, `{"status":"deadlettered","reason":"missing_contact_id"}`, ""}},
		{"missing headers", func() answer { return deliver(t, url, "", "", now, body, nil) },
			answer{401, `{"error":"invalid_signature","reason":"missing_headers"}`, ""}},
		{"bad timestamp", func() answer {
			h := http.Header{}
			h.Set("svix-timestamp", "yesterday")
			return deliver(t, url, e2eSecret, "msg_row_bad", now, body, h)
		}, answer{401, `{"error":"invalid_signature","reason":"bad_timestamp"}`, ""}},
		{"no match", func() answer {
			return deliver(t, url, "whsec_c2VjcmV0LXRoYXQtaXMtbm90LWNvbmZpZ3VyZWQ=", "msg_row_nm", now, body, nil)
		},
			answer{401, `{"error":"invalid_signature","reason":"no_match"}`, ""}},
		{"too old (6 min)", func() answer { return deliver(t, url, e2eSecret, "msg_row_old", now.Add(-6*time.Minute), body, nil) },
			answer{401, `{"error":"invalid_signature","reason":"too_old"}`, ""}},
		{"too new (6 min)", func() answer { return deliver(t, url, e2eSecret, "msg_row_new", now.Add(6*time.Minute), body, nil) },
			answer{401, `{"error":"invalid_signature","reason":"too_new"}`, ""}},
		{"old but within tolerance (4 min)", func() answer { return deliver(t, url, e2eSecret, "msg_row_4m", now.Add(-4*time.Minute), body, nil) },
			answer{200, `{"status":"published"}`, ""}},
		{"other method", func() answer { return do(t, http.MethodGet, url, http.Header{}, nil) },
			answer{405, `{"error":"method_not_allowed"}`, ""}},
		{"other path", func() answer {
			return deliver(t, strings.TrimSuffix(url, "/engage")+"/other", e2eSecret, "msg_row_404", now, body, nil)
		},
			answer{404, `{"error":"not_found"}`, ""}},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			if got := row.got(); got != row.want {
				t.Errorf("answer %+v, want %+v", got, row.want)
			}
		})
	}

	// Rows that need their own configuration.
	t.Run("forbidden", func(t *testing.T) {
		b := startBridge(t, kafkatest.Cluster(t), map[string]string{"BRIDGE_ALLOWED_IPS": "svix-eu"}, true)
		want := answer{403, `{"error":"forbidden"}`, ""}
		if got := deliver(t, b.webhookURL(), e2eSecret, "msg_403", now, body, nil); got != want {
			t.Errorf("answer %+v, want %+v", got, want)
		}
	})
	t.Run("body too large", func(t *testing.T) {
		b := startBridge(t, kafkatest.Cluster(t), map[string]string{"BRIDGE_MAX_BODY_BYTES": "1000"}, true)
		want := answer{413, `{"error":"body_too_large"}`, ""}
		if got := deliver(t, b.webhookURL(), e2eSecret, "msg_413", now, body, nil); got != want {
			t.Errorf("answer %+v, want %+v", got, want)
		}
	})
	t.Run("unauthorized", func(t *testing.T) {
		b := startBridge(t, kafkatest.Cluster(t), map[string]string{"BRIDGE_AUTH_HEADER": "X-Engage-Token", "BRIDGE_AUTH_TOKEN": "s3cr3t"}, true)
		h := http.Header{}
		h.Set("X-Engage-Token", "wrong")
		if got, want := deliver(t, b.webhookURL(), e2eSecret, "msg_401", now, body, h), (answer{401, `{"error":"unauthorized"}`, ""}); got != want {
			t.Errorf("answer %+v, want %+v", got, want)
		}
		h.Set("X-Engage-Token", "s3cr3t")
		if got := deliver(t, b.webhookURL(), e2eSecret, "msg_401", now, body, h); got.status != 200 {
			t.Errorf("right token: %+v", got)
		}
	})
	t.Run("overloaded", func(t *testing.T) {
		c := kafkatest.Cluster(t)
		b := startBridge(t, c, map[string]string{"BRIDGE_MAX_IN_FLIGHT": "1", "BRIDGE_PUBLISH_TIMEOUT": "3s"}, true)
		held := make(chan struct{})
		release := make(chan struct{})
		var once sync.Once
		c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
			once.Do(func() { close(held) })
			<-release // hold the first produce until the second request was answered
			return nil, nil, false
		})
		first := make(chan answer, 1)
		go func() { first <- deliver(t, b.webhookURL(), e2eSecret, "msg_429a", now, body, nil) }()
		<-held
		got := deliver(t, b.webhookURL(), e2eSecret, "msg_429b", now, body, nil)
		close(release)
		if got.status != 429 || got.body != `{"error":"overloaded"}` || got.retryAfter == "" {
			t.Errorf("second request: %+v, want 429 overloaded with Retry-After", got)
		}
		if a := <-first; a.status != 200 {
			t.Errorf("first request: %+v", a)
		}
	})
	t.Run("kafka did not acknowledge in time", func(t *testing.T) {
		c := kafkatest.Cluster(t)
		b := startBridge(t, c, map[string]string{"BRIDGE_PUBLISH_TIMEOUT": "500ms"}, true)
		c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
			c.KeepControl()
			return nil, nil, true // swallow every produce request: no acknowledgement
		})
		start := time.Now()
		got := deliver(t, b.webhookURL(), e2eSecret, "msg_503", now, body, nil)
		if want := (answer{503, `{"error":"unavailable"}`, "5"}); got != want {
			t.Errorf("answer %+v, want %+v", got, want)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("answered after %v with a 500ms publish timeout", d)
		}
	})
	t.Run("kafka rejected for good", func(t *testing.T) {
		c := kafkatest.Cluster(t)
		kafkatest.CreateTopic(t, c, "engage.contact", partitions, map[string]string{"max.message.bytes": "1000"})
		b := startBridge(t, c, nil, true)
		got := deliver(t, b.webhookURL(), e2eSecret, "msg_big", now, body, nil)
		if want := (answer{503, `{"error":"unavailable"}`, "5"}); got != want {
			t.Errorf("answer %+v, want %+v", got, want)
		}
		scrape := do(t, http.MethodGet, b.adminURL()+"/metrics", http.Header{}, nil).body
		if !strings.Contains(scrape, `engage_bridge_kafka_rejected_total{topic="engage.contact"} 1`) {
			t.Errorf("rejection not counted in its own metric")
		}
		if recs := kafkatest.ReadAll(t, b.brokers, 1, 2*time.Second, routedTopics...); len(recs) != 0 {
			t.Errorf("%d records written for a rejected delivery", len(recs))
		}
	})

	// What the main bridge answered 2xx is in Kafka; nothing else is.
	recs := kafkatest.ReadAll(t, main.brokers, 4, 10*time.Second, routedTopics...)
	got := map[string]string{}
	for _, r := range recs {
		got[r.Headers["svix-id"]] = r.Topic
	}
	want := map[string]string{"msg_row_pub": "engage.contact", "msg_row_rot": "engage.contact", "msg_row_dlq": "engage.deadletter", "msg_row_4m": "engage.contact"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("records in Kafka (-want +got):\n%s", diff)
	}
	assertNoPersonalData(t, main.logs.String())
}

// TestKafkaDown: with the broker gone, a valid request gets 503 with
// Retry-After within the publish timeout, never a 2xx; /readyz follows.
func TestKafkaDown(t *testing.T) {
	t.Parallel()
	c := kafkatest.Cluster(t)
	b := startBridge(t, c, map[string]string{"BRIDGE_PUBLISH_TIMEOUT": "1s"}, true)
	body := example(t, schemas.EventPointBalanceUpdated)
	if a := deliver(t, b.webhookURL(), e2eSecret, "msg_up", time.Now(), body, nil); a.status != 200 {
		t.Fatalf("with Kafka up: %+v", a)
	}
	c.Close()
	for i := range 3 {
		start := time.Now()
		a := deliver(t, b.webhookURL(), e2eSecret, fmt.Sprintf("msg_down%d", i), time.Now(), body, nil)
		if a.status != 503 || a.retryAfter == "" || a.body != `{"error":"unavailable"}` {
			t.Fatalf("with Kafka down: %+v, want 503 with Retry-After", a)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("answered after %v with a 1s publish timeout", d)
		}
	}
}

// TestKcat reads the bridge's records with kcat (librdkafka), a Kafka
// client none of us wrote.
func TestKcat(t *testing.T) {
	t.Parallel()
	kcat := lookKcat(t)
	c := kafkatest.Cluster(t)
	b := startBridge(t, c, nil, true)
	sentAt := time.Now()
	bodies := deliverContacts(t, b, "msg_kcat_", sentAt)
	checkKcat(t, kcat, b.brokers, bodies, sentAt)
}

// TestKcatCompression: with each BRIDGE_KAFKA_COMPRESSION, the records are
// stored in batches of that codec, and kcat, and the bridge's own tail,
// read them back with the values unchanged.
func TestKcatCompression(t *testing.T) {
	t.Parallel()
	kcat := lookKcat(t)
	for _, tc := range []struct {
		codec string
		code  uint8 // Kafka's compression type of the stored batches
	}{
		{"none", 0}, {"gzip", 1}, {"snappy", 2}, {"lz4", 3}, {"zstd", 4},
	} {
		t.Run(tc.codec, func(t *testing.T) {
			t.Parallel()
			c := kafkatest.Cluster(t)
			b := startBridge(t, c, map[string]string{"BRIDGE_KAFKA_COMPRESSION": tc.codec}, true)
			sentAt := time.Now()
			bodies := deliverContacts(t, b, "msg_"+tc.codec+"_", sentAt)
			for _, r := range kafkatest.ReadAll(t, b.brokers, len(bodies), 15*time.Second, "engage.contact") {
				if r.Compression != tc.code {
					t.Errorf("record %s stored with compression type %d, want %d (%s)", r.Headers["svix-id"], r.Compression, tc.code, tc.codec)
				}
			}
			checkKcat(t, kcat, b.brokers, bodies, sentAt)
			checkTail(t, b.brokers, bodies)
		})
	}
}

// checkTail reads engage.contact with `engage-bridge tail --json` (kafka-go's
// reader) and checks that it prints exactly the records of bodies, values
// as stored (tail prints them compacted).
func checkTail(t *testing.T, brokers []string, bodies map[string][]byte) {
	t.Helper()
	out, err := runCmd(t, map[string]string{"BRIDGE_KAFKA_BROKERS": strings.Join(brokers, ",")}, "tail", "--topic", "engage.contact", "--exit", "--json")
	if err != nil {
		t.Fatalf("tail: %v\n%s", err, out)
	}
	got := map[string]string{}
	for line := range strings.SplitSeq(strings.TrimSpace(out), "\n") {
		var r struct {
			Headers map[string]string `json:"headers"`
			Value   json.RawMessage   `json:"value"`
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("tail output %q: %v", line, err)
		}
		got[r.Headers["svix-id"]] = string(r.Value)
	}
	want := map[string]string{}
	for id, body := range bodies {
		var compact bytes.Buffer
		if err := json.Compact(&compact, body); err != nil {
			t.Fatal(err)
		}
		want[id] = compact.String()
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("tail (-want +got):\n%s", diff)
	}
}

func lookKcat(t *testing.T) string {
	t.Helper()
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Skip("kcat is not installed (apt-get install kcat); .ci/run installs it")
	}
	return kcat
}

// deliverContacts delivers Engage's encrypted example of each contact
// event with an id starting with prefix, and returns the record value
// expected for each id.
func deliverContacts(t *testing.T, b *testBridge, prefix string, sentAt time.Time) map[string][]byte {
	t.Helper()
	bodies := map[string][]byte{}
	for _, et := range []string{schemas.EventContactCreated, schemas.EventContactUpdated, schemas.EventContactDeleted} {
		body, want := encryptedExample(t, et)
		id := prefix + strings.ReplaceAll(et, ".", "_")
		if a := deliver(t, b.webhookURL(), e2eSecret, id, sentAt, body, nil); a.status != 200 {
			t.Fatalf("%s: %+v", et, a)
		}
		bodies[id] = want
	}
	return bodies
}

// checkKcat reads engage.contact with kcat and checks that it holds
// exactly the records of bodies (by svix-id), values byte for byte.
func checkKcat(t *testing.T, kcat string, brokers []string, bodies map[string][]byte, sentAt time.Time) {
	t.Helper()
	out, err := exec.Command(kcat, "-C", "-b", strings.Join(brokers, ","), "-t", "engage.contact",
		"-o", "beginning", "-e", "-q", "-J").Output()
	if err != nil {
		t.Fatalf("kcat: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(bodies) {
		t.Fatalf("kcat read %d records, want %d:\n%s", len(lines), len(bodies), out)
	}
	for _, line := range lines {
		var r struct {
			Topic     string   `json:"topic"`
			Partition int32    `json:"partition"`
			Key       string   `json:"key"`
			Payload   string   `json:"payload"`
			Headers   []string `json:"headers"`
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("kcat output %q: %v", line, err)
		}
		h := map[string]string{}
		for i := 0; i+1 < len(r.Headers); i += 2 {
			h[r.Headers[i]] = r.Headers[i+1]
		}
		want, ok := bodies[h["svix-id"]]
		if !ok {
			t.Fatalf("unexpected record, headers %v", h)
		}
		if r.Payload != string(want) {
			t.Errorf("kcat payload:\n%s\nwant:\n%s", r.Payload, want)
		}
		contactID, _ := schemas.ContactID(mustPayload(t, want))
		if r.Key != contactID || h["ce_subject"] != contactID {
			t.Errorf("key %q ce_subject %q, want %q", r.Key, h["ce_subject"], contactID)
		}
		if want := kafkatest.Murmur2Partition([]byte(r.Key), partitions); r.Partition != want {
			t.Errorf("partition %d, Java murmur2 says %d", r.Partition, want)
		}
		if h["content-type"] != "application/json" || h["ce_specversion"] != "1.0" || h["engage-event-type"] == "" || h["svix-timestamp"] != fmt.Sprint(sentAt.Unix()) {
			t.Errorf("headers %v", h)
		}
	}
}

// bodyOfSize is a signed-deliverable contact.updated envelope of exactly n
// bytes, padded inside customAttributes.
func bodyOfSize(t *testing.T, n int) []byte {
	t.Helper()
	head := `{"eventId":"e-big","eventType":"contact.updated","isEncrypted":false,"payload":{"contactId":"c-big","customAttributes":{"notes":"`
	tail := `"}},"tenant":"myTenantName"}`
	pad := n - len(head) - len(tail)
	if pad < 0 {
		t.Fatal("n too small")
	}
	return []byte(head + strings.Repeat("x", pad) + tail)
}

// TestOneMiBBody: hosted Svix sends up to 1 MiB; such a body is published
// whole (the publisher and the topics dev creates take it with headers),
// and one byte more is refused with 413.
func TestOneMiBBody(t *testing.T) {
	t.Parallel()
	c := kafkatest.Cluster(t)
	b := startBridge(t, c, nil, true)
	body := bodyOfSize(t, 1<<20)
	if a := deliver(t, b.webhookURL(), e2eSecret, "msg_1mib", time.Now(), body, nil); a.status != 200 || a.body != `{"status":"published"}` {
		t.Fatalf("1 MiB body: %+v", a)
	}
	if a := deliver(t, b.webhookURL(), e2eSecret, "msg_1mib1", time.Now(), bodyOfSize(t, 1<<20+1), nil); a.status != 413 {
		t.Fatalf("1 MiB + 1 byte: %+v, want 413", a)
	}
	recs := kafkatest.ReadAll(t, b.brokers, 1, 15*time.Second, "engage.contact")
	if len(recs) != 1 || !bytes.Equal(recs[0].Value, body) || recs[0].Key != "c-big" {
		t.Fatalf("read %d records; the 1 MiB value came back intact: %v", len(recs), len(recs) == 1 && bytes.Equal(recs[0].Value, body))
	}
}

// TestMetricsAfterTraffic scrapes /metrics after known traffic.
func TestMetricsAfterTraffic(t *testing.T) {
	t.Parallel()
	c := kafkatest.Cluster(t)
	b := startBridge(t, c, nil, true)
	now := time.Now()
	for i, et := range []string{schemas.EventContactCreated, schemas.EventContactCreated, schemas.EventPointBalanceUpdated} {
		deliver(t, b.webhookURL(), e2eSecret, fmt.Sprint("msg_m", i), now, example(t, et), nil)
	}
	deliver(t, b.webhookURL(), e2eSecret, "msg_m0", now, example(t, schemas.EventContactCreated), nil) // duplicate
	deliver(t, b.webhookURL(), e2eSecret, "msg_m9", now, []byte(`{"eventType":"order.created","payload":{"contactId":"c"}}`), nil)
	deliver(t, b.webhookURL(), e2eSecret, "msg_md", now, []byte(`{"eventType":"contact.updated","payload":{}}`), nil)
	deliver(t, b.webhookURL(), e2eSecret, "msg_drift", now, []byte(`{"eventType":"point.balance.updated","id":"x","payload":{"contactId":"c","balance":"12.5"},"tenant":"t"}`), nil)
	deliver(t, b.webhookURL(), "", "", now, []byte(`{}`), nil)
	deliver(t, b.webhookURL(), e2eSecret, "msg_old", now.Add(-time.Hour), []byte(`{}`), nil)

	scrape := do(t, http.MethodGet, b.adminURL()+"/metrics", http.Header{}, nil)
	if scrape.status != 200 {
		t.Fatalf("/metrics: %d", scrape.status)
	}
	for _, want := range []string{
		`engage_bridge_requests_total{endpoint="default",outcome="published"} 5`,
		`engage_bridge_schema_drift_total{event_type="point.balance.updated"} 1`,
		`engage_bridge_requests_total{endpoint="default",outcome="duplicate"} 1`,
		`engage_bridge_requests_total{endpoint="default",outcome="deadlettered"} 1`,
		`engage_bridge_requests_total{endpoint="default",outcome="invalid_signature"} 2`,
		`engage_bridge_published_total{endpoint="default",event_type="contact.created",topic="engage.contact"} 2`,
		`engage_bridge_published_total{endpoint="default",event_type="point.balance.updated",topic="engage.loyalty"} 2`,
		`engage_bridge_published_total{endpoint="default",event_type="other",topic="engage.unrouted"} 1`,
		`engage_bridge_deadletters_total{endpoint="default",reason="missing_contact_id"} 1`,
		`engage_bridge_signature_failures_total{endpoint="default",reason="missing_headers"} 1`,
		`engage_bridge_signature_failures_total{endpoint="default",reason="too_old"} 1`,
		`engage_bridge_duplicates_total 1`,
		`engage_bridge_request_duration_seconds_count{outcome="published"} 5`,
		`engage_bridge_kafka_publish_duration_seconds_count{result="ok"} 6`,
		`engage_bridge_in_flight_requests 0`,
		`engage_bridge_kafka_ready 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(scrape.body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if code := do(t, http.MethodGet, b.adminURL()+"/healthz", http.Header{}, nil).status; code != 200 {
		t.Errorf("/healthz %d", code)
	}
	if a := do(t, http.MethodGet, b.adminURL()+"/readyz", http.Header{}, nil); a.status != 200 {
		t.Errorf("/readyz %+v", a)
	}
}

// TestTracingOTLP: with OTEL_EXPORTER_OTLP_ENDPOINT set, spans reach an
// OTLP/HTTP collector, and the Kafka record carries the publish span's
// traceparent.
func TestTracingOTLP(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	spans := map[string]string{} // name -> trace id
	service := ""
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req collectortrace.ExportTraceServiceRequest
		if r.URL.Path != "/v1/traces" || proto.Unmarshal(body, &req) != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		for _, rs := range req.ResourceSpans {
			for _, a := range rs.Resource.Attributes {
				if a.Key == "service.name" {
					service = a.Value.GetStringValue()
				}
			}
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					spans[s.Name] = hex.EncodeToString(s.TraceId)
				}
			}
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(nil)
	}))
	defer collector.Close()

	// The real binary: the exporter reads its OTEL_* settings from the
	// process environment, which a parallel test must not change.
	c := kafkatest.Cluster(t)
	for _, topic := range routedTopics {
		kafkatest.CreateTopic(t, c, topic, 1, nil)
	}
	p := startProcess(t, map[string]string{
		"BRIDGE_KAFKA_BROKERS":        strings.Join(c.ListenAddrs(), ","),
		"OTEL_EXPORTER_OTLP_ENDPOINT": collector.URL,
		"OTEL_BSP_SCHEDULE_DELAY":     "50",
	})
	waitReady(t, p, 15*time.Second)
	if a := deliver(t, p.webhook, e2eSecret, "msg_otlp", time.Now(), example(t, schemas.EventContactCreated), nil); a.status != 200 {
		t.Fatalf("%+v", a)
	}
	recs := kafkatest.ReadAll(t, c.ListenAddrs(), 1, 10*time.Second, "engage.contact")
	if len(recs) != 1 {
		t.Fatalf("%d records", len(recs))
	}
	tp := strings.Split(recs[0].Headers["traceparent"], "-")
	if len(tp) != 4 || tp[0] != "00" {
		t.Fatalf("traceparent %q", recs[0].Headers["traceparent"])
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		got := len(spans)
		mu.Unlock()
		if got >= 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, name := range []string{"webhook", "verify", "publish engage.contact"} {
		if spans[name] != tp[1] {
			t.Errorf("span %s: trace %q, want the record's %q (spans %v)", name, spans[name], tp[1], spans)
		}
	}
	if service != "engage-bridge" {
		t.Errorf("service.name %q", service)
	}
}
