package main

import (
	"path/filepath"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/engage-bridge/engage-bridge/ingress"
	"github.com/engage-bridge/engage-bridge/internal/dedupe"
	"github.com/engage-bridge/engage-bridge/internal/kafkaconn"
	"github.com/engage-bridge/engage-bridge/internal/payloadcrypto"
	"github.com/engage-bridge/engage-bridge/internal/tracing"
	"github.com/engage-bridge/engage-bridge/publisher"
	"github.com/engage-bridge/engage-bridge/router"
	"github.com/engage-bridge/engage-bridge/router/routesfile"
)

// config is the whole bridge configuration, turned into each package's
// Config by the commands.
type config struct {
	Listen      string
	AdminListen string
	Ingress     ingress.Config
	// EndpointsFile is BRIDGE_ENDPOINTS_FILE; Ingress.Endpoints holds what
	// it describes.
	EndpointsFile string
	// Files are the files secrets were read from, watched for changes by
	// serve: BRIDGE_*_FILE of the single-endpoint configuration.
	Files       secretFiles
	Kafka       kafkaconn.Config
	Compression publisher.Compression
	RoutesFile  string
	Routes      *router.Table
	Dedupe      dedupe.Config
	Tracing     tracing.Config
	Timeouts    serverTimeouts
	LogLevel    zerolog.Level
	LogFormat   string
}

// bridgeConfig reads every variable of docs/contract.md#configuration for serve and dev.
func (v *values) bridgeConfig(brokersRequired bool) config {
	var c config
	c.Listen = v.listenAddr("BRIDGE_LISTEN")
	c.AdminListen = v.listenAddr("BRIDGE_ADMIN_LISTEN")
	if c.Listen == c.AdminListen && !strings.HasSuffix(c.Listen, ":0") {
		v.problem("BRIDGE_ADMIN_LISTEN", "must differ from BRIDGE_LISTEN (%s)", c.Listen)
	}

	c.EndpointsFile = v.get("BRIDGE_ENDPOINTS_FILE")
	c.Ingress = v.ingressConfig(c.EndpointsFile)
	c.Files = v.secretFiles()
	c.Kafka = v.kafkaConfig(brokersRequired)
	c.Compression = v.compression()
	c.RoutesFile, c.Routes = v.routes()
	c.Dedupe = v.dedupeConfig()
	c.Tracing = v.tracingConfig()
	c.Timeouts = defaultTimeouts(c.Ingress.PublishTimeout)
	c.LogLevel, c.LogFormat = v.logging()
	return c
}

// secretFiles are the files of the single-endpoint configuration's
// secrets, when they came from files.
type secretFiles struct {
	SigningSecrets, EncryptionKey, AuthToken string
}

func (v *values) secretFiles() secretFiles {
	var f secretFiles
	f.SigningSecrets, _ = v.raw("BRIDGE_SIGNING_SECRETS_FILE")
	f.EncryptionKey, _ = v.raw("BRIDGE_ENCRYPTION_KEY_FILE")
	f.AuthToken, _ = v.raw("BRIDGE_AUTH_TOKEN_FILE")
	return f
}

// tables are the routing tables this configuration uses.
func (c config) tables() []*router.Table { return tables(c.Routes, c.Ingress.Endpoints) }

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
	if err := ingress.ValidatePublishTimeout(d); err != nil {
		v.problem("BRIDGE_PUBLISH_TIMEOUT", "%v", err)
	}
	return d
}

func (v *values) dedupeConfig() dedupe.Config {
	return dedupe.Config{
		TTL:        v.duration("BRIDGE_DEDUPE_TTL", true),
		MaxEntries: int(v.integer("BRIDGE_DEDUPE_MAX_ENTRIES", 1, 100_000_000)),
	}
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
