// Package kafkatest runs an in-process Kafka-protocol broker (franz-go's
// kfake) for tests and reads records back with franz-go's kgo, a client
// independent of the kafka-go producer under test.
package kafkatest

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Cluster starts a kfake cluster on loopback, closed when the test ends.
func Cluster(t testing.TB, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatalf("kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// CreateTopic creates a topic with the given partitions and configs.
func CreateTopic(t testing.TB, c *kfake.Cluster, topic string, partitions int32, configs map[string]string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic = topic
	rt.NumPartitions = partitions
	rt.ReplicationFactor = 1
	for k, v := range configs {
		cfg := kmsg.NewCreateTopicsRequestTopicConfig()
		cfg.Name = k
		cfg.Value = kmsg.StringPtr(v)
		rt.Configs = append(rt.Configs, cfg)
	}
	req.Topics = append(req.Topics, rt)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatalf("create topic %s: %v", topic, err)
	}
	for _, rt := range resp.Topics {
		if rt.ErrorCode != 0 {
			t.Fatalf("create topic %s: error code %d", topic, rt.ErrorCode)
		}
	}
}

// Record is a record read back from the cluster.
type Record struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       string
	Value     []byte
	Headers   map[string]string
	// HeaderOrder lists header keys as they appear in the record.
	HeaderOrder []string
	// Compression is the codec of the record's batch as stored: 0 none,
	// 1 gzip, 2 snappy, 3 lz4, 4 zstd.
	Compression uint8
}

// ReadAll returns every record of the topics, from the start, waiting up to
// wait for at least min records in total.
func ReadAll(t testing.TB, addrs []string, min int, wait time.Duration, topics ...string) []Record {
	t.Helper()
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(addrs...),
		kgo.ConsumeTopics(topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(100*time.Millisecond),
		kgo.FetchMaxBytes(64<<20),
		kgo.FetchMaxPartitionBytes(16<<20),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	var out []Record
	for len(out) < min {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			break
		}
		fetches.EachError(func(topic string, p int32, err error) {
			t.Logf("fetch %s/%d: %v", topic, p, err)
		})
		fetches.EachRecord(func(r *kgo.Record) {
			rec := Record{
				Topic: r.Topic, Partition: r.Partition, Offset: r.Offset,
				Key: string(r.Key), Value: r.Value, Headers: map[string]string{},
				Compression: r.Attrs.CompressionType(),
			}
			for _, h := range r.Headers {
				rec.Headers[h.Key] = string(h.Value)
				rec.HeaderOrder = append(rec.HeaderOrder, h.Key)
			}
			out = append(out, rec)
		})
	}
	return out
}

// Murmur2Partition is the Java client's default partitioner, written from
// Kafka's Utils.murmur2 independently of kafka-go's port.
func Murmur2Partition(key []byte, partitions int) int32 {
	return int32((Murmur2(key) & 0x7fffffff) % int32(partitions))
}

// Murmur2 is Kafka's Utils.murmur2 (signed result, as Java returns it).
func Murmur2(data []byte) int32 {
	const (
		seed uint32 = 0x9747b28c
		m    uint32 = 0x5bd1e995
		r           = 24
	)
	length := len(data)
	h := seed ^ uint32(length)
	for i := 0; i+4 <= length; i += 4 {
		k := uint32(data[i]) | uint32(data[i+1])<<8 | uint32(data[i+2])<<16 | uint32(data[i+3])<<24
		k *= m
		k ^= k >> r
		k *= m
		h *= m
		h ^= k
	}
	tail := data[length&^3:]
	switch len(tail) {
	case 3:
		h ^= uint32(tail[2]) << 16
		fallthrough
	case 2:
		h ^= uint32(tail[1]) << 8
		fallthrough
	case 1:
		h ^= uint32(tail[0])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return int32(h)
}

// GroupLag is how many records of the topics a consumer group has not
// committed yet (end offset minus committed offset, summed over
// partitions; a partition without a commit counts from its start). It
// returns an error rather than failing a test, so that a polling goroutine
// may call it.
func GroupLag(ctx context.Context, addrs []string, group string, topics ...string) (int64, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...))
	if err != nil {
		return 0, err
	}
	defer cl.Close()

	end, err := endOffsets(ctx, cl, topics)
	if err != nil {
		return 0, err
	}
	fetch := kmsg.NewPtrOffsetFetchRequest()
	fetch.Group = group
	fresp, err := fetch.RequestWith(ctx, cl)
	if err != nil {
		return 0, err
	}
	committed := map[string]map[int32]int64{}
	for _, ft := range fresp.Topics {
		committed[ft.Topic] = map[int32]int64{}
		for _, p := range ft.Partitions {
			committed[ft.Topic][p.Partition] = p.Offset
		}
	}
	var lag int64
	for tp, parts := range end {
		for p, e := range parts {
			c, ok := committed[tp][p]
			if !ok || c < 0 {
				c = 0
			}
			lag += e - c
		}
	}
	return lag, nil
}

