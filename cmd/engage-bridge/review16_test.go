package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/rs/zerolog"
	svix "github.com/svix/svix-webhooks/go"

	"github.com/engage-bridge/engage-bridge/ingress"
	"github.com/engage-bridge/engage-bridge/internal/dedupe"
	"github.com/engage-bridge/engage-bridge/internal/endpoints"
	"github.com/engage-bridge/engage-bridge/internal/metrics"
	"github.com/engage-bridge/engage-bridge/publisher"
	"github.com/engage-bridge/engage-bridge/router"
	"github.com/engage-bridge/engage-bridge/router/routesfile"
	"github.com/engage-bridge/engage-bridge/schemas"
)

type review16Pub struct{}

func (review16Pub) Publish(_ context.Context, m publisher.Message, done func(publisher.Ack, error)) (publisher.Ack, error) {
	a := publisher.Ack{}
	if done != nil {
		done(a, nil)
	}
	return a, nil
}

// newBridge reads the endpoints file twice: once for the handler
// (bridgeConfig -> endpoints.Load) and again, later, when watchers() builds
// the filewatch.Watcher (its first load records the digests and never calls
// OnReload). A secret file that changes between the two reads (publisher,
// schema compilation and tracing set-up run in between; a kubelet Secret
// update can land there) is recorded as already applied: the handler keeps
// the old secret and the new one is never taken, until the next change.
func TestReview16_RotationBetweenStartReadsIsLost(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "endpoints.yaml")
	secrets := filepath.Join(dir, "a.secrets")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(secrets, []byte(e2eSecret+"\n"), 0o600))
	must(os.WriteFile(file, []byte("endpoints:\n  - name: brand-a\n    path: /a\n    signing_secrets_file: a.secrets\n"), 0o600))

	// What bridgeConfig reads at start.
	eps, err := endpoints.Load(file, os.ReadFile)
	must(err)
	rcfg, err := routesfile.Parse([]byte("routes:\n  - match: \"*\"\n    topic: engage.{eventType}\n"))
	must(err)
	routes, err := router.New(rcfg)
	must(err)
	seen, err := dedupe.New(dedupe.Config{}, nil)
	must(err)
	m := metrics.New()
	h, err := ingress.New(ingress.Config{Endpoints: []ingress.Endpoint{ingressEndpoint(eps[0])}},
		ingress.Deps{Routes: routes, Publisher: review16Pub{}, Dedupe: seen, Metrics: m})
	must(err)

	// Svix/kubelet rotates the secret now, before watchers() runs.
	must(os.WriteFile(secrets, []byte(e2eSecret2+"\n"), 0o600))

	// Five seconds: two polls at the 2 s default interval.
	if w := signedWithinRotation(t, config{EndpointsFile: file}, h, m, "/a", "msg_r16"); w.Code == http.StatusUnauthorized {
		t.Fatalf("the secret file holds only the new secret, yet a delivery signed with it is %d %s five seconds later: the rotation made between the two start-up reads is never applied", w.Code, w.Body.String())
	}
}

// signedWithinRotation starts the file watchers of cfg on h, then posts a
// delivery signed with e2eSecret2 (the rotated-in secret) until it is not
// refused as unsigned or 5 s have passed, and returns the last answer.
func signedWithinRotation(t *testing.T, cfg config, h *ingress.Handler, m *metrics.Metrics, path, id string) *httptest.ResponseRecorder {
	t.Helper()
	runs, err := watchers(cfg, h, zerolog.Nop(), m)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, r := range runs {
		go r(ctx)
	}
	body, _ := schemas.Example(schemas.EventContactUpdated)
	wh, err := svix.NewWebhook(e2eSecret2)
	if err != nil {
		t.Fatal(err)
	}
	for {
		now := time.Now()
		sig, err := wh.Sign(id, now, body)
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
		req.Header.Set("svix-id", id)
		req.Header.Set("svix-timestamp", strconv.FormatInt(now.Unix(), 10))
		req.Header.Set("svix-signature", sig)
		w := httptest.NewRecorder()
		h.HTTPHandler().ServeHTTP(w, req)
		if w.Code != http.StatusUnauthorized {
			return w
		}
		select {
		case <-ctx.Done():
			return w
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// The same double read in the single-endpoint configuration:
// BRIDGE_SIGNING_SECRETS_FILE is read by bridgeConfig, then again by the
// watcher built in newBridge.
func TestReview16_SingleRotationBetweenStartReadsIsLost(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	secrets := filepath.Join(dir, "signing")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(secrets, []byte(e2eSecret+"\n"), 0o600))
	rcfg, err := routesfile.Parse([]byte("routes:\n  - match: \"*\"\n    topic: engage.{eventType}\n"))
	must(err)
	routes, err := router.New(rcfg)
	must(err)
	seen, err := dedupe.New(dedupe.Config{}, nil)
	must(err)
	m := metrics.New()
	icfg := ingress.Config{SigningSecrets: []string{e2eSecret}, Path: "/webhooks/engage"}
	h, err := ingress.New(icfg, ingress.Deps{Routes: routes, Publisher: review16Pub{}, Dedupe: seen, Metrics: m})
	must(err)

	must(os.WriteFile(secrets, []byte(e2eSecret2+"\n"), 0o600))

	if w := signedWithinRotation(t, config{Ingress: icfg, Files: secretFiles{SigningSecrets: secrets}}, h, m, "/webhooks/engage", "msg_r16s"); w.Code == http.StatusUnauthorized {
		t.Fatalf("BRIDGE_SIGNING_SECRETS_FILE holds only the new secret, yet a delivery signed with it is %d %s five seconds later", w.Code, w.Body.String())
	}
}
