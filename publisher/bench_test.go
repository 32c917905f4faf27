package publisher

import (
	"context"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/engage-bridge/engage-bridge/internal/kafkatest"
)

// BenchmarkLonePublish is one record at a time, each waiting for its
// acknowledgement: the latency a single webhook sees at low load. The
// kafka.Writer variant shows why the publisher does not use it: even at a
// 1 ms BatchTimeout its batch timer holds every lone record.
func BenchmarkLonePublish(b *testing.B) {
	c := kafkatest.Cluster(b)
	kafkatest.CreateTopic(b, c, "t", 3, nil)
	value := make([]byte, 1300)
	ctx := context.Background()

	b.Run("publisher", func(b *testing.B) {
		p := newPublisher(b, c.ListenAddrs())
		m := Message{Topic: "t", Key: []byte("515c1b2a-7124-4bb9-826b-aedbbe5da8c4"), Value: value}
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
	b.Run("kafka.Writer-1ms", func(b *testing.B) {
		w := &kafka.Writer{
			Addr: kafka.TCP(c.ListenAddrs()...), Balancer: &kafka.Murmur2Balancer{},
			RequiredAcks: kafka.RequireAll, BatchTimeout: time.Millisecond,
		}
		defer w.Close()
		m := kafka.Message{Topic: "t", Key: []byte("515c1b2a-7124-4bb9-826b-aedbbe5da8c4"), Value: value}
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
