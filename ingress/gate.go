package ingress

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// SvixEU is the word that stands for Svix's EU source addresses in
// BRIDGE_ALLOWED_IPS. Engage delivers from Svix's EU region.
const SvixEU = "svix-eu"

// svixEUPrefixes are Svix's published EU source addresses
// (docs.svix.com/receiving/source-ips, public/webhook-ips.json).
func svixEUPrefixes() []netip.Prefix {
	return []netip.Prefix{
		netip.MustParsePrefix("52.215.16.239/32"),
		netip.MustParsePrefix("54.216.8.72/32"),
		netip.MustParsePrefix("63.33.109.123/32"),
		netip.MustParsePrefix("2a05:d028:17:8000::/56"),
	}
}

// ParsePrefixes reads a comma-separated list of IP addresses and CIDR
// prefixes; when allowWords is true, the word svix-eu expands to Svix's EU
// source addresses. Empty items are ignored.
func ParsePrefixes(list string, allowWords bool) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for item := range strings.SplitSeq(list, ",") {
		item = strings.TrimSpace(item)
		switch {
		case item == "":
		case allowWords && strings.EqualFold(item, SvixEU):
			out = append(out, svixEUPrefixes()...)
		case strings.Contains(item, "/"):
			p, err := netip.ParsePrefix(item)
			if err != nil {
				return nil, fmt.Errorf("%q is not an IP address or CIDR prefix", item)
			}
			out = append(out, p.Masked())
		default:
			a, err := netip.ParseAddr(item)
			if err != nil {
				return nil, fmt.Errorf("%q is not an IP address or CIDR prefix", item)
			}
			a = a.Unmap()
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	return out, nil
}

func contains(prefixes []netip.Prefix, a netip.Addr) bool {
	for _, p := range prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// clientIP is the TCP peer, unless the peer is a trusted proxy: then the
// X-Forwarded-For chain is walked from the right, skipping trusted proxies,
// and the first address not trusted is the client. Addresses a client puts
// at the left of the header are never believed.
func clientIP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	peer = peer.Unmap().WithZone("")
	if len(trusted) == 0 || !contains(trusted, peer) {
		return peer
	}
	hops := r.Header.Values("X-Forwarded-For")
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		parts := strings.Split(hops[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			a, err := netip.ParseAddr(strings.TrimSpace(parts[j]))
			if err != nil || a.Zone() != "" {
				// A malformed hop ends what we can believe; so does a
				// zone, which is free text a sender could fill.
				return client
			}
			client = a.Unmap()
			if !contains(trusted, client) {
				return client
			}
		}
	}
	return client
}

// tokenMatches compares the custom header token in constant time. Both
// sides are hashed first so that the comparison does not leak the length.
func tokenMatches(got, want string) bool {
	g := sha256.Sum256([]byte(got))
	w := sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}
