package ingress

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	svix "github.com/svix/svix-webhooks/go"

	"github.com/engage-bridge/engage-bridge/internal/payloadcrypto"
	"github.com/engage-bridge/engage-bridge/schemas"
)

// otherSecret is brand B's secret in the two-endpoint tests.
const otherSecret = "whsec_ZW5nYWdlLWJyaWRnZS1lMmUtcm90YXRlZC1zZWNyZXQ="

func signedWith(t testing.TB, secret, id string, body []byte) http.Header {
	t.Helper()
	wh, err := svix.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	sig, err := wh.Sign(id, now, body)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set("svix-id", id)
	h.Set("svix-timestamp", strconv.FormatInt(now.Unix(), 10))
	h.Set("svix-signature", sig)
	return h
}

func mustSecrets(t testing.TB, s ...string) []Secret {
	t.Helper()
	out, err := ParseSecrets(s)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// twoEndpoints serves brand-a (testSecret, testKey, any tenant) and
// brand-b (otherSecret, no key, tenant brand-b only).
func twoEndpoints(t testing.TB) *testBridge {
	t.Helper()
	key, err := payloadcrypto.ParseKey(testKey)
	if err != nil {
		t.Fatal(err)
	}
	return newTestHandler(t, func(c *Config) {
		c.SigningSecrets, c.EncryptionKey = nil, nil
		c.Endpoints = []Endpoint{
			{Name: "brand-a", Path: "/a", Secrets: mustSecrets(t, testSecret), Key: &key},
			{Name: "brand-b", Path: "/b", Secrets: mustSecrets(t, otherSecret), Tenants: []string{"brand-b"}},
		}
	})
}

func TestEndpoints(t *testing.T) {
	body := example(t, schemas.EventContactUpdated) // tenant myTenantName
	enc, _ := encrypted(t, schemas.EventContactUpdated)
	tests := []struct {
		name       string
		path       string
		secret     string
		body       []byte
		status     int
		answer     string
		endpoint   string // engage-endpoint of the record; "" when none
		deadLetter string
	}{
		{"a with a's secret", "/a", testSecret, body, 200, `{"status":"published"}`, "brand-a", ""},
		{"a decrypts with a's key", "/a", testSecret, enc, 200, `{"status":"published"}`, "brand-a", ""},
		{"b's secret on a", "/a", otherSecret, body, 401, `{"error":"invalid_signature","reason":"no_match"}`, "", ""},
		{"a's secret on b", "/b", testSecret, body, 401, `{"error":"invalid_signature","reason":"no_match"}`, "", ""},
		{"b's tenant check before decryption", "/b", otherSecret, enc, 200, `{"status":"deadlettered","reason":"tenant_mismatch"}`, "brand-b", DLQTenantMismatch},
		{"another path", "/webhooks/engage", testSecret, body, 404, `{"error":"not_found"}`, "", ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := twoEndpoints(t)
			id := "msg_" + strconv.Itoa(i)
			w := post(t, b, http.MethodPost, tt.path, signedWith(t, tt.secret, id, tt.body), tt.body, "")
			if w.Code != tt.status || strings.TrimSpace(w.Body.String()) != tt.answer {
				t.Fatalf("answer %d %s, want %d %s", w.Code, w.Body.String(), tt.status, tt.answer)
			}
			msgs := b.pub.published()
			if tt.endpoint == "" {
				if len(msgs) != 0 {
					t.Fatalf("%d records published, want none", len(msgs))
				}
				return
			}
			if len(msgs) != 1 {
				t.Fatalf("%d records published, want 1", len(msgs))
			}
			h := headerMap(msgs[0].Headers)
			if diff := cmp.Diff([]string{tt.endpoint, tt.deadLetter}, []string{h[schemas.RecordEndpoint], h[schemas.RecordDLQReason]}); diff != "" {
				t.Errorf("engage-endpoint, engage-dlq-reason (-want +got):\n%s", diff)
			}
			if !strings.Contains(b.log.String(), `"endpoint":"`+tt.endpoint+`"`) {
				t.Errorf("log line has no endpoint %s: %s", tt.endpoint, b.log.String())
			}
		})
	}
}

func TestRotate(t *testing.T) {
	b := twoEndpoints(t)
	body := example(t, schemas.EventContactUpdated)
	send := func(id, secret string) int {
		return post(t, b, http.MethodPost, "/a", signedWith(t, secret, id, body), body, "").Code
	}
	if got := send("msg_1", otherSecret); got != http.StatusUnauthorized {
		t.Fatalf("before rotation, another secret: %d", got)
	}
	// Svix's rotation: the new secret next to the old, then alone.
	if err := b.h.Rotate(Endpoint{Name: "brand-a", Secrets: mustSecrets(t, testSecret, otherSecret)}); err != nil {
		t.Fatal(err)
	}
	if got := []int{send("msg_2", testSecret), send("msg_3", otherSecret)}; !cmp.Equal(got, []int{200, 200}) {
		t.Fatalf("both secrets: %v", got)
	}
	if err := b.h.Rotate(Endpoint{Name: "brand-a", Secrets: mustSecrets(t, otherSecret)}); err != nil {
		t.Fatal(err)
	}
	if got := []int{send("msg_4", testSecret), send("msg_5", otherSecret)}; !cmp.Equal(got, []int{401, 200}) {
		t.Fatalf("new secret only: %v", got)
	}
	// brand-b is untouched, and an unknown name or no secrets are refused.
	if got := post(t, b, http.MethodPost, "/b", signedWith(t, otherSecret, "msg_6", body), body, "").Code; got != 200 {
		t.Errorf("brand-b: %d", got)
	}
	if err := b.h.Rotate(Endpoint{Name: "brand-c", Secrets: mustSecrets(t, testSecret)}); err == nil {
		t.Error("Rotate of an unknown endpoint: no error")
	}
	if err := b.h.Rotate(Endpoint{Name: "brand-a"}); err == nil {
		t.Error("Rotate without secrets: no error")
	}
}

func TestSetAuthToken(t *testing.T) {
	b := newTestHandler(t, func(c *Config) { c.AuthHeader, c.AuthToken = "X-Engage-Token", "old" })
	body := example(t, schemas.EventContactUpdated)
	send := func(id, token string) int {
		h := signed(t, id, body)
		h.Set("X-Engage-Token", token)
		return post(t, b, http.MethodPost, "/webhooks/engage", h, body, "").Code
	}
	if err := b.h.SetAuthToken("new"); err != nil {
		t.Fatal(err)
	}
	if got := []int{send("msg_1", "old"), send("msg_2", "new")}; !cmp.Equal(got, []int{401, 200}) {
		t.Errorf("after SetAuthToken: %v", got)
	}
	if err := b.h.SetAuthToken(""); err == nil {
		t.Error("an empty token was taken")
	}
}
