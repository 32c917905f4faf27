package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/engage-bridge/engage-bridge/schemas"
)

// TestReview25SendTenantFileNotAnObject: send --tenant with a --file whose
// body is valid JSON but not an object must end in an error, not a panic.
func TestReview25SendTenantFileNotAnObject(t *testing.T) {
	t.Parallel()
	for _, body := range []string{`null`, ` null `, `[]`, `"x"`, `1`} {
		t.Run(body, func(t *testing.T) {
			var out bytes.Buffer
			var err error
			func() {
				defer func() {
					if p := recover(); p != nil {
						err = fmt.Errorf("panic: %v", p)
					}
				}()
				err = run(context.Background(), []string{"send", "--url", "http://127.0.0.1:1/webhook", "--secret", e2eSecret,
					"--file", writeFile(t, "body.json", body), "--tenant", "acme"}, envOf(nil), &out, &out)
			}()
			if err != nil && strings.HasPrefix(err.Error(), "panic:") {
				t.Fatalf("send --tenant on %s: %v", body, err)
			}
		})
	}
}

// TestReview25SendTenantReplacesEveryCasing: --tenant "sets the envelope's
// tenant" (docs/contract.md#commands). A --file with "Tenant" (which the
// bridge reads as the tenant key too, docs/contract.md#dead-letter-reasons)
// keeps it next to the new "tenant": the bridge sees two tenant keys that
// disagree and dead-letters tenant_mismatch at an endpoint with tenants.
func TestReview25SendTenantReplacesEveryCasing(t *testing.T) {
	t.Parallel()
	b, err := withTenant([]byte(`{"eventType":"contact.updated","Tenant":"other","payload":{"contactId":"c1"}}`), "acme")
	if err != nil {
		t.Fatal(err)
	}
	env, err := schemas.ParseEnvelope(b)
	if err != nil {
		t.Fatal(err)
	}
	if env.Tenant != "acme" || env.TenantsDisagree() {
		t.Errorf("withTenant: %s\nTenant %q, TenantsDisagree %v; want acme, false", b, env.Tenant, env.TenantsDisagree())
	}
}

// TestReview25SendTenantErrorQuotesNoBody: an error of send --tenant on a
// --file that is not JSON must not quote the body (invariant 4).
func TestReview25SendTenantErrorQuotesNoBody(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	err := run(context.Background(), []string{"send", "--url", "http://127.0.0.1:1/webhook", "--secret", e2eSecret,
		"--file", writeFile(t, "body.json", `{"payload":{"contactId":"c1"},#}`), "--tenant", "acme"}, envOf(nil), &out, &out)
	exitCode(err, &out)
	if strings.Contains(out.String(), "'#'") || (err != nil && strings.Contains(err.Error(), "'#'")) {
		t.Errorf("the error quotes a byte of the body: %v\n%s", err, out.String())
	}
	_ = io.Discard
}
