package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/twmb/franz-go/pkg/kgo"

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
	t.Parallel()
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
	t.Parallel()
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
	t.Parallel()
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

// eventually retries check until it holds or 10 s passed: the time issue
// 16 gives a changed file to take effect (the watcher polls every 2 s).
func eventually(t *testing.T, what string, check func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); !check(); time.Sleep(200 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("not within 10 s: %s", what)
		}
	}
}

// TestRotationWithoutRestart runs the real binary and changes its
// signing-secrets file and key file on disk: each change takes effect in
// the same process, and a broken change keeps the previous values.
func TestRotationWithoutRestart(t *testing.T) {
	t.Parallel()
	c := kafkatest.Cluster(t)
	for _, topic := range routedTopics {
		kafkatest.CreateTopic(t, c, topic, 1, nil)
	}
	dir := t.TempDir()
	secrets, key := filepath.Join(dir, "secrets"), filepath.Join(dir, "key")
	write := func(path, content string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(secrets, e2eSecret+"\n")
	write(key, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n") // valid, but not the key the payloads use
	p := startProcess(t, map[string]string{
		"BRIDGE_SIGNING_SECRETS": "", "BRIDGE_ENCRYPTION_KEY": "",
		"BRIDGE_SIGNING_SECRETS_FILE": secrets, "BRIDGE_ENCRYPTION_KEY_FILE": key,
		"BRIDGE_KAFKA_BROKERS": strings.Join(c.ListenAddrs(), ","),
	})
	pid := p.cmd.Process.Pid
	plain := example(t, schemas.EventContactUpdated)
	enc, _ := encryptedExample(t, schemas.EventContactUpdated)
	n := 0
	send := func(secret string, body []byte) answer {
		n++
		return deliver(t, p.webhook, secret, fmt.Sprintf("msg_rot%d", n), time.Now(), body, nil)
	}

	if a := send(e2eSecret2, plain); a.status != 401 {
		t.Fatalf("the new secret before the change: %d", a.status)
	}
	if a := send(e2eSecret, enc); a.body != `{"status":"deadlettered","reason":"decrypt_failed"}` {
		t.Fatalf("with the wrong key: %d %s", a.status, a.body)
	}

	// Svix's rotation: the new secret next to the old, then alone.
	write(secrets, e2eSecret+"\n"+e2eSecret2+"\n")
	eventually(t, "the added secret is accepted", func() bool { return send(e2eSecret2, plain).status == 200 })
	write(secrets, e2eSecret2+"\n")
	eventually(t, "the removed secret is refused", func() bool { return send(e2eSecret, plain).status == 401 })

	write(key, e2eKey+"\n")
	eventually(t, "the new key decrypts", func() bool { return send(e2eSecret2, enc).body == `{"status":"published"}` })

	// Broken changes: the previous secret and key stay in use.
	write(secrets, "whsec_tooShort\n")
	write(key, "not a key\n")
	eventually(t, "both refusals are counted", func() bool {
		m := do(t, http.MethodGet, p.admin+"/metrics", http.Header{}, nil).body
		return strings.Contains(m, `engage_bridge_config_reload_errors_total{file="signing_secrets"} 1`) &&
			strings.Contains(m, `engage_bridge_config_reload_errors_total{file="encryption_key"} 1`)
	})
	if a := send(e2eSecret2, enc); a.body != `{"status":"published"}` {
		t.Errorf("after broken changes: %d %s", a.status, a.body)
	}
	logs := p.logs.String()
	// The file by its role, never by its path (a secret typed in place
	// of a path would be quoted) nor by its content.
	for _, want := range []string{`"file":"signing_secrets"`, `"file":"encryption_key"`, "configuration file changed but was refused"} {
		if !strings.Contains(logs, want) {
			t.Errorf("the logs do not name %q", want)
		}
	}
	for _, path := range []string{secrets, key} {
		if strings.Contains(logs, path) {
			t.Errorf("the logs name the secret file's path %q", path)
		}
	}
	for _, secret := range []string{e2eSecret[6:], e2eSecret2[6:], e2eKey, "whsec_tooShort", "not a key"} {
		if strings.Contains(logs, secret) {
			t.Errorf("the logs quote a file's content %q", secret)
		}
	}
	select {
	case err := <-p.exited:
		t.Fatalf("the bridge exited: %v", err)
	default:
	}
	if p.cmd.Process.Pid != pid {
		t.Fatal("another process")
	}
}

// TestEndpointsFileReload: a secret file named by the endpoints file
// rotates without a restart; adding an endpoint is logged as needing one
// and the running set stays.
func TestEndpointsFileReload(t *testing.T) {
	t.Parallel()
	c := kafkatest.Cluster(t)
	file := endpointsDir(t)
	dir := filepath.Dir(file)
	b := startBridge(t, c, multiEnv(file), true)
	urlA := b.webhookBase() + "/webhooks/engage/brand-a"
	body := example(t, schemas.EventContactUpdated)
	n := 0
	send := func(url, secret string) int {
		n++
		return deliver(t, url, secret, fmt.Sprintf("msg_reload%d", n), time.Now(), body, nil).status
	}
	if err := os.WriteFile(filepath.Join(dir, "a.secrets"), []byte(e2eSecret2+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	eventually(t, "brand-a takes its new secret", func() bool { return send(urlA, e2eSecret2) == 200 })
	if got := send(urlA, e2eSecret); got != 401 {
		t.Errorf("brand-a's old secret: %d", got)
	}

	yaml, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	added := string(yaml) + "  - name: brand-c\n    path: /webhooks/engage/brand-c\n    signing_secrets_file: a.secrets\n"
	if err := os.WriteFile(file, []byte(added), 0o600); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the added endpoint is logged as needing a restart", func() bool {
		return strings.Contains(b.logs.String(), "endpoint brand-c was added")
	})
	if got := send(b.webhookBase()+"/webhooks/engage/brand-c", e2eSecret2); got != 404 {
		t.Errorf("an endpoint added without a restart: %d, want 404", got)
	}
	if got := send(urlA, e2eSecret2); got != 200 {
		t.Errorf("brand-a after the refused change: %d", got)
	}
}

// TestEndpointsRedrive: brand-b, without a key, dead-letters an encrypted
// delivery; once brand-b's key is in the endpoints file, redrive decrypts
// it with that key and routes it by brand-b's own table.
func TestEndpointsRedrive(t *testing.T) {
	t.Parallel()
	c := kafkatest.Cluster(t)
	file := endpointsDir(t)
	b := startBridge(t, c, multiEnv(file), true)
	enc, decrypted := encryptedExample(t, schemas.EventContactUpdated)
	if a := deliver(t, b.webhookBase()+"/webhooks/engage/brand-b", e2eSecret2, "msg_b_redrive", time.Now(), enc, nil); a.body != `{"status":"deadlettered","reason":"no_encryption_key"}` {
		t.Fatalf("brand-b without a key: %+v", a)
	}

	dir := filepath.Dir(file)
	if err := os.WriteFile(filepath.Join(dir, "b.key"), []byte(e2eKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	yaml, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	withKey := strings.Replace(string(yaml), "    signing_secrets_file: b.secrets\n", "    signing_secrets_file: b.secrets\n    encryption_key_file: b.key\n", 1)
	if err := os.WriteFile(file, []byte(withKey), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"BRIDGE_KAFKA_BROKERS": strings.Join(b.brokers, ","), "BRIDGE_ENDPOINTS_FILE": file}
	out, err := runCmd(t, env, "redrive")
	if err != nil || !strings.Contains(out, "1 records, 1 published, 0 still dead-lettered") {
		t.Fatalf("redrive: %v\n%s", err, out)
	}
	recs := kafkatest.ReadAll(t, b.brokers, 1, 10*time.Second, brandBTopic)
	if len(recs) != 1 || !bytes.Equal(recs[0].Value, decrypted) || recs[0].Headers[schemas.RecordEndpoint] != "brand-b" {
		t.Fatalf("%s after redrive: %d records %+v", brandBTopic, len(recs), recs)
	}
}

// TestEndpointsRedriveWithoutHeader: a dead letter written before the
// engage-endpoint header existed has no endpoint; with several endpoints
// and none named default, redrive leaves it dead-lettered and says why,
// until --endpoint names one.
func TestEndpointsRedriveWithoutHeader(t *testing.T) {
	t.Parallel()
	c := kafkatest.Cluster(t)
	for _, topic := range append(slices.Clone(routedTopics), brandBTopic) {
		kafkatest.CreateTopic(t, c, topic, 1, nil)
	}
	file := endpointsDir(t)
	if err := os.WriteFile(filepath.Join(filepath.Dir(file), "b.key"), []byte(e2eKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	yaml, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	withKey := strings.Replace(string(yaml), "    signing_secrets_file: b.secrets\n", "    signing_secrets_file: b.secrets\n    encryption_key_file: b.key\n", 1)
	if err := os.WriteFile(file, []byte(withKey), 0o600); err != nil {
		t.Fatal(err)
	}

	enc, decrypted := encryptedExample(t, schemas.EventContactUpdated)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	old := &kgo.Record{Topic: "engage.deadletter", Key: []byte("msg_old"), Value: enc, Headers: []kgo.RecordHeader{
		{Key: "svix-id", Value: []byte("msg_old")}, {Key: "svix-timestamp", Value: []byte("1700000000")},
		{Key: "engage-dlq-reason", Value: []byte("no_encryption_key")},
	}}
	if err := cl.ProduceSync(t.Context(), old).FirstErr(); err != nil {
		t.Fatal(err)
	}

	env := map[string]string{"BRIDGE_KAFKA_BROKERS": strings.Join(c.ListenAddrs(), ","), "BRIDGE_ENDPOINTS_FILE": file}
	out, err := runCmd(t, env, "redrive")
	if err == nil || !strings.Contains(out, "left dead-lettered: no engage-endpoint header") || !strings.Contains(out, "--endpoint NAME") {
		t.Fatalf("redrive without --endpoint: %v\n%s", err, out)
	}
	out, err = runCmd(t, env, "redrive", "--endpoint", "brand-b")
	if err != nil || !strings.Contains(out, "1 records, 1 published") {
		t.Fatalf("redrive --endpoint brand-b: %v\n%s", err, out)
	}
	recs := kafkatest.ReadAll(t, c.ListenAddrs(), 1, 10*time.Second, brandBTopic)
	if len(recs) != 1 || !bytes.Equal(recs[0].Value, decrypted) || recs[0].Headers[schemas.RecordEndpoint] != "brand-b" {
		t.Fatalf("%s after redrive: %+v", brandBTopic, recs)
	}
}

// TestEndpointsReadiness: /readyz waits for the topics of every endpoint's
// table, brand-b's own included.
func TestEndpointsReadiness(t *testing.T) {
	t.Parallel()
	c := kafkatest.Cluster(t)
	for _, topic := range routedTopics {
		kafkatest.CreateTopic(t, c, topic, 1, nil)
	}
	b := startBridge(t, c, multiEnv(endpointsDir(t)), false)
	eventually(t, "/readyz names brand-b's missing topic", func() bool {
		a := do(t, http.MethodGet, b.adminURL()+"/readyz", http.Header{}, nil)
		return a.status == 503 && strings.Contains(a.body, brandBTopic)
	})
	kafkatest.CreateTopic(t, c, brandBTopic, 1, nil)
	eventually(t, "/readyz once it exists", func() bool {
		return do(t, http.MethodGet, b.adminURL()+"/readyz", http.Header{}, nil).status == 200
	})
}
