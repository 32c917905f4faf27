package ingress

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestOnlyPOSTOnTheWebhookPath is issue 14 defect 12c: every method but
// POST, OPTIONS and unknown methods included, is answered 405 with exactly
// "Allow: POST", as docs/contract.md#http-answers says (Echo's defaults
// were 204 for OPTIONS and "Allow: OPTIONS, POST").
func TestOnlyPOSTOnTheWebhookPath(t *testing.T) {
	type answer struct {
		Status int
		Allow  []string
		Body   string
	}
	for _, method := range []string{
		http.MethodGet, http.MethodHead, http.MethodPut, http.MethodPatch, http.MethodDelete,
		http.MethodOptions, http.MethodTrace, http.MethodConnect, "PROPFIND", "BREW",
	} {
		t.Run(method, func(t *testing.T) {
			b := newTestHandler(t, nil)
			w := post(t, b, method, "/webhooks/engage", http.Header{}, nil, "")
			got := answer{w.Code, w.Header().Values("Allow"), strings.TrimSpace(w.Body.String())}
			want := answer{http.StatusMethodNotAllowed, []string{"POST"}, `{"error":"method_not_allowed"}`}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s on the webhook path (-want +got):\n%s", method, diff)
			}
			if n := len(b.pub.published()); n != 0 {
				t.Errorf("%d records published", n)
			}
		})
	}
	t.Run("other path keeps 404", func(t *testing.T) {
		b := newTestHandler(t, nil)
		w := post(t, b, http.MethodOptions, "/webhooks/other", http.Header{}, nil, "")
		if w.Code != http.StatusNotFound || w.Header().Get("Allow") != "" {
			t.Errorf("OPTIONS on another path: %d, Allow %q; want 404 without Allow", w.Code, w.Header().Get("Allow"))
		}
	})
}

// TestRefusedRequestsLogTheClient: the one log line of a 405 (wrong method
// on a webhook path) and of a 404 (any other path) names the client as
// every other request's line does, so that an operator can tell a scanner
// from a misconfigured sender.
func TestRefusedRequestsLogTheClient(t *testing.T) {
	for _, tt := range []struct{ method, path string }{
		{http.MethodGet, "/webhooks/engage"},
		{http.MethodPost, "/somewhere/else"},
	} {
		b := newTestHandler(t, nil)
		post(t, b, tt.method, tt.path, http.Header{}, nil, "192.0.2.7:40000")
		if line := b.log.String(); !strings.Contains(line, `"client_ip":"192.0.2.7"`) {
			t.Errorf("%s %s logged without its client_ip:\n%s", tt.method, tt.path, line)
		}
	}
}
