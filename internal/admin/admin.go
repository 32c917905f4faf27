// Package admin serves the operator's endpoints on their own listener,
// away from the public webhook port: /healthz (the process runs), /readyz
// (Kafka answers and the routed topics exist) and /metrics (Prometheus).
//
// Readiness is checked in the background on a fixed interval and /readyz
// answers from the last result, so that probes, however frequent, never
// reach the brokers themselves.
package admin

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"
)

// Checker tells whether Kafka answers and the topics exist.
type Checker interface {
	Ready(ctx context.Context, topics []string) error
}

// Config configures the readiness loop.
type Config struct {
	// Topics must exist for the bridge to be ready.
	Topics []string
	// Interval between checks. Default 5s.
	Interval time.Duration
	// Timeout of one check. Default 3s.
	Timeout time.Duration
}

// Server holds the readiness state and serves the admin endpoints.
type Server struct {
	cfg      Config
	checker  Checker
	registry *prometheus.Registry
	log      zerolog.Logger
	onResult func(ready bool)

	mu       sync.Mutex
	ready    bool
	problem  string
	checked  time.Time
	stopping bool
}

// New returns a Server that is not ready until its first check passes.
// onResult, when not nil, is told every check's outcome (for a metric).
func New(cfg Config, checker Checker, registry *prometheus.Registry, log zerolog.Logger, onResult func(ready bool)) *Server {
	if cfg.Interval <= 0 {
		cfg.Interval = 5 * time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 3 * time.Second
	}
	return &Server{cfg: cfg, checker: checker, registry: registry, log: log, onResult: onResult, problem: "not checked yet"}
}

// Run checks readiness now and then every Interval until ctx ends.
func (s *Server) Run(ctx context.Context) {
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	for {
		s.check(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *Server) check(ctx context.Context) {
	cctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	err := s.checker.Ready(cctx, s.cfg.Topics)
	cancel()
	if ctx.Err() != nil {
		return
	}
	s.mu.Lock()
	was, first := s.ready, s.checked.IsZero()
	s.ready = err == nil
	s.problem = ""
	if err != nil {
		s.problem = err.Error()
	}
	s.checked = time.Now()
	s.mu.Unlock()
	if s.onResult != nil {
		s.onResult(err == nil)
	}
	switch {
	case err != nil && (was || first):
		s.log.Warn().Str("error", err.Error()).Msg("not ready")
	case err != nil:
		s.log.Debug().Str("error", err.Error()).Msg("still not ready")
	case !was:
		s.log.Info().Msg("ready")
	}
}

// Stopping makes /readyz answer 503 from now on, so that load balancers
// stop sending while the process drains.
func (s *Server) Stopping() {
	s.mu.Lock()
	s.stopping = true
	s.mu.Unlock()
}

// Handler serves /healthz, /readyz and /metrics.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		s.mu.Lock()
		ready, problem, stopping, checked := s.ready, s.problem, s.stopping, s.checked
		s.mu.Unlock()
		body := map[string]string{"status": "ready"}
		if !checked.IsZero() {
			body["checked_at"] = checked.UTC().Format(time.RFC3339)
		}
		switch {
		case stopping:
			body["status"], body["error"] = "not_ready", "shutting down"
		case !ready:
			body["status"], body["error"] = "not_ready", problem
		}
		status := http.StatusOK
		if body["status"] != "ready" {
			status = http.StatusServiceUnavailable
		}
		writeJSON(w, status, body)
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{}))
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// ErrNotReady is returned by Wait when ctx ends before the first ready check.
var ErrNotReady = errors.New("not ready")

// Wait blocks until a check passed or ctx ends (used by dev to print its
// banner once the bridge can publish).
func (s *Server) Wait(ctx context.Context) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		s.mu.Lock()
		ready := s.ready
		s.mu.Unlock()
		if ready {
			return nil
		}
		select {
		case <-ctx.Done():
			return ErrNotReady
		case <-t.C:
		}
	}
}
