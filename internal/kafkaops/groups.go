package kafkaops

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"
)

// TopicConfig returns a topic setting (for example max.message.bytes) as
// the broker reports it, defaults included.
func (c *Client) TopicConfig(ctx context.Context, topic, name string) (string, error) {
	resp, err := c.client.DescribeConfigs(ctx, &kafka.DescribeConfigsRequest{
		Resources: []kafka.DescribeConfigRequestResource{{
			ResourceType: kafka.ResourceTypeTopic, ResourceName: topic, ConfigNames: []string{name},
		}},
	})
	if err != nil {
		return "", fmt.Errorf("describe configs of %s: %w", topic, err)
	}
	for _, r := range resp.Resources {
		if r.Error != nil {
			return "", fmt.Errorf("describe configs of %s: %w", topic, r.Error)
		}
		for _, e := range r.ConfigEntries {
			if e.ConfigName == name {
				return e.ConfigValue, nil
			}
		}
	}
	return "", fmt.Errorf("topic %s does not report %s", topic, name)
}

// Errors of ApplyReset, matched with errors.Is.
var (
	// ErrGroupActive means the group has members: its offsets cannot be
	// moved while it has.
	ErrGroupActive = errors.New("the consumer group has active members")
	// ErrNewGroup means the group has committed no offset on any partition of
	// the topics, which is what a mistyped group name looks like; moving it
	// would create a group nobody consumes with.
	ErrNewGroup = errors.New("the consumer group has no committed offsets on these topics")
)

// NewGroup reports whether the group had committed no offset on any of
// the planned partitions: ApplyReset refuses such a plan unless allowed.
func NewGroup(moves []OffsetMove) bool {
	for _, m := range moves {
		if m.Old != NoOffset {
			return false
		}
	}
	return true
}

// ActiveMembers is how many members the group has now.
func (c *Client) ActiveMembers(ctx context.Context, group string) (int, error) {
	resp, err := c.client.DescribeGroups(ctx, &kafka.DescribeGroupsRequest{GroupIDs: []string{group}})
	if err != nil {
		return 0, fmt.Errorf("describe group %s: %w", group, err)
	}
	for _, g := range resp.Groups {
		if g.GroupID == group {
			if g.Error != nil {
				return 0, fmt.Errorf("describe group %s: %w", group, g.Error)
			}
			return len(g.Members), nil
		}
	}
	return 0, nil
}

// NoOffset is an offset the group never committed.
const NoOffset = -1

// OffsetMove is one partition's committed offset, before and after a reset.
type OffsetMove struct {
	Topic     string
	Partition int
	Old       int64 // NoOffset when the group never committed here
	New       int64
}

// ResetTarget says where a reset moves the offsets: the first record at
// or after Time, or the start of each partition when Earliest.
type ResetTarget struct {
	Time     time.Time
	Earliest bool
}

// PlanReset computes, without changing anything, the offset of each
// partition of the topics after a reset of the group to target. A time
// after the last record moves to the end of the partition.
func (c *Client) PlanReset(ctx context.Context, group string, topics []string, target ResetTarget) ([]OffsetMove, error) {
	parts, err := c.Partitions(ctx, topics...)
	if err != nil {
		return nil, err
	}
	committed, err := c.Committed(ctx, group, topics...)
	if err != nil {
		return nil, err
	}
	req := &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{}}
	for _, t := range topics {
		n, ok := parts[t]
		if !ok {
			return nil, fmt.Errorf("topic %s does not exist", t)
		}
		for p := range n {
			req.Topics[t] = append(req.Topics[t], kafka.FirstOffsetOf(p), kafka.LastOffsetOf(p))
			if !target.Earliest {
				req.Topics[t] = append(req.Topics[t], kafka.TimeOffsetOf(p, target.Time))
			}
		}
	}
	resp, err := c.client.ListOffsets(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("list offsets: %w", err)
	}
	var moves []OffsetMove
	for t, list := range resp.Topics {
		for _, po := range list {
			if po.Error != nil {
				return nil, fmt.Errorf("offsets of %s/%d: %w", t, po.Partition, po.Error)
			}
			m := OffsetMove{Topic: t, Partition: po.Partition, Old: NoOffset, New: po.FirstOffset}
			if o, ok := committed[t][po.Partition]; ok {
				m.Old = o
			}
			if !target.Earliest {
				m.New = po.LastOffset // no record at or after the time
				for off := range po.Offsets {
					if off >= 0 && off < m.New {
						m.New = off
					}
				}
			}
			moves = append(moves, m)
		}
	}
	sort.Slice(moves, func(i, j int) bool {
		if moves[i].Topic != moves[j].Topic {
			return moves[i].Topic < moves[j].Topic
		}
		return moves[i].Partition < moves[j].Partition
	})
	return moves, nil
}

