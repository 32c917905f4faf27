package admin

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

type fakeChecker struct {
	mu     sync.Mutex
	err    error
	calls  atomic.Int32
	topics []string
}

func (f *fakeChecker) Ready(_ context.Context, topics []string) error {
	f.calls.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.topics = topics
	return f.err
}

func (f *fakeChecker) set(err error) { f.mu.Lock(); f.err = err; f.mu.Unlock() }

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
	b, _ := io.ReadAll(w.Body)
	return w.Code, string(b)
}

func TestEndpoints(t *testing.T) {
	checker := &fakeChecker{err: errors.New("topic engage.contact does not exist")}
	reg := prometheus.NewRegistry()
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "engage_bridge_test_gauge", Help: "x"})
	reg.MustRegister(g)
	var results []bool
	var mu sync.Mutex
	s := New(Config{Topics: []string{"engage.contact"}, Interval: 10 * time.Millisecond}, checker, reg, zerolog.Nop(), func(ok bool) {
		mu.Lock()
		results = append(results, ok)
		mu.Unlock()
	})
	h := s.Handler()

	if code, _ := get(t, h, "/healthz"); code != 200 {
		t.Errorf("/healthz %d", code)
	}
	if code, body := get(t, h, "/readyz"); code != 503 || !strings.Contains(body, "not checked yet") {
		t.Errorf("/readyz before any check: %d %s", code, body)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)
	waitFor(t, func() bool { return checker.calls.Load() >= 2 })
	if code, body := get(t, h, "/readyz"); code != 503 || !strings.Contains(body, "engage.contact does not exist") {
		t.Errorf("/readyz with a missing topic: %d %s", code, body)
	}
	checker.set(nil)
	waitFor(t, func() bool { code, _ := get(t, h, "/readyz"); return code == 200 })
	if err := s.Wait(ctx); err != nil {
		t.Errorf("Wait: %v", err)
	}
	if checker.topics[0] != "engage.contact" {
		t.Errorf("checked topics %v", checker.topics)
	}
	checker.set(errors.New("dial tcp 127.0.0.1:9092: connection refused"))
	waitFor(t, func() bool { code, _ := get(t, h, "/readyz"); return code == 503 })
	checker.set(nil)
	waitFor(t, func() bool { code, _ := get(t, h, "/readyz"); return code == 200 })

	s.Stopping()
	if code, body := get(t, h, "/readyz"); code != 503 || !strings.Contains(body, "shutting down") {
		t.Errorf("/readyz while stopping: %d %s", code, body)
	}
	if code, body := get(t, h, "/metrics"); code != 200 || !strings.Contains(body, "engage_bridge_test_gauge") {
		t.Errorf("/metrics %d", code)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(results) < 3 || results[0] {
		t.Errorf("onResult calls %v", results)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
