package ingress

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	svix "github.com/svix/svix-webhooks/go"
	"github.com/twmb/franz-go/pkg/kmsg"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/engage-bridge/engage-bridge/internal/kafkatest"
	"github.com/engage-bridge/engage-bridge/internal/payloadcrypto"
	"github.com/engage-bridge/engage-bridge/internal/tracing"
	"github.com/engage-bridge/engage-bridge/publisher"
	"github.com/engage-bridge/engage-bridge/schemas"
)

// review27Delivery is one signed delivery whose record key must be want.
type review27Delivery struct {
	id   string
	body []byte
	want string // the contactId after JSON unescaping
}

// review27Deliveries builds n deliveries of contact.updated whose
// contactIds take every shape the key path meets: short and plain, longer
// than the header builder's inline buffer, written with JSON escapes, and
// encrypted (decrypted before the key is found), some drifting from the
// schema (one more header after ce_subject).
func review27Deliveries(t testing.TB, prefix string, n int) []review27Delivery {
	t.Helper()
	key, err := payloadcrypto.ParseKey(testKey)
	if err != nil {
		t.Fatal(err)
	}
	var out []review27Delivery
	for i := range n {
		var want, payload string
		switch i % 5 {
		case 0:
			want = fmt.Sprintf("c-%s-%04d", prefix, i)
		case 1:
			want = fmt.Sprintf("long-%s-%04d-", prefix, i) + strings.Repeat("k", 700)
		case 2:
			want = fmt.Sprintf("esc-%s-%04d\"\\/é\u2028", prefix, i)
		case 3:
			want = fmt.Sprintf("enc-%s-%04d", prefix, i)
		case 4:
			want = fmt.Sprintf("encl-%s-%04d-", prefix, i) + strings.Repeat("e", 500)
		}
		quoted, _ := json.Marshal(want) // escapes " \ and U+2028; é stays
		if i%5 == 2 {
			// Escape a plain character too, as a sender may.
			quoted = bytes.Replace(quoted, []byte("esc-"), []byte(`e\u0073c-`), 1)
		}
		payload = fmt.Sprintf(`{"contactId":%s,"firstName":"x"}`, quoted)
		if i%7 == 6 {
			payload = fmt.Sprintf(`{"contactId":%s,"drift":{"unexpected":[1,2]}}`, quoted)
		}
		var body string
		if i%5 >= 3 {
			iv := bytes.Repeat([]byte{byte(i)}, 16)
			text, err := key.Encrypt(iv, []byte(payload))
			if err != nil {
				t.Fatal(err)
			}
			enc, _ := json.Marshal(text)
			body = fmt.Sprintf(`{"eventId":"ev-%d","eventType":%q,"tenant":"acme","isEncrypted":true,"payload":%s}`, i, schemas.EventContactUpdated, enc)
		} else {
			body = fmt.Sprintf(`{"eventId":"ev-%d","eventType":%q,"tenant":"acme","payload":%s}`, i, schemas.EventContactUpdated, payload)
		}
		out = append(out, review27Delivery{id: fmt.Sprintf("msg_r27_%s_%04d", prefix, i), body: []byte(body), want: want})
	}
	return out
}

func review27Header(hs []publisher.Header, key string) (string, bool) {
	for _, h := range hs {
		if h.Key == key {
			return string(h.Value), true
		}
	}
	return "", false
}

