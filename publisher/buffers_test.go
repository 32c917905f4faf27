package publisher

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/engage-bridge/engage-bridge/internal/kafkatest"
)

// TestPooledBuffersNeverReadAgain: a produce request's copies of its
// records go back to the pool only once the broker answered it. Every
// third request's answer is held past RequestTimeout, so that requests
// queued behind it on kafka-go's connection give up before they are
// written and are written later, while newer requests reuse pooled
// buffers. Every record that reaches the broker must hold exactly what its
// caller published: a buffer pooled while kafka-go could still encode from
// it would show as a record with zeroed or another record's bytes. (It
// checks the content under reuse and timeouts; kafka-go v0.4.51 wrote
// every request at once here, so the late write produce guards against
// did not happen in this test.)
func TestPooledBuffersNeverReadAgain(t *testing.T) {
	t.Parallel() // its own broker; it mostly waits on timers
	c := kafkatest.Cluster(t, kfake.SleepOutOfOrder())
	kafkatest.CreateTopic(t, c, "t", 3, nil)
	p, release, releaseAll := heldPublisher(t, c, 100*time.Millisecond, zerolog.Nop())
	var n atomic.Int32
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if n.Add(1)%3 == 0 {
			c.SleepControl(func() {
				select {
				case <-release:
				case <-time.After(300 * time.Millisecond):
				}
			})
		}
		return nil, nil, false
	})

	value := func(i int) []byte {
		return bytes.Repeat(fmt.Appendf(nil, "record %04d;", i), 1+i%7)
	}
	var wg sync.WaitGroup
	var acked atomic.Int32
	for g := range 16 {
		wg.Go(func() {
			for i := g; i < 480; i += 16 {
				m := Message{Topic: "t", Key: fmt.Appendf(nil, "k-%04d", i), Value: value(i),
					Headers: []Header{{Key: "i", Value: fmt.Appendf(nil, "%04d", i)}}}
				if _, err := publish(t, p, m, 250*time.Millisecond); err == nil {
					acked.Add(1)
				}
			}
		})
	}
	wg.Wait()
	releaseAll()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.Close(ctx); err != nil {
		t.Logf("close: %v", err)
	}

	records := kafkatest.ReadToEnd(t, c.ListenAddrs(), "t")
	if len(records) < int(acked.Load()) {
		t.Fatalf("%d records in the topic, %d acknowledged", len(records), acked.Load())
	}
	for _, r := range records {
		var i int
		if _, err := fmt.Sscanf(r.Key, "k-%04d", &i); err != nil {
			t.Fatalf("record %d/%d: key %q", r.Partition, r.Offset, r.Key)
		}
		if !bytes.Equal(r.Value, value(i)) || r.Headers["i"] != fmt.Sprintf("%04d", i) {
			t.Errorf("record %d/%d with key %s holds value %.40q, header i=%q: bytes of another record", r.Partition, r.Offset, r.Key, r.Value, r.Headers["i"])
		}
	}
	t.Logf("%d records published, %d acknowledged in time, %d produce requests", len(records), acked.Load(), n.Load())
}

// TestPooledBuffersBounded: what the pool keeps is bounded in bytes, in
// records and in headers, so that one request of many or large records
// does not stay in memory for the next.
func TestPooledBuffersBounded(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    requestBuffers
		want bool
	}{
		{"a usual request", requestBuffers{data: make([]byte, 0, 64<<10), records: make([]kafka.Record, 0, 64), headers: make([]kafka.Header, 0, 704)}, true},
		{"at every bound", requestBuffers{data: make([]byte, 0, maxPooledData), records: make([]kafka.Record, 0, maxPooledRecords), headers: make([]kafka.Header, 0, maxPooledHeaders)}, true},
		{"large records", requestBuffers{data: make([]byte, 0, maxPooledData+1)}, false},
		{"many empty records", requestBuffers{records: make([]kafka.Record, 0, maxPooledRecords+1)}, false},
		{"many headers", requestBuffers{headers: make([]kafka.Header, 0, maxPooledHeaders+1)}, false},
	} {
		if got := poolable(&tc.b); got != tc.want {
			t.Errorf("%s: poolable = %v, want %v", tc.name, got, tc.want)
		}
	}
}
