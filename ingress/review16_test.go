package ingress

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/engage-bridge/engage-bridge/schemas"
)

// Two endpoints whose paths are distinct strings but which Echo's router
// treats as one route pattern (":" starts a path parameter): brand-b's
// handler would replace brand-a's and verify brand-a's deliveries with
// brand-b's secret. Such paths are refused at validation.
// (Adjusted by fix16: the review asserted a 401 from a running handler; the
// contract is that the paths are not served crossed, and refusing them is
// the fix.)
func TestReview16_ParamPathsCrossVerify(t *testing.T) {
	c := Config{Endpoints: []Endpoint{
		{Name: "brand-a", Path: "/hooks/:a", Secrets: mustSecrets(t, testSecret)},
		{Name: "brand-b", Path: "/hooks/:b", Secrets: mustSecrets(t, otherSecret)},
	}}.withDefaults()
	err := c.Validate()
	for _, name := range []string{"brand-a", "brand-b"} {
		if !errors.Is(err, ErrPath) || !strings.Contains(fmt.Sprint(err), "endpoint "+name+": path:") {
			t.Errorf("paths /hooks/:a and /hooks/:b (one Echo route): error %v, want ErrPath naming %s", err, name)
		}
	}
}

// An endpoint path with Echo wildcard syntax would catch other paths
// ("other paths stay 404"): refused at validation, in both modes.
// (Adjusted by fix16 as above: the review asserted a 404 from a running
// handler.)
func TestReview16_WildcardPathCatchesOtherPaths(t *testing.T) {
	for _, c := range []Config{
		{Endpoints: []Endpoint{{Name: "brand-a", Path: "/hooks/*", Secrets: mustSecrets(t, testSecret)}}},
		{Path: "/hooks/*", SigningSecrets: []string{testSecret}},
	} {
		if err := c.withDefaults().Validate(); !errors.Is(err, ErrPath) {
			t.Errorf("path /hooks/*: error %v, want ErrPath", err)
		}
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
