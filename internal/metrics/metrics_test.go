package metrics

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// samples gathers the registry's engage_bridge_ series as
// "name{label=value,...}" -> value; a histogram counts its observations.
func samples(t *testing.T, m *Metrics) map[string]float64 {
	t.Helper()
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		if !strings.HasPrefix(f.GetName(), namespace+"_") {
			continue
		}
		for _, s := range f.GetMetric() {
			var labels []string
			for _, l := range s.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			slices.Sort(labels)
			name := f.GetName() + "{" + strings.Join(labels, ",") + "}"
			switch f.GetType().String() {
			case "COUNTER":
				got[name] = s.GetCounter().GetValue()
			case "GAUGE":
				got[name] = s.GetGauge().GetValue()
			case "HISTOGRAM":
				got[name] = float64(s.GetHistogram().GetSampleCount())
			default:
				t.Fatalf("%s: unexpected type %s", f.GetName(), f.GetType())
			}
		}
	}
	return got
}

// TestRecord: each method moves its own series, with the labels the
// caller gave and event types outside the documented ones as "other".
// (TestContractMetrics holds names, types and label names to the docs.)
func TestRecord(t *testing.T) {
	t.Parallel()
	// The gauges exist from the start: they are in every gathering.
	idle := map[string]float64{"engage_bridge_in_flight_requests{}": 0, "engage_bridge_kafka_ready{}": 0, "engage_bridge_duplicates_total{}": 0}
	with := func(more map[string]float64) map[string]float64 {
		want := map[string]float64{}
		for k, v := range idle {
			want[k] = v
		}
		for k, v := range more {
			want[k] = v
		}
		return want
	}
	tests := []struct {
		name   string
		record func(m *Metrics)
		want   map[string]float64
	}{
		{"nothing", func(*Metrics) {}, idle},
		{"request", func(m *Metrics) {
			m.Request("published", "default", time.Millisecond)
			m.Request("published", "default", time.Millisecond)
			m.Request("unavailable", "brand-se", time.Second)
		}, with(map[string]float64{
			"engage_bridge_requests_total{endpoint=default,outcome=published}":    2,
			"engage_bridge_requests_total{endpoint=brand-se,outcome=unavailable}": 1,
			"engage_bridge_request_duration_seconds{outcome=published}":           2,
			"engage_bridge_request_duration_seconds{outcome=unavailable}":         1,
		})},
		{"published, documented and not", func(m *Metrics) {
			m.Published("engage.contact", "contact.updated", "default")
			m.Published("engage.other", "made.up.event", "default")
			m.Published("engage.other", "another.one", "default")
		}, with(map[string]float64{
			"engage_bridge_published_total{endpoint=default,event_type=contact.updated,topic=engage.contact}": 1,
			"engage_bridge_published_total{endpoint=default,event_type=other,topic=engage.other}":             2,
		})},
		{"schema drift, documented and not", func(m *Metrics) {
			m.SchemaDrift("contact.updated")
			m.SchemaDrift("made.up.event")
		}, with(map[string]float64{
			"engage_bridge_schema_drift_total{event_type=contact.updated}": 1,
			"engage_bridge_schema_drift_total{event_type=other}":           1,
		})},
		{"dead letter, signature failure, duplicate", func(m *Metrics) {
			m.DeadLetter("invalid_json", "default")
			m.SignatureFailure("no_match", "brand-no")
			m.Duplicate()
			m.Duplicate()
		}, with(map[string]float64{
			"engage_bridge_deadletters_total{endpoint=default,reason=invalid_json}":     1,
			"engage_bridge_signature_failures_total{endpoint=brand-no,reason=no_match}": 1,
			"engage_bridge_duplicates_total{}":                                          2,
		})},
		{"kafka", func(m *Metrics) {
			m.Publish("ok", time.Millisecond)
			m.Publish("client_closed", time.Millisecond)
			m.Rejected("engage.contact")
			m.MissingTopic("engage.loyalty")
		}, with(map[string]float64{
			"engage_bridge_kafka_publish_duration_seconds{result=ok}":            1,
			"engage_bridge_kafka_publish_duration_seconds{result=client_closed}": 1,
			"engage_bridge_kafka_rejected_total{topic=engage.contact}":           1,
			"engage_bridge_kafka_missing_topic_total{topic=engage.loyalty}":      1,
		})},
		{"in flight moves both ways", func(m *Metrics) {
			m.InFlight(1)
			m.InFlight(1)
			m.InFlight(-1)
		}, with(map[string]float64{"engage_bridge_in_flight_requests{}": 1})},
		{"ready", func(m *Metrics) { m.Ready(true) }, with(map[string]float64{"engage_bridge_kafka_ready{}": 1})},
		{"ready, then not", func(m *Metrics) {
			m.Ready(true)
			m.Ready(false)
		}, idle},
		{"config reload, taken and refused", func(m *Metrics) {
			m.ConfigReload("signing_secrets", true)
			m.ConfigReload("endpoints", false)
			m.ConfigReload("endpoints", false)
		}, with(map[string]float64{
			"engage_bridge_config_reloads_total{file=signing_secrets}": 1,
			"engage_bridge_config_reload_errors_total{file=endpoints}": 2,
		})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := New()
			tt.record(m)
			if diff := cmp.Diff(tt.want, samples(t, m)); diff != "" {
				t.Errorf("series (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRegistriesIndependent: each New has its own registry (no global
// state), with the Go runtime and process collectors on it.
func TestRegistriesIndependent(t *testing.T) {
	t.Parallel()
	a, b := New(), New()
	a.Duplicate()
	if got := samples(t, b)["engage_bridge_duplicates_total{}"]; got != 0 {
		t.Errorf("a second Metrics counted the first one's duplicate: %v", got)
	}
	families, err := a.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range families {
		names = append(names, f.GetName())
	}
	for _, want := range []string{"go_goroutines", "process_start_time_seconds"} {
		if !slices.Contains(names, want) {
			t.Errorf("registry lacks %s", want)
		}
	}
}