// TestReview27HeldRecordsKeepTheirKey: the record key is now ce_subject's
// bytes in the pooled header builder. Records the publisher still holds
// (acknowledged later, or in doubt after the answer) must keep their key
// while many more requests take builders from the pool, whatever the
// contactId's shape. Checked at hand-back, when the publisher last reads
// the record.
func TestReview27HeldRecordsKeepTheirKey(t *testing.T) {
	b := newTestHandler(t, nil)
	pub := &holdingPublisher{}
	b.h.proc0().pub = pub
	ds := review27Deliveries(t, "held", 400)
	byID := map[string]review27Delivery{}
	const kept = 40
	for i, d := range ds {
		byID[d.id] = d
		res, err := b.h.Accept(context.Background(), signed(t, d.id, d.body), d.body, nil)
		if err != nil || res.Outcome != Published {
			t.Fatalf("delivery %d: %+v %v", i, res, err)
		}
		if i >= kept {
			pub.mu.Lock()
			r := pub.held[len(pub.held)-1]
			pub.mu.Unlock()
			if string(r.msg.Key) != d.want {
				t.Fatalf("delivery %d: key %q, want %q", i, r.msg.Key, d.want)
			}
			r.done(publisher.Ack{}, nil)
		}
	}
	for i, r := range pub.held[:kept] {
		id, _ := review27Header(r.msg.Headers, schemas.RecordSvixID)
		subject, _ := review27Header(r.msg.Headers, schemas.RecordCESubject)
		d := ds[i]
		if id != d.id || string(r.msg.Key) != d.want || subject != d.want {
			t.Errorf("held record %d: svix-id %q key %.40q ce_subject %.40q, want %q / %.40q", i, id, r.msg.Key, subject, d.id, d.want)
		}
		r.done(publisher.Ack{}, nil)
	}
}

// TestReview27RealPublisherKeyIsContactID: through the HTTP listener and
// the real publisher against kfake, with produce requests slower than the
// publish timeout for a while (answers before acknowledgements, records
// held past the answer while other requests reuse builders and bodies),
// every record written has key == ce_subject == the delivery's contactId,
// and every 2xx delivery is in Kafka.
func TestReview27RealPublisherKeyIsContactID(t *testing.T) {
	c := kafkatest.Cluster(t)
	kafkatest.CreateTopic(t, c, "engage.contact", 3, nil)
	b := newTestHandler(t, func(cfg *Config) { cfg.PublishTimeout = 150 * time.Millisecond })
	b.h.proc0().pub = realPublisher(t, c, 2*time.Second)
	var slow atomic.Int64
	slow.Store(1)
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if slow.Load() == 1 {
			d := time.Duration(rand.IntN(300)) * time.Millisecond
			c.SleepControl(func() { time.Sleep(d) })
		}
		return nil, nil, false
	})
	srv := httptest.NewServer(b.h.HTTPHandler())
	defer srv.Close()

	ds := review27Deliveries(t, "real", 150)
	byID := map[string]review27Delivery{}
	for _, d := range ds {
		byID[d.id] = d
	}
	var ok sync.Map
	post := func(d review27Delivery) {
		req, _ := http.NewRequest("POST", srv.URL+"/webhooks/engage", bytes.NewReader(d.body))
		req.Header = signed(t, d.id, d.body)
		res, err := srv.Client().Do(req)
		if err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode/100 == 2 {
			ok.Store(d.id, true)
		}
	}
	var wg sync.WaitGroup
	work := make(chan review27Delivery)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for d := range work {
				post(d)
			}
		}()
	}
	for _, d := range ds {
		work <- d
	}
	slow.Store(0)
	retried := 0
	for _, d := range ds { // Svix's retries
		if _, done := ok.Load(d.id); !done {
			retried++
			work <- d
		}
	}
	close(work)
	wg.Wait()
	time.Sleep(500 * time.Millisecond) // records in doubt settle
	t.Logf("%d of %d deliveries were not answered 2xx at first (published after the answer, or not) and were sent again", retried, len(ds))

	recs := kafkatest.ReadToEnd(t, c.ListenAddrs(), "engage.contact")
	seen := map[string]bool{}
	for _, r := range recs {
		id := r.Headers[schemas.RecordSvixID]
		d, found := byID[id]
		if !found {
			t.Errorf("record %s/%d@%d has unknown svix-id %q", r.Topic, r.Partition, r.Offset, id)
			continue
		}
		seen[id] = true
		if r.Key != d.want || r.Headers[schemas.RecordCESubject] != d.want {
			t.Errorf("record of %s: key %.60q ce_subject %.60q, want %.60q", id, r.Key, r.Headers[schemas.RecordCESubject], d.want)
		}
		if want := kafkatest.Murmur2Partition([]byte(d.want), 3); r.Partition != want {
			t.Errorf("record of %s in partition %d, want %d", id, r.Partition, want)
		}
	}
	ok.Range(func(k, _ any) bool {
		if !seen[k.(string)] {
			t.Errorf("%s was answered 2xx but is not in Kafka", k)
		}
		return true
	})
	if len(b.h.slots) != 0 {
		t.Errorf("%d in-flight slots still taken", len(b.h.slots))
	}
}

