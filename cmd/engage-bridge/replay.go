package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/engage-bridge/engage-bridge/internal/kafkaops"
)

func runReplay(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("replay", `replay --group G --topic T[,T...] (--to-time RFC3339 | --to-earliest) [--execute]

Moves a consumer group's committed offsets on the topics back (or forward) to the first
record at or after a time, or to the start, so that the group reads those records again.
Dry run by default: prints the old and new offset of every partition. --execute applies,
and refuses while the group has active members (stop its consumers first), and for a
group with no committed offset on the topics (a mistyped name?) unless --allow-new-group.

Example:
  engage-bridge replay --group pos --topic engage.contact,engage.loyalty --to-time 2026-11-01T00:00:00Z
  engage-bridge replay --group pos --topic engage.contact,engage.loyalty --to-time 2026-11-01T00:00:00Z --execute`, stderr)
	v := newValues(fs, getenv, kafkaSettings()...)
	group := fs.String("group", "", "the consumer group to move (required)")
	topicList := fs.String("topic", "", "comma-separated topics (required)")
	toTime := fs.String("to-time", "", "RFC 3339 time, for example 2026-11-01T00:00:00Z")
	toEarliest := fs.Bool("to-earliest", false, "move to the first offset of each partition")
	execute := fs.Bool("execute", false, "apply the move (default: only show it)")
	allowNew := fs.Bool("allow-new-group", false, "let --execute move a group that has no committed offsets on the topics (it creates the group)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	conn := v.kafkaConfig(true)
	if err := v.err(); err != nil {
		return err
	}
	var topics []string
	for t := range strings.SplitSeq(*topicList, ",") {
		if t = strings.TrimSpace(t); t != "" {
			topics = append(topics, t)
		}
	}
	var target kafkaops.ResetTarget
	switch {
	case *group == "":
		return &usageError{"replay: --group is required"}
	case len(topics) == 0:
		return &usageError{"replay: --topic is required"}
	case (*toTime == "") == !*toEarliest:
		return &usageError{"replay: give exactly one of --to-time and --to-earliest"}
	case *toEarliest:
		target.Earliest = true
	default:
		t, err := time.Parse(time.RFC3339, *toTime)
		if err != nil {
			return &usageError{fmt.Sprintf("replay: --to-time %q is not RFC 3339 (for example 2026-11-01T00:00:00Z)", *toTime)}
		}
		target.Time = t
	}

	return withOps(ctx, conn, opsTimeout, func(ctx context.Context, ops *kafkaops.Client) error {
		moves, err := ops.PlanReset(ctx, *group, topics, target)
		if err != nil {
			return err
		}
		members, err := ops.ActiveMembers(ctx, *group)
		if err != nil {
			return err
		}

		w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "TOPIC\tPARTITION\tOLD\tNEW")
		for _, m := range moves {
			fmt.Fprintf(w, "%s\t%d\t%s\t%d\n", m.Topic, m.Partition, kafkaops.FormatOffset(m.Old), m.New)
		}
		if err := w.Flush(); err != nil {
			return err
		}
		if !*execute {
			fmt.Fprintf(stdout, "dry run: nothing changed; add --execute to move group %s\n", *group)
			if members > 0 {
				fmt.Fprintf(stdout, "note: group %s has %d active members now; --execute will refuse until they stop\n", *group, members)
			}
			if kafkaops.NewGroup(moves) {
				fmt.Fprintf(stdout, "note: group %s has no committed offsets on these topics (a mistyped name?); --execute will refuse unless --allow-new-group\n", *group)
			}
			return nil
		}
		if err := ops.ApplyReset(ctx, *group, moves, *allowNew); err != nil {
			switch {
			case errors.Is(err, kafkaops.ErrNewGroup):
				return fmt.Errorf("replay: group %s: %w; check the name, or add --allow-new-group to create it at these offsets", *group, err)
			case errors.Is(err, kafkaops.ErrGroupActive):
				return fmt.Errorf("replay: group %s: %w", *group, err)
			}
			return err
		}
		fmt.Fprintf(stdout, "moved group %s on %d partitions\n", *group, len(moves))
		return nil
	})
}
