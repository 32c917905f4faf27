package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/engage-bridge/engage-bridge/ingress"
	"github.com/engage-bridge/engage-bridge/internal/dedupe"
	"github.com/engage-bridge/engage-bridge/internal/kafkaconn"
	"github.com/engage-bridge/engage-bridge/internal/payloadcrypto"
	"github.com/engage-bridge/engage-bridge/internal/tracing"
	"github.com/engage-bridge/engage-bridge/router"
	"github.com/engage-bridge/engage-bridge/router/routesfile"
)

// setting is one configuration variable of SPEC §3. Each has a flag named
// after it (BRIDGE_KAFKA_BROKERS is --kafka-brokers); a flag wins over the
// environment, the environment over the default.
type setting struct {
	name   string
	def    string
	usage  string
	secret bool // never printed; may also come from NAME_FILE
}

func settings() []setting {
	return []setting{
		{name: "BRIDGE_LISTEN", def: ":8080", usage: "webhook listener address"},
		{name: "BRIDGE_WEBHOOK_PATH", def: "/webhooks/engage", usage: "the one POST path"},
		{name: "BRIDGE_ADMIN_LISTEN", def: ":9090", usage: "address of /metrics, /healthz and /readyz, kept off the public port"},
		{name: "BRIDGE_SIGNING_SECRETS", usage: "comma-separated whsec_ signing secrets; several are accepted at once (rotation)", secret: true},
		{name: "BRIDGE_ENCRYPTION_KEY", usage: "Engage payload encryption key, exactly 32 characters", secret: true},
		{name: "BRIDGE_TIMESTAMP_TOLERANCE", def: "5m", usage: "accepted clock difference of svix-timestamp, past and future"},
		{name: "BRIDGE_MAX_BODY_BYTES", def: "1048576", usage: "larger bodies get 413"},
		{name: "BRIDGE_ALLOWED_IPS", usage: "comma-separated IPs/CIDRs allowed to send; svix-eu stands for Svix's EU addresses; empty is off"},
		{name: "BRIDGE_TRUSTED_PROXIES", usage: "comma-separated CIDRs whose X-Forwarded-For is believed"},
		{name: "BRIDGE_AUTH_HEADER", usage: "optional custom header that must carry BRIDGE_AUTH_TOKEN"},
		{name: "BRIDGE_AUTH_TOKEN", usage: "token expected in BRIDGE_AUTH_HEADER, compared in constant time", secret: true},
		{name: "BRIDGE_KAFKA_BROKERS", usage: "comma-separated Kafka bootstrap host:port"},
		{name: "BRIDGE_KAFKA_TLS", def: "false", usage: "connect to the brokers with TLS"},
		{name: "BRIDGE_KAFKA_CA_FILE", usage: "PEM CA bundle for the brokers' certificates (implies TLS)"},
		{name: "BRIDGE_KAFKA_CERT_FILE", usage: "PEM client certificate for mutual TLS (implies TLS)"},
		{name: "BRIDGE_KAFKA_KEY_FILE", usage: "PEM client key for mutual TLS (implies TLS)"},
		{name: "BRIDGE_KAFKA_SASL_MECHANISM", usage: "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512; empty is off"},
		{name: "BRIDGE_KAFKA_USERNAME", usage: "SASL username"},
		{name: "BRIDGE_KAFKA_PASSWORD", usage: "SASL password", secret: true},
		{name: "BRIDGE_KAFKA_CLIENT_ID", def: "engage-bridge", usage: "Kafka client id"},
		{name: "BRIDGE_PUBLISH_TIMEOUT", def: "8s", usage: "longest wait for Kafka's acknowledgement; Svix gives up after 15s"},
		{name: "BRIDGE_ROUTES_FILE", usage: "YAML routing table replacing the built-in one"},
		{name: "BRIDGE_DEDUPE_TTL", def: "24h", usage: "how long a published svix-id is remembered; 0 turns dedupe off"},
		{name: "BRIDGE_DEDUPE_MAX_ENTRIES", def: "500000", usage: "memory bound of the dedupe cache"},
		{name: "BRIDGE_MAX_IN_FLIGHT", def: "1024", usage: "concurrent webhook requests; beyond it 429"},
		{name: "BRIDGE_LOG_LEVEL", def: "info", usage: "trace, debug, info, warn or error"},
		{name: "BRIDGE_LOG_FORMAT", def: "json", usage: "json, or console for people"},
	}
}

