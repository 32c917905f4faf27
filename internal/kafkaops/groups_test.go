package kafkaops

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/engage-bridge/engage-bridge/internal/kafkaconn"
	"github.com/engage-bridge/engage-bridge/internal/kafkatest"
)

// TestApplyResetRefusesNewGroup is issue 14 defect 12a: a reset of a group
// that committed nothing on the topics (a mistyped name) is refused unless
// allowed, and the refusal commits nothing; a group with commits moves.
func TestApplyResetRefusesNewGroup(t *testing.T) {
	t.Parallel()
	c := kafkatest.Cluster(t)
	kafkatest.CreateTopic(t, c, "engage.contact", 2, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for i := range 4 {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "engage.contact", Partition: int32(i % 2), Value: []byte("{}")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	ops, err := New(kafkaconn.Config{Brokers: c.ListenAddrs()})
	if err != nil {
		t.Fatal(err)
	}
	defer ops.Close()
	committed := func(group string) map[string]map[int]int64 {
		t.Helper()
		got, err := ops.Committed(ctx, group, "engage.contact")
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	plan := func(group string) []OffsetMove {
		t.Helper()
		moves, err := ops.PlanReset(ctx, group, []string{"engage.contact"}, ResetTarget{Earliest: true})
		if err != nil {
			t.Fatal(err)
		}
		return moves
	}

	moves := plan("posx")
	if !NewGroup(moves) {
		t.Fatalf("NewGroup(%v) = false for a group that never committed", moves)
	}
	if err := ops.ApplyReset(ctx, "posx", moves, false); !errors.Is(err, ErrNewGroup) {
		t.Fatalf("ApplyReset of a new group: %v, want ErrNewGroup", err)
	}
	if got := committed("posx"); len(got) != 0 {
		t.Fatalf("the refused reset committed %v", got)
	}
	if err := ops.ApplyReset(ctx, "posx", moves, true); err != nil {
		t.Fatalf("ApplyReset with allowNewGroup: %v", err)
	}
	want := map[string]map[int]int64{"engage.contact": {0: 0, 1: 0}}
	if diff := cmp.Diff(want, committed("posx")); diff != "" {
		t.Fatalf("offsets after the allowed reset (-want +got):\n%s", diff)
	}

	// Now the group has committed offsets: no permission needed.
	moves = plan("posx")
	if NewGroup(moves) {
		t.Fatalf("NewGroup(%v) = true for a group with commits", moves)
	}
	if err := ops.ApplyReset(ctx, "posx", moves, false); err != nil {
		t.Fatalf("ApplyReset of an existing group: %v", err)
	}
}
