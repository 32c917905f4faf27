package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/engage-bridge/engage-bridge/internal/dedupe"
	"github.com/engage-bridge/engage-bridge/internal/testcert"
	"github.com/engage-bridge/engage-bridge/publisher"
)

// loadConfig reads the serve configuration from env alone.
func loadConfig(env map[string]string) (config, error) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	v := newValues(fs, envOf(env))
	if err := fs.Parse(nil); err != nil {
		return config{}, err
	}
	c := v.bridgeConfig(true)
	return c, v.err()
}

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestConfigValidation covers every variable of docs/contract.md#configuration with good values
// (and what they turn into) and bad ones, with the exact message a user
// sees on stderr before serve exits 2.
func TestConfigValidation(t *testing.T) {
	t.Parallel()
	certs := testcert.New(t)
	secretsFile := writeFile(t, "secrets", "# rotated 2026-11\n"+e2eSecret+"\n\n"+e2eSecret2+"\n")
	shortSecretsFile := writeFile(t, "short-secrets", e2eSecret+"\n# the next one is too short\nwhsec_bm9wZQ==\n")
	keyFile := writeFile(t, "key", e2eKey+"\n")
	tokenFile := writeFile(t, "token", "tok-from-file\n")
	passwordFile := writeFile(t, "password", "kafka-pass-from-file\n")
	notPEM := writeFile(t, "not.pem", "hello\n")
	routes := writeFile(t, "routes.yaml", "routes:\n  - match: [\"contact.*\"]\n    topic: crm.contact\nfallback: crm.other\n")
	badRoutes := writeFile(t, "bad.yaml", "routes:\n  - match: [\"contact.*\"]\n    topc: crm.contact\n")
	badTemplate := writeFile(t, "template.yaml", "routes:\n  - match: [\"*\"]\n    topic: \"engage.{eventName}\"\n")

	endpointsFile := writeFile(t, "endpoints.yaml", "endpoints:\n  - name: brand-a\n    path: /a\n    signing_secrets_file: "+secretsFile+
		"\n  - name: brand-b\n    path: /b\n    signing_secrets: ["+e2eSecret2+"]\n    encryption_key_file: "+keyFile+"\n")

	base := map[string]string{
		"BRIDGE_SIGNING_SECRETS": e2eSecret,
		"BRIDGE_KAFKA_BROKERS":   "kafka-1:9092",
	}
	tests := []struct {
		vars  string // the variables the case is about, first one named
		set   map[string]string
		want  string // the problems after "invalid configuration: ", "" when valid
		check func(config) bool
	}{
		{"BRIDGE_LISTEN", map[string]string{"BRIDGE_LISTEN": "127.0.0.1:8081"}, "", func(c config) bool { return c.Listen == "127.0.0.1:8081" }},
		{"BRIDGE_LISTEN", map[string]string{"BRIDGE_LISTEN": "8080"}, `BRIDGE_LISTEN: "8080" is not host:port (for example :8080 or 127.0.0.1:8080)`, nil},
		{"BRIDGE_LISTEN", map[string]string{"BRIDGE_LISTEN": ":99999"}, `BRIDGE_LISTEN: ":99999" has no valid port`, nil},
		{"BRIDGE_WEBHOOK_PATH", map[string]string{"BRIDGE_WEBHOOK_PATH": "/hooks/voyado"}, "", func(c config) bool { return c.Ingress.Path == "/hooks/voyado" }},
		{"BRIDGE_WEBHOOK_PATH", map[string]string{"BRIDGE_WEBHOOK_PATH": "hooks"}, `BRIDGE_WEBHOOK_PATH: not a webhook path: "hooks" must start with /`, nil},
		{"BRIDGE_WEBHOOK_PATH", map[string]string{"BRIDGE_WEBHOOK_PATH": "/hooks/:id"}, `BRIDGE_WEBHOOK_PATH: not a webhook path: "/hooks/:id": segments are letters, digits and -._~!$&'()+,;= (no : or *)`, nil},
		{"BRIDGE_ENDPOINTS_FILE", map[string]string{"BRIDGE_ENDPOINTS_FILE": endpointsFile, "BRIDGE_SIGNING_SECRETS": ""}, "", func(c config) bool {
			return len(c.Ingress.Endpoints) == 2 && len(c.Ingress.Endpoints[0].Secrets) == 2 && c.Ingress.Endpoints[1].Key != nil
		}},
		{"BRIDGE_ENDPOINTS_FILE", map[string]string{"BRIDGE_ENDPOINTS_FILE": endpointsFile}, "BRIDGE_ENDPOINTS_FILE: set BRIDGE_ENDPOINTS_FILE or BRIDGE_SIGNING_SECRETS, not both: each endpoint of the file has its own path, secrets and key", nil},
		{"BRIDGE_ENDPOINTS_FILE", map[string]string{"BRIDGE_ENDPOINTS_FILE": notPEM, "BRIDGE_SIGNING_SECRETS": ""}, "BRIDGE_ENDPOINTS_FILE: the file must be a mapping with one key, endpoints (line 1)", nil},
		{"BRIDGE_ADMIN_LISTEN", map[string]string{"BRIDGE_ADMIN_LISTEN": "127.0.0.1:9191"}, "", func(c config) bool { return c.AdminListen == "127.0.0.1:9191" }},
		{"BRIDGE_ADMIN_LISTEN", map[string]string{"BRIDGE_ADMIN_LISTEN": ":8080"}, "BRIDGE_ADMIN_LISTEN: must differ from BRIDGE_LISTEN (:8080)", nil},
		{"BRIDGE_ADMIN_LISTEN", map[string]string{"BRIDGE_ADMIN_LISTEN": "admin"}, `BRIDGE_ADMIN_LISTEN: "admin" is not host:port (for example :8080 or 127.0.0.1:8080)`, nil},
		{"BRIDGE_SIGNING_SECRETS", map[string]string{"BRIDGE_SIGNING_SECRETS": e2eSecret + " , " + e2eSecret2}, "", func(c config) bool { return len(c.Ingress.SigningSecrets) == 2 }},
		{"BRIDGE_SIGNING_SECRETS", map[string]string{"BRIDGE_SIGNING_SECRETS": ""}, "BRIDGE_SIGNING_SECRETS: required: the whsec_ signing secret from the Svix portal (or BRIDGE_SIGNING_SECRETS_FILE)", nil},
		{"BRIDGE_SIGNING_SECRETS", map[string]string{"BRIDGE_SIGNING_SECRETS": e2eSecret + ",whsec_not*base64"}, "BRIDGE_SIGNING_SECRETS: signing secret 2 of 2 is not a whsec_ secret (expected whsec_ followed by standard base64)", nil},
		{"BRIDGE_SIGNING_SECRETS_FILE", map[string]string{"BRIDGE_SIGNING_SECRETS": "", "BRIDGE_SIGNING_SECRETS_FILE": secretsFile}, "", func(c config) bool { return len(c.Ingress.SigningSecrets) == 2 }},
		// Defect 5 of issue 14: whsec_ and at least 24 bytes, each bad entry
		// named by position.
		{"BRIDGE_SIGNING_SECRETS", map[string]string{"BRIDGE_SIGNING_SECRETS": "nope"}, "BRIDGE_SIGNING_SECRETS: signing secret 1 of 1 does not start with whsec_", nil},
		{"BRIDGE_SIGNING_SECRETS", map[string]string{"BRIDGE_SIGNING_SECRETS": e2eSecret + "," + e2eSecret[6:]}, "BRIDGE_SIGNING_SECRETS: signing secret 2 of 2 does not start with whsec_", nil},
		{"BRIDGE_SIGNING_SECRETS", map[string]string{"BRIDGE_SIGNING_SECRETS": "whsec_bm9wZQ==," + e2eSecret + ",whsec_%"},
			"BRIDGE_SIGNING_SECRETS: signing secret 1 of 3 is shorter than 24 bytes after base64 decoding (Svix's secrets have 24 or 32); signing secret 3 of 3 is not a whsec_ secret (expected whsec_ followed by standard base64)", nil},
		{"BRIDGE_SIGNING_SECRETS_FILE", map[string]string{"BRIDGE_SIGNING_SECRETS": "", "BRIDGE_SIGNING_SECRETS_FILE": shortSecretsFile},
			"BRIDGE_SIGNING_SECRETS_FILE: signing secret 2 of 2 is shorter than 24 bytes after base64 decoding (Svix's secrets have 24 or 32)", nil},
		// Defect 6 of issue 14: one problem per variable, the true one.
		{"BRIDGE_SIGNING_SECRETS_FILE", map[string]string{"BRIDGE_SIGNING_SECRETS": "", "BRIDGE_SIGNING_SECRETS_FILE": "/nonexistent/secrets"},
			"BRIDGE_SIGNING_SECRETS_FILE: cannot read the file: no such file or directory", nil},
		{"BRIDGE_SIGNING_SECRETS_FILE", map[string]string{"BRIDGE_SIGNING_SECRETS_FILE": secretsFile},
			"BRIDGE_SIGNING_SECRETS: set BRIDGE_SIGNING_SECRETS or BRIDGE_SIGNING_SECRETS_FILE, not both", nil},
		{"BRIDGE_ENCRYPTION_KEY", map[string]string{"BRIDGE_ENCRYPTION_KEY": e2eKey}, "", func(c config) bool { return c.Ingress.EncryptionKey != nil }},
		{"BRIDGE_ENCRYPTION_KEY", map[string]string{}, "", func(c config) bool { return c.Ingress.EncryptionKey == nil }},
		{"BRIDGE_ENCRYPTION_KEY", map[string]string{"BRIDGE_ENCRYPTION_KEY": "tooShortKey123"}, "BRIDGE_ENCRYPTION_KEY: must be exactly 32 single-byte characters, got 14 characters in 14 bytes", nil},
		{"BRIDGE_ENCRYPTION_KEY", map[string]string{"BRIDGE_ENCRYPTION_KEY": e2eKey[:31] + "é"}, "BRIDGE_ENCRYPTION_KEY: must be exactly 32 single-byte characters, got 32 characters in 33 bytes", nil},
		{"BRIDGE_ENCRYPTION_KEY_FILE", map[string]string{"BRIDGE_ENCRYPTION_KEY_FILE": keyFile}, "", func(c config) bool { return c.Ingress.EncryptionKey != nil }},
		{"BRIDGE_ENCRYPTION_KEY_FILE", map[string]string{"BRIDGE_ENCRYPTION_KEY_FILE": keyFile, "BRIDGE_ENCRYPTION_KEY": e2eKey}, "BRIDGE_ENCRYPTION_KEY: set BRIDGE_ENCRYPTION_KEY or BRIDGE_ENCRYPTION_KEY_FILE, not both", nil},
		{"BRIDGE_TIMESTAMP_TOLERANCE", map[string]string{"BRIDGE_TIMESTAMP_TOLERANCE": "90s"}, "", func(c config) bool { return c.Ingress.Tolerance == 90*time.Second }},
		{"BRIDGE_TIMESTAMP_TOLERANCE", map[string]string{}, "", func(c config) bool { return c.Ingress.Tolerance == 5*time.Minute }},
		{"BRIDGE_TIMESTAMP_TOLERANCE", map[string]string{"BRIDGE_TIMESTAMP_TOLERANCE": "0s"}, "BRIDGE_TIMESTAMP_TOLERANCE: must be positive, got 0s", nil},
		{"BRIDGE_TIMESTAMP_TOLERANCE", map[string]string{"BRIDGE_TIMESTAMP_TOLERANCE": "300"}, `BRIDGE_TIMESTAMP_TOLERANCE: "300" is not a duration (for example 8s, 5m, 24h)`, nil},
		{"BRIDGE_MAX_BODY_BYTES", map[string]string{"BRIDGE_MAX_BODY_BYTES": "2097152"}, "", func(c config) bool { return c.Ingress.MaxBodyBytes == 2<<20 }},
		{"BRIDGE_MAX_BODY_BYTES", map[string]string{}, "", func(c config) bool { return c.Ingress.MaxBodyBytes == 1<<20 }},
		{"BRIDGE_MAX_BODY_BYTES", map[string]string{"BRIDGE_MAX_BODY_BYTES": "1MB"}, `BRIDGE_MAX_BODY_BYTES: "1MB" is not a whole number`, nil},
		{"BRIDGE_MAX_BODY_BYTES", map[string]string{"BRIDGE_MAX_BODY_BYTES": "0"}, "BRIDGE_MAX_BODY_BYTES: must be between 1 and 67108864, got 0", nil},
		{"BRIDGE_ALLOWED_IPS", map[string]string{"BRIDGE_ALLOWED_IPS": "svix-eu, 10.0.0.0/8,192.0.2.1"}, "", func(c config) bool { return len(c.Ingress.AllowedIPs) > 3 }},
		{"BRIDGE_ALLOWED_IPS", map[string]string{"BRIDGE_ALLOWED_IPS": "svix-us"}, `BRIDGE_ALLOWED_IPS: "svix-us" is not an IP address or CIDR prefix (or the word svix-eu)`, nil},
		{"BRIDGE_TRUSTED_PROXIES", map[string]string{"BRIDGE_TRUSTED_PROXIES": "10.0.0.0/8,fd00::/8"}, "", func(c config) bool { return len(c.Ingress.TrustedProxies) == 2 }},
		{"BRIDGE_TRUSTED_PROXIES", map[string]string{"BRIDGE_TRUSTED_PROXIES": "10.0.0.0/33"}, `BRIDGE_TRUSTED_PROXIES: "10.0.0.0/33" is not an IP address or CIDR prefix`, nil},
		{"BRIDGE_TRUSTED_PROXIES", map[string]string{"BRIDGE_TRUSTED_PROXIES": "svix-eu"}, `BRIDGE_TRUSTED_PROXIES: "svix-eu" is not an IP address or CIDR prefix`, nil},
		{"BRIDGE_AUTH_HEADER", map[string]string{"BRIDGE_AUTH_HEADER": "X-Engage-Token", "BRIDGE_AUTH_TOKEN": "tok"}, "", func(c config) bool { return c.Ingress.AuthHeader == "X-Engage-Token" && c.Ingress.AuthToken == "tok" }},
		{"BRIDGE_AUTH_HEADER", map[string]string{"BRIDGE_AUTH_HEADER": "X-Engage-Token"}, "BRIDGE_AUTH_TOKEN: required when BRIDGE_AUTH_HEADER is set", nil},
		{"BRIDGE_AUTH_HEADER", map[string]string{"BRIDGE_AUTH_HEADER": "X Engage Token", "BRIDGE_AUTH_TOKEN": "tok"}, `BRIDGE_AUTH_HEADER: "X Engage Token" is not an HTTP header name (letters, digits and !#$%&'*+-.^_` + "`" + `|~)`, nil},
		{"BRIDGE_AUTH_HEADER", map[string]string{"BRIDGE_AUTH_HEADER": "Svix-Token", "BRIDGE_AUTH_TOKEN": "tok"}, `BRIDGE_AUTH_HEADER: "Svix-Token" is one of Svix's own headers; choose another name (for example X-Engage-Token)`, nil},
		{"BRIDGE_AUTH_TOKEN", map[string]string{"BRIDGE_AUTH_HEADER": "X-Engage-Token", "BRIDGE_AUTH_TOKEN": " tok "}, "", func(c config) bool { return c.Ingress.AuthToken == "tok" }},
		{"BRIDGE_AUTH_TOKEN", map[string]string{"BRIDGE_AUTH_TOKEN": "tok"}, "BRIDGE_AUTH_HEADER: required when BRIDGE_AUTH_TOKEN is set", nil},
		{"BRIDGE_AUTH_TOKEN_FILE", map[string]string{"BRIDGE_AUTH_HEADER": "X-Engage-Token", "BRIDGE_AUTH_TOKEN_FILE": tokenFile}, "", func(c config) bool { return c.Ingress.AuthToken == "tok-from-file" }},
		{"BRIDGE_AUTH_TOKEN_FILE", map[string]string{"BRIDGE_AUTH_HEADER": "X-Engage-Token", "BRIDGE_AUTH_TOKEN_FILE": "/nonexistent/token"},
			"BRIDGE_AUTH_TOKEN_FILE: cannot read the file: no such file or directory", nil},
		{"BRIDGE_AUTH_TOKEN_FILE", map[string]string{"BRIDGE_AUTH_HEADER": "X-Engage-Token", "BRIDGE_AUTH_TOKEN": "tok", "BRIDGE_AUTH_TOKEN_FILE": tokenFile},
			"BRIDGE_AUTH_TOKEN: set BRIDGE_AUTH_TOKEN or BRIDGE_AUTH_TOKEN_FILE, not both", nil},
		{"BRIDGE_KAFKA_BROKERS", map[string]string{"BRIDGE_KAFKA_BROKERS": "kafka-1:9092, kafka-2:9092"}, "", func(c config) bool { return len(c.Kafka.Brokers) == 2 && c.Kafka.Brokers[1] == "kafka-2:9092" }},
		{"BRIDGE_KAFKA_BROKERS", map[string]string{"BRIDGE_KAFKA_BROKERS": ""}, "BRIDGE_KAFKA_BROKERS: required (comma-separated host:port)", nil},
		{"BRIDGE_KAFKA_BROKERS", map[string]string{"BRIDGE_KAFKA_BROKERS": "kafka-1"}, `BRIDGE_KAFKA_BROKERS: "kafka-1" is not host:port`, nil},
		{"BRIDGE_KAFKA_TLS", map[string]string{"BRIDGE_KAFKA_TLS": "true"}, "", func(c config) bool { return c.Kafka.TLS != nil && c.Kafka.TLS.RootCAs == nil }},
		{"BRIDGE_KAFKA_TLS", map[string]string{}, "", func(c config) bool { return c.Kafka.TLS == nil }},
		{"BRIDGE_KAFKA_TLS", map[string]string{"BRIDGE_KAFKA_TLS": "yes"}, `BRIDGE_KAFKA_TLS: "yes" is not true or false`, nil},
		{"BRIDGE_KAFKA_CA_FILE", map[string]string{"BRIDGE_KAFKA_CA_FILE": certs.CAFile}, "", func(c config) bool { return c.Kafka.TLS != nil && c.Kafka.TLS.RootCAs != nil }},
		{"BRIDGE_KAFKA_CA_FILE", map[string]string{"BRIDGE_KAFKA_CA_FILE": "/nonexistent/ca.pem"}, "BRIDGE_KAFKA_CA_FILE: cannot read /nonexistent/ca.pem: no such file or directory", nil},
		{"BRIDGE_KAFKA_CA_FILE", map[string]string{"BRIDGE_KAFKA_CA_FILE": notPEM}, "BRIDGE_KAFKA_CA_FILE: " + notPEM + " holds no PEM certificate", nil},
		{"BRIDGE_KAFKA_CERT_FILE", map[string]string{"BRIDGE_KAFKA_CERT_FILE": certs.ClientCertFile, "BRIDGE_KAFKA_KEY_FILE": certs.ClientKeyFile}, "", func(c config) bool { return c.Kafka.TLS != nil && len(c.Kafka.TLS.Certificates) == 1 }},
		{"BRIDGE_KAFKA_CERT_FILE", map[string]string{"BRIDGE_KAFKA_CERT_FILE": certs.ClientCertFile}, "BRIDGE_KAFKA_CERT_FILE: BRIDGE_KAFKA_CERT_FILE and BRIDGE_KAFKA_KEY_FILE must be set together", nil},
		{"BRIDGE_KAFKA_KEY_FILE", map[string]string{"BRIDGE_KAFKA_CERT_FILE": certs.ServerCertFile, "BRIDGE_KAFKA_KEY_FILE": certs.ServerKeyFile}, "", func(c config) bool { return len(c.Kafka.TLS.Certificates) == 1 }},
		{"BRIDGE_KAFKA_KEY_FILE", map[string]string{"BRIDGE_KAFKA_CERT_FILE": certs.ClientCertFile, "BRIDGE_KAFKA_KEY_FILE": certs.ServerKeyFile}, "BRIDGE_KAFKA_CERT_FILE: cannot load the client certificate and key: tls: private key does not match public key", nil},
		{"BRIDGE_KAFKA_KEY_FILE", map[string]string{"BRIDGE_KAFKA_KEY_FILE": certs.ClientKeyFile}, "BRIDGE_KAFKA_CERT_FILE: BRIDGE_KAFKA_CERT_FILE and BRIDGE_KAFKA_KEY_FILE must be set together", nil},
		{"BRIDGE_KAFKA_SASL_MECHANISM", map[string]string{"BRIDGE_KAFKA_SASL_MECHANISM": "scram-sha-512", "BRIDGE_KAFKA_USERNAME": "u", "BRIDGE_KAFKA_PASSWORD": "kafka-pass"}, "", func(c config) bool { return c.Kafka.SASL.Mechanism == "SCRAM-SHA-512" }},
		{"BRIDGE_KAFKA_SASL_MECHANISM", map[string]string{"BRIDGE_KAFKA_SASL_MECHANISM": "GSSAPI"}, `BRIDGE_KAFKA_SASL_MECHANISM: "GSSAPI" is not PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512`, nil},
		{"BRIDGE_KAFKA_SASL_MECHANISM", map[string]string{"BRIDGE_KAFKA_SASL_MECHANISM": "PLAIN"}, "BRIDGE_KAFKA_USERNAME: required with BRIDGE_KAFKA_SASL_MECHANISM; BRIDGE_KAFKA_PASSWORD: required with BRIDGE_KAFKA_SASL_MECHANISM", nil},
		{"BRIDGE_KAFKA_USERNAME", map[string]string{"BRIDGE_KAFKA_SASL_MECHANISM": "PLAIN", "BRIDGE_KAFKA_USERNAME": "u", "BRIDGE_KAFKA_PASSWORD": "kafka-pass"}, "", func(c config) bool { return c.Kafka.SASL.Username == "u" }},
		{"BRIDGE_KAFKA_USERNAME", map[string]string{"BRIDGE_KAFKA_USERNAME": "u"}, "BRIDGE_KAFKA_SASL_MECHANISM: required when a Kafka username or password is set (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)", nil},
		{"BRIDGE_KAFKA_PASSWORD", map[string]string{"BRIDGE_KAFKA_SASL_MECHANISM": "PLAIN", "BRIDGE_KAFKA_USERNAME": "u"}, "BRIDGE_KAFKA_PASSWORD: required with BRIDGE_KAFKA_SASL_MECHANISM", nil},
		{"BRIDGE_KAFKA_PASSWORD", map[string]string{"BRIDGE_KAFKA_SASL_MECHANISM": "PLAIN", "BRIDGE_KAFKA_USERNAME": "u", "BRIDGE_KAFKA_PASSWORD": "kafka-pass"}, "", func(c config) bool { return c.Kafka.SASL.Password == "kafka-pass" }},
		{"BRIDGE_KAFKA_PASSWORD_FILE", map[string]string{"BRIDGE_KAFKA_SASL_MECHANISM": "SCRAM-SHA-256", "BRIDGE_KAFKA_USERNAME": "u", "BRIDGE_KAFKA_PASSWORD_FILE": passwordFile}, "", func(c config) bool { return c.Kafka.SASL.Password == "kafka-pass-from-file" }},
		{"BRIDGE_KAFKA_PASSWORD_FILE", map[string]string{"BRIDGE_KAFKA_SASL_MECHANISM": "SCRAM-SHA-256", "BRIDGE_KAFKA_USERNAME": "u", "BRIDGE_KAFKA_PASSWORD_FILE": "/nonexistent/pw"},
			"BRIDGE_KAFKA_PASSWORD_FILE: cannot read the file: no such file or directory", nil},
		{"BRIDGE_KAFKA_PASSWORD_FILE", map[string]string{"BRIDGE_KAFKA_SASL_MECHANISM": "SCRAM-SHA-256", "BRIDGE_KAFKA_USERNAME": "u", "BRIDGE_KAFKA_PASSWORD": "kafka-pass", "BRIDGE_KAFKA_PASSWORD_FILE": passwordFile},
			"BRIDGE_KAFKA_PASSWORD: set BRIDGE_KAFKA_PASSWORD or BRIDGE_KAFKA_PASSWORD_FILE, not both", nil},
		{"BRIDGE_KAFKA_CLIENT_ID", map[string]string{"BRIDGE_KAFKA_CLIENT_ID": "bridge-eu-1"}, "", func(c config) bool { return c.Kafka.ClientID == "bridge-eu-1" }},
		{"BRIDGE_KAFKA_CLIENT_ID", map[string]string{}, "", func(c config) bool { return c.Kafka.ClientID == "engage-bridge" }},
		{"BRIDGE_KAFKA_CLIENT_ID", map[string]string{"BRIDGE_KAFKA_CLIENT_ID": "bridge\x01"}, "BRIDGE_KAFKA_CLIENT_ID: must be at most 255 characters without control characters", nil},
		{"BRIDGE_KAFKA_COMPRESSION", map[string]string{}, "", func(c config) bool { return c.Compression == publisher.CompressionNone }},
		{"BRIDGE_KAFKA_COMPRESSION", map[string]string{"BRIDGE_KAFKA_COMPRESSION": "ZSTD"}, "", func(c config) bool { return c.Compression == publisher.CompressionZstd }},
		{"BRIDGE_KAFKA_COMPRESSION", map[string]string{"BRIDGE_KAFKA_COMPRESSION": "lz4"}, "", func(c config) bool { return c.Compression == publisher.CompressionLz4 }},
		{"BRIDGE_KAFKA_COMPRESSION", map[string]string{"BRIDGE_KAFKA_COMPRESSION": "brotli"}, `BRIDGE_KAFKA_COMPRESSION: compression "brotli" is not none, gzip, snappy, lz4 or zstd`, nil},
		{"BRIDGE_PUBLISH_TIMEOUT", map[string]string{"BRIDGE_PUBLISH_TIMEOUT": "5s"}, "", func(c config) bool { return c.Ingress.PublishTimeout == 5*time.Second }},
		{"BRIDGE_PUBLISH_TIMEOUT", map[string]string{}, "", func(c config) bool { return c.Ingress.PublishTimeout == 8*time.Second }},
		{"BRIDGE_PUBLISH_TIMEOUT", map[string]string{"BRIDGE_PUBLISH_TIMEOUT": "15s"}, "BRIDGE_PUBLISH_TIMEOUT: must be below 15s: Svix stops waiting for an answer after 15s, got 15s", nil},
		{"BRIDGE_PUBLISH_TIMEOUT", map[string]string{"BRIDGE_PUBLISH_TIMEOUT": "0s"}, "BRIDGE_PUBLISH_TIMEOUT: must be positive, got 0s", nil},
		{"BRIDGE_ROUTES_FILE", map[string]string{"BRIDGE_ROUTES_FILE": routes}, "", func(c config) bool {
			topic, _ := c.Routes.Topic("contact.updated", "acme")
			other, _ := c.Routes.Topic("point.balance.updated", "acme")
			return topic == "crm.contact" && other == "crm.other"
		}},
		{"BRIDGE_ROUTES_FILE", map[string]string{}, "", func(c config) bool {
			topic, _ := c.Routes.Topic("point.balance.updated", "acme")
			return topic == "engage.loyalty"
		}},
		{"BRIDGE_ROUTES_FILE", map[string]string{"BRIDGE_ROUTES_FILE": "/nonexistent/routes.yaml"}, "BRIDGE_ROUTES_FILE: routes.yaml: no such file or directory", nil},
		{"BRIDGE_ROUTES_FILE", map[string]string{"BRIDGE_ROUTES_FILE": badRoutes}, `BRIDGE_ROUTES_FILE: bad.yaml: line 3: unknown field "topc" in a route (known: match, topic)`, nil},
		{"BRIDGE_ROUTES_FILE", map[string]string{"BRIDGE_ROUTES_FILE": badTemplate}, `BRIDGE_ROUTES_FILE: template.yaml: line 2: route 1: topic "engage.{eventName}": {eventName} is not a placeholder (use {eventType} or {tenant})`, nil},
		{"BRIDGE_DEDUPE_TTL", map[string]string{"BRIDGE_DEDUPE_TTL": "0"}, "", func(c config) bool { return c.Dedupe.TTL == 0 }},
		{"BRIDGE_DEDUPE_TTL", map[string]string{}, "", func(c config) bool { return c.Dedupe.TTL == 24*time.Hour }},
		{"BRIDGE_DEDUPE_TTL", map[string]string{"BRIDGE_DEDUPE_TTL": "1d"}, `BRIDGE_DEDUPE_TTL: "1d" is not a duration (for example 8s, 5m, 24h)`, nil},
		{"BRIDGE_DEDUPE_TTL", map[string]string{"BRIDGE_DEDUPE_TTL": "-1h"}, "BRIDGE_DEDUPE_TTL: must be positive, got -1h", nil},
		{"BRIDGE_DEDUPE_MAX_ENTRIES", map[string]string{"BRIDGE_DEDUPE_MAX_ENTRIES": "1000"}, "", func(c config) bool { return c.Dedupe.MaxEntries == 1000 }},
		{"BRIDGE_DEDUPE_MAX_ENTRIES", map[string]string{"BRIDGE_DEDUPE_MAX_ENTRIES": "0"}, "BRIDGE_DEDUPE_MAX_ENTRIES: must be between 1 and 100000000, got 0", nil},
		{"BRIDGE_MAX_IN_FLIGHT", map[string]string{"BRIDGE_MAX_IN_FLIGHT": "64"}, "", func(c config) bool { return c.Ingress.MaxInFlight == 64 }},
		{"BRIDGE_MAX_IN_FLIGHT", map[string]string{}, "", func(c config) bool { return c.Ingress.MaxInFlight == 1024 }},
		{"BRIDGE_MAX_IN_FLIGHT", map[string]string{"BRIDGE_MAX_IN_FLIGHT": "many"}, `BRIDGE_MAX_IN_FLIGHT: "many" is not a whole number`, nil},
		{"BRIDGE_MAX_IN_FLIGHT", map[string]string{"BRIDGE_MAX_IN_FLIGHT": "0"}, "BRIDGE_MAX_IN_FLIGHT: must be between 1 and 1000000, got 0", nil},
		{"BRIDGE_LOG_LEVEL", map[string]string{"BRIDGE_LOG_LEVEL": "DEBUG"}, "", func(c config) bool { return c.LogLevel.String() == "debug" }},
		{"BRIDGE_LOG_LEVEL", map[string]string{"BRIDGE_LOG_LEVEL": "verbose"}, `BRIDGE_LOG_LEVEL: "verbose" is not trace, debug, info, warn or error`, nil},
		{"BRIDGE_LOG_FORMAT", map[string]string{"BRIDGE_LOG_FORMAT": "console"}, "", func(c config) bool { return c.LogFormat == "console" }},
		{"BRIDGE_LOG_FORMAT", map[string]string{"BRIDGE_LOG_FORMAT": "xml"}, `BRIDGE_LOG_FORMAT: "xml" is not json or console`, nil},
		{"OTEL_EXPORTER_OTLP_ENDPOINT", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, "", func(c config) bool { return c.Tracing.Enabled }},
		{"OTEL_TRACES_EXPORTER", map[string]string{}, "", func(c config) bool { return !c.Tracing.Enabled }},
		{"OTEL_TRACES_EXPORTER", map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, "", func(c config) bool { return !c.Tracing.Enabled }},
		{"OTEL_TRACES_EXPORTER", map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, `OTEL_TRACES_EXPORTER: "zipkin" is not supported: use otlp or none`, nil},
		{"OTEL_SDK_DISABLED", map[string]string{"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"}, "", func(c config) bool { return !c.Tracing.Enabled }},
		{"OTEL_EXPORTER_OTLP_PROTOCOL", map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "", func(c config) bool { return c.Tracing.Enabled && c.Tracing.Protocol == "grpc" }},
		{"OTEL_EXPORTER_OTLP_PROTOCOL", map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, `OTEL_EXPORTER_OTLP_PROTOCOL: protocol "http/json" is not http/protobuf or grpc`, nil},
	}

	covered := map[string][2]bool{} // variable → {good seen, bad seen}
	for _, tt := range tests {
		env := map[string]string{}
		for k, v := range base {
			env[k] = v
		}
		for k, v := range tt.set {
			env[k] = v
		}
		c, err := loadConfig(env)
		got := ""
		if err != nil {
			got = strings.TrimPrefix(err.Error(), "invalid configuration: ")
		}
		name := tt.vars + "=" + strings.Join(mapValues(tt.set), ",")
		if got != tt.want {
			t.Errorf("%s:\n got  %q\n want %q", name, got, tt.want)
		}
		if tt.want == "" && tt.check != nil && err == nil && !tt.check(c) {
			t.Errorf("%s: accepted, but read as %+v", name, c)
		}
		for _, secret := range []string{e2eSecret[6:], e2eSecret2[6:], e2eKey, "kafka-pass", "tok-from-file", "tooShortKey"} {
			if strings.Contains(got, secret) {
				t.Errorf("%s: message quotes a secret: %q", name, got)
			}
		}
		seen := covered[tt.vars]
		seen[0] = seen[0] || tt.want == ""
		seen[1] = seen[1] || tt.want != ""
		covered[tt.vars] = seen
	}
	for _, s := range settings() {
		names := []string{s.name}
		if s.secret {
			names = append(names, s.name+"_FILE")
		}
		for _, n := range names {
			if seen := covered[n]; !seen[0] || !seen[1] {
				t.Errorf("%s: the table needs a good and a bad value (good %v, bad %v)", n, seen[0], seen[1])
			}
		}
	}
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// TestConfigOneProblemPerVariable is defect 6 of issue 14 through the
// command line: a secret in the environment and its file as a flag is
// reported once, as set twice, not also as missing.
func TestConfigOneProblemPerVariable(t *testing.T) {
	t.Parallel()
	secretsFile := writeFile(t, "secrets", e2eSecret+"\n")
	tokenFile := writeFile(t, "token", "tok\n")
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"env secrets, flag file", map[string]string{"BRIDGE_SIGNING_SECRETS": e2eSecret}, []string{"--signing-secrets-file", secretsFile},
			"engage-bridge: invalid configuration: BRIDGE_SIGNING_SECRETS: set BRIDGE_SIGNING_SECRETS or BRIDGE_SIGNING_SECRETS_FILE, not both"},
		{"env token and token file", map[string]string{"BRIDGE_SIGNING_SECRETS": e2eSecret, "BRIDGE_AUTH_HEADER": "X-Engage-Token", "BRIDGE_AUTH_TOKEN": "tok", "BRIDGE_AUTH_TOKEN_FILE": tokenFile}, nil,
			"engage-bridge: invalid configuration: BRIDGE_AUTH_TOKEN: set BRIDGE_AUTH_TOKEN or BRIDGE_AUTH_TOKEN_FILE, not both"},
		{"flag token, env token file", map[string]string{"BRIDGE_SIGNING_SECRETS": e2eSecret, "BRIDGE_AUTH_HEADER": "X-Engage-Token", "BRIDGE_AUTH_TOKEN_FILE": tokenFile}, []string{"--auth-token", "tok"},
			"engage-bridge: invalid configuration: BRIDGE_AUTH_TOKEN: set BRIDGE_AUTH_TOKEN or BRIDGE_AUTH_TOKEN_FILE, not both"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"BRIDGE_KAFKA_BROKERS": "127.0.0.1:1", "BRIDGE_LISTEN": "127.0.0.1:0", "BRIDGE_ADMIN_LISTEN": "127.0.0.1:0"}
			for k, v := range tt.env {
				env[k] = v
			}
			var stdout, stderr bytes.Buffer
			err := run(t.Context(), append([]string{"serve"}, tt.args...), envOf(env), &stdout, &stderr)
			if code := exitCode(err, &stderr); code != 2 {
				t.Fatalf("exit code %d, want 2", code)
			}
			if got := strings.TrimSpace(stderr.String()); got != tt.want {
				t.Errorf("stderr\n got  %q\n want %q", got, tt.want)
			}
		})
	}
}

