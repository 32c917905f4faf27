package main

import (
	"bytes"
	"context"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/engage-bridge/engage-bridge/internal/faultnet"
	"github.com/engage-bridge/engage-bridge/internal/kafkatest"
	"github.com/engage-bridge/engage-bridge/schemas"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// TestServeConfigErrors: missing or invalid configuration exits 2 with one
// line naming the variable, before anything listens; secrets never appear.
func TestServeConfigErrors(t *testing.T) {
	t.Parallel()
	good := map[string]string{
		"BRIDGE_SIGNING_SECRETS": e2eSecret,
		"BRIDGE_KAFKA_BROKERS":   "127.0.0.1:1",
		"BRIDGE_LISTEN":          "127.0.0.1:0",
		"BRIDGE_ADMIN_LISTEN":    "127.0.0.1:0",
	}
	tests := []struct {
		name string
		set  map[string]string
		args []string
		want string
	}{
		{"no signing secret", map[string]string{"BRIDGE_SIGNING_SECRETS": ""}, nil, "BRIDGE_SIGNING_SECRETS"},
		{"no brokers", map[string]string{"BRIDGE_KAFKA_BROKERS": ""}, nil, "BRIDGE_KAFKA_BROKERS: required"},
		{"short key", map[string]string{"BRIDGE_ENCRYPTION_KEY": "tooShortKey123"}, nil, "BRIDGE_ENCRYPTION_KEY: "},
		{"bad secret", map[string]string{"BRIDGE_SIGNING_SECRETS": "whsec_***"}, nil, "BRIDGE_SIGNING_SECRETS: "},
		{"bad tolerance", map[string]string{"BRIDGE_TIMESTAMP_TOLERANCE": "five minutes"}, nil, `BRIDGE_TIMESTAMP_TOLERANCE: "five minutes" is not a duration`},
		{"publish timeout beyond Svix's", map[string]string{"BRIDGE_PUBLISH_TIMEOUT": "20s"}, nil, "BRIDGE_PUBLISH_TIMEOUT: must be below 15s"},
		{"flag wins and is checked", nil, []string{"--max-in-flight", "0"}, "BRIDGE_MAX_IN_FLIGHT: must be between 1"},
		{"bad ip", map[string]string{"BRIDGE_ALLOWED_IPS": "svix-us"}, nil, "BRIDGE_ALLOWED_IPS: "},
		{"token without header", map[string]string{"BRIDGE_AUTH_TOKEN": "x"}, nil, "BRIDGE_AUTH_HEADER: required"},
		{"same listeners", map[string]string{"BRIDGE_LISTEN": ":8080", "BRIDGE_ADMIN_LISTEN": ":8080"}, nil, "BRIDGE_ADMIN_LISTEN: must differ"},
		{"bad sasl", map[string]string{"BRIDGE_KAFKA_SASL_MECHANISM": "GSSAPI"}, nil, "BRIDGE_KAFKA_SASL_MECHANISM"},
		{"missing routes file", map[string]string{"BRIDGE_ROUTES_FILE": "/nonexistent/routes.yaml"}, nil, "BRIDGE_ROUTES_FILE: "},
		{"secret and secret file", map[string]string{"BRIDGE_SIGNING_SECRETS_FILE": "/etc/hostname"}, nil, "set BRIDGE_SIGNING_SECRETS or BRIDGE_SIGNING_SECRETS_FILE, not both"},
		{"unknown flag", nil, []string{"--no-such-flag"}, "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range good {
				env[k] = v
			}
			for k, v := range tt.set {
				env[k] = v
			}
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), append([]string{"serve"}, tt.args...), envOf(env), &stdout, &stderr)
			code := exitCode(err, &stderr)
			if code != 2 {
				t.Fatalf("exit code %d (err %v), want 2", code, err)
			}
			line := strings.TrimSpace(stderr.String())
			lastLine := line[strings.LastIndex(line, "\n")+1:]
			if !strings.Contains(lastLine, tt.want) {
				t.Errorf("message %q does not contain %q", lastLine, tt.want)
			}
			for _, secret := range []string{e2eSecret[6:], "tooShortKey123"} {
				if strings.Contains(stderr.String(), secret) {
					t.Errorf("message quotes a secret: %q", stderr.String())
				}
			}
		})
	}
}

