package ingress

import (
	"context"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/engage-bridge/engage-bridge/internal/tracing"
	"github.com/engage-bridge/engage-bridge/publisher"
)

// handleTraced is handle inside a server span continuing the request's
// trace context. Apart from handle, so that its frame does not weigh on
// every request's stack when tracing is off.
func (h *Handler) handleTraced(w http.ResponseWriter, r *http.Request, ep *served, start time.Time) {
	ctx := tracing.Propagator().Extract(r.Context(), propagation.HeaderCarrier(r.Header))
	ctx, span := h.tracer.Start(ctx, "webhook", trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("http.request.method", r.Method), attribute.String("url.path", r.URL.Path)))
	defer span.End()
	res, ip, err := h.guard(r.WithContext(ctx), ep)
	a := h.respond(w, r, ep.name, ip, res, err, start)
	span.SetAttributes(
		attribute.Int("http.response.status_code", a.status),
		attribute.String("engage.outcome", a.outcome),
		attribute.String("engage.event_type", res.EventType),
		attribute.String("messaging.message.id", res.SvixID))
	if a.status >= 500 {
		span.SetStatus(codes.Error, a.outcome)
	}
}

// span is a step's trace span. With tracing off (no Tracer) it is empty
// and costs nothing: no context, no attributes, no allocation.
type span struct{ s trace.Span }

// startSpan starts a span named name under ctx when t is not nil.
func startSpan(ctx context.Context, t trace.Tracer, name string) span {
	if t == nil {
		return span{}
	}
	_, s := t.Start(ctx, name)
	return span{s}
}

func (s span) fail(msg string) {
	if s.s != nil {
		s.s.SetStatus(codes.Error, msg)
	}
}

func (s span) end() {
	if s.s != nil {
		s.s.End()
	}
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
	if err := p.publishWithTimeout(ctx, msg, res, done); err != nil {
		span.SetStatus(codes.Error, err.Error())
		return err
	}
	span.SetAttributes(
		attribute.Int("messaging.destination.partition.id", int(res.Partition)),
		attribute.Int64("messaging.kafka.offset", res.Offset))
	return nil
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
