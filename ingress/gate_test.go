package ingress

import (
	"net/http"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParsePrefixes(t *testing.T) {
	tests := []struct {
		in      string
		words   bool
		want    []string
		wantErr bool
	}{
		{"", true, nil, false},
		{"10.0.0.1", true, []string{"10.0.0.1/32"}, false},
		{" 10.0.0.0/8 , 2001:db8::/32,", true, []string{"10.0.0.0/8", "2001:db8::/32"}, false},
		{"10.1.2.3/8", true, []string{"10.0.0.0/8"}, false},
		{"::ffff:10.0.0.1", true, []string{"10.0.0.1/32"}, false},
		{"svix-eu", true, []string{"52.215.16.239/32", "54.216.8.72/32", "63.33.109.123/32", "2a05:d028:17:8000::/56"}, false},
		{"SVIX-EU,127.0.0.1", true, []string{"52.215.16.239/32", "54.216.8.72/32", "63.33.109.123/32", "2a05:d028:17:8000::/56", "127.0.0.1/32"}, false},
		{"svix-eu", false, nil, true},
		{"10.0.0.300", true, nil, true},
		{"10.0.0.0/33", true, nil, true},
		{"example.com", true, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParsePrefixes(tt.in, tt.words)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, wantErr %v", err, tt.wantErr)
			}
			var s []string
			for _, p := range got {
				s = append(s, p.String())
			}
			if diff := cmp.Diff(tt.want, s); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestClientIP(t *testing.T) {
	proxies, _ := ParsePrefixes("10.0.0.0/8", false)
	tests := []struct {
		name    string
		remote  string
		xff     []string
		trusted []netip.Prefix
		want    string
	}{
		{"no proxies: peer", "192.0.2.1:5000", []string{"52.215.16.239"}, nil, "192.0.2.1"},
		{"untrusted peer's header ignored", "192.0.2.1:5000", []string{"52.215.16.239"}, proxies, "192.0.2.1"},
		{"trusted peer: rightmost hop", "10.0.0.2:5000", []string{"52.215.16.239"}, proxies, "52.215.16.239"},
		{"spoofed left entries ignored", "10.0.0.2:5000", []string{"1.2.3.4, 52.215.16.239"}, proxies, "52.215.16.239"},
		{"chain of trusted proxies skipped", "10.0.0.2:5000", []string{"52.215.16.239, 10.0.0.9", "10.0.0.3"}, proxies, "52.215.16.239"},
		{"trusted peer without header", "10.0.0.2:5000", nil, proxies, "10.0.0.2"},
		{"malformed hop stops the walk", "10.0.0.2:5000", []string{"52.215.16.239, garbage"}, proxies, "10.0.0.2"},
		{"ipv6 peer", "[2a05:d028:17:8000::1]:443", nil, nil, "2a05:d028:17:8000::1"},
		{"ipv4-mapped peer", "[::ffff:52.215.16.239]:443", nil, nil, "52.215.16.239"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := http.NewRequest(http.MethodPost, "/", nil)
			r.RemoteAddr = tt.remote
			for _, x := range tt.xff {
				r.Header.Add("X-Forwarded-For", x)
			}
			if got := clientIP(r, tt.trusted); got.String() != tt.want {
				t.Errorf("clientIP = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestTokenMatches(t *testing.T) {
	for _, tt := range []struct {
		got, want string
		ok        bool
	}{
		{"s3cret", "s3cret", true},
		{"s3cret ", "s3cret", false},
		{"", "s3cret", false},
		{"S3CRET", "s3cret", false},
		{"s3cre", "s3cret", false},
	} {
		if tokenMatches(tt.got, tt.want) != tt.ok {
			t.Errorf("tokenMatches(%q, %q) != %v", tt.got, tt.want, tt.ok)
		}
	}
}
