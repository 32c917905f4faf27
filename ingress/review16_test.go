package ingress

import (
	"net/http"
	"strings"
	"testing"

	"github.com/engage-bridge/engage-bridge/schemas"
)

// Two endpoints whose paths are distinct strings (so Validate and the
// endpoints file accept them) but which Echo's router treats as one route
// pattern (":" starts a path parameter). brand-b's handler replaces
// brand-a's: a delivery on brand-a's path is verified with brand-b's secret.
func TestReview16_ParamPathsCrossVerify(t *testing.T) {
	b := newTestHandler(t, func(c *Config) {
		c.SigningSecrets, c.EncryptionKey = nil, nil
		c.Endpoints = []Endpoint{
			{Name: "brand-a", Path: "/hooks/:a", Secrets: mustSecrets(t, testSecret)},
			{Name: "brand-b", Path: "/hooks/:b", Secrets: mustSecrets(t, otherSecret)},
		}
	})
	body := example(t, schemas.EventContactUpdated)
	// Signed with brand-b's secret, sent to brand-a's configured path.
	w := post(t, b, http.MethodPost, "/hooks/:a", signedWith(t, otherSecret, "msg_x1", body), body, "")
	if w.Code != http.StatusUnauthorized {
		t.Fatalf("brand-b's secret on brand-a's path %q: %d %s, want 401 no_match", "/hooks/:a", w.Code, strings.TrimSpace(w.Body.String()))
	}
}

// An endpoint path with Echo wildcard/param syntax catches other paths:
// "Other paths stay 404".
func TestReview16_WildcardPathCatchesOtherPaths(t *testing.T) {
	b := newTestHandler(t, func(c *Config) {
		c.SigningSecrets, c.EncryptionKey = nil, nil
		c.Endpoints = []Endpoint{
			{Name: "brand-a", Path: "/hooks/*", Secrets: mustSecrets(t, testSecret)},
		}
	})
	body := example(t, schemas.EventContactUpdated)
	w := post(t, b, http.MethodPost, "/hooks/anything/else", signedWith(t, testSecret, "msg_x2", body), body, "")
	if w.Code != http.StatusNotFound {
		t.Fatalf("POST /hooks/anything/else with endpoint path /hooks/*: %d %s, want 404", w.Code, strings.TrimSpace(w.Body.String()))
	}
}

// The tenant check reads the envelope's tenant key case-insensitively and
// last-wins (as encoding/json). A body with "tenant":"brand-a" and a later
// "Tenant":"brand-b" passes brand-b's check and is published as brand-b's
// (engage-tenant: brand-b), while every case-sensitive consumer (JS,
// Jackson, Python, jq, kcat | jq) reads its tenant as brand-a. A delivery
// whose tenant is ambiguous should not pass the check.
func TestReview16_TenantCaseVariantKeyBypass(t *testing.T) {
	b := twoEndpoints(t) // brand-b: tenants [brand-b]
	body := example(t, schemas.EventContactUpdated)
	s := strings.Replace(string(body), `"tenant": "myTenantName"`, `"Tenant": "brand-b"`, 1)
	if s == string(body) {
		t.Fatalf("example has no tenant to replace: %s", body)
	}
	s = strings.Replace(s, "{", `{"tenant": "brand-a", `, 1)
	w := post(t, b, http.MethodPost, "/b", signedWith(t, otherSecret, "msg_t1", []byte(s)), []byte(s), "")
	msgs := b.pub.published()
	if len(msgs) != 1 {
		t.Fatalf("answer %d %s, %d records", w.Code, strings.TrimSpace(w.Body.String()), len(msgs))
	}
	h := headerMap(msgs[0].Headers)
	if h[schemas.RecordDLQReason] != DLQTenantMismatch {
		t.Fatalf("body whose case-sensitive \"tenant\" is brand-a passed brand-b's tenant check: answer %d %s, record engage-tenant=%q engage-dlq-reason=%q",
			w.Code, strings.TrimSpace(w.Body.String()), h[schemas.RecordTenant], h[schemas.RecordDLQReason])
	}
}