// ReadToEnd returns every record of the topics written before the call:
// it reads each partition up to its end offset at the time of the call,
// so that a test sees all records, not merely at least some.
func ReadToEnd(t testing.TB, addrs []string, topics ...string) []Record {
	t.Helper()
	ends := EndOffsets(t, addrs, topics...)
	total := 0
	for _, parts := range ends {
		for _, end := range parts {
			total += int(end) // the topics are never compacted in tests: offsets are dense from 0
		}
	}
	recs := ReadAll(t, addrs, total, 30*time.Second, topics...)
	if len(recs) < total {
		t.Fatalf("read %d records of %d before the deadline", len(recs), total)
	}
	return recs
}

// EndOffsets returns each partition's end (high watermark) offset.
func EndOffsets(t testing.TB, addrs []string, topics ...string) map[string]map[int32]int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := endOffsets(ctx, cl, topics)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// endOffsets asks for each partition's end (high watermark) offset.
func endOffsets(ctx context.Context, cl *kgo.Client, topics []string) (map[string]map[int32]int64, error) {
	meta := kmsg.NewPtrMetadataRequest()
	for _, topic := range topics {
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(topic)
		meta.Topics = append(meta.Topics, rt)
	}
	mresp, err := meta.RequestWith(ctx, cl)
	if err != nil {
		return nil, err
	}
	req := kmsg.NewPtrListOffsetsRequest()
	req.ReplicaID = -1
	for _, mt := range mresp.Topics {
		lt := kmsg.NewListOffsetsRequestTopic()
		lt.Topic = *mt.Topic
		for _, p := range mt.Partitions {
			lp := kmsg.NewListOffsetsRequestTopicPartition()
			lp.Partition = p.Partition
			lp.Timestamp = -1 // latest
			lt.Partitions = append(lt.Partitions, lp)
		}
		req.Topics = append(req.Topics, lt)
	}
	// kgo splits the request by partition leader and merges the answers.
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return nil, err
	}
	out := map[string]map[int32]int64{}
	for _, rt := range resp.Topics {
		out[rt.Topic] = map[int32]int64{}
		for _, p := range rt.Partitions {
			if p.ErrorCode != 0 {
				return nil, fmt.Errorf("list offsets %s/%d: error code %d", rt.Topic, p.Partition, p.ErrorCode)
			}
			out[rt.Topic][p.Partition] = p.Offset
		}
	}
	return out, nil
}

// ProduceError answers a produce request with code for every partition it
// names, for kfake control functions that inject broker errors.
func ProduceError(req *kmsg.ProduceRequest, code int16) *kmsg.ProduceResponse {
	resp := req.ResponseKind().(*kmsg.ProduceResponse)
	for _, rt := range req.Topics {
		st := kmsg.NewProduceResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewProduceResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.ErrorCode = code
			sp.BaseOffset = -1
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}

// Topics lists the topics that exist on the cluster, asking with a Metadata
// request that cannot create one (AllowAutoTopicCreation false, all
// topics), so that tests can check nothing else created any.
func Topics(t testing.TB, c *kfake.Cluster) []string {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	req := kmsg.NewPtrMetadataRequest()
	req.Topics = nil // all
	req.AllowAutoTopicCreation = false
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatalf("metadata: %v", err)
	}
	var out []string
	for _, rt := range resp.Topics {
		if rt.Topic != nil && rt.ErrorCode == 0 {
			out = append(out, *rt.Topic)
		}
	}
	slices.Sort(out)
	return out
}

// WatchAutoCreate counts, from now on, the Metadata requests that would let
// the broker create a missing topic: v4 or later with
// AllowAutoTopicCreation, or v0 to v3, which imply it.
func WatchAutoCreate(c *kfake.Cluster) *atomic.Int64 {
	var n atomic.Int64
	c.ControlKey(int16(kmsg.Metadata), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if m := req.(*kmsg.MetadataRequest); m.Version < 4 || m.AllowAutoTopicCreation {
			n.Add(1)
		}
		return nil, nil, false
	})
	return &n
}
