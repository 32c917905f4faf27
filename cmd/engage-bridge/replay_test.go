package main

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/engage-bridge/engage-bridge/internal/kafkaconn"
	"github.com/engage-bridge/engage-bridge/internal/kafkaops"
	"github.com/engage-bridge/engage-bridge/internal/kafkatest"
)

// TestReplayNewGroup is issue 14 defect 12a: replay of a group with no
// committed offsets (a typo) says so in the dry run, and --execute refuses
// it, changing nothing, unless --allow-new-group.
func TestReplayNewGroup(t *testing.T) {
	t.Parallel()
	c := kafkatest.Cluster(t)
	kafkatest.CreateTopic(t, c, "engage.contact", 2, nil)
	env := map[string]string{"BRIDGE_KAFKA_BROKERS": strings.Join(c.ListenAddrs(), ",")}
	args := []string{"replay", "--group", "pso", "--topic", "engage.contact", "--to-earliest"}

	out, err := runCmd(t, env, args...)
	if err != nil || !strings.Contains(out, "note: group pso has no committed offsets on these topics") || !strings.Contains(out, "--allow-new-group") {
		t.Errorf("dry run: %v\n%s", err, out)
	}

	out, err = runCmd(t, env, append(args, "--execute")...)
	if !errors.Is(err, kafkaops.ErrNewGroup) || !strings.Contains(err.Error(), "--allow-new-group") || strings.Contains(out, "moved group") {
		t.Errorf("--execute on a new group: %v, want ErrNewGroup naming --allow-new-group\n%s", err, out)
	}
	ops, err := kafkaops.New(kafkaconn.Config{Brokers: c.ListenAddrs()})
	if err != nil {
		t.Fatal(err)
	}
	defer ops.Close()
	if got, err := ops.Committed(context.Background(), "pso", "engage.contact"); err != nil || len(got) != 0 {
		t.Fatalf("after the refusal the group has offsets %v (%v)", got, err)
	}

	out, err = runCmd(t, env, append(args, "--execute", "--allow-new-group")...)
	if err != nil || !strings.Contains(out, "moved group pso on 2 partitions") {
		t.Errorf("--execute --allow-new-group: %v\n%s", err, out)
	}
	out, err = runCmd(t, env, args...)
	if err != nil || strings.Contains(out, "no committed offsets") {
		t.Errorf("dry run after the group was created: %v\n%s", err, out)
	}
}
