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

// TestRefusedRequestsLogBoundedFields: a 404's path and a 405's method are
// chosen by whoever sends the request (up to the 64 KiB of header the
// server reads), and the one log line of the refusal carries them. They are
// cut at 256 and 32 bytes, marked as cut, so that a scanner cannot make
// every log line it causes 64 KiB long.
func TestRefusedRequestsLogBoundedFields(t *testing.T) {
	longPath := "/" + strings.Repeat("a", 10_000)
	longMethod := strings.Repeat("M", 5_000)
	for _, tt := range []struct{ method, path string }{
		{http.MethodGet, longPath},
		{longMethod, "/webhooks/engage"},
		{longMethod, longPath},
	} {
		b := newTestHandler(t, nil)
		post(t, b, tt.method, tt.path, http.Header{}, nil, "192.0.2.7:40000")
		line := b.log.String()
		if len(line) > 1024 {
			t.Errorf("%d-byte method, %d-byte path: a %d-byte log line", len(tt.method), len(tt.path), len(line))
		}
		if !strings.Contains(line, "…") {
			t.Errorf("the cut is not marked: %.300s", line)
		}
	}
	// Ordinary values are logged whole.
	b := newTestHandler(t, nil)
	post(t, b, http.MethodDelete, "/somewhere/else", http.Header{}, nil, "")
	if line := b.log.String(); !strings.Contains(line, `"method":"DELETE","path":"/somewhere/else"`) {
		t.Errorf("an ordinary refusal's line:\n%s", line)
	}
}
