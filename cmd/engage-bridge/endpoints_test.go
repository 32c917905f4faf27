package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/engage-bridge/engage-bridge/internal/kafkatest"
	"github.com/engage-bridge/engage-bridge/schemas"
)

// brandBTopic is where brand-b's own routes file sends contact events.
const brandBTopic = "brand-b.contact"

// endpointsDir writes a two-endpoint configuration: brand-a (e2eSecret,
// e2eKey, any tenant, the global routes) and brand-b (e2eSecret2, no key,
// tenant myTenantName only, its own routes file). It returns the
// endpoints file.
func endpointsDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"a.secrets": "# brand A\n" + e2eSecret + "\n",
		"a.key":     e2eKey + "\n",
		"b.secrets": e2eSecret2 + "\n",
		"routes-b.yaml": "routes:\n  - match: contact.*\n    topic: " + brandBTopic + "\n" +
			"  - match: \"*\"\n    topic: engage.unrouted\n",
		"endpoints.yaml": `endpoints:
  - name: brand-a
    path: /webhooks/engage/brand-a
    signing_secrets_file: a.secrets
    encryption_key_file: a.key
  - name: brand-b
    path: /webhooks/engage/brand-b
    signing_secrets_file: b.secrets
    tenants: [myTenantName]
    routes_file: routes-b.yaml
`,
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "endpoints.yaml")
}

// multiEnv is the bridge's variables for the endpoints file: the
// single-endpoint variables of the test defaults are unset.
func multiEnv(file string) map[string]string {
	return map[string]string{
		"BRIDGE_ENDPOINTS_FILE":  file,
		"BRIDGE_SIGNING_SECRETS": "",
		"BRIDGE_ENCRYPTION_KEY":  "",
	}
}

func TestEndpointsEndToEnd(t *testing.T) {
	c := kafkatest.Cluster(t)
	b := startBridge(t, c, multiEnv(endpointsDir(t)), true)
	urlA, urlB := b.webhookBase()+"/webhooks/engage/brand-a", b.webhookBase()+"/webhooks/engage/brand-b"

	plain := example(t, schemas.EventContactUpdated) // tenant myTenantName
	enc, decrypted := encryptedExample(t, schemas.EventContactUpdated)
	otherTenant := bytes.Replace(plain, []byte(`"myTenantName"`), []byte(`"someoneElse"`), 1)
	tests := []struct {
		id, url, secret string
		body            []byte
		status          int
		answer          string
	}{
		{"msg_a_enc", urlA, e2eSecret, enc, 200, `{"status":"published"}`},
		{"msg_b_plain", urlB, e2eSecret2, plain, 200, `{"status":"published"}`},
		{"msg_b_enc", urlB, e2eSecret2, enc, 200, `{"status":"deadlettered","reason":"no_encryption_key"}`},
		{"msg_b_tenant", urlB, e2eSecret2, otherTenant, 200, `{"status":"deadlettered","reason":"tenant_mismatch"}`},
		{"msg_a_crossed", urlA, e2eSecret2, plain, 401, `{"error":"invalid_signature","reason":"no_match"}`},
		{"msg_b_crossed", urlB, e2eSecret, plain, 401, `{"error":"invalid_signature","reason":"no_match"}`},
		{"msg_default_path", b.webhookBase() + "/webhooks/engage", e2eSecret, plain, 404, `{"error":"not_found"}`},
	}
	for _, tt := range tests {
		if a := deliver(t, tt.url, tt.secret, tt.id, time.Now(), tt.body, nil); a.status != tt.status || a.body != tt.answer {
			t.Errorf("%s: %d %s, want %d %s", tt.id, a.status, a.body, tt.status, tt.answer)
		}
	}

	recs := kafkatest.ReadAll(t, b.brokers, 4, 15*time.Second, "engage.contact", brandBTopic, "engage.deadletter")
	type got struct{ topic, endpoint, reason string }
	byID := map[string]got{}
	for _, r := range recs {
		byID[r.Headers["svix-id"]] = got{r.Topic, r.Headers[schemas.RecordEndpoint], r.Headers[schemas.RecordDLQReason]}
		if r.Headers["svix-id"] == "msg_a_enc" && !bytes.Equal(r.Value, decrypted) {
			t.Errorf("brand-a's record is not decrypted with brand-a's key:\n%s", r.Value)
		}
	}
	want := map[string]got{
		"msg_a_enc":    {"engage.contact", "brand-a", ""},
		"msg_b_plain":  {brandBTopic, "brand-b", ""},
		"msg_b_enc":    {"engage.deadletter", "brand-b", "no_encryption_key"},
		"msg_b_tenant": {"engage.deadletter", "brand-b", "tenant_mismatch"},
	}
	if diff := cmp.Diff(want, byID, cmp.AllowUnexported(got{})); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}

	for series, want := range map[string]float64{
		`engage_bridge_requests_total{endpoint="brand-a",outcome="published"}`:                                   1,
		`engage_bridge_requests_total{endpoint="brand-b",outcome="deadlettered"}`:                                2,
		`engage_bridge_signature_failures_total{endpoint="brand-a",reason="no_match"}`:                           1,
		`engage_bridge_deadletters_total{endpoint="brand-b",reason="tenant_mismatch"}`:                           1,
		`engage_bridge_published_total{endpoint="brand-b",event_type="contact.updated",topic="brand-b.contact"}`: 1,
		`engage_bridge_requests_total{endpoint="",outcome="not_found"}`:                                          1,
	} {
		if got := metricValue(t, b.adminURL(), series); got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
	for _, line := range strings.Split(b.logs.String(), "\n") {
		if strings.Contains(line, `"message":"webhook"`) && strings.Contains(line, `"path":"/webhooks/engage/brand`) &&
			!strings.Contains(line, `"endpoint":"brand-`) {
			t.Errorf("request log line without endpoint: %s", line)
		}
	}
	assertNoPersonalData(t, b.logs.String())
}

