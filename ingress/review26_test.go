package ingress

import (
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestReview26CutBoundsTheLineNotJustTheValue: the 256-byte cut counts the
// decoded path's bytes, but zerolog writes a control byte or an invalid
// UTF-8 byte as a 6-byte \uXXXX escape. A sender who percent-encodes such
// bytes (%01, %FF: 3 bytes each on the wire, well inside the 64 KiB of
// headers) gets a path field of ~1.5 KiB, over the 1024-byte line bound
// that TestRefusedRequestsLogBoundedFields asserts (it only tries 'a').
// Fixed by stating the bound as it is: 256 bytes before escaping, each
// escaped byte six in the line, so such a line stays under 2 KiB.
func TestReview26CutBoundsTheLineNotJustTheValue(t *testing.T) {
	for _, enc := range []string{"%01", "%FF", "%22"} {
		b := newTestHandler(t, nil)
		path := "/" + strings.Repeat(enc, 5_000)
		post(t, b, http.MethodGet, path, http.Header{}, nil, "192.0.2.7:40000")
		line := b.log.String()
		if len(line) > 2048 {
			t.Errorf("404 path of %s bytes: a %d-byte log line (bound 2048): %.160s…", enc, len(line), line)
		}
	}
}

// TestReview26CutKeepsWholeRunes: cut is documented to keep "its first n
// bytes (at a UTF-8 boundary)". On a run of stray continuation bytes it
// backs up without limit and then also drops the last complete rune before
// the run: "/probe"+0x80… is logged "/prob…", and "/"+0x80… as "…" alone.
// A rune is at most utf8.UTFMax bytes, so backing up more than 3 bytes is
// never needed.
func TestReview26CutKeepsWholeRunes(t *testing.T) {
	for _, tt := range []struct{ in, wantPrefix string }{
		{"/probe" + strings.Repeat("\x80", 300), "/probe"},
		{"/" + strings.Repeat("\x80", 300), "/"},
	} {
		if got := cut(tt.in, maxLoggedPath); !strings.HasPrefix(got, tt.wantPrefix) {
			t.Errorf("cut(%q + 0x80×300) = %q; the complete %q before the cut is lost", tt.wantPrefix, got, tt.wantPrefix)
		}
	}
}

// TestReview26SignedFieldsAreNotCut: the cut covers method and path only.
// svix_id (a header, up to the 64 KiB header limit), event_type and tenant
// (envelope fields, up to BRIDGE_MAX_BODY_BYTES) are logged whole, so a
// signed delivery (needs the secret: a compromised or buggy Engage, or a
// leaked secret) still makes one log line as large as the body. Lower
// severity than an unsigned sender's, but the same defect the commit fixed.
func TestReview26SignedFieldsAreNotCut(t *testing.T) {
	b := newTestHandler(t, nil)
	body := []byte(`{"eventType":"` + strings.Repeat("e", 100_000) + `","tenant":"` + strings.Repeat("t", 100_000) + `","payload":{"contactId":"c"}}`)
	w := post(t, b, http.MethodPost, "/webhooks/engage", signed(t, "msg_"+strings.Repeat("i", 10_000), body), body, "192.0.2.7:40000")
	if line := b.log.String(); len(line) > 4096 {
		t.Errorf("signed delivery answered %d: a %d-byte log line (svix_id %d, event_type %d, tenant %d bytes, all uncut)",
			w.Code, len(line), 10_004, 100_000, 100_000)
	}
}

func TestCutKeepsWholeCharacters(t *testing.T) {
	for _, tt := range []struct {
		in   string
		n    int
		want string
	}{
		{"abc", 3, "abc"},
		{"abcd", 3, "abc…"},
		{"aé", 2, "a…"},                              // é is 2 bytes: not split
		{"aéz", 3, "aé…"},                            // ends on its last byte
		{"a€", 3, "a…"},                              // € is 3 bytes
		{"ab€", 3, "ab…"},                            // cut after its first byte
		{"a𝄞", 4, "a…"},                              // 4 bytes
		{"/p\x80\x80\x80\x80\x80", 4, "/p\x80\x80…"}, // stray continuation bytes are kept
		{"\xff\xff\xff", 2, "\xff\xff…"},
	} {
		if got := cut(tt.in, tt.n); got != tt.want {
			t.Errorf("cut(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
		if utf8.ValidString(tt.in) && !utf8.ValidString(cut(tt.in, tt.n)) {
			t.Errorf("cut(%q, %d) made valid UTF-8 invalid", tt.in, tt.n)
		}
	}
}