// handOffThenPanic takes the record, as a publisher whose produce request
// is in flight does, and then panics.
type handOffThenPanic struct {
	mu   sync.Mutex
	held []heldRecord
}

func (p *handOffThenPanic) Publish(_ context.Context, m publisher.Message, done func(publisher.Ack, error)) (publisher.Ack, error) {
	p.mu.Lock()
	p.held = append(p.held, heldRecord{m, done})
	p.mu.Unlock()
	panic("after the hand-off")
}

// TestReview27PanicAfterHandOff: a panic after the publisher took the
// record answers 500 and gives the slot back at once; the later hand-back
// must neither give a slot back a second time (it would free another
// request's) nor recycle the body the record carried.
func TestReview27PanicAfterHandOff(t *testing.T) {
	b := newTestHandler(t, func(c *Config) { c.MaxInFlight = 4 })
	pub := &handOffThenPanic{}
	b.h.proc0().pub = pub
	body := example(t, schemas.EventContactUpdated)
	if w := post(t, b, "POST", "/webhooks/engage", signed(t, "msg_r27_panic", body), body, ""); w.Code != 500 {
		t.Fatalf("%d %s, want 500", w.Code, w.Body)
	}
	if n := len(b.h.slots); n != 0 {
		t.Fatalf("%d slots taken after the panic", n)
	}
	// Another request holds a slot now.
	block := &holdingPublisher{}
	b.h.proc0().pub = block
	if w := post(t, b, "POST", "/webhooks/engage", signed(t, "msg_r27_other", body), body, ""); w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if n := len(b.h.slots); n != 1 {
		t.Fatalf("%d slots taken, want 1 (held by the other record)", n)
	}
	r := pub.held[0]
	value := r.msg.Value
	r.done(publisher.Ack{}, nil)
	if n := len(b.h.slots); n != 1 {
		t.Errorf("the panicked record's hand-back changed the slots taken to %d, want 1", n)
	}
	// The panicked record's body must not be in the pool.
	for range 4 {
		got := b.h.bodies.get(len(body) + 1)
		if cap(got) > 0 && &got[:1][0] == &value[:1][0] {
			t.Fatal("the body of a record handed back after a panic was recycled")
		}
	}
	if !bytes.Equal(value, body) {
		t.Error("the panicked record's body changed")
	}
}

// wireRequest parses raw header lines as net/http's server does.
func wireRequest(t *testing.T, lines []string, body []byte) *http.Request {
	t.Helper()
	raw := "POST /webhooks/engage HTTP/1.1\r\nHost: x\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n" +
		strings.Join(lines, "\r\n") + "\r\n\r\n" + string(body)
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
	if err != nil {
		t.Fatalf("%v:\n%s", err, raw)
	}
	return r
}