// flagName turns BRIDGE_KAFKA_BROKERS into kafka-brokers.
func flagName(env string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(env, "BRIDGE_")), "_", "-")
}

// configError is a configuration problem: exit code 2, one line naming
// each bad variable.
type configError struct{ problems []string }

func (e *configError) Error() string {
	return "invalid configuration: " + strings.Join(e.problems, "; ")
}

// usageError is a command-line mistake: exit code 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// values holds the raw configuration text of one command invocation.
type values struct {
	fs       *flag.FlagSet
	getenv   func(string) string
	flags    map[string]*string
	byName   map[string]setting
	problems []string
	failed   map[string]bool // variables with a problem, NAME_FILE counted as NAME
}

// newValues registers a flag for each named setting (and NAME_FILE for
// secrets) on fs. Call fs.Parse, then read with get.
func newValues(fs *flag.FlagSet, getenv func(string) string, names ...string) *values {
	v := &values{fs: fs, getenv: getenv, flags: map[string]*string{}, byName: map[string]setting{}, failed: map[string]bool{}}
	for _, s := range settings() {
		if len(names) > 0 && !contains(names, s.name) {
			continue
		}
		v.byName[s.name] = s
		usage := fmt.Sprintf("%s (env %s)", s.usage, s.name)
		if s.def != "" {
			usage += fmt.Sprintf(" (default %q)", s.def)
		}
		v.flags[s.name] = fs.String(flagName(s.name), "", usage)
		if s.secret {
			v.flags[s.name+"_FILE"] = fs.String(flagName(s.name)+"-file", "", fmt.Sprintf("read %s from this file (env %s_FILE)", s.name, s.name))
		}
	}
	return v
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// raw returns a variable's text from its flag, else the environment.
func (v *values) raw(name string) (string, bool) {
	set := false
	v.fs.Visit(func(f *flag.Flag) {
		if f.Name == flagName(name) {
			set = true
		}
	})
	if p := v.flags[name]; set && p != nil {
		return *p, true
	}
	if e := v.getenv(name); e != "" {
		return e, true
	}
	return "", false
}

// get returns a variable's value: flag, environment, NAME_FILE for
// secrets, or the default.
func (v *values) get(name string) string {
	s := v.byName[name]
	val, ok := v.raw(name)
	if s.secret {
		path, fromFile := v.raw(name + "_FILE")
		switch {
		case ok && fromFile:
			v.problem(name, "set %s or %s_FILE, not both", name, name)
			return ""
		case fromFile:
			b, err := os.ReadFile(path)
			if err != nil {
				v.problem(name+"_FILE", "cannot read %s: %v", path, errors.Unwrap(err))
				return ""
			}
			return strings.TrimSpace(string(b))
		}
	}
	if !ok {
		return s.def
	}
	return strings.TrimSpace(val)
}

func (v *values) problem(name, format string, args ...any) {
	v.problems = append(v.problems, name+": "+fmt.Sprintf(format, args...))
	v.failed[strings.TrimSuffix(name, "_FILE")] = true
}

// required reports a variable missing, unless it already has a problem
// (set twice, or its file unreadable): one problem per variable, the true
// one.
func (v *values) required(name, format string, args ...any) {
	if !v.failed[name] {
		v.problem(name, format, args...)
	}
}

func (v *values) err() error {
	if len(v.problems) == 0 {
		return nil
	}
	return &configError{problems: v.problems}
}

func (v *values) duration(name string, allowZero bool) time.Duration {
	s := v.get(name)
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		v.problem(name, "%q is not a duration (for example 8s, 5m, 24h)", s)
	case d < 0 || (d == 0 && !allowZero):
		v.problem(name, "must be positive, got %s", s)
	}
	return d
}

