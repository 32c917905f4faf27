package main

import (
	"strings"

	"github.com/engage-bridge/engage-bridge/internal/tracing"
)

// tracingConfig reads the standard OpenTelemetry switches. Tracing is off
// unless an OTLP endpoint is configured or OTEL_TRACES_EXPORTER is otlp;
// OTEL_SDK_DISABLED=true and OTEL_TRACES_EXPORTER=none turn it off. The
// exporter reads its other OTEL_EXPORTER_OTLP_* settings itself.
func (v *values) tracingConfig() tracing.Config {
	c := tracing.Config{Version: buildVersion()}
	exporter := strings.ToLower(strings.TrimSpace(v.getenv("OTEL_TRACES_EXPORTER")))
	endpoint := v.getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") + v.getenv("OTEL_EXPORTER_OTLP_ENDPOINT")
	switch exporter {
	case "otlp":
		c.Enabled = true
	case "", "none":
		c.Enabled = exporter == "" && endpoint != ""
	default:
		v.problem("OTEL_TRACES_EXPORTER", "%q is not supported: use otlp or none", exporter)
	}
	if strings.EqualFold(strings.TrimSpace(v.getenv("OTEL_SDK_DISABLED")), "true") {
		c.Enabled = false
	}
	c.Protocol = strings.TrimSpace(v.getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"))
	name := "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
	if c.Protocol == "" {
		c.Protocol, name = strings.TrimSpace(v.getenv("OTEL_EXPORTER_OTLP_PROTOCOL")), "OTEL_EXPORTER_OTLP_PROTOCOL"
	}
	if err := c.Validate(); err != nil {
		v.problem(name, "%v", err)
	}
	return c
}
