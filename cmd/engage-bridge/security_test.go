package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/engage-bridge/engage-bridge/internal/kafkatest"
	"github.com/engage-bridge/engage-bridge/internal/testcert"
	"github.com/engage-bridge/engage-bridge/schemas"
)

// TestKafkaTLSAndSASL runs topics, the bridge and tail against a kfake
// broker that demands TLS and SASL, for each SASL mechanism, with and
// without a client certificate: the way Confluent Cloud, MSK and Aiven are
// reached. Wrong credentials and an unknown CA must never yield a 2xx.
func TestKafkaTLSAndSASL(t *testing.T) {
	t.Parallel()
	certs := testcert.New(t)
	const user, pass = "bridge", "s3cret-Kafka-pass"
	tests := []struct {
		name      string
		mechanism string // broker side; "" is TLS only
		mutualTLS bool
		env       map[string]string
	}{
		{"SASL_SSL PLAIN", "PLAIN", false, map[string]string{
			"BRIDGE_KAFKA_SASL_MECHANISM": "PLAIN", "BRIDGE_KAFKA_USERNAME": user, "BRIDGE_KAFKA_PASSWORD": pass,
			"BRIDGE_KAFKA_CA_FILE": certs.CAFile,
		}},
		{"SASL_SSL SCRAM-SHA-256", "SCRAM-SHA-256", false, map[string]string{
			"BRIDGE_KAFKA_SASL_MECHANISM": "SCRAM-SHA-256", "BRIDGE_KAFKA_USERNAME": user, "BRIDGE_KAFKA_PASSWORD": pass,
			"BRIDGE_KAFKA_TLS": "true", "BRIDGE_KAFKA_CA_FILE": certs.CAFile,
		}},
		{"SASL_SSL SCRAM-SHA-512 with a client certificate", "SCRAM-SHA-512", true, map[string]string{
			"BRIDGE_KAFKA_SASL_MECHANISM": "scram-sha-512", "BRIDGE_KAFKA_USERNAME": user, "BRIDGE_KAFKA_PASSWORD": pass,
			"BRIDGE_KAFKA_CA_FILE": certs.CAFile, "BRIDGE_KAFKA_CERT_FILE": certs.ClientCertFile, "BRIDGE_KAFKA_KEY_FILE": certs.ClientKeyFile,
		}},
		{"mutual TLS only", "", true, map[string]string{
			"BRIDGE_KAFKA_CA_FILE": certs.CAFile, "BRIDGE_KAFKA_CERT_FILE": certs.ClientCertFile, "BRIDGE_KAFKA_KEY_FILE": certs.ClientKeyFile,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := []kfake.Opt{kfake.TLS(certs.ServerConfig(tt.mutualTLS))}
			if tt.mechanism != "" {
				opts = append(opts, kfake.EnableSASL(), kfake.Superuser(tt.mechanism, user, pass))
			}
			c := kafkatest.Cluster(t, opts...)
			env := map[string]string{"BRIDGE_KAFKA_BROKERS": strings.Join(c.ListenAddrs(), ",")}
			for k, v := range tt.env {
				env[k] = v
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()

			var out bytes.Buffer
			if err := run(ctx, []string{"topics", "--partitions", "3", "--replication-factor", "1"}, envOf(env), &out, &out); err != nil {
				t.Fatalf("topics: %v\n%s", err, out.String())
			}
			b := startBridge(t, c, env, false)
			wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
			defer wcancel()
			if err := b.admin.Wait(wctx); err != nil {
				t.Fatalf("bridge not ready over TLS/SASL: %v\n%s", err, b.logs.String())
			}
			body := example(t, schemas.EventContactCreated)
			if a := deliver(t, b.webhookURL(), e2eSecret, "msg_tls", time.Now(), body, nil); a.status != 200 || a.body != `{"status":"published"}` {
				t.Fatalf("delivery: %+v\n%s", a, b.logs.String())
			}

			out.Reset()
			if err := run(ctx, []string{"tail", "--json", "--exit", "--topic", "engage.contact"}, envOf(env), &out, &out); err != nil {
				t.Fatalf("tail: %v\n%s", err, out.String())
			}
			var rec struct {
				Topic   string            `json:"topic"`
				Key     string            `json:"key"`
				Headers map[string]string `json:"headers"`
			}
			if err := json.Unmarshal(bytes.TrimSpace(out.Bytes()), &rec); err != nil {
				t.Fatalf("tail --json: %v\n%s", err, out.String())
			}
			if rec.Topic != "engage.contact" || rec.Headers["svix-id"] != "msg_tls" {
				t.Errorf("record %+v", rec)
			}
			if strings.Contains(b.logs.String(), pass) {
				t.Error("the Kafka password appears in the logs")
			}
		})
	}

	t.Run("wrong password and unknown CA never answer 2xx", func(t *testing.T) {
		c := kafkatest.Cluster(t, kfake.TLS(certs.ServerConfig(false)), kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-256", user, pass))
		other := testcert.New(t)
		for name, env := range map[string]map[string]string{
			"wrong password": {"BRIDGE_KAFKA_SASL_MECHANISM": "SCRAM-SHA-256", "BRIDGE_KAFKA_USERNAME": user, "BRIDGE_KAFKA_PASSWORD": "wrong", "BRIDGE_KAFKA_CA_FILE": certs.CAFile},
			"unknown CA":     {"BRIDGE_KAFKA_SASL_MECHANISM": "SCRAM-SHA-256", "BRIDGE_KAFKA_USERNAME": user, "BRIDGE_KAFKA_PASSWORD": pass, "BRIDGE_KAFKA_CA_FILE": other.CAFile},
		} {
			env["BRIDGE_PUBLISH_TIMEOUT"] = "1s"
			b := startBridge(t, c, env, false)
			a := deliver(t, b.webhookURL(), e2eSecret, "msg_"+strings.ReplaceAll(name, " ", "_"), time.Now(), example(t, schemas.EventContactCreated), nil)
			if a.status != 503 || a.retryAfter == "" {
				t.Errorf("%s: %+v, want 503 with Retry-After", name, a)
			}
			if code := do(t, "GET", b.adminURL()+"/readyz", http.Header{}, nil).status; code != 503 {
				t.Errorf("%s: /readyz %d, want 503", name, code)
			}
		}
	})
}