func TestUnknownCommand(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if code := exitCode(run(context.Background(), []string{"frobnicate"}, envOf(nil), &out, &out), &out); code != 2 {
		t.Errorf("exit code %d, want 2", code)
	}
	if code := exitCode(run(context.Background(), []string{"send", "-h"}, envOf(nil), &out, &out), &out); code != 0 {
		t.Errorf("send -h: exit code %d, want 0", code)
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"version"}, envOf(nil), &out, &out); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?s)^engage-bridge \S+\ncommit \S+\ngo1\.\d+`).MatchString(out.String()) {
		t.Errorf("version output %q", out.String())
	}
}

// TestVersionHelp is issue 14 defect 12d: version -h prints help, as every
// other command's -h does, not the version.
func TestVersionHelp(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"version", "-h"}, {"version", "--help"}, {"--version", "-h"}} {
		var stdout, stderr bytes.Buffer
		code := exitCode(run(context.Background(), args, envOf(nil), &stdout, &stderr), &stderr)
		if code != 0 || !strings.HasPrefix(stderr.String(), "Usage: engage-bridge version") || stdout.Len() != 0 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 0, nothing, the usage", args, code, stdout.String(), stderr.String())
		}
	}
	var out bytes.Buffer
	if code := exitCode(run(context.Background(), []string{"version", "extra"}, envOf(nil), &out, &out), &out); code != 2 {
		t.Errorf("version extra: exit %d, want 2", code)
	}
}

// TestDevSendTail is the first-run path of the README: dev with its
// embedded broker, the printed send command, and tail showing the record
// on engage.contact.
func TestDevSendTail(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	env := map[string]string{"BRIDGE_LISTEN": "127.0.0.1:0", "BRIDGE_ADMIN_LISTEN": "127.0.0.1:0"}
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"dev"}, envOf(env), stdout, stderr) }()

	var banner string
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(banner, "See the records") {
		if time.Now().After(deadline) {
			t.Fatalf("no banner; stdout:\n%s\nstderr:\n%s", banner, stderr.String())
		}
		select {
		case err := <-done:
			t.Fatalf("dev stopped: %v\n%s", err, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		banner = stdout.String()
	}
	for _, want := range []string{devSigningSecret, devEncryptionKey, "INSECURE", "127.0.0.1:9092", "engage.contact"} {
		if !strings.Contains(banner, want) {
			t.Errorf("banner lacks %q:\n%s", want, banner)
		}
	}
	sendLine := regexp.MustCompile(`(?m)^\s+(?:go run \./cmd/engage-bridge|engage-bridge) (send --url \S+ --secret \S+ --event contact\.updated)$`).FindStringSubmatch(banner)
	if sendLine == nil {
		t.Fatalf("no send command in the banner:\n%s", banner)
	}
	var sendOut bytes.Buffer
	if err := run(ctx, strings.Fields(sendLine[1]), envOf(nil), &sendOut, &sendOut); err != nil {
		t.Fatalf("send: %v\n%s", err, sendOut.String())
	}
	if !strings.Contains(sendOut.String(), `200 {"status":"published"}`) {
		t.Fatalf("send output:\n%s", sendOut.String())
	}
	id := regexp.MustCompile(`msg_\w+`).FindString(sendOut.String())

	var tailOut bytes.Buffer
	if err := run(ctx, []string{"tail", "--kafka-brokers", "127.0.0.1:9092", "--exit"}, envOf(nil), &tailOut, &tailOut); err != nil {
		t.Fatalf("tail: %v\n%s", err, tailOut.String())
	}
	for _, want := range []string{"engage.contact  partition ", "key: 515c1b2a-7124-4bb9-826b-aedbbe5da8c4", "svix-id: " + id, `"eventType": "contact.updated"`} {
		if !strings.Contains(tailOut.String(), want) {
			t.Errorf("tail output lacks %q:\n%s", want, tailOut.String())
		}
	}
	var tailJSON bytes.Buffer
	if err := run(ctx, []string{"tail", "--kafka-brokers", "127.0.0.1:9092", "--exit", "--json", "--topic", "engage.contact"}, envOf(nil), &tailJSON, &tailJSON); err != nil {
		t.Fatalf("tail --json: %v", err)
	}
	if !strings.Contains(tailJSON.String(), `"svix-id":"`+id+`"`) || !strings.Contains(tailJSON.String(), `"topic":"engage.contact"`) {
		t.Errorf("tail --json output:\n%s", tailJSON.String())
	}

	// topics with its defaults against dev's broker finds every topic as
	// it would have made it (dev made 3 partitions, topics 6, before).
	var topicsOut bytes.Buffer
	if err := run(ctx, []string{"topics", "--kafka-brokers", "127.0.0.1:9092", "--replication-factor", "1"}, envOf(nil), &topicsOut, &topicsOut); err != nil {
		t.Fatalf("topics: %v\n%s", err, topicsOut.String())
	}
	if strings.Contains(topicsOut.String(), "other settings") || !strings.Contains(topicsOut.String(), "engage.contact") {
		t.Errorf("topics against dev's broker:\n%s", topicsOut.String())
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("dev exited with %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("dev did not stop")
	}
}

// TestSendEncryptAndWebhookHeaders: send's Engage-style encryption and the
// unbranded header set are accepted by the bridge.
func TestSendEncryptAndWebhookHeaders(t *testing.T) {
	t.Parallel()
	c := kafkatest.Cluster(t)
	b := startBridge(t, c, nil, true)
	var out bytes.Buffer
	err := run(context.Background(), []string{"send", "--url", b.webhookURL(), "--secret", e2eSecret, "--encrypt",
		"--encryption-key", e2eKey, "--header-set", "webhook"}, envOf(nil), &out, &out)
	if err != nil {
		t.Fatalf("send: %v\n%s", err, out.String())
	}
	if n := strings.Count(out.String(), `200 {"status":"published"}`); n != 11 {
		t.Errorf("%d of 11 published:\n%s", n, out.String())
	}
	if !strings.Contains(b.logs.String(), `"encryption":"decrypted"`) {
		t.Errorf("no decrypted delivery in the log")
	}
}

// TestSendRetries: with --retry, a delivery answered non-2xx is retried
// with the same svix-id and a fresh signature until it lands.
func TestSendRetries(t *testing.T) {
	t.Parallel()
	fn := faultnet.New()
	c := kafkatest.Cluster(t, kfake.ListenFn(fn.Listen))
	b := startBridge(t, c, map[string]string{"BRIDGE_PUBLISH_TIMEOUT": "300ms"}, true)
	// Refuse the first two produce requests, as a broker in trouble would:
	// no answer, and a second later the connection breaks (without that
	// break, each would wait out the publisher's 10 s request timeout).
	refused := 0
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		if refused == 2 {
			return nil, nil, false
		}
		refused++
		c.KeepControl()
		time.AfterFunc(time.Second, fn.CutAll)
		return nil, nil, true
	})
	var out bytes.Buffer
	err := run(context.Background(), []string{"send", "--url", b.webhookURL(), "--secret", e2eSecret,
		"--event", "contact.deleted", "--retry", "--fast-retries"}, envOf(nil), &out, &out)
	if err != nil {
		t.Fatalf("send: %v\n%s", err, out.String())
	}
	ids := regexp.MustCompile(`msg_\w+`).FindAllString(out.String(), -1)
	for _, id := range ids {
		if id != ids[0] {
			t.Errorf("retries changed the svix-id: %v", ids)
		}
	}
	// The refused requests get no answer, so their record is in doubt and
	// the publisher sends it again before anything newer of its partition
	// (docs/consumers.md#ordering): a retry is answered published, or
	// duplicate when that resend was acknowledged first. Either way a 2xx
	// came only after an acknowledgement.
	if !strings.Contains(out.String(), "503") ||
		!(strings.Contains(out.String(), `200 {"status":"published"}`) || strings.Contains(out.String(), `200 {"status":"duplicate"}`)) {
		t.Errorf("send output:\n%s", out.String())
	}
}

func TestSchemasCommand(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"schemas"}, envOf(nil), &out, &out); err != nil || !strings.Contains(out.String(), `"title": "Engage webhook envelope"`) {
		t.Fatalf("schemas: %v\n%s", err, out.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"schemas", "reward.voucher.created"}, envOf(nil), &out, &out); err != nil || !strings.Contains(out.String(), `"ContactId"`) {
		t.Fatalf("schemas reward.voucher.created: %v\n%s", err, out.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"schemas", "--list"}, envOf(nil), &out, &out); err != nil || strings.Count(out.String(), "\n") != 12 {
		t.Fatalf("schemas --list: %v\n%s", err, out.String())
	}
	err := run(context.Background(), []string{"schemas", "order.created"}, envOf(nil), &out, &out)
	if code := exitCode(err, &out); code != 2 {
		t.Errorf("unknown event type: exit %d", code)
	}
}

// TestSendTenant: send --tenant sets the envelope's tenant, so that a
// {tenant} route can be tried with the built-in samples, encrypted or not;
// it does not apply to --load.
func TestSendTenant(t *testing.T) {
	t.Parallel()
	c := kafkatest.Cluster(t)
	routes := "routes:\n  - match: [\"contact.*\"]\n    topic: \"shop.{tenant}.contact\"\nfallback: engage.unrouted\ndeadletter: engage.deadletter\n"
	for _, topic := range []string{"shop.acme.contact", "engage.unrouted", "engage.deadletter"} {
		kafkatest.CreateTopic(t, c, topic, 1, nil)
	}
	b := startBridge(t, c, map[string]string{"BRIDGE_ROUTES_FILE": writeFile(t, "routes.yaml", routes)}, false)
	for _, extra := range [][]string{nil, {"--encrypt", "--encryption-key", e2eKey}} {
		var out bytes.Buffer
		args := append([]string{"send", "--url", b.webhookURL(), "--secret", e2eSecret, "--event", "contact.updated", "--tenant", "acme"}, extra...)
		if err := run(context.Background(), args, envOf(nil), &out, &out); err != nil {
			t.Fatalf("send %v: %v\n%s", extra, err, out.String())
		}
		if !strings.Contains(out.String(), `200 {"status":"published"}`) {
			t.Fatalf("send %v:\n%s", extra, out.String())
		}
	}
	recs := kafkatest.ReadAll(t, b.brokers, 2, 10*time.Second, "shop.acme.contact")
	if len(recs) != 2 {
		t.Fatalf("%d records on shop.acme.contact, want 2", len(recs))
	}
	for _, r := range recs {
		if !bytes.Contains(r.Value, []byte(`"tenant":"acme"`)) {
			t.Errorf("record without the tenant: %s", r.Value)
		}
	}
	var out bytes.Buffer
	err := run(context.Background(), []string{"send", "--load", "--secret", e2eSecret, "--tenant", "acme"}, envOf(nil), &out, &out)
	if exitCode(err, io.Discard) != 2 {
		t.Errorf("send --load --tenant: %v, want a usage error (exit 2)", err)
	}
}

// TestTailSkipsMissingRoutedTopics: tail with no --topic reads the routed
// topics that exist and names the ones that do not (it refused them all
// before); a topic asked for by name must exist, and with no routed topic
// at all tail says so.
func TestTailSkipsMissingRoutedTopics(t *testing.T) {
	t.Parallel()
	c := kafkatest.Cluster(t)
	brokers := strings.Join(c.ListenAddrs(), ",")
	tail := func(args ...string) (string, string, error) {
		var out, errOut bytes.Buffer
		err := run(context.Background(), append([]string{"tail", "--kafka-brokers", brokers, "--exit"}, args...), envOf(nil), &out, &errOut)
		return out.String(), errOut.String(), err
	}
	if _, _, err := tail(); err == nil || !strings.Contains(err.Error(), "none of the routed topics exists") {
		t.Errorf("tail with no topic on the cluster: %v", err)
	}
	kafkatest.CreateTopic(t, c, "engage.contact", 1, nil)
	b := startBridge(t, c, nil, false)
	if a := deliver(t, b.webhookURL(), e2eSecret, "msg_tail_missing", time.Now(), example(t, schemas.EventContactCreated), nil); a.status != 200 {
		t.Fatalf("delivery: %+v", a)
	}
	out, errOut, err := tail()
	if err != nil {
		t.Fatalf("tail: %v\n%s", err, errOut)
	}
	if !strings.Contains(out, "svix-id: msg_tail_missing") {
		t.Errorf("tail did not print the record on engage.contact:\n%s", out)
	}
	if !strings.Contains(errOut, "not reading ") || !strings.Contains(errOut, "engage.loyalty") || strings.Contains(errOut, "engage.contact,") {
		t.Errorf("tail's stderr should name the missing routed topics, not engage.contact:\n%s", errOut)
	}
	if _, _, err := tail("--topic", "engage.loyalty"); err == nil || !strings.Contains(err.Error(), "engage.loyalty does not exist") {
		t.Errorf("tail --topic engage.loyalty (missing): %v", err)
	}
}