// TestReadmeDocumentsEverySetting keeps the README's configuration table
// (which the deploy tests check the manifests against) equal to the code.
func TestReadmeDocumentsEverySetting(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for line := range strings.SplitSeq(string(readme), "\n") {
		if strings.HasPrefix(line, "| `BRIDGE_") {
			rows = append(rows, strings.Split(line, "|")[1])
		}
	}
	table := strings.Join(rows, "\n")
	for _, s := range settings() {
		if !strings.Contains(table, "`"+s.name+"`") {
			t.Errorf("the README's configuration table lacks %s", s.name)
		}
		if s.secret && !strings.Contains(table, "`"+s.name+"` / `_FILE`") && !strings.Contains(table, "`"+s.name+"_FILE`") {
			t.Errorf("the README's configuration table does not say %s can come from %s_FILE", s.name, s.name)
		}
	}
}

// TestConfigLogStatesDedupeBound: the start-up configuration line tells the
// operator how much memory the dedupe cache may take outside the Go heap,
// the figure to leave between GOMEMLIMIT and the container limit.
func TestConfigLogStatesDedupeBound(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		cfg  dedupe.Config
		want float64
	}{
		{dedupe.Config{TTL: 24 * time.Hour, MaxEntries: 500_000}, 12_582_912},
		{dedupe.Config{TTL: 0, MaxEntries: 500_000}, 0},
	} {
		var out bytes.Buffer
		logConfig(newLogger(&out, "json", zerolog.InfoLevel), config{Dedupe: c.cfg})
		var line map[string]any
		if err := json.Unmarshal(out.Bytes(), &line); err != nil {
			t.Fatalf("%v: %s", err, out.String())
		}
		if got := line["dedupe_max_bytes"]; got != c.want {
			t.Errorf("TTL %v: dedupe_max_bytes = %v, want %v", c.cfg.TTL, got, c.want)
		}
	}
}