// TestEndpointsTopicsUnion: topics creates brand-b's own topic next to the
// global table's, and readiness waits for all of them.
func TestEndpointsTopicsUnion(t *testing.T) {
	c := kafkatest.Cluster(t)
	file := endpointsDir(t)
	var out, errOut bytes.Buffer
	env := multiEnv(file)
	env["BRIDGE_KAFKA_BROKERS"] = strings.Join(c.ListenAddrs(), ",")
	err := run(t.Context(), []string{"topics", "--replication-factor", "1"}, func(k string) string { return env[k] }, &out, &errOut)
	if err != nil {
		t.Fatalf("topics: %v\n%s", err, errOut.String())
	}
	for _, topic := range append(slices.Clone(routedTopics), brandBTopic) {
		if !strings.Contains(out.String(), topic+" ") {
			t.Errorf("topics did not create %s:\n%s", topic, out.String())
		}
	}
}

func TestEndpointsFileConflicts(t *testing.T) {
	file := endpointsDir(t)
	env := map[string]string{
		"BRIDGE_ENDPOINTS_FILE": file, "BRIDGE_WEBHOOK_PATH": "/x", "BRIDGE_SIGNING_SECRETS": e2eSecret,
		"BRIDGE_KAFKA_BROKERS": "127.0.0.1:1", "BRIDGE_LISTEN": "127.0.0.1:0", "BRIDGE_ADMIN_LISTEN": "127.0.0.1:0",
	}
	var out, errOut bytes.Buffer
	err := run(t.Context(), []string{"serve"}, func(k string) string { return env[k] }, &out, &errOut)
	if code := exitCode(err, io.Discard); code != 2 {
		t.Fatalf("exit %d (%v), want 2", code, err)
	}
	for _, name := range []string{"BRIDGE_WEBHOOK_PATH", "BRIDGE_SIGNING_SECRETS"} {
		if !strings.Contains(err.Error(), "BRIDGE_ENDPOINTS_FILE: set BRIDGE_ENDPOINTS_FILE or "+name+", not both") {
			t.Errorf("no conflict named with %s:\n%v", name, err)
		}
	}

	// A problem of the file is one line naming the endpoint and the key.
	if err := os.WriteFile(file, []byte("endpoints:\n  - name: brand-a\n    path: /a\n    signing_secrets_file: missing\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	delete(env, "BRIDGE_WEBHOOK_PATH")
	delete(env, "BRIDGE_SIGNING_SECRETS")
	err = run(t.Context(), []string{"serve"}, func(k string) string { return env[k] }, &out, &errOut)
	if code := exitCode(err, io.Discard); code != 2 || !strings.Contains(fmt.Sprint(err), "BRIDGE_ENDPOINTS_FILE: endpoint brand-a: signing_secrets_file: cannot read") {
		t.Errorf("exit %d: %v", code, err)
	}
}
