package deploy

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/google/go-cmp/cmp"
)

const testSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// TestComposeTLS loads the tls profile with the compose loader: Caddy in
// front of the bridge with the Caddyfile from deploy/, on ports 80 and 443,
// forwarding to the bridge's webhook port and path, at the one address the
// bridge trusts for X-Forwarded-For.
func TestComposeTLS(t *testing.T) {
	plain, err := loadCompose(t, map[string]string{"BRIDGE_SIGNING_SECRETS": testSecret})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plain.GetService("caddy"); err == nil {
		t.Error("caddy runs without --profile tls")
	}
	p, err := loadCompose(t, map[string]string{
		"BRIDGE_SIGNING_SECRETS": testSecret,
		"BRIDGE_PUBLIC_HOST":     "bridge.example.com",
		"BRIDGE_HTTP_BIND":       "127.0.0.1",
	}, "tls")
	if err != nil {
		t.Fatal(err)
	}
	caddy, err := p.GetService("caddy")
	if err != nil {
		t.Fatal(err)
	}
	bridge, err := p.GetService("bridge")
	if err != nil {
		t.Fatal(err)
	}
	env := func(s types.ServiceConfig, k string) string {
		if v := s.Environment[k]; v != nil {
			return *v
		}
		return ""
	}
	if caddy.Image != "caddy:2" {
		t.Errorf("caddy: image %q, want caddy:2", caddy.Image)
	}
	if got := env(caddy, "BRIDGE_PUBLIC_HOST"); got != "bridge.example.com" {
		t.Errorf("caddy: BRIDGE_PUBLIC_HOST %q, want the operator's host", got)
	}
	if got, want := env(caddy, "BRIDGE_WEBHOOK_PATH"), env(bridge, "BRIDGE_WEBHOOK_PATH"); got != want {
		t.Errorf("caddy forwards %q, the bridge serves %q", got, want)
	}
	host, up, err := net.SplitHostPort(env(caddy, "BRIDGE_UPSTREAM"))
	if err != nil || host != "bridge" || up != strings.TrimPrefix(env(bridge, "BRIDGE_LISTEN"), ":") {
		t.Errorf("caddy: BRIDGE_UPSTREAM %q is not the bridge's webhook listener %q", env(caddy, "BRIDGE_UPSTREAM"), env(bridge, "BRIDGE_LISTEN"))
	}
	published := map[uint32]bool{}
	for _, pc := range caddy.Ports {
		published[pc.Target] = true
	}
	if !published[443] || !published[80] {
		t.Errorf("caddy: ports %+v; want 443 for HTTPS and 80 for the ACME challenge", caddy.Ports)
	}
	mounted := false
	for _, v := range caddy.Volumes {
		if v.Target == "/etc/caddy/Caddyfile" && filepath.Base(filepath.Dir(v.Source)) == "deploy" && filepath.Base(v.Source) == "Caddyfile" && v.ReadOnly {
			mounted = true
		}
	}
	if !mounted {
		t.Errorf("caddy: deploy/Caddyfile is not mounted read-only at /etc/caddy/Caddyfile: %+v", caddy.Volumes)
	}
	for _, pc := range bridge.Ports {
		if pc.Target == 8080 && pc.HostIP != "127.0.0.1" {
			t.Errorf("bridge: with BRIDGE_HTTP_BIND=127.0.0.1 the webhook port is published on %q", pc.HostIP)
		}
	}

	// The bridge believes X-Forwarded-For from Caddy's address, and from
	// nothing else on its networks (not the gateway a published port's
	// connections come from).
	var trusted []netip.Prefix
	for _, s := range strings.Split(env(bridge, "BRIDGE_TRUSTED_PROXIES"), ",") {
		pfx, err := netip.ParsePrefix(strings.TrimSpace(s))
		if err != nil {
			t.Fatalf("bridge: BRIDGE_TRUSTED_PROXIES %q: %v", env(bridge, "BRIDGE_TRUSTED_PROXIES"), err)
		}
		trusted = append(trusted, pfx)
	}
	edge := caddy.Networks["edge"]
	if edge == nil || edge.Ipv4Address == "" {
		t.Fatalf("caddy: no fixed address on the edge network: %+v", caddy.Networks)
	}
	caddyIP := netip.MustParseAddr(edge.Ipv4Address)
	if _, ok := bridge.Networks["edge"]; !ok {
		t.Error("bridge: not on the edge network, so Caddy cannot reach it")
	}
	subnet := netip.MustParsePrefix(p.Networks["edge"].Ipam.Config[0].Subnet)
	gateway := subnet.Addr().Next()
	for _, c := range []struct {
		addr netip.Addr
		want bool
	}{{caddyIP, true}, {gateway, false}, {caddyIP.Next(), false}} {
		got := false
		for _, pfx := range trusted {
			got = got || pfx.Contains(c.addr)
		}
		if got != c.want {
			t.Errorf("BRIDGE_TRUSTED_PROXIES %v trusts %v: %v, want %v", trusted, c.addr, got, c.want)
		}
	}
}

