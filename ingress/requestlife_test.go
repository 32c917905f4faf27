package ingress

import (
	"bytes"
	"context"
	"fmt"
	"github.com/engage-bridge/engage-bridge/internal/allocbudget"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/engage-bridge/engage-bridge/internal/kafkaconn"
	"github.com/engage-bridge/engage-bridge/internal/kafkatest"
	"github.com/engage-bridge/engage-bridge/publisher"
	"github.com/engage-bridge/engage-bridge/schemas"
)

// realPublisher is a publisher against c whose produce requests give up
// after requestTimeout.
func realPublisher(t *testing.T, c *kfake.Cluster, requestTimeout time.Duration) *publisher.Publisher {
	t.Helper()
	p, err := publisher.New(publisher.Config{Conn: kafkaconn.Config{Brokers: c.ListenAddrs()}, RequestTimeout: requestTimeout}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = p.Close(ctx)
	})
	return p
}

// countingPublisher counts the records a publisher holds: handed over and
// not yet handed back.
type countingPublisher struct {
	Publisher
	held, most atomic.Int64
}

func (c *countingPublisher) Publish(ctx context.Context, m publisher.Message, done func(publisher.Ack, error)) (publisher.Ack, error) {
	n := c.held.Add(1)
	for most := c.most.Load(); n > most && !c.most.CompareAndSwap(most, n); most = c.most.Load() {
	}
	return c.Publisher.Publish(ctx, m, func(a publisher.Ack, err error) {
		c.held.Add(-1)
		done(a, err)
	})
}

// TestMemoryBoundDuringOutage (issue 14, defect 8): with Kafka silent, 32
// senders keep posting 1 MiB webhooks, time out and post again for longer
// than a produce request lasts. The records the publisher holds and the
// live heap stay within BRIDGE_MAX_IN_FLIGHT × BRIDGE_MAX_BODY_BYTES: a
// body is the request's until the publisher hands its record back, and
// the in-flight slot with it.
func TestMemoryBoundDuringOutage(t *testing.T) {
	const (
		maxInFlight = 32
		maxBody     = 1 << 20
		senders     = 32
	)
	c := kafkatest.Cluster(t)
	kafkatest.CreateTopic(t, c, "engage.contact", 4, nil)
	pub := &countingPublisher{Publisher: realPublisher(t, c, time.Second)}
	b := newTestHandler(t, func(cfg *Config) {
		cfg.MaxInFlight, cfg.MaxBodyBytes, cfg.PublishTimeout = maxInFlight, maxBody, 300*time.Millisecond
	})
	b.h.proc0().pub = pub
	srv := httptest.NewServer(b.h.HTTPHandler())
	defer srv.Close()

	// Four contacts, so that several partitions have a request in flight.
	var bodies [][]byte
	for i := range 4 {
		pad := strings.Repeat("x", maxBody-300)
		bodies = append(bodies, fmt.Appendf(nil, `{"eventId":"e%d","eventType":"%s","tenant":"acme","payload":{"contactId":"c-%d","pad":"%s"}}`,
			i, schemas.EventContactUpdated, i, pad))
	}
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		return nil, nil, true // swallowed: no answer at all
	})

	// Signed once per sender, before the baseline: signing copies the body.
	// The records never reach Kafka, so the ids are never remembered.
	headers := make([]http.Header, senders)
	for s := range senders {
		headers[s] = signed(t, fmt.Sprintf("msg_outage_%d", s), bodies[s%len(bodies)])
	}

	var baseline runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&baseline)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var statuses sync.Map
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 5 * time.Second}
			for {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest("POST", srv.URL+"/webhooks/engage", bytes.NewReader(bodies[s%len(bodies)]))
				req.Header = headers[s].Clone()
				res, err := client.Do(req)
				if err != nil {
					continue
				}
				res.Body.Close()
				v, _ := statuses.LoadOrStore(res.StatusCode, new(atomic.Int64))
				v.(*atomic.Int64).Add(1)
			}
		}()
	}
	// Sample for three produce request lifetimes: callers time out, post
	// again, and their earlier records are still in flight.
	var most uint64
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); {
		var m runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m)
		most = max(most, m.HeapAlloc)
		time.Sleep(50 * time.Millisecond)
	}
	close(stop)
	wg.Wait()

	statuses.Range(func(k, v any) bool {
		t.Logf("status %d: %d answers", k, v.(*atomic.Int64).Load())
		return true
	})
	live := int64(most) - int64(baseline.HeapAlloc)
	t.Logf("most records held by the publisher: %d; most live heap above the baseline: %.1f MiB", pub.most.Load(), float64(live)/(1<<20))
	if n := pub.most.Load(); n > maxInFlight {
		t.Errorf("the publisher held %d records at once, more than BRIDGE_MAX_IN_FLIGHT = %d", n, maxInFlight)
	}
	// The bound, plus what is not a request's body: per partition with a
	// request in flight (4 here), kafka-go's encoded request and the
	// in-process broker's copy of it (in production the broker's copy is
	// in another process); the body pool's free buffers until the next
	// collection; the HTTP servers' and clients' buffers. Measured 46-52
	// MiB on a loaded 2-core machine (2026-12-07); the code before the
	// hand-off peaked at 92 MiB here, so the check still fails on it. The
	// exact invariant is the records-held count above.
	// Under the race detector every allocation is larger and lives
	// longer: measured 47-60 MiB, so 40 MiB of slack there. A bridge that
	// held each body twice while its slot was taken measured 120-132 MiB
	// under -race and 84 MiB without (2026-12-07), so the check fails on
	// it in both modes.
	const bound = maxInFlight * maxBody
	slack := 24 << 20
	if allocbudget.RaceEnabled {
		slack = 40 << 20
	}
	if live > int64(bound+slack) {
		t.Errorf("live heap rose %.1f MiB during the outage, more than %d × %d MiB plus %d MiB",
			float64(live)/(1<<20), maxInFlight, maxBody>>20, slack>>20)
	}
}

