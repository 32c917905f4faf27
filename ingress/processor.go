package ingress

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/engage-bridge/engage-bridge/internal/dedupe"
	"github.com/engage-bridge/engage-bridge/internal/metrics"
	"github.com/engage-bridge/engage-bridge/internal/payloadcrypto"
	"github.com/engage-bridge/engage-bridge/router"
	"github.com/engage-bridge/engage-bridge/schemas"
)

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
	builders     *builderPool // event records' header builders
}

// NewProcessor returns the Processor of the endpoint named DefaultEndpoint.
// Of cfg it uses EncryptionKey and PublishTimeout; signing secrets are not
// needed. ForEndpoint makes one for another endpoint.
func NewProcessor(cfg Config, deps Deps) (*Processor, error) {
	var errs []error
	if err := ValidatePublishTimeout(cfg.PublishTimeout); err != nil {
		errs = append(errs, fmt.Errorf("ingress: publish timeout %w", err))
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
		builders:       &builderPool{},
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
}

// Plan says what Process would do with a verified delivery (the topic it
// would publish to, or why it would stay dead-lettered) without publishing
// anything: redrive's dry run.
func (p *Processor) Plan(ctx context.Context, d Delivery, body []byte) Result {
	res := Result{SvixID: d.ID}
	hb := p.builders.get()
	defer p.builders.put(hb)
	msg, err := p.eventRecord(ctx, d, body, hb, &res)
	if err != nil {
		res.Outcome, res.Topic = DeadLettered, p.routes.DeadLetter()
		res.Reason, _ = deadLetterReason(err)
		return res
	}
	res.Outcome, res.Topic = Published, msg.Topic
	return res
}

func (p *Processor) topicLabel(topic, eventType string) string {
	if p.staticTopics[topic] || schemas.IsDocumented(eventType) {
		return topic
	}
	return "other"
}
