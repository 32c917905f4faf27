package ingress

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/engage-bridge/engage-bridge/publisher"
	"github.com/engage-bridge/engage-bridge/schemas"
)

// post sends a request through the real HTTP handler (Echo included).
func post(t testing.TB, b *testBridge, method, path string, h http.Header, body []byte, remote string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, path, bytes.NewReader(body))
	for k, v := range h {
		r.Header[k] = v
	}
	if remote != "" {
		r.RemoteAddr = remote
	}
	w := httptest.NewRecorder()
	b.h.HTTPHandler().ServeHTTP(w, r)
	return w
}

func TestHTTPAnswers(t *testing.T) {
	body := example(t, schemas.EventContactUpdated)
	big := bytes.Repeat([]byte("x"), 2048)
	tests := []struct {
		name   string
		mutate func(*Config)
		method string
		path   string
		header func() http.Header
		body   []byte
		remote string
		status int
		answer string
	}{
		{"published", nil, "POST", "/webhooks/engage", func() http.Header { return signed(t, "msg_a", body) }, body, "", 200, `{"status":"published"}`},
		{"ip not allowed", func(c *Config) { c.AllowedIPs, _ = ParsePrefixes("svix-eu", true) }, "POST", "/webhooks/engage",
			func() http.Header { return signed(t, "msg_a", body) }, body, "192.0.2.1:1234", 403, `{"error":"forbidden"}`},
		{"ip allowed (svix-eu)", func(c *Config) { c.AllowedIPs, _ = ParsePrefixes("svix-eu", true) }, "POST", "/webhooks/engage",
			func() http.Header { return signed(t, "msg_a", body) }, body, "52.215.16.239:1234", 200, `{"status":"published"}`},
		{"ip allowed through a trusted proxy", func(c *Config) {
			c.AllowedIPs, _ = ParsePrefixes("svix-eu", true)
			c.TrustedProxies, _ = ParsePrefixes("10.0.0.0/8", false)
		}, "POST", "/webhooks/engage", func() http.Header {
			h := signed(t, "msg_a", body)
			h.Set("X-Forwarded-For", "54.216.8.72")
			return h
		}, body, "10.1.1.1:1234", 200, `{"status":"published"}`},
		{"spoofed X-Forwarded-For from an untrusted peer", func(c *Config) { c.AllowedIPs, _ = ParsePrefixes("svix-eu", true) }, "POST", "/webhooks/engage", func() http.Header {
			h := signed(t, "msg_a", body)
			h.Set("X-Forwarded-For", "54.216.8.72")
			return h
		}, body, "192.0.2.1:1234", 403, `{"error":"forbidden"}`},
		{"body too large", func(c *Config) { c.MaxBodyBytes = 1024 }, "POST", "/webhooks/engage",
			func() http.Header { return signed(t, "msg_a", big) }, big, "", 413, `{"error":"body_too_large"}`},
		{"403 before 413", func(c *Config) { c.MaxBodyBytes = 1024; c.AllowedIPs, _ = ParsePrefixes("10.0.0.1", true) }, "POST", "/webhooks/engage",
			func() http.Header { return signed(t, "msg_a", big) }, big, "192.0.2.1:1", 403, `{"error":"forbidden"}`},
		{"token missing", func(c *Config) { c.AuthHeader, c.AuthToken = "X-Engage-Token", "t0ken" }, "POST", "/webhooks/engage",
			func() http.Header { return signed(t, "msg_a", body) }, body, "", 401, `{"error":"unauthorized"}`},
		{"token wrong", func(c *Config) { c.AuthHeader, c.AuthToken = "X-Engage-Token", "t0ken" }, "POST", "/webhooks/engage", func() http.Header {
			h := signed(t, "msg_a", body)
			h.Set("X-Engage-Token", "t0ken2")
			return h
		}, body, "", 401, `{"error":"unauthorized"}`},
		{"token right", func(c *Config) { c.AuthHeader, c.AuthToken = "X-Engage-Token", "t0ken" }, "POST", "/webhooks/engage", func() http.Header {
			h := signed(t, "msg_a", body)
			h.Set("X-Engage-Token", "t0ken")
			return h
		}, body, "", 200, `{"status":"published"}`},
		{"413 before the token", func(c *Config) { c.MaxBodyBytes = 1024; c.AuthHeader, c.AuthToken = "X-Engage-Token", "t0ken" }, "POST", "/webhooks/engage",
			func() http.Header { return signed(t, "msg_a", big) }, big, "", 413, `{"error":"body_too_large"}`},
		{"token before the signature", func(c *Config) { c.AuthHeader, c.AuthToken = "X-Engage-Token", "t0ken" }, "POST", "/webhooks/engage",
			func() http.Header { return http.Header{} }, body, "", 401, `{"error":"unauthorized"}`},
		{"unsigned", nil, "POST", "/webhooks/engage", func() http.Header { return http.Header{} }, body, "", 401, `{"error":"invalid_signature","reason":"missing_headers"}`},
		{"wrong signature", nil, "POST", "/webhooks/engage", func() http.Header {
			h := signed(t, "msg_a", body)
			h.Set("svix-signature", wrongSig)
			return h
		}, body, "", 401, `{"error":"invalid_signature","reason":"no_match"}`},
		{"other path", nil, "POST", "/webhooks/other", func() http.Header { return signed(t, "msg_a", body) }, body, "", 404, `{"error":"not_found"}`},
		{"GET on the path", nil, "GET", "/webhooks/engage", func() http.Header { return http.Header{} }, nil, "", 405, `{"error":"method_not_allowed"}`},
		{"custom path", func(c *Config) { c.Path = "/hooks/voyado" }, "POST", "/hooks/voyado", func() http.Header { return signed(t, "msg_a", body) }, body, "", 200, `{"status":"published"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newTestHandler(t, tt.mutate)
			w := post(t, b, tt.method, tt.path, tt.header(), tt.body, tt.remote)
			if w.Code != tt.status || strings.TrimSpace(w.Body.String()) != tt.answer {
				t.Fatalf("answer %d %s, want %d %s", w.Code, w.Body, tt.status, tt.answer)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if tt.status == 405 && w.Header().Get("Allow") == "" {
				t.Errorf("405 without Allow")
			}
			if published := len(b.pub.published()); (tt.status == 200) != (published == 1) {
				t.Errorf("status %d with %d records published", tt.status, published)
			}
		})
	}
}

// TestBodyLimitWithoutContentLength: a chunked body over the limit is cut
// off at the limit and answered 413; one at the limit passes.
func TestBodyLimitWithoutContentLength(t *testing.T) {
	body := example(t, schemas.EventContactUpdated)
	for _, tt := range []struct {
		limit  int64
		status int
	}{{int64(len(body)), 200}, {int64(len(body)) - 1, 413}} {
		b := newTestHandler(t, func(c *Config) { c.MaxBodyBytes = tt.limit })
		r := httptest.NewRequest("POST", "/webhooks/engage", io.NopCloser(bytes.NewReader(body)))
		r.ContentLength = -1
		for k, v := range signed(t, "msg_a", body) {
			r.Header[k] = v
		}
		w := httptest.NewRecorder()
		b.h.HTTPHandler().ServeHTTP(w, r)
		if w.Code != tt.status {
			t.Errorf("limit %d: %d %s, want %d", tt.limit, w.Code, w.Body, tt.status)
		}
	}
}

func TestUnavailableHasRetryAfter(t *testing.T) {
	for _, err := range []error{publisher.ErrUnavailable, publisher.ErrRejected} {
		b := newTestHandler(t, nil)
		b.pub.setErr(fmt.Errorf("%w: test", err))
		body := example(t, schemas.EventContactUpdated)
		w := post(t, b, "POST", "/webhooks/engage", signed(t, "msg_a", body), body, "")
		if w.Code != 503 || w.Header().Get("Retry-After") != "5" || strings.TrimSpace(w.Body.String()) != `{"error":"unavailable"}` {
			t.Errorf("%v: %d %q %s", err, w.Code, w.Header().Get("Retry-After"), w.Body)
		}
	}
}

// TestPublishTimeout: a publisher that never acknowledges gets 503 once
// the publish timeout passes, never a 2xx.
func TestPublishTimeout(t *testing.T) {
	b := newTestHandler(t, func(c *Config) { c.PublishTimeout = 200 * time.Millisecond })
	b.pub.block = make(chan struct{})
	defer close(b.pub.block)
	body := example(t, schemas.EventContactUpdated)
	start := time.Now()
	w := post(t, b, "POST", "/webhooks/engage", signed(t, "msg_a", body), body, "")
	if w.Code != 503 {
		t.Fatalf("%d %s, want 503", w.Code, w.Body)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("answered after %v with a 200ms publish timeout", d)
	}
}

// TestOverloaded: beyond MaxInFlight, 429 with Retry-After, and nothing is
// published for it.
func TestOverloaded(t *testing.T) {
	b := newTestHandler(t, func(c *Config) { c.MaxInFlight = 2 })
	b.pub.block = make(chan struct{})
	body := example(t, schemas.EventContactUpdated)
	var wg sync.WaitGroup
	codes := make(chan int, 2)
	for i := range 2 {
		h := signed(t, fmt.Sprintf("msg_%d", i), body)
		wg.Go(func() { codes <- post(t, b, "POST", "/webhooks/engage", h, body, "").Code })
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		b.pub.mu.Lock()
		calls := b.pub.calls
		b.pub.mu.Unlock()
		if calls == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first two requests never reached the publisher")
		}
		time.Sleep(5 * time.Millisecond)
	}
	w := post(t, b, "POST", "/webhooks/engage", signed(t, "msg_3", body), body, "")
	if w.Code != 429 || w.Header().Get("Retry-After") == "" || strings.TrimSpace(w.Body.String()) != `{"error":"overloaded"}` {
		t.Errorf("third request: %d %q %s", w.Code, w.Header().Get("Retry-After"), w.Body)
	}
	close(b.pub.block)
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != 200 {
			t.Errorf("an admitted request got %d", c)
		}
	}
	if n := len(b.pub.published()); n != 2 {
		t.Errorf("%d published, want 2", n)
	}
}

type panicPublisher struct{}

func (panicPublisher) Publish(context.Context, publisher.Message, func(publisher.Ack, error)) (publisher.Ack, error) {
	panic("publisher exploded")
}

func TestPanicIsNever2xx(t *testing.T) {
	b := newTestHandler(t, nil)
	b.h.proc0().pub = panicPublisher{}
	body := example(t, schemas.EventContactUpdated)
	w := post(t, b, "POST", "/webhooks/engage", signed(t, "msg_a", body), body, "")
	if w.Code != 500 {
		t.Fatalf("%d %s, want 500", w.Code, w.Body)
	}
	// The in-flight slot was released.
	if w := post(t, b, "POST", "/webhooks/engage", signed(t, "msg_b", body), body, ""); w.Code != 500 {
		t.Fatalf("after a panic: %d", w.Code)
	}
	if len(b.h.slots) != 0 {
		t.Errorf("%d in-flight slots leaked", len(b.h.slots))
	}
}

// TestLogsCarryNoPersonalData: one line per request with the routing
// facts, and no payload value, contactId or secret, whatever the outcome.
func TestLogsCarryNoPersonalData(t *testing.T) {
	b := newTestHandler(t, func(c *Config) { c.AuthHeader, c.AuthToken = "X-Engage-Token", "t0ken-secret" })
	withToken := func(h http.Header) http.Header { h.Set("X-Engage-Token", "t0ken-secret"); return h }
	body := example(t, schemas.EventContactCreated)
	enc, _ := encrypted(t, schemas.EventContactUpdated)
	noContact := []byte(`{"eventType":"contact.updated","payload":{"email":"john.doe@example.com","mobilePhone":"+46701234567"},"tenant":"myTenantName"}`)
	requests := []struct {
		h    http.Header
		body []byte
	}{
		{withToken(signed(t, "msg_1", body)), body},
		{withToken(signed(t, "msg_1", body)), body}, // duplicate
		{withToken(signed(t, "msg_2", enc)), enc},
		{withToken(signed(t, "msg_3", noContact)), noContact},
		{withToken(http.Header{}), body},
		{http.Header{}, body},
	}
	for _, r := range requests {
		post(t, b, "POST", "/webhooks/engage", r.h, r.body, "")
	}
	// A 5xx logs the error text: ours names topics and Kafka errors only.
	b.pub.setErr(fmt.Errorf("%w: broker down", publisher.ErrUnavailable))
	post(t, b, "POST", "/webhooks/engage", withToken(signed(t, "msg_4", body)), body, "")

	logs := b.log.String()
	if n := strings.Count(logs, `"message":"webhook"`); n != len(requests)+1 {
		t.Errorf("%d request log lines for %d requests:\n%s", n, len(requests)+1, logs)
	}
	for _, forbidden := range []string{
		"john.doe@example.com", "+46701234567", "20040217-7935", "Storgatan", "Stockholm", "John",
		"515c1b2a-7124-4bb9-826b-aedbbe5da8c4", // contactId
		"t0ken-secret", testSecret, testSecret[6:], testKey,
	} {
		if strings.Contains(logs, forbidden) {
			t.Errorf("log contains %q:\n%s", forbidden, logs)
		}
	}
	for _, want := range []string{`"svix_id":"msg_1"`, `"event_type":"contact.created"`, `"tenant":"myTenantName"`, `"topic":"engage.contact"`, `"partition":2`, `"outcome":"published"`, `"outcome":"duplicate"`, `"outcome":"deadlettered"`, `"reason":"missing_contact_id"`, `"outcome":"unauthorized"`, `"status":401`, `"outcome":"unavailable"`, `"error":"publish to engage.contact: kafka unavailable: broker down"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %s", want)
		}
	}
}