// ApplyReset commits the planned offsets for the group. It refuses while
// the group has active members (ErrGroupActive): they would overwrite the
// offsets with their own commits, and Kafka refuses such commits anyway.
// Unless allowNewGroup, it also refuses a plan for a group that committed
// nothing on these partitions (ErrNewGroup): Kafka would silently create
// a group of that name, and a typo would look like a successful replay.
func (c *Client) ApplyReset(ctx context.Context, group string, moves []OffsetMove, allowNewGroup bool) error {
	if !allowNewGroup && NewGroup(moves) {
		return ErrNewGroup
	}
	n, err := c.ActiveMembers(ctx, group)
	if err != nil {
		return err
	}
	if n > 0 {
		return fmt.Errorf("%w (%d); stop its consumers first", ErrGroupActive, n)
	}
	return c.commit(ctx, group, moves)
}

func (c *Client) commit(ctx context.Context, group string, moves []OffsetMove) error {
	topics := map[string][]kafka.OffsetCommit{}
	for _, m := range moves {
		topics[m.Topic] = append(topics[m.Topic], kafka.OffsetCommit{Partition: m.Partition, Offset: m.New})
	}
	// Generation -1 and no member id: an administrative commit, as
	// kafka-consumer-groups.sh --reset-offsets does.
	resp, err := c.client.OffsetCommit(ctx, &kafka.OffsetCommitRequest{GroupID: group, GenerationID: -1, Topics: topics})
	if err != nil {
		return fmt.Errorf("commit offsets of %s: %w", group, err)
	}
	var errs []error
	for t, parts := range resp.Topics {
		for _, p := range parts {
			if p.Error != nil {
				errs = append(errs, fmt.Errorf("%s/%d: %w", t, p.Partition, p.Error))
			}
		}
	}
	return errors.Join(errs...)
}

// Committed returns the group's committed offset of each partition that
// has one.
func (c *Client) Committed(ctx context.Context, group string, topics ...string) (map[string]map[int]int64, error) {
	parts, err := c.Partitions(ctx, topics...)
	if err != nil {
		return nil, err
	}
	req := &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{}}
	for _, t := range topics {
		for p := range parts[t] {
			req.Topics[t] = append(req.Topics[t], p)
		}
	}
	resp, err := c.client.OffsetFetch(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("fetch offsets of %s: %w", group, err)
	}
	out := map[string]map[int]int64{}
	// Kafka answers an unknown group with offsets of -1; some brokers
	// (kfake) with GROUP_ID_NOT_FOUND. Both mean: nothing committed.
	if errors.Is(resp.Error, kafka.GroupIdNotFound) {
		return out, nil
	}
	if resp.Error != nil {
		return nil, fmt.Errorf("fetch offsets of %s: %w", group, resp.Error)
	}
	for t, list := range resp.Topics {
		for _, p := range list {
			if p.Error != nil {
				return nil, fmt.Errorf("fetch offsets of %s %s/%d: %w", group, t, p.Partition, p.Error)
			}
			if p.CommittedOffset < 0 {
				continue
			}
			if out[t] == nil {
				out[t] = map[int]int64{}
			}
			out[t][p.Partition] = p.CommittedOffset
		}
	}
	return out, nil
}

// GroupConsumer reads a topic on behalf of a consumer group: from the
// group's committed offsets, committing each record's offset only after
// its handler succeeded, and stopping once it has handled every record
// that existed when it started. It does not join the group (kafka-go's
// group Reader would, and its Conn.ReadPartitions asks the broker to
// create a missing topic); it refuses while the group has members, whose
// commits would race its own.
type GroupConsumer struct {
	ops   *Client
	group string
	topic string
}

// NewGroupConsumer returns a GroupConsumer for topic in group.
func (c *Client) NewGroupConsumer(group, topic string) *GroupConsumer {
	return &GroupConsumer{ops: c, group: group, topic: topic}
}

// Run handles the records between the group's committed offsets (or the
// start) and the end each partition had when Run began; records written
// meanwhile (for example ones fn itself appends) wait for the next run.
// Records of one partition are handled in order. A handler error stops
// Run without committing that record.
func (g *GroupConsumer) Run(ctx context.Context, fn func(context.Context, Record) error) (handled int, err error) {
	n, err := g.ops.ActiveMembers(ctx, g.group)
	if err != nil {
		return 0, err
	}
	if n > 0 {
		return 0, fmt.Errorf("%w (%d); stop its consumers first", ErrGroupActive, n)
	}
	opts := TailOptions{Topics: []string{g.topic}, StopAtEnd: true, Group: g.group}
	err = g.ops.Tail(ctx, opts, func(r Record) error {
		if err := fn(ctx, r); err != nil {
			return fmt.Errorf("%s/%d@%d: %w", r.Topic, r.Partition, r.Offset, err)
		}
		next := []OffsetMove{{Topic: r.Topic, Partition: r.Partition, New: r.Offset + 1}}
		if err := g.ops.commit(ctx, g.group, next); err != nil {
			return fmt.Errorf("commit %s/%d@%d: %w", r.Topic, r.Partition, r.Offset, err)
		}
		handled++
		return nil
	})
	return handled, err
}

// FormatOffset prints an offset, or "-" for none.
func FormatOffset(o int64) string {
	if o == NoOffset {
		return "-"
	}
	return strconv.FormatInt(o, 10)
}
