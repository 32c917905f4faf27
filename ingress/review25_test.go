package ingress

import (
	"net/http"
	"strings"
	"testing"
)

// TestReview25ClientIPZoneFromHeader: with a trusted proxy, the client_ip
// of a 404's log line comes from X-Forwarded-For; an IPv6 zone is any text
// the sender chooses, and it is logged verbatim (here a contactId-shaped
// and 4 KiB string), so an unauthenticated scanner writes what it wants
// into the log.
func TestReview25ClientIPZoneFromHeader(t *testing.T) {
	b := newTestHandler(t, func(c *Config) { c.TrustedProxies, _ = ParsePrefixes("10.0.0.0/8", false) })
	zone := "contactId=19870101-1234;" + strings.Repeat("A", 4096)
	post(t, b, http.MethodGet, "/nowhere", http.Header{"X-Forwarded-For": {"fe80::1%" + zone}}, nil, "10.1.2.3:40000")
	if line := b.log.String(); strings.Contains(line, "contactId=19870101-1234") {
		t.Errorf("the log line carries the sender's text as client_ip (%d bytes):\n%.300s", len(line), line)
	}
}
