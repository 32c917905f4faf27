package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/engage-bridge/engage-bridge/ingress"
	"github.com/engage-bridge/engage-bridge/internal/metrics"
)

// An operator who types a secret where its file path belongs
// (BRIDGE_*_FILE=whsec_...) gets an error naming the variable, never
// quoting the "path", at start-up and from the watchers.
func TestSecretAsFilePathNotQuoted(t *testing.T) {
	t.Parallel()
	const password = "kafka-S3cretPassw0rd-typed-here"
	for _, tt := range []struct {
		variable, value string
		extra           map[string]string
	}{
		{"BRIDGE_SIGNING_SECRETS_FILE", e2eSecret, nil},
		{"BRIDGE_ENCRYPTION_KEY_FILE", e2eKey, nil},
		{"BRIDGE_AUTH_TOKEN_FILE", "tok-S3cretToken-typed-here", map[string]string{"BRIDGE_AUTH_HEADER": "X-Engage-Token"}},
		{"BRIDGE_KAFKA_PASSWORD_FILE", password, map[string]string{"BRIDGE_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512", "BRIDGE_KAFKA_USERNAME": "bridge"}},
	} {
		env := map[string]string{"BRIDGE_KAFKA_BROKERS": "kafka-1:9092", tt.variable: tt.value}
		if tt.variable != "BRIDGE_SIGNING_SECRETS_FILE" {
			env["BRIDGE_SIGNING_SECRETS"] = e2eSecret
		}
		for k, v := range tt.extra {
			env[k] = v
		}
		_, err := loadConfig(env)
		if err == nil || !strings.Contains(err.Error(), tt.variable+": cannot read the file") {
			t.Errorf("%s=<secret>: error %v, want one naming %s", tt.variable, err, tt.variable)
		}
		if err != nil && strings.Contains(err.Error(), tt.value[6:]) {
			t.Errorf("%s=<secret>: the error quotes the secret: %s", tt.variable, err)
		}
	}

	// The watchers read the same files again.
	// Every watcher fails its first load, so the handler is never used.
	var h *ingress.Handler
	for _, f := range []secretFiles{{SigningSecrets: e2eSecret}, {EncryptionKey: e2eKey}, {AuthToken: e2eSecret2}} {
		_, err := watchers(config{Files: f}, h, zerolog.Nop(), metrics.New())
		if err == nil || !strings.Contains(err.Error(), "cannot read the file") {
			t.Errorf("watchers(%+v): error %v, want cannot read the file", f, err)
		}
		for _, secret := range []string{e2eSecret[6:], e2eSecret2[6:], e2eKey} {
			if strings.Contains(fmt.Sprint(err), secret) {
				t.Errorf("watchers: the error quotes the secret: %s", err)
			}
		}
	}
}