// TestClientHangUpIsNotUnavailable (issue 14, defect 3): a sender that
// hangs up while its record is in a request to Kafka is answered (for the
// log and the metrics) client_closed, logged below error and not counted as
// unavailable; Kafka acknowledges the record after all, and then it is
// counted as published and remembered, so that Svix's retry is a duplicate.
func TestClientHangUpIsNotUnavailable(t *testing.T) {
	c := kafkatest.Cluster(t)
	kafkatest.CreateTopic(t, c, "engage.contact", 1, nil)
	b := newTestHandler(t, nil)
	b.h.proc0().pub = realPublisher(t, c, 10*time.Second)
	arrived, release := make(chan struct{}), make(chan struct{})
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		close(arrived)
		c.SleepControl(func() { <-release })
		return nil, nil, false // then appended and answered as usual
	})
	body := example(t, schemas.EventContactUpdated)
	ctx, hangUp := context.WithCancel(context.Background())
	defer hangUp()
	answered := make(chan int)
	go func() {
		r := httptest.NewRequest("POST", "/webhooks/engage", bytes.NewReader(body)).WithContext(ctx)
		r.Header = signed(t, "msg_hangup", body)
		w := httptest.NewRecorder()
		b.h.HTTPHandler().ServeHTTP(w, r)
		answered <- w.Code
	}()
	<-arrived
	hangUp()
	if code := <-answered; code >= 500 {
		t.Errorf("a sender that left was answered %d", code)
	}
	close(release)
	for end := time.Now().Add(5 * time.Second); !b.h.proc0().seen.Seen("msg_hangup"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("the record acknowledged after the sender left was never remembered")
		}
	}
	if w := post(t, b, "POST", "/webhooks/engage", signed(t, "msg_hangup", body), body, ""); w.Code != 200 || !strings.Contains(w.Body.String(), "duplicate") {
		t.Errorf("Svix's retry: %d %s, want 200 duplicate", w.Code, w.Body)
	}

	lines := strings.Split(strings.TrimSpace(b.log.String()), "\n")
	if len(lines) == 0 || !strings.Contains(lines[0], `"outcome":"client_closed"`) || !strings.Contains(lines[0], `"level":"warn"`) {
		t.Errorf("the hang-up's log line: %s, want level warn, outcome client_closed", lines[0])
	}
	for _, l := range lines {
		if strings.Contains(l, `"level":"error"`) {
			t.Errorf("logged at error: %s", l)
		}
	}
	got := counters(t, b, "engage_bridge_requests_total", "outcome")
	if got["unavailable"] != 0 || got["client_closed"] != 1 {
		t.Errorf("requests_total by outcome = %v, want client_closed 1, unavailable 0", got)
	}
	if n := counters(t, b, "engage_bridge_published_total", "topic")["engage.contact"]; n != 1 {
		t.Errorf("published_total = %v, want 1", n)
	}
}

// counters reads a counter's values by one label.
func counters(t *testing.T, b *testBridge, name, label string) map[string]float64 {
	t.Helper()
	families, err := b.h.metrics.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label {
					out[l.GetValue()] += m.GetCounter().GetValue()
				}
			}
		}
	}
	return out
}

// holdingPublisher acknowledges every record at once but hands it back only
// when told to, as the publisher does with a record whose produce request
// is still unanswered.
type holdingPublisher struct {
	mu   sync.Mutex
	held []heldRecord
}

type heldRecord struct {
	msg  publisher.Message
	done func(publisher.Ack, error)
}

func (h *holdingPublisher) Publish(_ context.Context, m publisher.Message, done func(publisher.Ack, error)) (publisher.Ack, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.held = append(h.held, heldRecord{m, done})
	return publisher.Ack{}, nil
}

// TestHeaderBuildersRecycledOnlyWhenHandedBack: a record's headers are laid
// out in a pooled builder, which goes back to the pool when the publisher
// hands the record back, not when Process returns. Records the publisher
// still holds keep their own headers while many more go through.
func TestHeaderBuildersRecycledOnlyWhenHandedBack(t *testing.T) {
	b := newTestHandler(t, nil)
	pub := &holdingPublisher{}
	b.h.proc0().pub = pub
	body := example(t, schemas.EventContactUpdated)
	svixID := func(m publisher.Message) string {
		for _, h := range m.Headers {
			if h.Key == schemas.RecordSvixID {
				return string(h.Value)
			}
		}
		return ""
	}
	const kept = 20
	for i := range 200 {
		id := fmt.Sprintf("msg_held_%03d", i)
		if res, err := b.h.Accept(context.Background(), signed(t, id, body), body, nil); err != nil || res.Outcome != Published {
			t.Fatal(res, err)
		}
		// Hand back every record but the first kept ones at once: their
		// builders go back to the pool and are reused by the next.
		if i >= kept {
			pub.mu.Lock()
			r := pub.held[len(pub.held)-1]
			pub.mu.Unlock()
			if got := svixID(r.msg); got != id {
				t.Fatalf("record %d: svix-id header %q, want %q", i, got, id)
			}
			r.done(publisher.Ack{}, nil)
		}
	}
	for i, r := range pub.held[:kept] {
		if got, want := svixID(r.msg), fmt.Sprintf("msg_held_%03d", i); got != want {
			t.Errorf("held record %d: svix-id header %q, want %q: its builder was reused while the publisher held it", i, got, want)
		}
	}
}
