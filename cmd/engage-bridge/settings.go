package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// setting is one configuration variable of docs/contract.md#configuration. Each has a flag named
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
		{name: "BRIDGE_ENDPOINTS_FILE", usage: "YAML file of several endpoints, each with its own path, secrets, key, tenants and routes; replaces BRIDGE_WEBHOOK_PATH, BRIDGE_SIGNING_SECRETS and BRIDGE_ENCRYPTION_KEY"},
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
		{name: "BRIDGE_KAFKA_COMPRESSION", def: "none", usage: "codec of the records written: none, gzip, snappy, lz4 or zstd"},
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
		if len(names) > 0 && !slices.Contains(names, s.name) {
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
				// Never the path: it may be the secret, typed where
				// its file belongs.
				v.problem(name+"_FILE", "cannot read the file: %v", errors.Unwrap(err))
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
