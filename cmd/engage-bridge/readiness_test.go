package main

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/engage-bridge/engage-bridge/internal/faultnet"
	"github.com/engage-bridge/engage-bridge/internal/kafkatest"
)

// TestReadinessFollowsKafka: with the default check interval, /readyz
// turns 503 within seconds of a broker outage and 200 again after
// recovery, while the liveness probe stays 200, and the checks stay a
// trickle of connections and metadata requests, not a hammering.
func TestReadinessFollowsKafka(t *testing.T) {
	t.Parallel()
	fn := faultnet.New()
	c := kafkatest.Cluster(t, kfake.ListenFn(fn.Listen))
	var metadata atomic.Int64
	c.ControlKey(int16(kmsg.Metadata), func(kmsg.Request) (kmsg.Response, error, bool) {
		metadata.Add(1)
		c.KeepControl()
		return nil, nil, false
	})
	b := startBridge(t, c, nil, true)
	probe := func(path string) int { return do(t, http.MethodGet, b.adminURL()+path, http.Header{}, nil).status }
	waitFor := func(what string, want int, limit time.Duration) time.Duration {
		t.Helper()
		start := time.Now()
		for time.Since(start) < limit {
			if probe("/readyz") == want {
				return time.Since(start)
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("%s: /readyz not %d after %v", what, want, limit)
		return 0
	}
	if got := probe("/readyz"); got != 200 {
		t.Fatalf("/readyz %d before the outage", got)
	}

	// Idle and healthy: count what the checks of a few seconds cost the broker.
	m0, a0 := metadata.Load(), fn.Accepted()
	time.Sleep(6 * time.Second)
	idleMetadata, idleConns := metadata.Load()-m0, fn.Accepted()-a0
	t.Logf("idle 6s: %d metadata requests, %d connections", idleMetadata, idleConns)
	if idleMetadata > 4 || idleConns > 4 {
		t.Errorf("idle 6s cost %d metadata requests and %d connections; a check every 5s should cost one or two of each", idleMetadata, idleConns)
	}

	fn.Down()
	r0 := fn.Refused()
	// A check every 5 s with a 3 s timeout (docs/contract.md) answers 503
	// within 8 s of the outage; 15 s leaves room for a CI machine whose two
	// cores run eight of these tests at once (one run took 10.9 s).
	took := waitFor("outage", 503, 15*time.Second)
	t.Logf("503 after %v of outage", took)
	if got := probe("/healthz"); got != 200 {
		t.Errorf("/healthz %d during the outage: liveness must not follow Kafka, or the orchestrator restarts healthy pods", got)
	}
	time.Sleep(5 * time.Second)
	refused := fn.Refused() - r0
	t.Logf("%d connection attempts during ~%v of outage", refused, took+5*time.Second)
	if refused > 10 {
		t.Errorf("%d connection attempts in ~%v of outage: the readiness loop hammers the broker", refused, took+5*time.Second)
	}

	fn.Up()
	took = waitFor("recovery", 200, 10*time.Second)
	t.Logf("200 after %v of recovery", took)
	if a := deliver(t, b.webhookURL(), e2eSecret, "msg_after_recovery", time.Now(), []byte(`{"eventType":"contact.created","payload":{"contactId":"c1"}}`), nil); a.status != 200 {
		t.Errorf("delivery after recovery: %+v", a)
	}
}