// TestCaddyfile validates deploy/Caddyfile with Caddy itself, then runs it
// on loopback (plain HTTP, no certificate) in front of a recorder standing
// in for the bridge: only POST on the webhook path gets through, with
// X-Forwarded-For set to the sender's address whatever the sender claimed.
func TestCaddyfile(t *testing.T) {
	caddy, err := exec.LookPath("caddy")
	if err != nil {
		t.Skip("caddy is not installed (apt-get install caddy); .ci/run installs it")
	}
	caddyfile, err := filepath.Abs("Caddyfile")
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	baseEnv := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "XDG_DATA_HOME=" + home, "XDG_CONFIG_HOME=" + home}

	validate := exec.Command(caddy, "validate", "--adapter", "caddyfile", "--config", caddyfile)
	validate.Env = append(baseEnv, "BRIDGE_PUBLIC_HOST=bridge.example.com")
	if out, err := validate.CombinedOutput(); err != nil {
		t.Fatalf("caddy validate: %v\n%s", err, out)
	}

	type seen struct{ Method, Path, XFF string }
	got := make(chan seen, 8)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- seen{r.Method, r.URL.Path, strings.Join(r.Header.Values("X-Forwarded-For"), ",")}
		w.WriteHeader(http.StatusOK)
	}))
	defer upstream.Close()

	port := freePort(t)
	// The test's own wrapper turns off the admin endpoint (shared port 2019)
	// and imports the Caddyfile unchanged.
	wrapper := filepath.Join(t.TempDir(), "Caddyfile")
	if err := os.WriteFile(wrapper, []byte("{\n\tadmin off\n}\nimport "+caddyfile+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run := exec.Command(caddy, "run", "--adapter", "caddyfile", "--config", wrapper)
	run.Env = append(baseEnv,
		"BRIDGE_PUBLIC_HOST=http://127.0.0.1:"+port,
		"BRIDGE_UPSTREAM="+strings.TrimPrefix(upstream.URL, "http://"))
	logs, err := os.Create(filepath.Join(t.TempDir(), "caddy.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logs.Close()
	run.Stdout, run.Stderr = logs, logs
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = run.Process.Kill()
		_ = run.Wait()
	})
	base := "http://127.0.0.1:" + port
	waitListening(t, "127.0.0.1:"+port, func() string { b, _ := os.ReadFile(logs.Name()); return string(b) })

	for _, c := range []struct {
		method, path, xff string
		want              *seen
	}{
		{http.MethodPost, "/webhooks/engage", "", &seen{"POST", "/webhooks/engage", "127.0.0.1"}},
		{http.MethodPost, "/webhooks/engage", "52.215.16.239", &seen{"POST", "/webhooks/engage", "127.0.0.1"}},
		{http.MethodGet, "/webhooks/engage", "", nil},
		{http.MethodPost, "/metrics", "", nil},
		{http.MethodGet, "/", "", nil},
	} {
		req, _ := http.NewRequest(c.method, base+c.path, strings.NewReader("{}"))
		if c.xff != "" {
			req.Header.Set("X-Forwarded-For", c.xff)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", c.method, c.path, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if c.want == nil {
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("%s %s: status %d, want 404 from Caddy", c.method, c.path, resp.StatusCode)
			}
			continue
		}
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s %s: status %d, want the bridge's 200", c.method, c.path, resp.StatusCode)
			continue
		}
		if diff := cmp.Diff(*c.want, <-got); diff != "" {
			t.Errorf("%s %s (X-Forwarded-For %q) reached the bridge as (-want +got):\n%s", c.method, c.path, c.xff, diff)
		}
	}
	if len(got) != 0 {
		t.Errorf("%d requests reached the bridge that Caddy should have answered", len(got))
	}
}

// freePort returns a loopback port free a moment ago, for programs that
// cannot report the port they bound.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, p, _ := net.SplitHostPort(l.Addr().String())
	return p
}

// waitListening waits until addr accepts connections.
func waitListening(t *testing.T, addr string, logs func() string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("nothing listens on %s\n%s", addr, logs())
}
