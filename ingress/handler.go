package ingress

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/trace"

	"github.com/engage-bridge/engage-bridge/internal/dedupe"
	"github.com/engage-bridge/engage-bridge/internal/metrics"
	"github.com/engage-bridge/engage-bridge/publisher"
	"github.com/engage-bridge/engage-bridge/router"
	"github.com/engage-bridge/engage-bridge/schemas"
)

// Publisher writes one record and returns once Kafka acknowledged it. It
// hands the record back through done, exactly once, when it no longer
// refers to the record: possibly after Publish returned, when the caller
// gave up while the record was in a request (see publisher.Publish).
// *publisher.Publisher is the real one.
type Publisher interface {
	Publish(ctx context.Context, m publisher.Message, done func(publisher.Ack, error)) (publisher.Ack, error)
}

// Deps are the collaborators a Handler uses. Routes, Publisher, Dedupe and
// Metrics are required.
type Deps struct {
	Routes    *router.Table
	Publisher Publisher
	Dedupe    *dedupe.Cache
	Metrics   *metrics.Metrics
	// Schemas, when set, checks each published payload against its event
	// type's JSON Schema: drift is marked and counted, never refused.
	Schemas *schemas.Validator
	Log     zerolog.Logger
	// Tracer records a span per webhook with verify, decrypt and publish
	// inside it. Nil turns tracing off: no incoming trace context is read
	// and no traceparent is written.
	Tracer trace.Tracer
	// Now is the clock for signature timestamps. Default time.Now.
	Now func() time.Time
}

// Handler receives Engage webhooks on each endpoint's path: it verifies
// each delivery's signature with that endpoint's secrets and hands it to
// the endpoint's Processor, and says what happened. It is safe for
// concurrent use.
type Handler struct {
	cfg       Config
	endpoints []*served // in Config order; Accept uses the first
	base      *Processor
	now       func() time.Time
	authToken atomic.Pointer[string]
	metrics   *metrics.Metrics
	tracer    trace.Tracer // nil: tracing is off
	log       zerolog.Logger
	slots     chan struct{}
	bodies    bodyPool
}

// served is one endpoint as the Handler serves it. Its name, path and
// routing table are fixed at start; its secrets, key and tenants are one
// state, replaced whole by Rotate. A request loads the state once, at its
// start, and keeps it to its end.
type served struct {
	name   string
	path   string
	routes *router.Table // nil: the Deps' table
	state  atomic.Pointer[endpointState]
}

type endpointState struct {
	verifier *Verifier
	proc     *Processor
}

// New returns a Handler. Configuration errors are reported all at once.
func New(cfg Config, deps Deps) (*Handler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	base, err := NewProcessor(cfg, deps)
	if err != nil {
		return nil, err
	}
	eps := cfg.Endpoints
	if len(eps) == 0 {
		secrets, err := ParseSecrets(cfg.SigningSecrets)
		if err != nil {
			return nil, err
		}
		eps = []Endpoint{{Name: DefaultEndpoint, Path: cfg.Path, Secrets: secrets, Key: cfg.EncryptionKey}}
	}
	h := &Handler{
		cfg:     cfg,
		base:    base,
		now:     deps.Now,
		metrics: deps.Metrics,
		tracer:  deps.Tracer,
		log:     deps.Log,
		slots:   make(chan struct{}, cfg.MaxInFlight),
		bodies:  bodyPool{max: int(cfg.MaxBodyBytes) + 1},
	}
	token := cfg.AuthToken
	h.authToken.Store(&token)
	var errs []error
	for _, e := range eps {
		s := &served{name: e.Name, path: e.Path, routes: e.Routes}
		st, err := h.stateFor(s, e)
		if err != nil {
			errs = append(errs, fmt.Errorf("endpoint %s: %w", e.Name, err))
			continue
		}
		s.state.Store(st)
		h.endpoints = append(h.endpoints, s)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return h, nil
}

// stateFor builds what a request on s uses from e's secrets, key and
// tenants, with s's routing table.
func (h *Handler) stateFor(s *served, e Endpoint) (*endpointState, error) {
	v, err := NewSecretsVerifier(e.Secrets, h.cfg.Tolerance, h.now)
	if err != nil {
		return nil, err
	}
	e.Name, e.Routes = s.name, s.routes
	return &endpointState{verifier: v, proc: h.base.ForEndpoint(e)}, nil
}

// Rotate replaces the signing secrets, key and tenants of the endpoint
// named e.Name. Requests that start afterwards use them; requests in
// flight finish with what they started with. e's path and routes are
// ignored: those are fixed at start.
func (h *Handler) Rotate(e Endpoint) error {
	for _, s := range h.endpoints {
		if s.name != e.Name {
			continue
		}
		st, err := h.stateFor(s, e)
		if err != nil {
			return fmt.Errorf("endpoint %s: %w", e.Name, err)
		}
		s.state.Store(st)
		return nil
	}
	return fmt.Errorf("%w: %s", ErrNoSuchEndpoint, e.Name)
}

// SetAuthToken replaces the token the custom auth header must carry, for
// requests that start afterwards. It is refused when no auth header is
// configured or the token is empty.
func (h *Handler) SetAuthToken(token string) error {
	if h.cfg.AuthHeader == "" {
		return errors.New("no auth header is configured")
	}
	if token == "" {
		return fmt.Errorf("%w: the auth token is empty", ErrRequired)
	}
	h.authToken.Store(&token)
	return nil
}
