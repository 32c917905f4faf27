package ingress

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rs/zerolog"

	"github.com/engage-bridge/engage-bridge/internal/dedupe"
	"github.com/engage-bridge/engage-bridge/internal/metrics"
	"github.com/engage-bridge/engage-bridge/internal/payloadcrypto"
	"github.com/engage-bridge/engage-bridge/publisher"
	"github.com/engage-bridge/engage-bridge/router"
	"github.com/engage-bridge/engage-bridge/schemas"
)

const (
	testSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	testKey    = "DaqfT7Ys6tGqM3zbesEKpmacTJEqBCp2"
)

// fakePublisher stores what it is given; err, when set, is returned
// instead; block, when set, holds every Publish until closed.
type fakePublisher struct {
	mu    sync.Mutex
	msgs  []publisher.Message
	err   error
	block chan struct{}
	calls int
}

func (p *fakePublisher) Publish(ctx context.Context, m publisher.Message, done func(publisher.Ack, error)) (publisher.Ack, error) {
	ack, err := p.publish(ctx, m)
	if done != nil {
		done(ack, err)
	}
	return ack, err
}

func (p *fakePublisher) publish(ctx context.Context, m publisher.Message) (publisher.Ack, error) {
	p.mu.Lock()
	p.calls++
	block, err := p.block, p.err
	p.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return publisher.Ack{}, fmt.Errorf("%w: %w", publisher.ErrUnavailable, ctx.Err())
		}
	}
	if err != nil {
		return publisher.Ack{}, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.msgs = append(p.msgs, stored(m))
	return publisher.Ack{Partition: 2, Offset: int64(len(p.msgs) - 1)}, nil
}

// stored is m as a broker keeps it: a copy of every byte, since the body
// and the header values go back to their pools once done is called.
func stored(m publisher.Message) publisher.Message {
	c := publisher.Message{Topic: m.Topic, Key: bytes.Clone(m.Key), Value: bytes.Clone(m.Value)}
	for _, h := range m.Headers {
		c.Headers = append(c.Headers, publisher.Header{Key: h.Key, Value: bytes.Clone(h.Value)})
	}
	return c
}

func (p *fakePublisher) published() []publisher.Message {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]publisher.Message(nil), p.msgs...)
}

func (p *fakePublisher) setErr(err error) {
	p.mu.Lock()
	p.err = err
	p.mu.Unlock()
}

type testBridge struct {
	h   *Handler
	pub *fakePublisher
	log *bytes.Buffer
}

func newTestHandler(t testing.TB, mutate func(*Config)) *testBridge {
	t.Helper()
	key, err := payloadcrypto.ParseKey(testKey)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{SigningSecrets: []string{testSecret}, EncryptionKey: &key, PublishTimeout: 2 * time.Second}
	if mutate != nil {
		mutate(&cfg)
	}
	routes, err := router.New(router.Default())
	if err != nil {
		t.Fatal(err)
	}
	seen, err := dedupe.New(dedupe.Config{TTL: time.Hour, MaxEntries: 1000}, nil)
	if err != nil {
		t.Fatal(err)
	}
	pub := &fakePublisher{}
	var logs bytes.Buffer
	validator, err := schemas.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(cfg, Deps{Routes: routes, Publisher: pub, Dedupe: seen, Metrics: metrics.New(), Schemas: validator, Log: zerolog.New(zerolog.SyncWriter(&logs))})
	if err != nil {
		t.Fatal(err)
	}
	return &testBridge{h: h, pub: pub, log: &logs}
}

// signed returns Svix headers for body, signed now with testSecret.
func signed(t testing.TB, id string, body []byte) http.Header {
	t.Helper()
	return signedWith(t, testSecret, id, body)
}

func example(t testing.TB, eventType string) []byte {
	t.Helper()
	b, ok := schemas.Example(eventType)
	if !ok {
		t.Fatalf("no example for %s", eventType)
	}
	return b
}

