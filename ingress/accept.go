package ingress

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/engage-bridge/engage-bridge/internal/dedupe"
	"github.com/engage-bridge/engage-bridge/internal/metrics"
	"github.com/engage-bridge/engage-bridge/internal/payloadcrypto"
	"github.com/engage-bridge/engage-bridge/internal/tracing"
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

// ErrNoSuchEndpoint: Rotate was given a name the Handler does not serve.
var ErrNoSuchEndpoint = errors.New("no endpoint of that name is served")

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

// Processor runs a delivery whose signature was verified through the rest
// of the pipeline: skip known duplicates, parse, check the tenant, decrypt,
// find contactId, route, publish (or dead-letter). The ingress uses one per
// endpoint for every request; redrive uses them for dead letters, whose
// signatures were verified when they arrived. It is safe for concurrent
// use.
type Processor struct {
	endpoint       string // the engage-endpoint header and the metrics' label
	key            *payloadcrypto.Key
	tenants        []string // empty: any tenant
	publishTimeout time.Duration
	routes         *router.Table
	pub            Publisher
	seen           *dedupe.Cache
	metrics        *metrics.Metrics
	schemas        *schemas.Validator
	tracer         trace.Tracer // nil: tracing is off
	// staticTopics bounds the topic metric label: templated topics of
	// undocumented event types count as "other".
	staticTopics map[string]bool
}

