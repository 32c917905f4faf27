package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	stdlog "log"
	"net"
	"net/http"
	"slices"
	"time"

	"github.com/rs/zerolog"

	"github.com/engage-bridge/engage-bridge/ingress"
	"github.com/engage-bridge/engage-bridge/internal/admin"
	"github.com/engage-bridge/engage-bridge/internal/dedupe"
	"github.com/engage-bridge/engage-bridge/internal/metrics"
	"github.com/engage-bridge/engage-bridge/internal/tracing"
	"github.com/engage-bridge/engage-bridge/publisher"
	"github.com/engage-bridge/engage-bridge/schemas"
)

func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", "serve [flags]", stderr)
	v := newValues(fs, getenv)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg := v.bridgeConfig(true)
	if err := v.err(); err != nil {
		return err
	}
	log := newLogger(stderr, cfg.LogFormat, cfg.LogLevel)
	logConfig(log, cfg)
	defer startProfiling(getenv, stderr)()
	b, err := newBridge(cfg, log)
	if err != nil {
		return err
	}
	return b.run(ctx)
}

// bridge is the assembled service: webhook listener, admin listener,
// readiness loop and publisher.
type bridge struct {
	cfg       config
	log       zerolog.Logger
	tracing   *tracing.Provider
	metrics   *metrics.Metrics
	publisher *publisher.Publisher
	admin     *admin.Server
	webhook   *http.Server
	adminSrv  *http.Server
	webhookLn net.Listener
	adminLn   net.Listener
	// watches re-read secret files until their context ends.
	watches []func(context.Context)
}

// newBridge builds every part and binds both listeners (so that a port 0
// is known before run), but serves nothing yet.
func newBridge(cfg config, log zerolog.Logger) (*bridge, error) {
	m := metrics.New()
	seen, err := dedupe.New(cfg.Dedupe, nil)
	if err != nil {
		return nil, &configError{problems: []string{"BRIDGE_DEDUPE_TTL/BRIDGE_DEDUPE_MAX_ENTRIES: " + err.Error()}}
	}
	topics := allTopics(cfg.tables())
	pub, err := publisher.New(publisher.Config{Conn: cfg.Kafka, Compression: cfg.Compression, MissingTopic: func(topic string) {
		// The label stays bounded: topics the table names for documented
		// event types by name, any other as "other" (its name is in the
		// request's log line).
		if !slices.Contains(topics, topic) {
			topic = "other"
		}
		m.MissingTopic(topic)
	}}, log.With().Str("component", "publisher").Logger())
	if err != nil {
		return nil, &configError{problems: []string{"BRIDGE_KAFKA_*: " + err.Error()}}
	}
	validator, err := schemas.NewValidator()
	if err != nil {
		return nil, fmt.Errorf("compiling the payload schemas: %w", err)
	}
	tp, err := tracing.New(context.Background(), cfg.Tracing)
	if err != nil {
		return nil, fmt.Errorf("tracing: %w", err)
	}
	deps := ingress.Deps{
		Routes: cfg.Routes, Publisher: pub, Dedupe: seen, Metrics: m, Schemas: validator,
		Log: log.With().Str("component", "ingress").Logger(),
	}
	if cfg.Tracing.Enabled {
		deps.Tracer = tp.Tracer("github.com/engage-bridge/engage-bridge/ingress")
	}
	h, err := ingress.New(cfg.Ingress, deps)
	if err != nil {
		return nil, &configError{problems: []string{err.Error()}}
	}
	watches, err := watchers(cfg, h, log, m)
	if err != nil {
		return nil, err
	}
	adm := admin.New(admin.Config{Topics: topics}, pub, m.Registry(),
		log.With().Str("component", "readiness").Logger(), m.Ready)

	b := &bridge{cfg: cfg, log: log, tracing: tp, metrics: m, publisher: pub, admin: adm, watches: watches}
	errorLog := stdlog.New(zerologWriter{log.With().Str("component", "http").Logger()}, "", 0)
	b.webhook = &http.Server{
		Handler:           h.HTTPHandler(),
		ReadHeaderTimeout: cfg.Timeouts.ReadHeader,
		ReadTimeout:       cfg.Timeouts.Read,
		WriteTimeout:      cfg.Timeouts.Write,
		IdleTimeout:       cfg.Timeouts.Idle,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          errorLog,
	}
	b.adminSrv = &http.Server{
		Handler:           adm.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          errorLog,
	}
	if b.webhookLn, err = net.Listen("tcp", cfg.Listen); err != nil {
		return nil, fmt.Errorf("webhook listener (BRIDGE_LISTEN): %w", err)
	}
	if b.adminLn, err = net.Listen("tcp", cfg.AdminListen); err != nil {
		b.webhookLn.Close()
		return nil, fmt.Errorf("admin listener (BRIDGE_ADMIN_LISTEN): %w", err)
	}
	return b, nil
}

