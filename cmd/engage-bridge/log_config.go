package main

import (
	"net/netip"
	"strings"

	"github.com/rs/zerolog"

	"github.com/engage-bridge/engage-bridge/internal/dedupe"
)

// logConfig logs the configuration once, secrets redacted.
func logConfig(log zerolog.Logger, c config) {
	in := c.Ingress
	ev := log.Info().
		Str("listen", c.Listen).Str("admin_listen", c.AdminListen).Str("webhook_path", in.Path).
		Int("signing_secrets", len(in.SigningSecrets)).Bool("encryption_key", in.EncryptionKey != nil).
		Stringer("timestamp_tolerance", in.Tolerance).Int64("max_body_bytes", in.MaxBodyBytes).
		Str("allowed_ips", prefixes(in.AllowedIPs)).Str("trusted_proxies", prefixes(in.TrustedProxies)).
		Str("auth_header", in.AuthHeader).Bool("auth_token", in.AuthToken != "").
		Strs("kafka_brokers", c.Kafka.Brokers).Bool("kafka_tls", c.Kafka.TLS != nil).
		Str("kafka_sasl", c.Kafka.SASL.String()).Str("kafka_client_id", c.Kafka.ClientID).
		Str("kafka_compression", string(c.Compression)).
		Stringer("publish_timeout", in.PublishTimeout).Str("routes_file", c.RoutesFile).
		Stringer("dedupe_ttl", c.Dedupe.TTL).Int("dedupe_max_entries", c.Dedupe.MaxEntries).
		Int("dedupe_max_bytes", dedupeMaxBytes(c.Dedupe)).
		Int("max_in_flight", in.MaxInFlight).
		Bool("tracing", c.Tracing.Enabled)
	if c.EndpointsFile != "" {
		ev.Str("endpoints_file", c.EndpointsFile)
		for _, e := range in.Endpoints {
			ev.Dict("endpoint_"+e.Name, zerolog.Dict().Str("path", e.Path).Int("signing_secrets", len(e.Secrets)).
				Bool("encryption_key", e.Key != nil).Strs("tenants", e.Tenants).Bool("own_routes", e.Routes != nil))
		}
	}
	if c.Routes != nil {
		ev.Strs("topics", allTopics(c.tables()))
	}
	ev.Msg("configuration")
}

// dedupeMaxBytes is the most the dedupe cache holds, outside the Go heap
// (so not counted by GOMEMLIMIT); 0 when dedupe is off.
func dedupeMaxBytes(c dedupe.Config) int {
	if c.TTL <= 0 {
		return 0
	}
	return dedupe.MaxFootprint(c.MaxEntries)
}

func prefixes(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}