// NewProcessor returns the Processor of the endpoint named DefaultEndpoint.
// Of cfg it uses EncryptionKey and PublishTimeout; signing secrets are not
// needed. ForEndpoint makes one for another endpoint.
func NewProcessor(cfg Config, deps Deps) (*Processor, error) {
	var errs []error
	if cfg.PublishTimeout < 0 {
		errs = append(errs, errors.New("ingress: publish timeout must be positive"))
	}
	if deps.Routes == nil {
		errs = append(errs, errors.New("ingress: routes are required"))
	}
	if deps.Publisher == nil {
		errs = append(errs, errors.New("ingress: a publisher is required"))
	}
	if deps.Dedupe == nil {
		errs = append(errs, errors.New("ingress: a dedupe cache is required"))
	}
	if deps.Metrics == nil {
		errs = append(errs, errors.New("ingress: metrics are required"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	p := &Processor{
		endpoint:       DefaultEndpoint,
		key:            cfg.EncryptionKey,
		publishTimeout: cfg.PublishTimeout,
		routes:         deps.Routes,
		pub:            deps.Publisher,
		seen:           deps.Dedupe,
		metrics:        deps.Metrics,
		schemas:        deps.Schemas,
		tracer:         deps.Tracer,
	}
	p.staticTopics = staticTopics(p.routes)
	return p, nil
}

// ForEndpoint returns a Processor sharing p's publisher, dedupe cache,
// metrics and tracer, with e's name, key, tenants and routes (p's routes
// when e has none). e's secrets and path are not used.
func (p *Processor) ForEndpoint(e Endpoint) *Processor {
	q := *p
	q.endpoint, q.key, q.tenants = e.Name, e.Key, e.Tenants
	if e.Routes != nil && e.Routes != p.routes {
		q.routes = e.Routes
		q.staticTopics = staticTopics(e.Routes)
	}
	return &q
}

func staticTopics(routes *router.Table) map[string]bool {
	m := map[string]bool{}
	for _, t := range routes.Topics() {
		m[t] = true
	}
	return m
}

// Outcome is what happened to a delivery that got a 2xx answer.
type Outcome string

// The 2xx outcomes.
const (
	Published    Outcome = "published"
	Duplicate    Outcome = "duplicate"
	DeadLettered Outcome = "deadlettered"
)

// Encryption says how a published payload arrived, for the request log.
type Encryption string

// The ways a payload arrives.
const (
	Cleartext Encryption = "none"
	Decrypted Encryption = "decrypted"
	// FlagOnly: isEncrypted was true but the payload was a cleartext
	// object, as in Voyado's own examples; published as received.
	FlagOnly Encryption = "flag_only"
)

// Result describes a delivery for the answer and the request log. It holds
// no payload data and no reference into the body.
type Result struct {
	Outcome    Outcome
	Reason     string // dead-letter reason, when DeadLettered
	SvixID     string
	EventType  string
	Tenant     string
	Topic      string
	Partition  int32
	Offset     int64
	Encryption Encryption
	// SchemaDrift: the payload did not match its event type's schema. The
	// record is published all the same, marked engage-schema-valid: false.
	SchemaDrift bool
	ClientIP    netip.Addr
}

// ErrNoEncryptionKey: the payload is encrypted and no key is configured.
var ErrNoEncryptionKey = errors.New("payload is encrypted and no encryption key is configured")

// ErrTenantMismatch: the endpoint lists its tenants and the envelope's
// tenant is missing or not one of them, or its tenant keys disagree
// (schemas.Envelope.TenantsDisagree).
var ErrTenantMismatch = errors.New("the envelope's tenant is not one this endpoint accepts")

// ErrInvalidTopic: the routing template produced an illegal topic name.
var ErrInvalidTopic = errors.New("routing produced an illegal topic name")

// ErrClientClosed: the sender closed its connection (or its context ended)
// before Kafka acknowledged the record. Not a Kafka fault: a record
// already in a request may still be acknowledged, and is then remembered
// as published like any other.
var ErrClientClosed = errors.New("the sender left before the record was acknowledged")

// Accept runs one delivery through the pipeline: verify the signature over
// the raw body, skip known duplicates, parse, decrypt, find contactId,
// route, publish, and only then return. A signed delivery that cannot be
// used goes to the dead-letter topic instead. A nil error means Kafka
// acknowledged a record (or the delivery was a known duplicate).
//
// release hands body back: it is called exactly once, when nothing refers
// to body any longer. That is before Accept returns, except when Accept
// gave up waiting for a record still in a request to Kafka: then it is
// called when that request resolves. It may be nil.
//
// Accept serves the first endpoint (the only one of the single-endpoint
// configuration); requests on each endpoint's path use that endpoint.
func (h *Handler) Accept(ctx context.Context, header http.Header, body []byte, release func()) (Result, error) {
	return h.accept(ctx, h.endpoints[0].state.Load(), header, body, release)
}

// accept is Accept with the endpoint state the request took at its start.
func (h *Handler) accept(ctx context.Context, st *endpointState, header http.Header, body []byte, release func()) (Result, error) {
	span := startSpan(ctx, h.tracer, "verify")
	d, err := st.verifier.Verify(header, body)
	if err != nil {
		span.fail(err.Error())
		span.end()
		if release != nil {
			release()
		}
		return Result{}, err
	}
	span.end()
	return st.proc.Process(ctx, d, body, release)
}

// Process runs a verified delivery through the pipeline and returns only
// once Kafka acknowledged its record or dead letter, or with the error
// that stopped it. release hands body back, as for Handler.Accept.
func (p *Processor) Process(ctx context.Context, d Delivery, body []byte, release func()) (Result, error) {
	if release == nil {
		release = func() {}
	}
	res := Result{SvixID: d.ID}
	if p.seen.Seen(d.ID) {
		release()
		res.Outcome = Duplicate
		return res, nil
	}

	msg, err := p.eventRecord(ctx, d, body, &res)
	if err != nil {
		reason, ok := deadLetterReason(err)
		if !ok {
			release()
			return res, err
		}
		return res, p.deadLetter(ctx, d, body, reason, err, &res, release)
	}
	res.Topic = msg.Topic
	// What happens once Kafka acknowledged the record runs when the
	// publisher hands it back, even when the sender has left by then: a
	// record acknowledged after all is remembered and counted like any
	// other, so that Svix's retry of it is answered as a duplicate.
	id, topic, eventType, drift := d.ID, p.topicLabel(msg.Topic, res.EventType), res.EventType, res.SchemaDrift
	err = p.publish(ctx, msg, &res, func(_ publisher.Ack, err error) {
		if err == nil {
			p.seen.Remember(id)
			p.metrics.Published(topic, eventType, p.endpoint)
			if drift {
				p.metrics.SchemaDrift(eventType)
			}
		}
		release()
	})
	if err != nil {
		return res, err
	}
	res.Outcome = Published
	return res, nil
}

// Plan says what Process would do with a verified delivery (the topic it
// would publish to, or why it would stay dead-lettered) without publishing
// anything: redrive's dry run.
func (p *Processor) Plan(ctx context.Context, d Delivery, body []byte) Result {
	res := Result{SvixID: d.ID}
	msg, err := p.eventRecord(ctx, d, body, &res)
	if err != nil {
		res.Outcome, res.Topic = DeadLettered, p.routes.DeadLetter()
		res.Reason, _ = deadLetterReason(err)
		return res
	}
	res.Outcome, res.Topic = Published, msg.Topic
	return res
}

// eventRecord builds the Kafka record of a usable delivery, or returns why
// the delivery is unusable. It fills res with what the log may show.
func (p *Processor) eventRecord(ctx context.Context, d Delivery, body []byte, res *Result) (publisher.Message, error) {
	env, err := schemas.ParseEnvelope(body)
	res.EventType, res.Tenant = env.EventType, env.Tenant // known even for payload errors
	if err != nil {
		return publisher.Message{}, err
	}
	// Before decryption: the tenant is in the cleartext envelope, and a
	// delivery that is not this endpoint's is not decrypted with its key.
	// A tenant key given twice with different values is read differently
	// by different consumers of the record: it matches no tenant.
	if len(p.tenants) > 0 && (env.TenantsDisagree() || !slices.Contains(p.tenants, env.Tenant)) {
		return publisher.Message{}, ErrTenantMismatch
	}

	value, payload, contactID := body, env.Payload, ""
	switch {
	case env.IsEncrypted && env.PayloadIsString():
		if p.key == nil {
			return publisher.Message{}, ErrNoEncryptionKey
		}
		text, err := env.Ciphertext()
		if err != nil {
			return publisher.Message{}, err
		}
		span := startSpan(ctx, p.tracer, "decrypt")
		plain, err := p.key.Decrypt(text)
		if err != nil {
			span.fail("decrypt failed")
			span.end()
			return publisher.Message{}, &decryptError{err}
		}
		span.end()
		if contactID, err = schemas.ContactID(plain); err != nil {
			return publisher.Message{}, err
		}
		value, payload = env.WithPayload(plain), plain
		res.Encryption = Decrypted
	default:
		if contactID, err = env.ContactID(); err != nil {
			return publisher.Message{}, err
		}
		res.Encryption = Cleartext
		if env.IsEncrypted {
			res.Encryption = FlagOnly
		}
	}

	topic, ok := p.routes.Topic(env.EventType, env.Tenant)
	if !ok {
		return publisher.Message{}, ErrInvalidTopic
	}
	if p.schemas != nil {
		// Only whether it drifted is kept; the drift (a place and a rule,
		// never a value) is for tests and tools.
		checked, err := p.schemas.Check(env.EventType, payload)
		res.SchemaDrift = checked && err != nil
	}
	return publisher.Message{
		Topic:   topic,
		Key:     []byte(contactID),
		Value:   value,
		Headers: eventHeaders(d, &env, contactID, p.endpoint, res.SchemaDrift),
	}, nil
}

// deadLetter writes an unusable signed delivery, body unchanged, to the
// dead-letter topic. Its svix-id is not remembered as published, so that a
// resend after the cause is fixed (an encryption key added) goes through.
func (p *Processor) deadLetter(ctx context.Context, d Delivery, body []byte, reason string, cause error, res *Result, release func()) error {
	msg := publisher.Message{
		Topic:   p.routes.DeadLetter(),
		Key:     []byte(d.ID),
		Value:   body,
		Headers: deadLetterHeaders(d, reason, cause, res.EventType, res.Tenant, p.endpoint),
	}
	res.Topic, res.Reason = msg.Topic, reason
	err := p.publish(ctx, msg, res, func(_ publisher.Ack, err error) {
		if err == nil {
			p.metrics.DeadLetter(reason, p.endpoint)
		}
		release()
	})
	if err != nil {
		return err
	}
	res.Outcome = DeadLettered
	return nil
}

// publish writes msg within the publish timeout and records where it went.
// With tracing on, the record carries the publish span's traceparent, so
// that consumers continue the trace. done is the publisher's hand-back of
// the record: called exactly once, possibly after publish returned.
func (p *Processor) publish(ctx context.Context, msg publisher.Message, res *Result, done func(publisher.Ack, error)) error {
	if p.tracer == nil {
		return p.send(ctx, msg, res, done)
	}
	return p.publishTraced(ctx, msg, res, done)
}

// publishTraced is publish inside a producer span. Apart from publish, so
// that its frame does not weigh on every request's stack when tracing is
// off.
func (p *Processor) publishTraced(ctx context.Context, msg publisher.Message, res *Result, done func(publisher.Ack, error)) error {
	parent := trace.SpanContextFromContext(ctx)
	ctx, span := p.tracer.Start(ctx, "publish "+msg.Topic, trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(
			attribute.String("messaging.system", "kafka"),
			attribute.String("messaging.operation.type", "send"),
			attribute.String("messaging.destination.name", msg.Topic),
			attribute.String("messaging.message.id", res.SvixID),
		))
	defer span.End()
	// Only a span of our own is propagated: a tracer that records nothing
	// hands back its parent's context, which must not reach the record
	// (docs/contract.md#event-record: traceparent only when tracing is on).
	if sc := span.SpanContext(); sc.IsValid() && !sc.Equal(parent) {
		tracing.Propagator().Inject(ctx, headerCarrier{&msg.Headers})
	}
	if err := p.send(ctx, msg, res, done); err != nil {
		span.SetStatus(codes.Error, err.Error())
		return err
	}
	span.SetAttributes(
		attribute.Int("messaging.destination.partition.id", int(res.Partition)),
		attribute.Int64("messaging.kafka.offset", res.Offset))
	return nil
}

// send hands the record to the publisher within the publish timeout and
// counts the outcome. A sender that left (its request's context ended) is
// not a Kafka fault: ErrClientClosed, whatever the publisher said.
func (p *Processor) send(ctx context.Context, msg publisher.Message, res *Result, done func(publisher.Ack, error)) error {
	request := ctx
	ctx, cancel := context.WithTimeout(ctx, p.publishTimeout)
	defer cancel()
	start := time.Now()
	ack, err := p.pub.Publish(ctx, msg, done)
	switch {
	case err == nil:
		p.metrics.Publish("ok", time.Since(start))
	case request.Err() != nil && !errors.Is(err, publisher.ErrRejected):
		p.metrics.Publish("client_closed", time.Since(start))
		return fmt.Errorf("publish to %s: %w: %w", msg.Topic, ErrClientClosed, request.Err())
	case errors.Is(err, publisher.ErrRejected):
		p.metrics.Publish("rejected", time.Since(start))
		p.metrics.Rejected(p.topicLabel(msg.Topic, res.EventType))
		return fmt.Errorf("publish to %s: %w", msg.Topic, err)
	default:
		p.metrics.Publish("unavailable", time.Since(start))
		return fmt.Errorf("publish to %s: %w", msg.Topic, err)
	}
	res.Partition, res.Offset = ack.Partition, ack.Offset
	return nil
}

func (p *Processor) topicLabel(topic, eventType string) string {
	if p.staticTopics[topic] || schemas.IsDocumented(eventType) {
		return topic
	}
	return "other"
}

// headerCarrier lets the trace propagator write record headers. Only
// traceparent is written: it is the bridge's own span, while tracestate
// (and anything else a propagator would copy) is a value the sender chose,
// which the signature does not cover (docs/contract.md#invariants:
// nothing unsigned reaches Kafka).
type headerCarrier struct{ headers *[]publisher.Header }

func (c headerCarrier) Get(key string) string {
	for _, h := range *c.headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

func (c headerCarrier) Set(key, value string) {
	if key != traceparent {
		return
	}
	*c.headers = append(*c.headers, publisher.Header{Key: key, Value: []byte(value)})
}

// traceparent is the one trace header a record carries (W3C Trace Context).
const traceparent = "traceparent"

func (c headerCarrier) Keys() []string {
	keys := make([]string, len(*c.headers))
	for i, h := range *c.headers {
		keys[i] = h.Key
	}
	return keys
}