// encrypted returns the example with its payload encrypted as Engage does.
func encrypted(t testing.TB, eventType string) (body, plain []byte) {
	t.Helper()
	var env map[string]json.RawMessage
	if err := json.Unmarshal(example(t, eventType), &env); err != nil {
		t.Fatal(err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, env["payload"]); err != nil {
		t.Fatal(err)
	}
	key, _ := payloadcrypto.ParseKey(testKey)
	text, err := key.Encrypt(bytes.Repeat([]byte{7}, 16), compact.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	env["payload"], _ = json.Marshal(text)
	env["isEncrypted"] = json.RawMessage("true")
	body, _ = json.Marshal(env)
	return body, compact.Bytes()
}

func headerMap(hs []publisher.Header) map[string]string {
	m := map[string]string{}
	for _, h := range hs {
		m[h.Key] = string(h.Value)
	}
	return m
}

func headerKeys(hs []publisher.Header) []string {
	var k []string
	for _, h := range hs {
		k = append(k, h.Key)
	}
	return k
}

// TestAcceptExamples: Engage's example of every documented event type is
// published to its family topic, keyed by contactId, value byte for byte.
func TestAcceptExamples(t *testing.T) {
	tests := []struct {
		eventType, topic, contactID, eventID string
	}{
		{schemas.EventContactAcceptsEmailChanged, "engage.contact", "515c1b2a-7124-4bb9-826b-aedbbe5da8c4", "0d6f0005-2a4c-4e7b-9f1d-6b8e3c5a7d92"},
		{schemas.EventContactAcceptsSmsChanged, "engage.contact", "515c1b2a-7124-4bb9-826b-aedbbe5da8c4", "0d6f0003-2a4c-4e7b-9f1d-6b8e3c5a7d92"},
		{schemas.EventContactAcceptsPostalChanged, "engage.contact", "515c1b2a-7124-4bb9-826b-aedbbe5da8c4", "0d6f0006-2a4c-4e7b-9f1d-6b8e3c5a7d92"},
		{schemas.EventContactConsentChanged, "engage.contact", "515c1b2a-7124-4bb9-826b-aedbbe5da8c4", "7a3c9e1f-4b6d-4f82-a5c7-9e1b3d5f7a24"},
		{schemas.EventContactCreated, "engage.contact", "515c1b2a-7124-4bb9-826b-aedbbe5da8c4", "4ff4d68b-d299-4a17-81cc-e81abbf8932f"},
		{schemas.EventContactUpdated, "engage.contact", "515c1b2a-7124-4bb9-826b-aedbbe5da8c4", "4ff4d68b-d299-4a17-81cc-e81abbf8932f"},
		{schemas.EventContactDeleted, "engage.contact", "d3bdcad4-3f90-46ce-be4c-b3d800dc7979", "6a21bf40-56c1-49cf-ae6e-53b987ff2da4"},
		{schemas.EventLoyaltyAddPoints, "engage.loyalty", "515c1b2a-7124-4bb9-826b-aedbbe5da8c4", "8c1f5e2a-3b7d-4d92-a6e1-0f4b9c2d7e31"},
		{schemas.EventPointBalanceUpdated, "engage.loyalty", "515c1b2a-7124-4bb9-826b-aedbbe5da8c4", "c5a8e1d3-7f2b-4c96-8e4a-1b3d5f7a9c20"},
		{schemas.EventRewardVoucherCreated, "engage.reward", "515c1b2a-7124-4bb9-826b-aedbbe5da8c4", "f1e2d3c4-b5a6-4978-8a9b-0c1d2e3f4a5b"},
		{schemas.EventPromotionMultichannelAssigned, "engage.promotion", "515c1b2a-7124-4bb9-826b-aedbbe5da8c4", "3e5a7c9f-1b2d-4e6f-8a0c-2d4f6b8e0a13"},
	}
	for _, tt := range tests {
		t.Run(tt.eventType, func(t *testing.T) {
			b := newTestHandler(t, nil)
			body := example(t, tt.eventType)
			id := "msg_" + tt.eventType
			h := signed(t, id, body)
			res, err := b.h.Accept(context.Background(), h, body, nil)
			if err != nil {
				t.Fatalf("Accept: %v", err)
			}
			if res.Outcome != Published || res.Topic != tt.topic || res.EventType != tt.eventType || res.Tenant != "myTenantName" {
				t.Errorf("result %+v", res)
			}
			msgs := b.pub.published()
			if len(msgs) != 1 {
				t.Fatalf("%d records published, want 1", len(msgs))
			}
			m := msgs[0]
			if m.Topic != tt.topic || string(m.Key) != tt.contactID {
				t.Errorf("topic %s key %s, want %s %s", m.Topic, m.Key, tt.topic, tt.contactID)
			}
			if !bytes.Equal(m.Value, body) {
				t.Errorf("value is not the received body byte for byte")
			}
			wantKeys := []string{"svix-id", "svix-timestamp", "engage-event-type", "engage-event-id", "engage-tenant",
				"engage-endpoint", "content-type", "ce_specversion", "ce_id", "ce_source", "ce_type", "ce_subject"}
			if diff := cmp.Diff(wantKeys, headerKeys(m.Headers)); diff != "" {
				t.Errorf("header keys (-want +got):\n%s", diff)
			}
			want := map[string]string{
				"svix-id": id, "svix-timestamp": h.Get("svix-timestamp"),
				"engage-event-type": tt.eventType, "engage-event-id": tt.eventID, "engage-tenant": "myTenantName",
				"engage-endpoint": "default", "content-type": "application/json", "ce_specversion": "1.0", "ce_id": id,
				"ce_source": "/engage/myTenantName", "ce_type": tt.eventType, "ce_subject": tt.contactID,
			}
			if diff := cmp.Diff(want, headerMap(m.Headers)); diff != "" {
				t.Errorf("headers (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAcceptEncrypted: an encrypted payload is decrypted, spliced in
// verbatim, and isEncrypted becomes false; nothing else changes.
func TestAcceptEncrypted(t *testing.T) {
	for _, et := range schemas.EventTypes() {
		t.Run(et, func(t *testing.T) {
			b := newTestHandler(t, nil)
			body, plain := encrypted(t, et)
			res, err := b.h.Accept(context.Background(), signed(t, "msg_enc", body), body, nil)
			if err != nil || res.Outcome != Published || res.Encryption != Decrypted {
				t.Fatalf("Accept = %+v, %v", res, err)
			}
			m := b.pub.published()[0]
			var got, want map[string]json.RawMessage
			if err := json.Unmarshal(m.Value, &got); err != nil {
				t.Fatalf("value is not JSON: %v", err)
			}
			_ = json.Unmarshal(body, &want)
			if !bytes.Equal(got["payload"], plain) {
				t.Errorf("payload %s, want the decrypted bytes %s", got["payload"], plain)
			}
			if string(got["isEncrypted"]) != "false" {
				t.Errorf("isEncrypted = %s, want false", got["isEncrypted"])
			}
			for k := range want {
				if k != "payload" && k != "isEncrypted" && !bytes.Equal(got[k], want[k]) {
					t.Errorf("%s changed: %s -> %s", k, want[k], got[k])
				}
			}
			contactID, _ := schemas.ContactID(plain)
			if string(m.Key) != contactID {
				t.Errorf("key %s, want %s", m.Key, contactID)
			}
			if headerMap(m.Headers)["ce_subject"] != contactID {
				t.Errorf("ce_subject %q", headerMap(m.Headers)["ce_subject"])
			}
		})
	}
}

// TestFlagOnlyEncryption: Voyado's contact examples say isEncrypted: true
// beside an object; they are published as received.
func TestFlagOnlyEncryption(t *testing.T) {
	b := newTestHandler(t, func(c *Config) { c.EncryptionKey = nil })
	body := example(t, schemas.EventContactCreated)
	res, err := b.h.Accept(context.Background(), signed(t, "msg_flag", body), body, nil)
	if err != nil || res.Outcome != Published || res.Encryption != FlagOnly {
		t.Fatalf("Accept = %+v, %v", res, err)
	}
	if !bytes.Equal(b.pub.published()[0].Value, body) {
		t.Error("value differs from the received body")
	}
}

func TestAcceptDeadLetters(t *testing.T) {
	enc, _ := encrypted(t, schemas.EventContactUpdated)
	key, _ := payloadcrypto.ParseKey(testKey)
	encryptTo := func(plain string) string {
		text, err := key.Encrypt(make([]byte, 16), []byte(plain))
		if err != nil {
			t.Fatal(err)
		}
		return `{"eventId":"e1","eventType":"contact.updated","isEncrypted":true,"payload":"` + text + `","tenant":"t1"}`
	}
	tests := []struct {
		name      string
		body      string
		noKey     bool
		reason    string
		eventType string
		tenant    string
	}{
		{"not JSON", `not json`, false, DLQInvalidJSON, "", ""},
		{"JSON array", `[1,2]`, false, DLQInvalidJSON, "", ""},
		{"Voyado's loyalty template verbatim", `{"eventType": String, "id": String, "payload": : {}}`, false, DLQInvalidJSON, "", ""},
		{"no eventType", `{"payload":{"contactId":"c"},"tenant":"t1"}`, false, DLQMissingEventType, "", ""},
		{"eventType not a string", `{"eventType":5,"payload":{"contactId":"c"}}`, false, DLQMissingEventType, "", ""},
		{"no contactId", `{"eventType":"contact.updated","payload":{"email":"x@example.com"},"tenant":"t1"}`, false, DLQMissingContactID, "contact.updated", "t1"},
		{"contactId not a string", `{"eventType":"contact.updated","payload":{"contactId":42},"tenant":"t1"}`, false, DLQMissingContactID, "contact.updated", "t1"},
		{"encrypted without a key", string(enc), true, DLQNoEncryptionKey, "contact.updated", "myTenantName"},
		{"ciphertext not base64", `{"eventType":"contact.updated","isEncrypted":true,"payload":"%%%%","tenant":"t1"}`, false, DLQDecryptFailed, "contact.updated", "t1"},
		{"ciphertext too short", `{"eventType":"contact.updated","isEncrypted":true,"payload":"AAECAwQFBgcICQoLDA0ODw","tenant":"t1"}`, false, DLQDecryptFailed, "contact.updated", "t1"},
		{"decrypts to non-JSON", encryptTo("not json at all"), false, DLQDecryptFailed, "contact.updated", "t1"},
		{"decrypts to an array", encryptTo(`[{"contactId":"c"}]`), false, DLQInvalidPayload, "contact.updated", "t1"},
		{"decrypts without contactId", encryptTo(`{"email":"x@example.com"}`), false, DLQMissingContactID, "contact.updated", "t1"},
		{"payload a number", `{"eventType":"contact.updated","payload":5,"tenant":"t1"}`, false, DLQInvalidPayload, "contact.updated", "t1"},
		{"payload a string, not encrypted", `{"eventType":"contact.updated","payload":"abc","tenant":"t1"}`, false, DLQInvalidPayload, "contact.updated", "t1"},
		{"no payload", `{"eventType":"contact.updated","tenant":"t1"}`, false, DLQInvalidPayload, "contact.updated", "t1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newTestHandler(t, func(c *Config) {
				if tt.noKey {
					c.EncryptionKey = nil
				}
			})
			body := []byte(tt.body)
			id := "msg_dlq"
			h := signed(t, id, body)
			res, err := b.h.Accept(context.Background(), h, body, nil)
			if err != nil {
				t.Fatalf("Accept: %v", err)
			}
			if res.Outcome != DeadLettered || res.Reason != tt.reason || res.Topic != "engage.deadletter" {
				t.Fatalf("result %+v, want deadlettered %s", res, tt.reason)
			}
			msgs := b.pub.published()
			if len(msgs) != 1 {
				t.Fatalf("%d records, want 1", len(msgs))
			}
			m := msgs[0]
			if m.Topic != "engage.deadletter" || string(m.Key) != id || !bytes.Equal(m.Value, body) {
				t.Errorf("dead letter %s key %s value %q", m.Topic, m.Key, m.Value)
			}
			hm := headerMap(m.Headers)
			if hm["svix-id"] != id || hm["svix-timestamp"] != h.Get("svix-timestamp") || hm["engage-dlq-reason"] != tt.reason || hm["engage-dlq-detail"] == "" {
				t.Errorf("headers %v", hm)
			}
			if hm["engage-event-type"] != tt.eventType || hm["engage-tenant"] != tt.tenant {
				t.Errorf("event type %q tenant %q, want %q %q", hm["engage-event-type"], hm["engage-tenant"], tt.eventType, tt.tenant)
			}
			for _, pii := range []string{"x@example.com", "not json at all"} {
				if bytes.Contains([]byte(hm["engage-dlq-detail"]), []byte(pii)) {
					t.Errorf("detail %q quotes the payload", hm["engage-dlq-detail"])
				}
			}
		})
	}
}

// TestDeadLetteredNotRemembered: once the cause is fixed, a resend of a
// dead-lettered message goes through instead of being a "duplicate".
func TestDeadLetteredNotRemembered(t *testing.T) {
	b := newTestHandler(t, nil)
	body := []byte(`{"eventType":"contact.updated","payload":{},"tenant":"t"}`)
	if res, _ := b.h.Accept(context.Background(), signed(t, "msg_x", body), body, nil); res.Outcome != DeadLettered {
		t.Fatalf("first: %+v", res)
	}
	if res, _ := b.h.Accept(context.Background(), signed(t, "msg_x", body), body, nil); res.Outcome != DeadLettered {
		t.Fatalf("resend: %+v, want deadlettered again (not duplicate)", res)
	}
}

func TestDedupe(t *testing.T) {
	b := newTestHandler(t, nil)
	body := example(t, schemas.EventPointBalanceUpdated)

	// Kafka down: not acknowledged, so not remembered.
	b.pub.setErr(fmt.Errorf("%w: broker down", publisher.ErrUnavailable))
	if _, err := b.h.Accept(context.Background(), signed(t, "msg_1", body), body, nil); !errors.Is(err, publisher.ErrUnavailable) {
		t.Fatalf("with Kafka down: %v", err)
	}
	b.pub.setErr(nil)
	// Svix retries: same id, fresh timestamp and signature.
	res, err := b.h.Accept(context.Background(), signed(t, "msg_1", body), body, nil)
	if err != nil || res.Outcome != Published {
		t.Fatalf("retry: %+v, %v", res, err)
	}
	res, err = b.h.Accept(context.Background(), signed(t, "msg_1", body), body, nil)
	if err != nil || res.Outcome != Duplicate {
		t.Fatalf("second delivery: %+v, %v; want duplicate", res, err)
	}
	if n := len(b.pub.published()); n != 1 {
		t.Errorf("%d records published, want 1", n)
	}
	// Another message with the same body is not a duplicate.
	if res, _ := b.h.Accept(context.Background(), signed(t, "msg_2", body), body, nil); res.Outcome != Published {
		t.Errorf("other id: %+v", res)
	}
}

func TestDedupeOff(t *testing.T) {
	b := newTestHandler(t, nil)
	seen, _ := dedupe.New(dedupe.Config{TTL: 0}, nil)
	b.h.proc0().seen = seen
	body := example(t, schemas.EventContactDeleted)
	for range 2 {
		if res, err := b.h.Accept(context.Background(), signed(t, "msg_1", body), body, nil); err != nil || res.Outcome != Published {
			t.Fatalf("%+v, %v", res, err)
		}
	}
}

// TestUnsignedNeverPublished: invariant 3.
func TestUnsignedNeverPublished(t *testing.T) {
	b := newTestHandler(t, nil)
	body := example(t, schemas.EventContactUpdated)
	h := signed(t, "msg_1", body)
	tampered := bytes.Replace(body, []byte("Stockholm"), []byte("Goteborg!"), 1)
	if _, err := b.h.Accept(context.Background(), h, tampered, nil); reasonOf(err) != ReasonNoMatch {
		t.Fatalf("tampered body: %v", err)
	}
	other := http.Header{}
	other.Set("svix-id", "msg_1")
	if _, err := b.h.Accept(context.Background(), other, body, nil); reasonOf(err) != ReasonMissingHeaders {
		t.Fatalf("no signature: %v", err)
	}
	if n := b.pub.calls; n != 0 {
		t.Fatalf("%d publish calls for unsigned deliveries", n)
	}
}

func TestRejectedIsAnError(t *testing.T) {
	b := newTestHandler(t, nil)
	b.pub.setErr(fmt.Errorf("%w: MESSAGE_TOO_LARGE", publisher.ErrRejected))
	body := example(t, schemas.EventContactUpdated)
	if _, err := b.h.Accept(context.Background(), signed(t, "msg_1", body), body, nil); !errors.Is(err, publisher.ErrRejected) {
		t.Fatalf("Accept: %v, want ErrRejected", err)
	}
}

// TestInvalidTopicDeadLettered: a template producing an illegal topic name
// dead-letters the delivery instead of crashing.
func TestInvalidTopicDeadLettered(t *testing.T) {
	b := newTestHandler(t, nil)
	routes, err := router.New(router.Config{Routes: []router.Route{{Match: []string{"*"}, Topic: "engage.{eventType}"}}})
	if err != nil {
		t.Fatal(err)
	}
	b.h.proc0().routes = routes
	body := []byte(`{"eventType":"contact updated/evil","payload":{"contactId":"c"},"tenant":"t"}`)
	res, err := b.h.Accept(context.Background(), signed(t, "msg_1", body), body, nil)
	if err != nil || res.Outcome != DeadLettered || res.Reason != DLQInvalidTopic {
		t.Fatalf("%+v, %v", res, err)
	}
}

// TestSchemaDrift: a payload that contradicts its schema is published all
// the same, with engage-schema-valid: false; a valid one has no such header.
func TestSchemaDrift(t *testing.T) {
	b := newTestHandler(t, nil)
	drifted := []byte(`{"eventType":"loyalty.addPoints","id":"e1","isEncrypted":false,"payload":{"contactId":"c1","amount":"100.10","newField":1},"tenant":"t"}`)
	res, err := b.h.Accept(context.Background(), signed(t, "msg_drift", drifted), drifted, nil)
	if err != nil || res.Outcome != Published || !res.SchemaDrift {
		t.Fatalf("%+v, %v", res, err)
	}
	valid := example(t, schemas.EventLoyaltyAddPoints)
	if res, err := b.h.Accept(context.Background(), signed(t, "msg_valid", valid), valid, nil); err != nil || res.SchemaDrift {
		t.Fatalf("valid example: %+v, %v", res, err)
	}
	unknown := []byte(`{"eventType":"order.created","payload":{"contactId":"c1","total":"x"},"tenant":"t"}`)
	if res, err := b.h.Accept(context.Background(), signed(t, "msg_unknown", unknown), unknown, nil); err != nil || res.SchemaDrift {
		t.Fatalf("unknown event type: %+v, %v", res, err)
	}
	msgs := b.pub.published()
	if got := headerMap(msgs[0].Headers)["engage-schema-valid"]; got != "false" || !bytes.Equal(msgs[0].Value, drifted) {
		t.Errorf("drifted record: header %q", got)
	}
	for _, m := range msgs[1:] {
		if _, ok := headerMap(m.Headers)["engage-schema-valid"]; ok {
			t.Errorf("engage-schema-valid on a record without drift")
		}
	}
}

// BenchmarkAccept measures the per-request path (verify, decrypt, parse,
// route, build the record) on the 1.3 KB contact.updated example, with a
// publisher that acknowledges at once.
// acceptOnly is a handler whose publisher answers at once and whose dedupe
// is off, and a signed contact.updated delivery for it, encrypted or not:
// the per-request path alone, for the Accept benchmark and budget.
func acceptOnly(t testing.TB, encrypt bool) (*Handler, http.Header, []byte) {
	tb := newTestHandler(t, nil)
	seen, _ := dedupe.New(dedupe.Config{TTL: 0}, nil)
	tb.h.proc0().seen = seen
	tb.h.proc0().pub = nopPublisher{}
	body := example(t, schemas.EventContactUpdated)
	if encrypt {
		body, _ = encrypted(t, schemas.EventContactUpdated)
	}
	return tb.h, signed(t, "msg_bench", body), body
}

func BenchmarkAccept(b *testing.B) {
	for _, mode := range []string{"cleartext", "encrypted"} {
		b.Run(mode, func(b *testing.B) {
			handler, h, body := acceptOnly(b, mode == "encrypted")
			ctx := context.Background()
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				res, err := handler.Accept(ctx, h, body, nil)
				if err != nil || res.Outcome != Published {
					b.Fatal(res, err)
				}
			}
		})
	}
}

type nopPublisher struct{}

func (nopPublisher) Publish(_ context.Context, _ publisher.Message, done func(publisher.Ack, error)) (publisher.Ack, error) {
	if done != nil {
		done(publisher.Ack{}, nil)
	}
	return publisher.Ack{}, nil
}

// recordInputs is what the record step takes for the contact.updated
// example: the delivery, the parsed envelope and the contactId.
func recordInputs(t testing.TB) (Delivery, schemas.Envelope, string) {
	t.Helper()
	env, err := schemas.ParseEnvelope(example(t, schemas.EventContactUpdated))
	if err != nil {
		t.Fatal(err)
	}
	contactID, err := env.ContactID()
	if err != nil {
		t.Fatal(err)
	}
	return Delivery{ID: "msg_p5jXN8AQM9LWM0D4loKWxJek", Timestamp: "1614265330"}, env, contactID
}

// BenchmarkBuildRecord is the record step alone: the headers of docs/contract.md#event-record
// (svix, engage-*, CloudEvents) for a parsed contact.updated envelope.
func BenchmarkBuildRecord(b *testing.B) {
	d, env, contactID := recordInputs(b)
	b.ReportAllocs()
	for b.Loop() {
		if h := eventHeaders(&headerBuilder{}, d, &env, contactID, DefaultEndpoint, false); len(h) < 10 {
			b.Fatal(len(h))
		}
	}
}

// proc0 is the Processor the first endpoint's requests use now, for tests
// that swap one of its collaborators.
func (h *Handler) proc0() *Processor { return h.endpoints[0].state.Load().proc }
