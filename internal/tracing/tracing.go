// Package tracing sets up OpenTelemetry tracing with an OTLP exporter. It is
// the only package that knows the OpenTelemetry SDK; the rest of the bridge
// uses the OpenTelemetry API (a trace.Tracer) and works the same with the
// no-op tracer tracing returns when it is off.
//
// The exporter and the SDK read the standard variables themselves:
// OTEL_EXPORTER_OTLP_ENDPOINT (and _TRACES_ variants), _HEADERS, _TIMEOUT,
// _CERTIFICATE, OTEL_TRACES_SAMPLER(_ARG), OTEL_BSP_*, OTEL_SERVICE_NAME and
// OTEL_RESOURCE_ATTRIBUTES.
package tracing

import (
	"context"
	"errors"
	"fmt"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Protocols of the OTLP exporter (OTEL_EXPORTER_OTLP_PROTOCOL).
const (
	ProtocolHTTP = "http/protobuf"
	ProtocolGRPC = "grpc"
)

// Config says whether and how to export traces.
type Config struct {
	// Enabled turns tracing on. Off by default.
	Enabled bool
	// Protocol is ProtocolHTTP (default, as the OpenTelemetry spec says) or
	// ProtocolGRPC.
	Protocol string
	// Version is reported as service.version.
	Version string
}

// Validate reports an unknown protocol.
func (c Config) Validate() error {
	switch c.Protocol {
	case "", ProtocolHTTP, ProtocolGRPC:
		return nil
	}
	return fmt.Errorf("protocol %q is not %s or %s", c.Protocol, ProtocolHTTP, ProtocolGRPC)
}

// Propagator writes and reads W3C trace context (traceparent): into Kafka
// record headers, so that consumers continue the trace, and from incoming
// requests, should a proxy have started one.
func Propagator() propagation.TextMapPropagator { return propagation.TraceContext{} }

// Provider is a tracer provider and what it takes to stop it.
type Provider struct {
	trace.TracerProvider
	shutdown func(context.Context) error
}

// Shutdown flushes the spans not exported yet. A no-op when tracing is off.
func (p *Provider) Shutdown(ctx context.Context) error {
	if p.shutdown == nil {
		return nil
	}
	return p.shutdown(ctx)
}

// New returns the tracer provider the configuration asks for: a no-op one
// when tracing is off, else an SDK provider batching spans to an OTLP
// exporter. The exporter connects lazily; a collector that is down costs
// dropped spans, never webhooks.
func New(ctx context.Context, cfg Config) (*Provider, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if !cfg.Enabled {
		return &Provider{TracerProvider: noop.NewTracerProvider()}, nil
	}
	var exp sdktrace.SpanExporter
	var err error
	switch cfg.Protocol {
	case ProtocolGRPC:
		exp, err = otlptracegrpc.New(ctx)
	default:
		exp, err = otlptracehttp.New(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("otlp exporter: %w", err)
	}
	return newSDK(ctx, cfg, sdktrace.NewBatchSpanProcessor(exp))
}

// NewWithProcessor is New with a given span processor, for tests (an
// in-memory exporter behind a simple processor).
func NewWithProcessor(ctx context.Context, cfg Config, sp sdktrace.SpanProcessor) (*Provider, error) {
	return newSDK(ctx, cfg, sp)
}

func newSDK(ctx context.Context, cfg Config, sp sdktrace.SpanProcessor) (*Provider, error) {
	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName("engage-bridge"), semconv.ServiceVersion(cfg.Version)),
		resource.WithFromEnv(), // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win
		resource.WithTelemetrySDK(),
	)
	if err != nil && !errors.Is(err, resource.ErrPartialResource) {
		return nil, fmt.Errorf("tracing resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp), sdktrace.WithResource(res))
	return &Provider{TracerProvider: tp, shutdown: tp.Shutdown}, nil
}