// webhookURL is the address a sender posts to (the single endpoint's).
func (b *bridge) webhookURL() string {
	return b.webhookBase() + b.cfg.Ingress.Path
}

// webhookBase is the webhook listener's address, without a path.
func (b *bridge) webhookBase() string { return "http://" + loopbackAddr(b.webhookLn.Addr()) }

func (b *bridge) adminURL() string { return "http://" + loopbackAddr(b.adminLn.Addr()) }

// loopbackAddr shows a wildcard listener as 127.0.0.1, the address a
// local sender can use.
func loopbackAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return a.String()
	}
	return fmt.Sprintf("127.0.0.1:%d", tcp.Port)
}

// run serves until ctx ends, then shuts down in order: readiness turns
// 503, the webhook listener stops accepting and finishes the requests in
// flight (bounded), the publisher flushes and closes, the admin listener
// closes. A clean shutdown returns nil (exit 0).
func (b *bridge) run(ctx context.Context) error {
	readyCtx, stopReady := context.WithCancel(context.WithoutCancel(ctx))
	defer stopReady()
	go b.admin.Run(readyCtx)
	for _, watch := range b.watches {
		go watch(readyCtx)
	}

	errc := make(chan error, 2)
	go func() { errc <- serveOn(b.webhook, b.webhookLn, "webhook") }()
	go func() { errc <- serveOn(b.adminSrv, b.adminLn, "admin") }()
	paths := []string{b.cfg.Ingress.Path}
	if len(b.cfg.Ingress.Endpoints) > 0 {
		paths = paths[:0]
		for _, e := range b.cfg.Ingress.Endpoints {
			paths = append(paths, e.Path)
		}
	}
	b.log.Info().Str("webhook", b.webhookLn.Addr().String()).Strs("paths", paths).
		Str("admin", b.adminLn.Addr().String()).Msg("listening")

	var runErr error
	select {
	case <-ctx.Done():
		b.log.Info().Msg("shutting down")
	case runErr = <-errc:
		b.log.Error().Err(runErr).Msg("listener failed, shutting down")
	}
	b.admin.Stopping()

	drain := b.cfg.Ingress.PublishTimeout + 5*time.Second
	if b.cfg.Ingress.PublishTimeout == 0 {
		drain = 13 * time.Second
	}
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drain)
	defer cancel()
	if err := b.webhook.Shutdown(shutCtx); err != nil {
		b.log.Error().Err(err).Msg("webhook requests still in flight at the drain deadline")
		runErr = errors.Join(runErr, err)
	}
	pubCtx, cancelPub := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancelPub()
	if err := b.publisher.Close(pubCtx); err != nil {
		b.log.Error().Err(err).Msg("closing the publisher")
		runErr = errors.Join(runErr, err)
	}
	traceCtx, cancelTrace := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancelTrace()
	if err := b.tracing.Shutdown(traceCtx); err != nil {
		b.log.Warn().Err(err).Msg("flushing traces") // spans are not worth a failed exit
	}
	stopReady()
	admCtx, cancelAdm := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancelAdm()
	_ = b.adminSrv.Shutdown(admCtx)
	b.log.Info().Msg("stopped")
	return runErr
}

func serveOn(s *http.Server, l net.Listener, name string) error {
	if err := s.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("%s listener: %w", name, err)
	}
	return nil
}

// zerologWriter sends net/http's own error log (TLS handshake failures,
// broken connections) to the structured log at debug level.
type zerologWriter struct{ log zerolog.Logger }

func (w zerologWriter) Write(p []byte) (int, error) {
	msg := string(p)
	if n := len(msg); n > 0 && msg[n-1] == '\n' {
		msg = msg[:n-1]
	}
	w.log.Debug().Msg(msg)
	return len(p), nil
}