// TestConfigLogStatesCompression: the start-up configuration line names
// the producer's codec.
func TestConfigLogStatesCompression(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	logConfig(newLogger(&out, "json", zerolog.InfoLevel), config{Compression: publisher.CompressionZstd})
	var line map[string]any
	if err := json.Unmarshal(out.Bytes(), &line); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if got := line["kafka_compression"]; got != "zstd" {
		t.Errorf("kafka_compression = %v, want zstd", got)
	}
}

// TestConfigLogDurationsHaveUnits: durations on the start-up line read as
// Go durations ("8s"), not bare milliseconds (new-user trial).
func TestConfigLogDurationsHaveUnits(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	cfg := config{Dedupe: dedupe.Config{TTL: 24 * time.Hour}}
	cfg.Ingress.PublishTimeout, cfg.Ingress.Tolerance = 8*time.Second, 5*time.Minute
	logConfig(newLogger(&out, "json", zerolog.InfoLevel), cfg)
	var line map[string]any
	if err := json.Unmarshal(out.Bytes(), &line); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	for field, want := range map[string]string{"publish_timeout": "8s", "timestamp_tolerance": "5m0s", "dedupe_ttl": "24h0m0s"} {
		if got := line[field]; got != want {
			t.Errorf("%s = %v, want %q", field, got, want)
		}
	}
}
