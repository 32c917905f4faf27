package publisher

import (
	"context"
	"crypto/rand"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/engage-bridge/engage-bridge/internal/kafkatest"
)

// The kafka.Writer variants are configured as the publisher is wherever
// they can be (acks=all, the Java client's murmur2 partitioner), so that
// only the way records reach the broker differs.
func newWriter(addrs []string, configure func(*kafka.Writer)) *kafka.Writer {
	w := &kafka.Writer{
		Addr:         kafka.TCP(addrs...),
		Balancer:     &kafka.Murmur2Balancer{Consistent: true},
		RequiredAcks: kafka.RequireAll,
	}
	if configure != nil {
		configure(w)
	}
	return w
}

// BenchmarkLonePublish is one record at a time, each waiting for its
// acknowledgement: the latency a single webhook sees at low load.
//
// It is not why the publisher exists: kafka.Writer with BatchSize 1 sends
// a lone record at once, as fast as the publisher. Writer's defaults are
// the trap (BatchSize 100 and a 1 s BatchTimeout hold a lone record for
// the whole timer; even a 1 ms timer costs about a millisecond a record).
// The publisher's advantage is under concurrency: BenchmarkConcurrentPublish.
func BenchmarkLonePublish(b *testing.B) {
	c := kafkatest.Cluster(b)
	kafkatest.CreateTopic(b, c, "t", 3, nil)
	value := make([]byte, 1300)
	key := []byte("515c1b2a-7124-4bb9-826b-aedbbe5da8c4")
	ctx := context.Background()

	b.Run("publisher", func(b *testing.B) {
		p := newPublisher(b, c.ListenAddrs())
		m := Message{Topic: "t", Key: key, Value: value}
		if _, err := p.Publish(ctx, m, nil); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := p.Publish(ctx, m, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	writers := []struct {
		name      string
		configure func(*kafka.Writer)
	}{
		{"kafka.Writer-BatchSize1", func(w *kafka.Writer) { w.BatchSize = 1 }},
		{"kafka.Writer-1ms", func(w *kafka.Writer) { w.BatchTimeout = time.Millisecond }},
		{"kafka.Writer-default", nil},
	}
	for _, wc := range writers {
		b.Run(wc.name, func(b *testing.B) {
			w := newWriter(c.ListenAddrs(), wc.configure)
			defer w.Close()
			m := kafka.Message{Topic: "t", Key: key, Value: value}
			if err := w.WriteMessages(ctx, m); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := w.WriteMessages(ctx, m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkConcurrentPublish is 64 callers publishing at once over 12
// partitions, each waiting for its record's acknowledgement, as 64
// concurrent webhooks do; ns/op is wall time per record. This is where
// the publisher differs from kafka.Writer{BatchSize: 1}: records that
// arrive while a produce request is in flight share the broker's next
// request, where the Writer sends a request per record.
func BenchmarkConcurrentPublish(b *testing.B) {
	const callers, partitions = 64, 12
	c := kafkatest.Cluster(b)
	kafkatest.CreateTopic(b, c, "t", partitions, nil)
	value := make([]byte, 1300)
	keys := make([][]byte, 1024)
	for i := range keys {
		keys[i] = []byte(rand.Text())
	}
	ctx := context.Background()

	b.Run("publisher", func(b *testing.B) {
		p := newPublisher(b, c.ListenAddrs())
		if _, err := p.Publish(ctx, Message{Topic: "t", Key: keys[0], Value: value}, nil); err != nil {
			b.Fatal(err)
		}
		concurrently(b, callers, func(i int) error {
			_, err := p.Publish(ctx, Message{Topic: "t", Key: keys[i%len(keys)], Value: value}, nil)
			return err
		})
	})
	b.Run("kafka.Writer-BatchSize1", func(b *testing.B) {
		w := newWriter(c.ListenAddrs(), func(w *kafka.Writer) { w.BatchSize = 1 })
		defer w.Close()
		if err := w.WriteMessages(ctx, kafka.Message{Topic: "t", Key: keys[0], Value: value}); err != nil {
			b.Fatal(err)
		}
		concurrently(b, callers, func(i int) error {
			return w.WriteMessages(ctx, kafka.Message{Topic: "t", Key: keys[i%len(keys)], Value: value})
		})
	})
}

// concurrently runs publish b.N times, from callers goroutines at once.
func concurrently(b *testing.B, callers int, publish func(i int) error) {
	b.Helper()
	b.ReportAllocs()
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for range callers {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				if err := publish(int(i)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}