// TestReview27VerifyAgreesWithSvixOnTheWire: header sets as a sender
// writes them on the wire (any casing, duplicates, both sets, empty
// values, svix-ids around the pooled prefix bound and up to 60 KB), parsed
// as net/http does: the verifier and svix-webhooks v1.99.1 agree on each,
// and so does the listener's answer (2xx exactly when the library accepts).
func TestReview27VerifyAgreesWithSvixOnTheWire(t *testing.T) {
	body := example(t, schemas.EventContactUpdated)
	wh, err := svix.NewWebhook(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	ts := strconv.FormatInt(now.Unix(), 10)
	sign := func(id string) string {
		s, err := wh.Sign(id, now, body)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	good, other := "msg_good", "msg_other"
	cases := map[string][]string{
		"lowercase":     {"svix-id: " + good, "svix-timestamp: " + ts, "svix-signature: " + sign(good)},
		"uppercase":     {"SVIX-ID: " + good, "SVIX-TIMESTAMP: " + ts, "SVIX-SIGNATURE: " + sign(good)},
		"mixed":         {"sViX-iD: " + good, "Svix-TimeStamp: " + ts, "svix-Signature: " + sign(good)},
		"webhook upper": {"WEBHOOK-ID: " + good, "Webhook-timestamp: " + ts, "webhook-SIGNATURE: " + sign(good)},
		"dup id first good": {"svix-id: " + good, "SVIX-ID: " + other, "svix-timestamp: " + ts,
			"svix-signature: " + sign(good)},
		"dup id first other": {"svix-id: " + other, "Svix-Id: " + good, "svix-timestamp: " + ts,
			"svix-signature: " + sign(good)},
		"dup sig second good": {"svix-id: " + good, "svix-timestamp: " + ts, "svix-signature: " + wrongSig,
			"svix-signature: " + sign(good)},
		"svix wrong webhook right": {"svix-id: " + good, "svix-timestamp: " + ts, "svix-signature: " + wrongSig,
			"webhook-id: " + good, "webhook-timestamp: " + ts, "webhook-signature: " + sign(good)},
		"svix partial webhook right": {"svix-id: " + other, "svix-signature: " + sign(other),
			"webhook-id: " + good, "webhook-timestamp: " + ts, "webhook-signature: " + sign(good)},
		"svix empty id webhook right": {"svix-id: ", "svix-timestamp: " + ts, "svix-signature: " + sign(""),
			"webhook-id: " + good, "webhook-timestamp: " + ts, "webhook-signature: " + sign(good)},
		"padded values":    {"svix-id:   " + good + "  ", "svix-timestamp:\t" + ts, "svix-signature:  " + sign(good) + " "},
		"underscore names": {"svix_id: " + good, "svix_timestamp: " + ts, "svix_signature: " + sign(good)},
		"multi signature": {"svix-id: " + good, "svix-timestamp: " + ts,
			"svix-signature: v1,bad v2," + strings.Split(sign(good), ",")[1] + " " + sign(good) + ",extra"},
	}
	for _, n := range []int{255, 256, 257, 300, 4096, 60_000} {
		id := "msg_" + strings.Repeat("L", n-4)
		cases[fmt.Sprintf("id of %d bytes", n)] = []string{"svix-id: " + id, "svix-timestamp: " + ts, "svix-signature: " + sign(id)}
	}
	v, err := NewVerifier([]string{rotatedSecret, testSecret}, 5*time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	b := newTestHandler(t, nil)
	srv := httptest.NewServer(b.h.HTTPHandler())
	defer srv.Close()
	for name, lines := range cases {
		t.Run(name, func(t *testing.T) {
			r := wireRequest(t, lines, body)
			libErr := wh.Verify(body, r.Header)
			_, ourErr := v.Verify(r.Header, body)
			if (libErr == nil) != (ourErr == nil) {
				t.Errorf("svix library: %v; verifier: %v", libErr, ourErr)
			}
			// The same bytes through the listener.
			conn, err := net.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			raw := "POST /webhooks/engage HTTP/1.1\r\nHost: x\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n" +
				strings.Join(lines, "\r\n") + "\r\n\r\n" + string(body)
			if _, err := io.WriteString(conn, raw); err != nil {
				t.Fatal(err)
			}
			res, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if accepted := res.StatusCode/100 == 2; accepted != (libErr == nil) {
				t.Errorf("listener answered %d; svix library: %v", res.StatusCode, libErr)
			}
		})
	}
}

// TestReview27PooledSignerConcurrent: the pooled signers (prefix and sum
// kept with the HMAC) under concurrent use with two secrets and svix-ids
// on both sides of the pooled prefix bound agree with the library on
// every delivery. Run with -race.
func TestReview27PooledSignerConcurrent(t *testing.T) {
	v, err := NewVerifier([]string{vectorSecret, rotatedSecret}, 5*time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	whs := []*svix.Webhook{}
	for _, s := range []string{vectorSecret, rotatedSecret, otherSecret} {
		wh, err := svix.NewWebhook(s)
		if err != nil {
			t.Fatal(err)
		}
		whs = append(whs, wh)
	}
	var wg sync.WaitGroup
	var bad atomic.Int64
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 27))
			for i := range 400 {
				id := "msg_" + strings.Repeat(string(rune('a'+g)), rng.IntN(600))
				body := fmt.Appendf(nil, `{"g":%d,"i":%d,"pad":"%s"}`, g, i, strings.Repeat("p", rng.IntN(3000)))
				signer := whs[rng.IntN(len(whs))]
				now := time.Now()
				sig, _ := signer.Sign(id, now, body)
				h := svixHeaders(id, now.Unix(), sig)
				lib := whs[0].Verify(body, h) == nil || whs[1].Verify(body, h) == nil
				_, err := v.Verify(h, body)
				if lib != (err == nil) {
					bad.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if n := bad.Load(); n != 0 {
		t.Errorf("%d of 3200 concurrent verifications disagreed with the svix library", n)
	}
}

// TestReview27KeepAliveAfterBody: closing the read body before the
// pipeline runs keeps the connection reusable after a Content-Length body,
// a chunked body and an Expect: 100-continue body, and each is answered
// as before; an oversize chunked body is answered 413.
func TestReview27KeepAliveAfterBody(t *testing.T) {
	b := newTestHandler(t, func(c *Config) { c.MaxBodyBytes = 64 << 10 })
	var errLog bytes.Buffer
	srv := httptest.NewUnstartedServer(b.h.HTTPHandler())
	srv.Config.ErrorLog = log.New(&errLog, "", 0)
	srv.Start()
	defer srv.Close()
	client := srv.Client()
	body := example(t, schemas.EventContactUpdated)
	var conns []bool
	do := func(name string, mk func() *http.Request) int {
		req := mk()
		var reused bool
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
			GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused },
		}))
		res, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		conns = append(conns, reused)
		return res.StatusCode
	}
	for i := range 3 {
		id := fmt.Sprintf("msg_r27_ka_%d", i)
		if code := do("content-length", func() *http.Request {
			r, _ := http.NewRequest("POST", srv.URL+"/webhooks/engage", bytes.NewReader(body))
			r.Header = signed(t, id+"_cl", body)
			return r
		}); code != 200 {
			t.Errorf("content-length body: %d", code)
		}
		if code := do("chunked", func() *http.Request {
			r, _ := http.NewRequest("POST", srv.URL+"/webhooks/engage", io.MultiReader(bytes.NewReader(body[:10]), bytes.NewReader(body[10:])))
			r.ContentLength = -1
			r.Header = signed(t, id+"_ch", body)
			return r
		}); code != 200 {
			t.Errorf("chunked body: %d", code)
		}
		if code := do("expect", func() *http.Request {
			r, _ := http.NewRequest("POST", srv.URL+"/webhooks/engage", bytes.NewReader(body))
			r.Header = signed(t, id+"_ex", body)
			r.Header.Set("Expect", "100-continue")
			return r
		}); code != 200 {
			t.Errorf("expect body: %d", code)
		}
	}
	for i, reused := range conns[1:] {
		if !reused {
			t.Errorf("request %d did not reuse the connection", i+2)
		}
	}
	big := bytes.Repeat([]byte("x"), 200<<10)
	if code := do("oversize chunked", func() *http.Request {
		r, _ := http.NewRequest("POST", srv.URL+"/webhooks/engage", io.MultiReader(bytes.NewReader(big)))
		r.ContentLength = -1
		r.Header = signed(t, "msg_r27_big", big)
		return r
	}); code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversize chunked body: %d, want 413", code)
	}
	if code := do("after oversize", func() *http.Request {
		r, _ := http.NewRequest("POST", srv.URL+"/webhooks/engage", bytes.NewReader(body))
		r.Header = signed(t, "msg_r27_after", body)
		return r
	}); code != 200 {
		t.Errorf("after the oversize body: %d", code)
	}
	if n := len(b.pub.published()); n != 10 {
		t.Errorf("%d published, want 10", n)
	}
	if errLog.Len() > 0 {
		t.Errorf("server error log: %s", errLog.String())
	}
}

