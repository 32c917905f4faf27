package main

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestSplit classifies a small `go tool pprof -traces` output: a socket
// write counts for the code that wrote, a hash for the verifier, an assist
// for the collector, the scheduler for the rest.
func TestSplit(t *testing.T) {
	t.Parallel()
	const traces = `File: engage-bridge
Type: cpu
Duration: 10s, Total samples = 90ms (0.9%)
-----------+-------------------------------------------------------
      10ms   syscall.Syscall
             internal/poll.(*FD).Write
             net.(*conn).Write
             github.com/segmentio/kafka-go/protocol.(*Conn).Flush
             github.com/engage-bridge/engage-bridge/publisher.(*Publisher).produce
-----------+-------------------------------------------------------
      20ms   syscall.Syscall
             net.(*conn).Write
             net/http.(*response).finishRequest
             net/http.(*conn).serve
-----------+-------------------------------------------------------
      30ms   crypto/sha256.block
             crypto/hmac.(*hmac).Write
             github.com/engage-bridge/engage-bridge/ingress.(*Verifier).Verify
             github.com/engage-bridge/engage-bridge/ingress.(*Handler).guard
             net/http.(*conn).serve
-----------+-------------------------------------------------------
      10ms   runtime.memclrNoHeapPointers
             runtime.mallocgc
             runtime.gcAssistAlloc
             github.com/rs/zerolog.(*Event).Msg
-----------+-------------------------------------------------------
      10ms   github.com/rs/zerolog.appendString (inline)
             github.com/rs/zerolog.(*Event).Str
             github.com/engage-bridge/engage-bridge/ingress.(*Handler).respond
-----------+-------------------------------------------------------
      10ms   runtime.futex
             runtime.findRunnable
             runtime.schedule
-----------+-------------------------------------------------------
`
	got, total, err := newSplitter().split(strings.NewReader(traces))
	if err != nil {
		t.Fatal(err)
	}
	ms := time.Millisecond
	want := map[string]time.Duration{"produce": 10 * ms, "HTTP": 20 * ms, "verify": 30 * ms, "GC": 10 * ms, "logging": 10 * ms, rest: 10 * ms}
	if diff := cmp.Diff(want, got); diff != "" || total != 90*ms {
		t.Errorf("split (-want +got):\n%s\ntotal %v", diff, total)
	}
}
