package ingress

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/engage-bridge/engage-bridge/internal/tracing"
)

var contentTypeJSON = []string{"application/json"}

// handle is the webhook path's whole life: a span, the pipeline, the
// answer, the log line.
func (h *Handler) handle(w http.ResponseWriter, r *http.Request, ep *served) {
	start := time.Now()
	if h.tracer != nil {
		h.handleTraced(w, r, ep, start)
		return
	}
	res, err := h.serve(r, ep)
	h.respond(w, r, ep.name, res, err, start)
}

// handleTraced is handle inside a server span continuing the request's
// trace context. Apart from handle, so that its frame does not weigh on
// every request's stack when tracing is off.
func (h *Handler) handleTraced(w http.ResponseWriter, r *http.Request, ep *served, start time.Time) {
	ctx := tracing.Propagator().Extract(r.Context(), propagation.HeaderCarrier(r.Header))
	ctx, span := h.tracer.Start(ctx, "webhook", trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("http.request.method", r.Method), attribute.String("url.path", r.URL.Path)))
	defer span.End()
	res, err := h.serve(r.WithContext(ctx), ep)
	a := h.respond(w, r, ep.name, res, err, start)
	span.SetAttributes(
		attribute.Int("http.response.status_code", a.status),
		attribute.String("engage.outcome", a.outcome),
		attribute.String("engage.event_type", res.EventType),
		attribute.String("messaging.message.id", res.SvixID))
	if a.status >= 500 {
		span.SetStatus(codes.Error, a.outcome)
	}
}

// serve is receive with a panic turned into a 500, never into a 2xx, so
// that Svix retries the delivery.
func (h *Handler) serve(r *http.Request, ep *served) (res Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			// The stack names code, not data; the panic value is our own.
			h.log.Error().Str("panic", fmt.Sprint(p)).Str("stack", string(debug.Stack())).Msg("panic in webhook handler")
			err = errPanic
		}
	}()
	return h.receive(r, ep)
}

// respond writes the answer, counts it, and logs the request's one line:
// what happened and where the record went, never a body, a payload field,
// a contactId or a secret. endpoint is the name of the endpoint whose path
// the request came to, empty for any other path.
func (h *Handler) respond(w http.ResponseWriter, r *http.Request, endpoint string, res Result, err error, start time.Time) answer {
	a := answerFor(res, err)
	header := w.Header()
	header["Content-Type"] = contentTypeJSON // shared, never modified: no allocation per answer
	if a.retryAfter {
		header.Set("Retry-After", strconv.Itoa(int(h.cfg.RetryAfter.Seconds())))
	}
	w.WriteHeader(a.status)
	_, _ = io.WriteString(w, a.body)

	d := time.Since(start)
	h.metrics.Request(a.outcome, endpoint, d)
	var sigErr *SignatureError
	if errors.As(err, &sigErr) {
		h.metrics.SignatureFailure(sigErr.Reason, endpoint)
	}
	if res.Outcome == Duplicate && err == nil {
		h.metrics.Duplicate()
	}

	var ev *zerolog.Event
	switch {
	case a.status >= 500:
		ev = h.log.Error()
	case a.status >= 400 || res.Outcome == DeadLettered:
		ev = h.log.Warn()
	default:
		ev = h.log.Info()
	}
	if !ev.Enabled() {
		return a
	}
	ev.Str("method", r.Method).Str("path", r.URL.Path)
	if endpoint != "" {
		ev.Str("endpoint", endpoint)
	}
	if res.ClientIP.IsValid() {
		ev.Str("client_ip", res.ClientIP.String())
	}
	if res.SvixID != "" {
		ev.Str("svix_id", res.SvixID)
	}
	if res.EventType != "" {
		ev.Str("event_type", res.EventType)
	}
	if res.Tenant != "" {
		ev.Str("tenant", res.Tenant)
	}
	if res.Topic != "" {
		ev.Str("topic", res.Topic)
	}
	if res.Outcome == Published || res.Outcome == DeadLettered {
		ev.Int32("partition", res.Partition).Int64("offset", res.Offset)
	}
	if res.Encryption != "" {
		ev.Str("encryption", string(res.Encryption))
	}
	if res.SchemaDrift {
		ev.Bool("schema_valid", false)
	}
	if res.Reason != "" {
		ev.Str("reason", res.Reason)
	}
	if sigErr != nil {
		ev.Str("reason", sigErr.Reason)
	}
	if err != nil && a.status >= 500 {
		// Our own error texts: they name topics and Kafka errors, not data.
		ev.Str("error", err.Error())
	}
	ev.Str("outcome", a.outcome).Int("status", a.status).Float64("duration_ms", float64(d.Microseconds())/1000).Msg("webhook")
	return a
}
