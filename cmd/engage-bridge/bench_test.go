package main

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/engage-bridge/engage-bridge/internal/kafkatest"
)

// BenchmarkBridgeLoad drives the whole bridge (HTTP, verify, parse, route,
// publish to kfake) with the load mode of send, in one process, for
// profiling: go test -run '^$' -bench BridgeLoad -cpuprofile cpu.out
// ./cmd/engage-bridge, then go tool pprof -focus 'engage-bridge/(ingress|publisher|schemas)'.
// Its ns/op is the wall time per request at concurrency 64.
func BenchmarkBridgeLoad(b *testing.B) {
	c := kafkatest.Cluster(b)
	tb := startBridge(b, c, map[string]string{"BRIDGE_LOG_LEVEL": "warn"}, true)
	b.ResetTimer()
	o := sendOptions{url: tb.webhookURL(), secret: e2eSecret, timeout: 15 * time.Second, headerSet: "svix"}
	lo := loadOptions{concurrency: 64, duration: time.Minute, maxRequests: b.N, pool: 256}
	res, err := runLoad(context.Background(), o, lo, io.Discard)
	if err != nil || res.Errors > 0 {
		b.Fatalf("%v %+v", err, res)
	}
}
