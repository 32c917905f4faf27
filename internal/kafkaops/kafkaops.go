// Package kafkaops is Kafka for the operator commands, outside the publish
// path: creating and inspecting topics, and reading records back. It uses
// kafka-go's Client with the same connection settings as the publisher.
package kafkaops

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/engage-bridge/engage-bridge/internal/kafkaconn"
)

// RecordOverhead is the room kept above the largest body for a record's
// headers and batch framing when sizing max.message.bytes.
const RecordOverhead = 64 << 10

// MaxMessageBytes is the topic max.message.bytes that fits a record holding
// a body of maxBody bytes plus its headers.
func MaxMessageBytes(maxBody int64) int64 { return maxBody + RecordOverhead }

// Client talks to Kafka for the operator commands.
type Client struct {
	client    *kafka.Client
	transport *kafka.Transport
}

// New returns a Client; it connects on first use.
func New(cfg kafkaconn.Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	transport, err := cfg.Transport(2 * time.Second)
	if err != nil {
		return nil, err
	}
	return &Client{
		client:    &kafka.Client{Addr: cfg.Addr(), Transport: transport, Timeout: 30 * time.Second},
		transport: transport,
	}, nil
}

// Close releases connections.
func (c *Client) Close() { c.transport.CloseIdleConnections() }

// TopicSpec is a topic to create if missing.
type TopicSpec struct {
	Name              string
	Partitions        int
	ReplicationFactor int
	Configs           map[string]string
}

// TopicState is what EnsureTopics found or did.
type TopicState struct {
	Name       string
	Partitions int
	Created    bool
}

// EnsureTopics creates the topics that do not exist and reports the
// partition count of every topic, so that a caller can point out existing
// topics whose settings differ. Running it twice changes nothing.
func (c *Client) EnsureTopics(ctx context.Context, specs []TopicSpec) ([]TopicState, error) {
	existing, err := c.Partitions(ctx, names(specs)...)
	if err != nil {
		return nil, err
	}
	var create []kafka.TopicConfig
	for _, s := range specs {
		if _, ok := existing[s.Name]; ok {
			continue
		}
		tc := kafka.TopicConfig{Topic: s.Name, NumPartitions: s.Partitions, ReplicationFactor: s.ReplicationFactor}
		keys := make([]string, 0, len(s.Configs))
		for k := range s.Configs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			tc.ConfigEntries = append(tc.ConfigEntries, kafka.ConfigEntry{ConfigName: k, ConfigValue: s.Configs[k]})
		}
		create = append(create, tc)
	}
	created := map[string]bool{}
	if len(create) > 0 {
		resp, err := c.client.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: create})
		if err != nil {
			return nil, fmt.Errorf("create topics: %w", err)
		}
		var errs []error
		for _, tc := range create {
			switch err := resp.Errors[tc.Topic]; {
			case err == nil:
				created[tc.Topic] = true
			case errors.Is(err, kafka.TopicAlreadyExists):
			case errors.Is(err, kafka.InvalidReplicationFactor):
				errs = append(errs, fmt.Errorf("create topic %s: %w (replication factor %d is more than the cluster's brokers; a single-broker cluster such as dev's needs --replication-factor 1)", tc.Topic, err, tc.ReplicationFactor))
			default:
				errs = append(errs, fmt.Errorf("create topic %s: %w", tc.Topic, err))
			}
		}
		if err := errors.Join(errs...); err != nil {
			return nil, err
		}
	}
	out := make([]TopicState, 0, len(specs))
	for _, s := range specs {
		n, ok := existing[s.Name]
		if !ok {
			n = s.Partitions
		}
		out = append(out, TopicState{Name: s.Name, Partitions: n, Created: created[s.Name]})
	}
	return out, nil
}

func names(specs []TopicSpec) []string {
	out := make([]string, len(specs))
	for i, s := range specs {
		out[i] = s.Name
	}
	return out
}

// Partitions returns the partition count of each topic that exists.
func (c *Client) Partitions(ctx context.Context, topics ...string) (map[string]int, error) {
	meta, err := c.client.Metadata(ctx, &kafka.MetadataRequest{Topics: topics})
	if err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	out := map[string]int{}
	for _, t := range meta.Topics {
		if t.Error != nil {
			if errors.Is(t.Error, kafka.UnknownTopicOrPartition) {
				continue
			}
			return nil, fmt.Errorf("metadata for %s: %w", t.Name, t.Error)
		}
		out[t.Name] = len(t.Partitions)
	}
	return out, nil
}

// Header is a record header.
type Header struct {
	Key   string
	Value []byte
}

// Record is a record read from a topic.
type Record struct {
	Topic     string
	Partition int
	Offset    int64
	Time      time.Time
	Key       []byte
	Value     []byte
	Headers   []Header
}