func (v *values) integer(name string, lo, hi int64) int64 {
	s := v.get(name)
	n, err := strconv.ParseInt(s, 10, 64)
	switch {
	case err != nil:
		v.problem(name, "%q is not a whole number", s)
	case n < lo || n > hi:
		v.problem(name, "must be between %d and %d, got %d", lo, hi, n)
	}
	return n
}

func (v *values) boolean(name string) bool {
	s := v.get(name)
	b, err := strconv.ParseBool(s)
	if err != nil {
		v.problem(name, "%q is not true or false", s)
	}
	return b
}

func (v *values) listenAddr(name string) string {
	s := v.get(name)
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		v.problem(name, "%q is not host:port (for example :8080 or 127.0.0.1:8080)", s)
		return s
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		v.problem(name, "%q has no valid port", s)
	}
	return s
}

func (v *values) list(name string) []string {
	var out []string
	for item := range strings.SplitSeq(v.get(name), ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// config is the whole bridge configuration, turned into each package's
// Config by the commands.
type config struct {
	Listen      string
	AdminListen string
	Ingress     ingress.Config
	Kafka       kafkaconn.Config
	RoutesFile  string
	Routes      *router.Table
	Dedupe      dedupe.Config
	Tracing     tracing.Config
	Timeouts    serverTimeouts
	LogLevel    zerolog.Level
	LogFormat   string
}

// kafkaSettings are the variables of the Kafka connection, shared by every
// command that talks to Kafka.
func kafkaSettings() []string {
	return []string{
		"BRIDGE_KAFKA_BROKERS", "BRIDGE_KAFKA_TLS", "BRIDGE_KAFKA_CA_FILE", "BRIDGE_KAFKA_CERT_FILE",
		"BRIDGE_KAFKA_KEY_FILE", "BRIDGE_KAFKA_SASL_MECHANISM", "BRIDGE_KAFKA_USERNAME",
		"BRIDGE_KAFKA_PASSWORD", "BRIDGE_KAFKA_CLIENT_ID",
	}
}

// kafkaConfig reads the Kafka connection; brokersRequired is false where a
// command has its own default (dev starts a broker).
func (v *values) kafkaConfig(brokersRequired bool) kafkaconn.Config {
	c := kafkaconn.Config{
		Brokers:  v.list("BRIDGE_KAFKA_BROKERS"),
		ClientID: v.get("BRIDGE_KAFKA_CLIENT_ID"),
	}
	if len(c.ClientID) > 255 || strings.ContainsFunc(c.ClientID, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		v.problem("BRIDGE_KAFKA_CLIENT_ID", "must be at most 255 characters without control characters")
	}
	if len(c.Brokers) == 0 && brokersRequired {
		v.problem("BRIDGE_KAFKA_BROKERS", "required (comma-separated host:port)")
	}
	for _, b := range c.Brokers {
		if _, port, err := net.SplitHostPort(b); err != nil || port == "" {
			v.problem("BRIDGE_KAFKA_BROKERS", "%q is not host:port", b)
		}
	}
	useTLS := v.boolean("BRIDGE_KAFKA_TLS")
	caFile, certFile, keyFile := v.get("BRIDGE_KAFKA_CA_FILE"), v.get("BRIDGE_KAFKA_CERT_FILE"), v.get("BRIDGE_KAFKA_KEY_FILE")
	if useTLS || caFile != "" || certFile != "" || keyFile != "" {
		c.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
		if caFile != "" {
			pem, err := os.ReadFile(caFile)
			pool := x509.NewCertPool()
			switch {
			case err != nil:
				v.problem("BRIDGE_KAFKA_CA_FILE", "cannot read %s: %v", caFile, errors.Unwrap(err))
			case !pool.AppendCertsFromPEM(pem):
				v.problem("BRIDGE_KAFKA_CA_FILE", "%s holds no PEM certificate", caFile)
			default:
				c.TLS.RootCAs = pool
			}
		}
		switch {
		case (certFile == "") != (keyFile == ""):
			v.problem("BRIDGE_KAFKA_CERT_FILE", "BRIDGE_KAFKA_CERT_FILE and BRIDGE_KAFKA_KEY_FILE must be set together")
		case certFile != "":
			cert, err := tls.LoadX509KeyPair(certFile, keyFile)
			if err != nil {
				v.problem("BRIDGE_KAFKA_CERT_FILE", "cannot load the client certificate and key: %v", err)
			} else {
				c.TLS.Certificates = []tls.Certificate{cert}
			}
		}
	}
	c.SASL = kafkaconn.SASL{
		Mechanism: strings.ToUpper(v.get("BRIDGE_KAFKA_SASL_MECHANISM")),
		Username:  v.get("BRIDGE_KAFKA_USERNAME"),
		Password:  v.get("BRIDGE_KAFKA_PASSWORD"),
	}
	switch c.SASL.Mechanism {
	case "":
		if c.SASL.Username != "" || c.SASL.Password != "" {
			v.problem("BRIDGE_KAFKA_SASL_MECHANISM", "required when a Kafka username or password is set (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)")
		}
	case kafkaconn.MechanismPlain, kafkaconn.MechanismScramSHA256, kafkaconn.MechanismScramSHA512:
		if c.SASL.Username == "" {
			v.required("BRIDGE_KAFKA_USERNAME", "required with BRIDGE_KAFKA_SASL_MECHANISM")
		}
		if c.SASL.Password == "" {
			v.required("BRIDGE_KAFKA_PASSWORD", "required with BRIDGE_KAFKA_SASL_MECHANISM")
		}
	default:
		v.problem("BRIDGE_KAFKA_SASL_MECHANISM", "%q is not PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", c.SASL.Mechanism)
	}
	return c
}

// routes reads BRIDGE_ROUTES_FILE, or takes the built-in table.
func (v *values) routes() (string, *router.Table) {
	path := v.get("BRIDGE_ROUTES_FILE")
	cfg := router.Default()
	if path != "" {
		var err error
		if cfg, err = routesfile.Load(path); err != nil {
			v.problem("BRIDGE_ROUTES_FILE", "%v", err)
			return path, nil
		}
	}
	t, err := router.New(cfg)
	if err != nil {
		where := ""
		if path != "" {
			where = filepath.Base(path) + ": "
		}
		v.problem("BRIDGE_ROUTES_FILE", "%s%s", where, strings.ReplaceAll(err.Error(), "\n", "; "))
		return path, nil
	}
	return path, t
}

// bridgeConfig reads every variable of SPEC §3 for serve and dev.
func (v *values) bridgeConfig(brokersRequired bool) config {
	var c config
	c.Listen = v.listenAddr("BRIDGE_LISTEN")
	c.AdminListen = v.listenAddr("BRIDGE_ADMIN_LISTEN")
	if c.Listen == c.AdminListen && !strings.HasSuffix(c.Listen, ":0") {
		v.problem("BRIDGE_ADMIN_LISTEN", "must differ from BRIDGE_LISTEN (%s)", c.Listen)
	}

	in := &c.Ingress
	in.Path = v.get("BRIDGE_WEBHOOK_PATH")
	if !strings.HasPrefix(in.Path, "/") {
		v.problem("BRIDGE_WEBHOOK_PATH", "%q must start with /", in.Path)
	}
	in.SigningSecrets = v.secrets("BRIDGE_SIGNING_SECRETS")
	if len(in.SigningSecrets) == 0 {
		v.required("BRIDGE_SIGNING_SECRETS", "required: the whsec_ signing secret from the Svix portal (or BRIDGE_SIGNING_SECRETS_FILE)")
	} else if err := ingress.ValidateSecrets(in.SigningSecrets); err != nil {
		v.problem(v.source("BRIDGE_SIGNING_SECRETS"), "%s", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	in.EncryptionKey = v.encryptionKey()
	in.Tolerance = v.duration("BRIDGE_TIMESTAMP_TOLERANCE", false)
	in.MaxBodyBytes = v.integer("BRIDGE_MAX_BODY_BYTES", 1, 64<<20)
	var err error
	if in.AllowedIPs, err = ingress.ParsePrefixes(v.get("BRIDGE_ALLOWED_IPS"), true); err != nil {
		v.problem("BRIDGE_ALLOWED_IPS", "%v (or the word svix-eu)", err)
	}
	if in.TrustedProxies, err = ingress.ParsePrefixes(v.get("BRIDGE_TRUSTED_PROXIES"), false); err != nil {
		v.problem("BRIDGE_TRUSTED_PROXIES", "%v", err)
	}
	in.AuthHeader = v.get("BRIDGE_AUTH_HEADER")
	if in.AuthHeader != "" && !isHeaderName(in.AuthHeader) {
		v.problem("BRIDGE_AUTH_HEADER", "%q is not an HTTP header name (letters, digits and !#$%%&'*+-.^_`|~)", in.AuthHeader)
	}
	if lower := strings.ToLower(in.AuthHeader); strings.HasPrefix(lower, "svix-") || strings.HasPrefix(lower, "webhook-") {
		v.problem("BRIDGE_AUTH_HEADER", "%q is one of Svix's own headers; choose another name (for example X-Engage-Token)", in.AuthHeader)
	}
	in.AuthToken = v.get("BRIDGE_AUTH_TOKEN")
	switch {
	case in.AuthHeader != "" && in.AuthToken == "":
		v.required("BRIDGE_AUTH_TOKEN", "required when BRIDGE_AUTH_HEADER is set")
	case in.AuthHeader == "" && in.AuthToken != "":
		v.problem("BRIDGE_AUTH_HEADER", "required when BRIDGE_AUTH_TOKEN is set")
	}
	in.PublishTimeout = v.publishTimeout()
	in.MaxInFlight = int(v.integer("BRIDGE_MAX_IN_FLIGHT", 1, 1_000_000))

	c.Kafka = v.kafkaConfig(brokersRequired)
	c.RoutesFile, c.Routes = v.routes()
	c.Dedupe = v.dedupeConfig()
	c.Tracing = v.tracingConfig()
	c.Timeouts = defaultTimeouts(in.PublishTimeout)
	c.LogLevel, c.LogFormat = v.logging()
	return c
}

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

func (v *values) encryptionKey() *payloadcrypto.Key {
	key := v.get("BRIDGE_ENCRYPTION_KEY")
	if key == "" {
		return nil
	}
	k, err := payloadcrypto.ParseKey(key)
	if err != nil {
		v.problem("BRIDGE_ENCRYPTION_KEY", "%v", err)
		return nil
	}
	return &k
}

func (v *values) publishTimeout() time.Duration {
	d := v.duration("BRIDGE_PUBLISH_TIMEOUT", false)
	if d >= 15*time.Second {
		v.problem("BRIDGE_PUBLISH_TIMEOUT", "must be below 15s: Svix stops waiting for an answer after 15s, got %s", d)
	}
	return d
}

func (v *values) dedupeConfig() dedupe.Config {
	return dedupe.Config{
		TTL:        v.duration("BRIDGE_DEDUPE_TTL", true),
		MaxEntries: int(v.integer("BRIDGE_DEDUPE_MAX_ENTRIES", 1, 100_000_000)),
	}
}

// source names where a secret's value came from: NAME, or NAME_FILE.
func (v *values) source(name string) string {
	if _, fromFile := v.raw(name + "_FILE"); fromFile {
		return name + "_FILE"
	}
	return name
}

// secrets reads a comma-separated secret list, or one secret a line from
// NAME_FILE (a Kubernetes secret mount); blank lines and # comments are
// skipped.
func (v *values) secrets(name string) []string {
	text := v.get(name)
	sep := ","
	if _, fromFile := v.raw(name + "_FILE"); fromFile {
		sep = "\n"
	}
	var out []string
	for item := range strings.SplitSeq(text, sep) {
		item = strings.TrimSpace(item)
		if item == "" || strings.HasPrefix(item, "#") {
			continue
		}
		out = append(out, item)
	}
	return out
}

func (v *values) logging() (zerolog.Level, string) {
	lvl := zerolog.InfoLevel
	s := strings.ToLower(v.get("BRIDGE_LOG_LEVEL"))
	switch s {
	case "trace", "debug", "info", "warn", "error":
		lvl, _ = zerolog.ParseLevel(s)
	default:
		v.problem("BRIDGE_LOG_LEVEL", "%q is not trace, debug, info, warn or error", s)
	}
	format := strings.ToLower(v.get("BRIDGE_LOG_FORMAT"))
	if format != "json" && format != "console" {
		v.problem("BRIDGE_LOG_FORMAT", "%q is not json or console", format)
	}
	return lvl, format
}

// logConfig logs the configuration once, secrets redacted.
func logConfig(log zerolog.Logger, c config) {
	in := c.Ingress
	ev := log.Info().
		Str("listen", c.Listen).Str("admin_listen", c.AdminListen).Str("webhook_path", in.Path).
		Int("signing_secrets", len(in.SigningSecrets)).Bool("encryption_key", in.EncryptionKey != nil).
		Dur("timestamp_tolerance", in.Tolerance).Int64("max_body_bytes", in.MaxBodyBytes).
		Str("allowed_ips", prefixes(in.AllowedIPs)).Str("trusted_proxies", prefixes(in.TrustedProxies)).
		Str("auth_header", in.AuthHeader).Bool("auth_token", in.AuthToken != "").
		Strs("kafka_brokers", c.Kafka.Brokers).Bool("kafka_tls", c.Kafka.TLS != nil).
		Str("kafka_sasl", c.Kafka.SASL.String()).Str("kafka_client_id", c.Kafka.ClientID).
		Dur("publish_timeout", in.PublishTimeout).Str("routes_file", c.RoutesFile).
		Dur("dedupe_ttl", c.Dedupe.TTL).Int("dedupe_max_entries", c.Dedupe.MaxEntries).
		Int("dedupe_max_bytes", dedupeMaxBytes(c.Dedupe)).
		Int("max_in_flight", in.MaxInFlight).
		Bool("tracing", c.Tracing.Enabled)
	if c.Routes != nil {
		ev.Strs("topics", c.Routes.Topics())
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

// isHeaderName reports whether s is an HTTP header field name (an RFC 9110
// token).
func isHeaderName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0 {
			continue
		}
		return false
	}
	return s != ""
}

// serverTimeouts bound how long a client may hold a connection of the
// webhook listener, so that slow or stuck clients cannot pin connections,
// goroutines or in-flight slots.
type serverTimeouts struct {
	ReadHeader time.Duration // the request line and headers
	Read       time.Duration // the whole request, body included
	Write      time.Duration // from the end of the headers to the end of the answer
	Idle       time.Duration // a keep-alive connection between requests
}

// defaultTimeouts: headers within 10 s, a 1 MiB body within 30 s (Svix
// sends from data centres, at far more than 35 KB/s), the answer within
// the publish timeout after that, and keep-alive connections, which Svix
// reuses, kept for 2 minutes.
func defaultTimeouts(publish time.Duration) serverTimeouts {
	return serverTimeouts{
		ReadHeader: 10 * time.Second,
		Read:       30 * time.Second,
		Write:      30*time.Second + publish + 5*time.Second,
		Idle:       2 * time.Minute,
	}
}
