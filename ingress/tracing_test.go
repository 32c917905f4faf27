package ingress

import (
	"context"
	"fmt"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/engage-bridge/engage-bridge/internal/tracing"
	"github.com/engage-bridge/engage-bridge/schemas"
)

// TestTracing: one span per webhook with verify, decrypt and publish inside
// it, and the publish span's W3C traceparent in the Kafka record.
func TestTracing(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp, err := tracing.NewWithProcessor(context.Background(), tracing.Config{Enabled: true}, sdktrace.NewSimpleSpanProcessor(exp))
	if err != nil {
		t.Fatal(err)
	}
	defer tp.Shutdown(context.Background())
	b := newTestHandler(t, nil)
	tracer := tp.Tracer("test")
	b.h.tracer, b.h.proc0().tracer = tracer, tracer

	body, _ := encrypted(t, schemas.EventContactUpdated)
	if w := post(t, b, "POST", "/webhooks/engage", signed(t, "msg_trace", body), body, ""); w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	spans := exp.GetSpans()
	byName := map[string]tracetest.SpanStub{}
	for _, s := range spans {
		byName[s.Name] = s
	}
	root, ok := byName["webhook"]
	if !ok || root.SpanKind != trace.SpanKindServer {
		t.Fatalf("no server span webhook among %v", names(spans))
	}
	for _, child := range []string{"verify", "decrypt", "publish engage.contact"} {
		s, ok := byName[child]
		if !ok {
			t.Fatalf("no %s span among %v", child, names(spans))
		}
		if s.Parent.SpanID() != root.SpanContext.SpanID() || s.SpanContext.TraceID() != root.SpanContext.TraceID() {
			t.Errorf("%s is not a child of webhook", child)
		}
	}
	pub := byName["publish engage.contact"]
	if pub.SpanKind != trace.SpanKindProducer {
		t.Errorf("publish span kind %v", pub.SpanKind)
	}
	want := fmt.Sprintf("00-%s-%s-01", pub.SpanContext.TraceID(), pub.SpanContext.SpanID())
	if got := headerMap(b.pub.published()[0].Headers)["traceparent"]; got != want {
		t.Errorf("traceparent %q, want %q", got, want)
	}
	// No payload value, contactId or secret in any attribute.
	for _, s := range spans {
		for _, a := range s.Attributes {
			v := a.Value.String()
			if strings.Contains(v, "515c1b2a") || strings.Contains(v, "example.com") {
				t.Errorf("span %s attribute %s = %s", s.Name, a.Key, v)
			}
		}
	}
}

// TestTracingContinuesIncomingTrace: a traceparent on the request (from a
// proxy that traces) becomes the webhook span's parent.
func TestTracingContinuesIncomingTrace(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp, _ := tracing.NewWithProcessor(context.Background(), tracing.Config{Enabled: true}, sdktrace.NewSimpleSpanProcessor(exp))
	defer tp.Shutdown(context.Background())
	b := newTestHandler(t, nil)
	b.h.tracer, b.h.proc0().tracer = tp.Tracer("test"), tp.Tracer("test")
	body := example(t, schemas.EventContactDeleted)
	h := signed(t, "msg_parent", body)
	h.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	post(t, b, "POST", "/webhooks/engage", h, body, "")
	for _, s := range exp.GetSpans() {
		if s.SpanContext.TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" {
			t.Errorf("span %s not in the incoming trace", s.Name)
		}
	}
}

// TestTracingOff: without a tracer no traceparent header is written, not
// even the one a request arrived with (docs/contract.md#event-record: only when tracing is on),
// and the way serve turns tracing off (a disabled provider's tracer) is
// the same as no tracer at all.
func TestTracingOff(t *testing.T) {
	off, err := tracing.New(context.Background(), tracing.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for name, tracer := range map[string]trace.Tracer{"no tracer": nil, "disabled provider": off.Tracer("test")} {
		b := newTestHandler(t, nil)
		if tracer != nil {
			// As if a Deps.Tracer were given: the incoming context is read.
			b.h.tracer, b.h.proc0().tracer = tracer, tracer
		}
		body := example(t, schemas.EventContactDeleted)
		for i, incoming := range []string{"", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"} {
			h := signed(t, fmt.Sprint("msg_off", i), body)
			if incoming != "" {
				h.Set("traceparent", incoming)
			}
			post(t, b, "POST", "/webhooks/engage", h, body, "")
			if v, ok := headerMap(b.pub.published()[i].Headers)["traceparent"]; ok {
				t.Errorf("%s, incoming %q: traceparent %q written with tracing off", name, incoming, v)
			}
		}
	}
}

func names(spans tracetest.SpanStubs) []string {
	var n []string
	for _, s := range spans {
		n = append(n, s.Name)
	}
	return n
}

// TestTracestateNotWritten (issue 14, defect 7): the signature does not
// cover a request's tracestate, so it must never reach a record; only the
// bridge's own traceparent is written.
func TestTracestateNotWritten(t *testing.T) {
	tp, _ := tracing.NewWithProcessor(context.Background(), tracing.Config{Enabled: true}, sdktrace.NewSimpleSpanProcessor(tracetest.NewInMemoryExporter()))
	defer tp.Shutdown(context.Background())
	b := newTestHandler(t, nil)
	b.h.tracer, b.h.proc0().tracer = tp.Tracer("test"), tp.Tracer("test")
	body := example(t, schemas.EventContactDeleted)
	h := signed(t, "msg_tracestate", body)
	h.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	h.Set("tracestate", "vendor=chosen-by-the-sender")
	h.Set("baggage", "k=chosen-by-the-sender")
	post(t, b, "POST", "/webhooks/engage", h, body, "")
	published := b.pub.published()
	if len(published) != 1 {
		t.Fatalf("%d records published, want 1", len(published))
	}
	headers := headerMap(published[0].Headers)
	if _, ok := headers["traceparent"]; !ok {
		t.Error("no traceparent written with tracing on")
	}
	for k, v := range headers {
		if strings.Contains(v, "chosen-by-the-sender") || k == "tracestate" || k == "baggage" {
			t.Errorf("record header %s = %q: a value the sender chose", k, v)
		}
	}
}