// TailOptions says what Tail reads.
type TailOptions struct {
	Topics []string
	// FromEnd starts at the end of each partition instead of the start.
	FromEnd bool
	// StopAtEnd returns once every partition was read up to the end it had
	// when Tail started, instead of following new records.
	StopAtEnd bool
	// Group, when set, starts each partition at the group's committed
	// offset (where the group would resume) without joining or committing.
	Group string
}

// Tail reads every partition of the topics and calls fn for each record,
// one at a time, until ctx ends, fn returns an error, or (StopAtEnd) the
// records that existed at the start were all read. Records of one
// partition arrive in offset order; partitions interleave.
func (c *Client) Tail(ctx context.Context, opts TailOptions, fn func(Record) error) error {
	parts, err := c.Partitions(ctx, opts.Topics...)
	if err != nil {
		return err
	}
	req := &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{}}
	for _, t := range opts.Topics {
		n, ok := parts[t]
		if !ok {
			return fmt.Errorf("topic %s does not exist", t)
		}
		for p := range n {
			req.Topics[t] = append(req.Topics[t], kafka.FirstOffsetOf(p), kafka.LastOffsetOf(p))
		}
	}
	offsets, err := c.client.ListOffsets(ctx, req)
	if err != nil {
		return fmt.Errorf("list offsets: %w", err)
	}
	var committed map[string]map[int]int64
	if opts.Group != "" {
		if committed, err = c.Committed(ctx, opts.Group, opts.Topics...); err != nil {
			return err
		}
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	records := make(chan Record)
	errc := make(chan error, 1)
	running := 0
	for topic, list := range offsets.Topics {
		for _, po := range list {
			if po.Error != nil {
				return fmt.Errorf("offsets of %s/%d: %w", topic, po.Partition, po.Error)
			}
			start, end := po.FirstOffset, po.LastOffset
			if c, ok := committed[topic][po.Partition]; ok && c > start {
				start = c
			}
			if opts.FromEnd {
				start = end
			}
			if opts.StopAtEnd && start >= end {
				continue
			}
			running++
			go func() {
				errc <- c.fetchLoop(ctx, topic, po.Partition, start, end, opts.StopAtEnd, records)
			}()
		}
	}
	var firstErr error
	for running > 0 {
		select {
		case r := <-records:
			if firstErr == nil {
				if err := fn(r); err != nil {
					firstErr = err
					cancel()
				}
			}
		case err := <-errc:
			running--
			if err != nil && firstErr == nil && !errors.Is(err, context.Canceled) {
				firstErr = err
				cancel()
			}
		}
	}
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

func (c *Client) fetchLoop(ctx context.Context, topic string, partition int, offset, end int64, stopAtEnd bool, out chan<- Record) error {
	for {
		if stopAtEnd && offset >= end {
			return nil
		}
		resp, err := c.client.Fetch(ctx, &kafka.FetchRequest{
			Topic: topic, Partition: partition, Offset: offset,
			MinBytes: 1, MaxBytes: 16 << 20, MaxWait: 500 * time.Millisecond,
		})
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("fetch %s/%d: %w", topic, partition, err)
		}
		if resp.Error != nil {
			return fmt.Errorf("fetch %s/%d: %w", topic, partition, resp.Error)
		}
		for {
			r, err := resp.Records.ReadRecord()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return fmt.Errorf("fetch %s/%d: %w", topic, partition, err)
			}
			rec, err := readRecord(topic, partition, r)
			if err != nil {
				return err
			}
			if rec.Offset < offset {
				continue // a batch may start before the requested offset
			}
			offset = rec.Offset + 1
			select {
			case out <- rec:
			case <-ctx.Done():
				return ctx.Err()
			}
			if stopAtEnd && offset >= end {
				return nil
			}
		}
	}
}

func readRecord(topic string, partition int, r *kafka.Record) (Record, error) {
	rec := Record{Topic: topic, Partition: partition, Offset: r.Offset, Time: r.Time}
	var err error
	if r.Key != nil {
		if rec.Key, err = kafka.ReadAll(r.Key); err != nil {
			return rec, fmt.Errorf("read key at %s/%d@%d: %w", topic, partition, r.Offset, err)
		}
	}
	if r.Value != nil {
		if rec.Value, err = kafka.ReadAll(r.Value); err != nil {
			return rec, fmt.Errorf("read value at %s/%d@%d: %w", topic, partition, r.Offset, err)
		}
	}
	for _, h := range r.Headers {
		rec.Headers = append(rec.Headers, Header{Key: h.Key, Value: h.Value})
	}
	return rec, nil
}
