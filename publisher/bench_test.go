package publisher

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/engage-bridge/engage-bridge/internal/kafkaconn"
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

// BenchmarkCompression publishes the load generator's bodies (Engage's
// contact.updated and point.balance.updated examples with distinct
// contactIds, to engage.contact and engage.loyalty, 6 partitions each, as
// bench/run.sh does) with each codec, one at a time (lone: one record per
// request) and from 64 goroutines (c64: records gathered per partition).
// wire-B/record counts every byte the publisher wrote on its connections
// (produce requests, their framing and any metadata request) per record;
// records/req is records per produce request; cpu-ns/record is the
// process's CPU time (user and system) per record.
//
// With PUBLISHER_BENCH_BROKERS set (bench/kfake's address: it has both
// topics), the broker runs in its own process and cpu-ns/record is the
// publisher's alone; records/req is then not counted. Otherwise an
// in-process kfake broker's CPU is counted too.
func BenchmarkCompression(b *testing.B) {
	var requests atomic.Int64
	brokers := strings.Split(os.Getenv("PUBLISHER_BENCH_BROKERS"), ",")
	if brokers[0] == "" {
		c := kafkatest.Cluster(b)
		kafkatest.CreateTopic(b, c, "engage.contact", 6, nil)
		kafkatest.CreateTopic(b, c, "engage.loyalty", 6, nil)
		c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
			c.KeepControl()
			requests.Add(1)
			return nil, nil, false
		})
		brokers = c.ListenAddrs()
	}
	msgs := benchMessages(b, "", 512)
	for i := range msgs {
		msgs[i].Topic = "engage.contact"
		if i%2 == 1 {
			msgs[i].Topic = "engage.loyalty"
		}
	}
	for _, codec := range []Compression{CompressionNone, CompressionGzip, CompressionSnappy, CompressionLz4, CompressionZstd} {
		for _, conc := range []int{1, 64} {
			name := fmt.Sprintf("%s/c%d", codec, conc)
			if conc == 1 {
				name = string(codec) + "/lone"
			}
			b.Run(name, func(b *testing.B) {
				p, err := New(Config{Conn: kafkaconn.Config{Brokers: brokers}, Compression: codec}, zerolog.Nop())
				if err != nil {
					b.Fatal(err)
				}
				defer p.Close(context.Background())
				var written atomic.Int64
				t := p.conn.Load().transport
				dial := t.Dial
				t.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
					conn, err := dial(ctx, network, addr)
					if err != nil {
						return nil, err
					}
					return countingConn{conn, &written}, nil
				}
				ctx := context.Background()
				for _, m := range msgs[:2] { // connect, and learn both topics' layout
					if _, err := p.Publish(ctx, m, nil); err != nil {
						b.Fatal(err)
					}
				}
				written.Store(0)
				requests.Store(0)
				b.ReportAllocs()
				b.ResetTimer()
				cpu := cpuTime(b)
				if conc == 1 {
					for i := 0; b.Loop(); i++ {
						if _, err := p.Publish(ctx, msgs[i%len(msgs)], nil); err != nil {
							b.Fatal(err)
						}
					}
				} else {
					var next atomic.Int64
					b.SetParallelism(max(conc/runtime.GOMAXPROCS(0), 1))
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							if _, err := p.Publish(ctx, msgs[int(next.Add(1))%len(msgs)], nil); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				b.StopTimer()
				b.ReportMetric(float64(cpuTime(b)-cpu)/float64(b.N), "cpu-ns/record")
				b.ReportMetric(float64(written.Load())/float64(b.N), "wire-B/record")
				if requests.Load() > 0 {
					b.ReportMetric(float64(b.N)/float64(requests.Load()), "records/req")
				}
			})
		}
	}
}

// countingConn counts the bytes written on a connection.
type countingConn struct {
	net.Conn
	written *atomic.Int64
}

func (c countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.written.Add(int64(n))
	return n, err
}

// BenchmarkEncodeBatch is the CPU a codec adds to a produce request on the
// bridge's side: encoding one partition's batch of the load generator's
// records (1 record, as a lone webhook sends, and 8), kafka-go's RecordSet
// writer with the codec at its default level. ns/op and cpu-ns/op (the
// process's CPU time) are per batch.
func BenchmarkEncodeBatch(b *testing.B) {
	msgs := benchMessages(b, "engage.contact", 8)
	for _, codec := range []Compression{CompressionNone, CompressionGzip, CompressionSnappy, CompressionLz4, CompressionZstd} {
		for _, n := range []int{1, 8} {
			b.Run(fmt.Sprintf("%s/records=%d", codec, n), func(b *testing.B) {
				attributes, _ := codec.attributes()
				records := make([]kafka.Record, n)
				var size int64
				b.ReportAllocs()
				cpu := cpuTime(b)
				for b.Loop() {
					// Fresh each time, as produce() builds them: kafka.Bytes are
					// read once.
					for i, m := range msgs[:n] {
						records[i] = kafka.Record{Key: kafka.NewBytes(m.Key), Value: kafka.NewBytes(m.Value)}
						records[i].Headers = records[i].Headers[:0]
						for _, h := range m.Headers {
							records[i].Headers = append(records[i].Headers, kafka.Header{Key: h.Key, Value: h.Value})
						}
					}
					rs := protocol.RecordSet{Version: 2, Attributes: attributes, Records: protocol.NewRecordReader(records...)}
					w, err := rs.WriteTo(io.Discard)
					if err != nil {
						b.Fatal(err)
					}
					size = w
				}
				b.ReportMetric(float64(cpuTime(b)-cpu)/float64(b.N), "cpu-ns/op")
				b.ReportMetric(float64(size)/float64(n), "batch-B/record")
			})
		}
	}
}

// cpuTime is the process's CPU time so far, user and system: on a machine
// shared with other work, it counts what the benchmark used where wall
// time also counts waiting for a core.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
