package loadgen

import (
	"bytes"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	svix "github.com/svix/svix-webhooks/go"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/engage-bridge/engage-bridge/schemas"
)

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// TestTargeter checks every target against the svix library: signed over
// its own id, a current timestamp and its body, ids unique and shaped as
// Svix's, the two event types alternating.
func TestTargeter(t *testing.T) {
	t.Parallel()
	bodies, err := Bodies(4, nil)
	if err != nil {
		t.Fatal(err)
	}
	wh, err := svix.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	for _, set := range []string{"svix", "webhook"} {
		tr, err := NewTargeter(Targets{URL: "http://127.0.0.1:1/x", Secret: secret, HeaderSet: set, Bodies: bodies, IDPrefix: "run1"})
		if err != nil {
			t.Fatal(err)
		}
		ids := map[string]bool{}
		var types []string
		for range 6 {
			var tgt vegeta.Target
			if err := tr(&tgt); err != nil {
				t.Fatal(err)
			}
			h := tgt.Header.Clone()
			if set == "webhook" { // the svix library reads either set
				if h.Get("Svix-Id") != "" {
					t.Errorf("webhook header set carries svix- headers: %v", h)
				}
			}
			if err := wh.Verify(tgt.Body, h); err != nil {
				t.Errorf("%s: %v", set, err)
			}
			id := h.Get(set + "-id")
			if len(id) != len("msg_")+27 || ids[id] {
				t.Errorf("id %q: not 31 characters or repeated", id)
			}
			ids[id] = true
			if h.Get("Accept-Encoding") != "" || tgt.Method != http.MethodPost {
				t.Errorf("target %s %v", tgt.Method, h)
			}
			env, err := schemas.ParseEnvelope(tgt.Body)
			if err != nil {
				t.Fatal(err)
			}
			types = append(types, env.EventType)
		}
		c, p := schemas.EventContactUpdated, schemas.EventPointBalanceUpdated
		if diff := cmp.Diff([]string{c, p, c, p, c, p}, types); diff != "" {
			t.Errorf("event types (-want +got):\n%s", diff)
		}
	}
	if _, err := NewTargeter(Targets{Secret: "not-a-secret", Bodies: bodies}); !errors.Is(err, ErrSecret) {
		t.Errorf("bad secret: %v, want ErrSecret", err)
	}
}

// TestWriteTargets reads the written targets back with vegeta's own JSON
// targeter, as the CLI does.
func TestWriteTargets(t *testing.T) {
	t.Parallel()
	bodies, err := Bodies(2, nil)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := NewTargeter(Targets{URL: "http://127.0.0.1:1/x", Secret: secret, Bodies: bodies, IDPrefix: "w"})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteTargets(&buf, tr, 5, http.Header{"Accept-Encoding": {"identity"}}); err != nil {
		t.Fatal(err)
	}
	wh, _ := svix.NewWebhook(secret)
	read := vegeta.NewJSONTargeter(&buf, nil, nil)
	for i := range 6 {
		var tgt vegeta.Target
		err := read(&tgt)
		if i == 5 {
			if !errors.Is(err, vegeta.ErrNoTargets) {
				t.Errorf("after 5 targets: %v, want ErrNoTargets", err)
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := wh.Verify(tgt.Body, tgt.Header); err != nil {
			t.Errorf("target %d: %v", i, err)
		}
		if got := tgt.Header.Get("Accept-Encoding"); got != "identity" || !bytes.Equal(tgt.Body, bodies[i%len(bodies)]) {
			t.Errorf("target %d: Accept-Encoding %q, body %d bytes", i, got, len(tgt.Body))
		}
	}
}

func TestSummary(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1_700_000_000, 0)
	ms := time.Millisecond
	at := func(start, lat time.Duration, code uint16) *vegeta.Result {
		return &vegeta.Result{Timestamp: t0.Add(start), Latency: lat, Code: code}
	}
	for _, tc := range []struct {
		name string
		in   []*vegeta.Result
		want Result
	}{
		{"none", nil, Result{Statuses: map[string]int64{}}},
		{"answers and errors", []*vegeta.Result{
			at(0, 4*ms, 200), at(250*ms, 1*ms, 200), at(500*ms, 2*ms, 503), at(750*ms, 3*ms, 200), at(1000*ms, 0, 0),
		}, Result{
			Requests: 5, Errors: 2, Statuses: map[string]int64{"200": 3, "503": 1},
			Seconds: 1, Throughput: 3, SentRate: 4,
			P50: 2, P90: 4, P99: 4, P999: 4, Max: 4,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s Summary
			for _, r := range tc.in {
				s.Add(r)
			}
			if diff := cmp.Diff(tc.want, s.Result()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// BenchmarkTargeter is the load's own cost per request: a fresh id,
// timestamp and HMAC, and the header map (go test -run '^$' -bench
// Targeter -benchmem ./internal/loadgen).
func BenchmarkTargeter(b *testing.B) {
	bodies, err := Bodies(64, nil)
	if err != nil {
		b.Fatal(err)
	}
	tr, err := NewTargeter(Targets{URL: "http://127.0.0.1:1/x", Secret: secret, Bodies: bodies})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		var tgt vegeta.Target
		for pb.Next() {
			if err := tr(&tgt); err != nil {
				b.Fatal(err)
			}
		}
	})
}
