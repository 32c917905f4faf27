// Package metrics holds the bridge's Prometheus metrics, all prefixed
// engage_bridge_, on a registry of their own (no global state). Every
// label has a bounded set of values: event types outside the documented
// ones count as "other", and no label ever carries a delivery's content.
package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/engage-bridge/engage-bridge/schemas"
)

const namespace = "engage_bridge"

// Metrics records what the bridge does.
type Metrics struct {
	registry *prometheus.Registry

	requests          *prometheus.CounterVec
	requestDuration   *prometheus.HistogramVec
	published         *prometheus.CounterVec
	deadLetters       *prometheus.CounterVec
	signatureFailures *prometheus.CounterVec
	duplicates        prometheus.Counter
	schemaDrift       *prometheus.CounterVec
	publishDuration   *prometheus.HistogramVec
	rejected          *prometheus.CounterVec
	missingTopics     *prometheus.CounterVec
	inFlight          prometheus.Gauge
	ready             prometheus.Gauge
	configReloads     *prometheus.CounterVec
	configReloadErrs  *prometheus.CounterVec
}

// durationBuckets run from 250 µs to 16 s: a publish normally takes about
// a millisecond, and Svix gives up after 15 s.
func durationBuckets() []float64 {
	return prometheus.ExponentialBuckets(0.00025, 2, 17)
}

// New registers every metric, plus the Go runtime and process collectors,
// on a new registry.
func New() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "requests_total",
			Help: "Webhook requests by outcome (published, duplicate, deadlettered, invalid_signature, unavailable, ...) and endpoint (empty for paths that are no endpoint's).",
		}, []string{"outcome", "endpoint"}),
		requestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "request_duration_seconds",
			Help:    "Time from request start to answer, by outcome.",
			Buckets: durationBuckets(),
		}, []string{"outcome"}),
		published: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "published_total",
			Help: "Records acknowledged by Kafka, by topic, event type and endpoint.",
		}, []string{"topic", "event_type", "endpoint"}),
		deadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "deadletters_total",
			Help: "Signed deliveries written to the dead-letter topic, by reason and endpoint.",
		}, []string{"reason", "endpoint"}),
		signatureFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "signature_failures_total",
			Help: "Deliveries refused with 401 invalid_signature, by reason and endpoint.",
		}, []string{"reason", "endpoint"}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "duplicates_total",
			Help: "Deliveries whose svix-id was already published within the dedupe TTL.",
		}),
		schemaDrift: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "schema_drift_total",
			Help: "Published events whose payload did not match their event type's schema.",
		}, []string{"event_type"}),
		publishDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "kafka_publish_duration_seconds",
			Help:    "Time Kafka took to acknowledge a record with acks=all, by result (ok, unavailable, rejected, client_closed: the sender left first).",
			Buckets: durationBuckets(),
		}, []string{"result"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "kafka_rejected_total",
			Help: "Records Kafka refused for good (for example larger than max.message.bytes); fix the topic within Svix's retry window.",
		}, []string{"topic"}),
		missingTopics: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "kafka_missing_topic_total",
			Help: "Publishes answered 503 because their topic does not exist, by topic; create it with engage-bridge topics.",
		}, []string{"topic"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "in_flight_requests",
			Help: "Webhook requests being handled now, each counted until the publisher has let go of its record (possibly after the answer); at most BRIDGE_MAX_IN_FLIGHT.",
		}),
		ready: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "kafka_ready",
			Help: "1 when the last readiness check reached Kafka and found the routed topics, else 0.",
		}),
		configReloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "config_reloads_total",
			Help: "Configuration files re-read after a change and taken into use, by the file's role (signing_secrets, encryption_key, auth_token, endpoints).",
		}, []string{"file"}),
		configReloadErrs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "config_reload_errors_total",
			Help: "Changed configuration files refused (unreadable or invalid; the previous values stay in use), by the file's role.",
		}, []string{"file"}),
	}
	m.registry.MustRegister(
		m.requests, m.requestDuration, m.published, m.deadLetters, m.signatureFailures,
		m.duplicates, m.schemaDrift, m.publishDuration, m.rejected, m.missingTopics, m.inFlight, m.ready,
		m.configReloads, m.configReloadErrs,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Registry is what /metrics serves.
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

// EventTypeLabel bounds the event_type label: documented types as they
// are, anything else as "other".
func EventTypeLabel(eventType string) string {
	if schemas.IsDocumented(eventType) {
		return eventType
	}
	return "other"
}

// Request counts one answered webhook request. endpoint is the name of the
// endpoint whose path it came to, empty for any other path: a bounded set
// fixed at start.
func (m *Metrics) Request(outcome, endpoint string, d time.Duration) {
	m.requests.WithLabelValues(outcome, endpoint).Inc()
	m.requestDuration.WithLabelValues(outcome).Observe(d.Seconds())
}

// Published counts one acknowledged event record. The caller bounds topic.
func (m *Metrics) Published(topic, eventType, endpoint string) {
	m.published.WithLabelValues(topic, EventTypeLabel(eventType), endpoint).Inc()
}

// DeadLetter counts one acknowledged dead-letter record.
func (m *Metrics) DeadLetter(reason, endpoint string) {
	m.deadLetters.WithLabelValues(reason, endpoint).Inc()
}

// SignatureFailure counts one 401 invalid_signature answer.
func (m *Metrics) SignatureFailure(reason, endpoint string) {
	m.signatureFailures.WithLabelValues(reason, endpoint).Inc()
}

// Duplicate counts one delivery answered as a duplicate.
func (m *Metrics) Duplicate() { m.duplicates.Inc() }

// SchemaDrift counts one published event whose payload missed its schema.
func (m *Metrics) SchemaDrift(eventType string) {
	m.schemaDrift.WithLabelValues(EventTypeLabel(eventType)).Inc()
}

// Publish observes one Kafka publish; result is ok, unavailable or rejected.
func (m *Metrics) Publish(result string, d time.Duration) {
	m.publishDuration.WithLabelValues(result).Observe(d.Seconds())
}

// Rejected counts one record Kafka refused for good. The caller bounds topic.
func (m *Metrics) Rejected(topic string) { m.rejected.WithLabelValues(topic).Inc() }

// MissingTopic counts one publish whose topic does not exist. The caller
// bounds topic.
func (m *Metrics) MissingTopic(topic string) { m.missingTopics.WithLabelValues(topic).Inc() }

// InFlight moves the in-flight gauge by delta.
func (m *Metrics) InFlight(delta float64) { m.inFlight.Add(delta) }

// Ready records the outcome of a readiness check.
func (m *Metrics) Ready(ok bool) {
	if ok {
		m.ready.Set(1)
	} else {
		m.ready.Set(0)
	}
}

// ConfigReload counts one re-read of a changed configuration file: ok when
// its new content took effect, else refused with the previous values kept.
// file is the file's role (signing_secrets, endpoints, ...), one of a
// fixed set the caller names, never a path.
func (m *Metrics) ConfigReload(file string, ok bool) {
	if ok {
		m.configReloads.WithLabelValues(file).Inc()
	} else {
		m.configReloadErrs.WithLabelValues(file).Inc()
	}
}
