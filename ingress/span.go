package ingress

import (
	"context"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

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