// TestReview27EchoAnswers: with the handler writing to net/http's writer,
// the listener's answers are unchanged for each route kind, tracing on and
// off, and net/http never sees a second WriteHeader.
func TestReview27EchoAnswers(t *testing.T) {
	for _, traced := range []bool{false, true} {
		t.Run(fmt.Sprintf("traced=%v", traced), func(t *testing.T) {
			b := newTestHandler(t, nil)
			if traced {
				exp := tracetest.NewInMemoryExporter()
				tp, err := tracing.NewWithProcessor(context.Background(), tracing.Config{Enabled: true}, sdktrace.NewSimpleSpanProcessor(exp))
				if err != nil {
					t.Fatal(err)
				}
				defer tp.Shutdown(context.Background())
				tr := tp.Tracer("test")
				b.h.tracer, b.h.proc0().tracer = tr, tr
			}
			var errLog bytes.Buffer
			srv := httptest.NewUnstartedServer(b.h.HTTPHandler())
			srv.Config.ErrorLog = log.New(&errLog, "", 0)
			srv.Start()
			defer srv.Close()
			body := example(t, schemas.EventContactUpdated)
			for _, tc := range []struct {
				method, path string
				signed       bool
				code         int
				allow        string
			}{
				{"POST", "/webhooks/engage", true, 200, ""},
				{"POST", "/webhooks/engage", false, 401, ""},
				{"GET", "/webhooks/engage", false, 405, "POST"},
				{"OPTIONS", "/webhooks/engage", false, 405, "POST"},
				{"HEAD", "/webhooks/engage", false, 405, "POST"},
				{"PUT", "/webhooks/engage", true, 405, "POST"},
				{"POST", "/nowhere", true, 404, ""},
				{"GET", "/", false, 404, ""},
			} {
				req, _ := http.NewRequest(tc.method, srv.URL+tc.path, bytes.NewReader(body))
				if tc.signed {
					req.Header = signed(t, "msg_r27_echo_"+tc.method+strconv.FormatBool(traced), body)
				}
				res, err := srv.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				got, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != tc.code || res.Header.Get("Allow") != tc.allow {
					t.Errorf("%s %s: %d Allow %q, want %d Allow %q", tc.method, tc.path, res.StatusCode, res.Header.Get("Allow"), tc.code, tc.allow)
				}
				if ct := res.Header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("%s %s: Content-Type %q", tc.method, tc.path, ct)
				}
				if tc.method != "HEAD" && !json.Valid(got) {
					t.Errorf("%s %s: body %q is not JSON", tc.method, tc.path, got)
				}
			}
			if errLog.Len() > 0 {
				t.Errorf("server error log: %s", errLog.String())
			}
		})
	}
}

