package tracing

import (
	"context"
	"testing"
)

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		protocol string
		ok       bool
	}{
		{"", true},
		{ProtocolHTTP, true},
		{ProtocolGRPC, true},
		{"http/json", false},
		{"udp", false},
	} {
		err := Config{Protocol: tc.protocol}.Validate()
		if (err == nil) != tc.ok {
			t.Errorf("Validate(%q) = %v, want ok=%v", tc.protocol, err, tc.ok)
		}
	}
}

func TestOffIsNoop(t *testing.T) {
	p, err := New(context.Background(), Config{})
	if err != nil {
		t.Fatal(err)
	}
	_, span := p.Tracer("t").Start(context.Background(), "x")
	if span.SpanContext().IsValid() {
		t.Error("tracing off, yet the span has a valid context")
	}
	span.End()
	if err := p.Shutdown(context.Background()); err != nil {
		t.Error(err)
	}
}

func TestOnExportsLazily(t *testing.T) {
	// An unreachable collector must not fail start-up: spans are dropped,
	// webhooks are not.
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")
	for _, protocol := range []string{ProtocolHTTP, ProtocolGRPC} {
		p, err := New(context.Background(), Config{Enabled: true, Protocol: protocol, Version: "test"})
		if err != nil {
			t.Fatalf("%s: %v", protocol, err)
		}
		_, span := p.Tracer("t").Start(context.Background(), "x")
		if !span.SpanContext().IsValid() {
			t.Errorf("%s: tracing on, yet the span is not recording", protocol)
		}
		span.End()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_ = p.Shutdown(ctx) // the collector is down; only bounded time matters
	}
}