// ctxPublisher holds each record until its request's context ends or it
// is told to go on, then hands it back.
type ctxPublisher struct {
	arrived chan struct{}
	proceed chan struct{}
}

func (p *ctxPublisher) Publish(ctx context.Context, m publisher.Message, done func(publisher.Ack, error)) (publisher.Ack, error) {
	p.arrived <- struct{}{}
	select {
	case <-ctx.Done():
		err := fmt.Errorf("%w: %w", publisher.ErrUnavailable, ctx.Err())
		done(publisher.Ack{}, err)
		return publisher.Ack{}, err
	case <-p.proceed:
		done(publisher.Ack{}, nil)
		return publisher.Ack{}, nil
	}
}

// TestReview27HangUpSeenAfterBodyClosed: with the body closed before the
// pipeline runs, net/http still notices a sender that hangs up while its
// record waits for Kafka (the request's context ends), and the slot is
// given back once.
func TestReview27HangUpSeenAfterBodyClosed(t *testing.T) {
	b := newTestHandler(t, func(c *Config) { c.PublishTimeout = 10 * time.Second })
	pub := &ctxPublisher{arrived: make(chan struct{}, 1), proceed: make(chan struct{})}
	b.h.proc0().pub = pub
	logs := &review27Log{}
	b.h.log = zerolog.New(logs)
	var errLog bytes.Buffer
	srv := httptest.NewUnstartedServer(b.h.HTTPHandler())
	srv.Config.ErrorLog = log.New(&errLog, "", 0)
	srv.Start()
	defer srv.Close()
	body := example(t, schemas.EventContactUpdated)
	for _, chunked := range []bool{false, true} {
		logs.reset()
		conn, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		var hdr strings.Builder
		for k, v := range signed(t, fmt.Sprintf("msg_r27_hangup_%v", chunked), body) {
			fmt.Fprintf(&hdr, "%s: %s\r\n", k, v[0])
		}
		var raw string
		if chunked {
			raw = "POST /webhooks/engage HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n" + hdr.String() + "\r\n" +
				fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(body), body)
		} else {
			raw = "POST /webhooks/engage HTTP/1.1\r\nHost: x\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n" + hdr.String() + "\r\n" + string(body)
		}
		if _, err := io.WriteString(conn, raw); err != nil {
			t.Fatal(err)
		}
		select {
		case <-pub.arrived:
		case <-time.After(5 * time.Second):
			t.Fatal("the record never reached the publisher")
		}
		conn.Close()
		deadline := time.Now().Add(5 * time.Second)
		for !strings.Contains(logs.String(), `"outcome"`) {
			if time.Now().After(deadline) {
				t.Fatalf("chunked=%v: the hang-up was not noticed within 5 s (the request's context did not end)", chunked)
			}
			time.Sleep(10 * time.Millisecond)
		}
		if line := logs.String(); !strings.Contains(line, `"outcome":"client_closed"`) {
			t.Errorf("chunked=%v: %s", chunked, line)
		}
		for end := time.Now().Add(time.Second); len(b.h.slots) != 0 && time.Now().Before(end); {
			time.Sleep(5 * time.Millisecond)
		}
		if n := len(b.h.slots); n != 0 {
			t.Errorf("chunked=%v: %d slots taken after the hang-up", chunked, n)
		}
	}
	if errLog.Len() > 0 {
		t.Errorf("server error log: %s", errLog.String())
	}
}

// review27Log is a log sink safe to read while the handler writes to it.
type review27Log struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *review27Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *review27Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *review27Log) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Reset()
}

// TestReview27RedriveAndDeadLettersKeepKeys: redrive's Process (no
// release) and Plan (its dry run, which builds the record in a pooled
// builder and puts it back at once) run while the publisher holds event
// records and dead letters: every held record keeps its key (contactId,
// or svix-id for a dead letter) and its ce_subject.
func TestReview27RedriveAndDeadLettersKeepKeys(t *testing.T) {
	b := newTestHandler(t, nil)
	pub := &holdingPublisher{}
	proc := b.h.proc0()
	proc.pub = pub
	ds := review27Deliveries(t, "redrive", 200)
	type want struct{ key, subject string }
	var wants []want
	for i, d := range ds {
		body := d.body
		w := want{d.want, d.want}
		if i%4 == 3 { // unusable: no contactId, dead-lettered under its svix-id
			body = []byte(fmt.Sprintf(`{"eventType":%q,"tenant":"acme","payload":{"firstName":"n%d"}}`, schemas.EventContactUpdated, i))
			w = want{d.id, ""}
		}
		res, err := proc.Process(context.Background(), Delivery{ID: d.id, Timestamp: "1700000000"}, body, nil)
		if err != nil || (res.Outcome != Published && res.Outcome != DeadLettered) {
			t.Fatalf("delivery %d: %+v %v", i, res, err)
		}
		wants = append(wants, w)
		// A dry run of another delivery between records.
		other := ds[(i+7)%len(ds)]
		if res := proc.Plan(context.Background(), Delivery{ID: other.id, Timestamp: "1700000000"}, other.body); res.Outcome != Published {
			t.Fatalf("plan %d: %+v", i, res)
		}
	}
	for i, r := range pub.held {
		subject, _ := review27Header(r.msg.Headers, schemas.RecordCESubject)
		if string(r.msg.Key) != wants[i].key || subject != wants[i].subject {
			t.Errorf("held record %d: key %.50q ce_subject %.50q, want %.50q / %.50q", i, r.msg.Key, subject, wants[i].key, wants[i].subject)
		}
	}
	for _, r := range pub.held {
		r.done(publisher.Ack{}, nil)
	}
}
