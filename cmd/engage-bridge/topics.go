package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/engage-bridge/engage-bridge/ingress"
	"github.com/engage-bridge/engage-bridge/internal/kafkaops"
	"github.com/engage-bridge/engage-bridge/router"
	"github.com/engage-bridge/engage-bridge/schemas"
)

// defaultPartitions is how many partitions `topics` (and dev) give each
// topic unless told otherwise.
const defaultPartitions = 6

func runTopics(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("topics", `topics [flags]

Creates the topics of the routing table (BRIDGE_ROUTES_FILE, or the built-in one), and
of every endpoint's own routes_file when BRIDGE_ENDPOINTS_FILE is set, that do not exist, with a max.message.bytes that fits a BRIDGE_MAX_BODY_BYTES body plus its
headers, and reports existing topics whose settings differ. A template route's topics
are those of every documented event type it receives (schemas --list); {tenant} has no
known values, so those topics are left to you. Running it twice changes nothing;
existing topics are never altered. It is the only command that creates topics.

Example:
  engage-bridge topics --kafka-brokers kafka:9092 --partitions 6 --replication-factor 3`, stderr)
	v := newValues(fs, getenv, append(kafkaSettings(), "BRIDGE_ROUTES_FILE", "BRIDGE_MAX_BODY_BYTES", "BRIDGE_ENDPOINTS_FILE")...)
	partitions := fs.Int("partitions", defaultPartitions, "partitions of each created topic; decide once: adding partitions later moves where a contact's new records go")
	rf := fs.Int("replication-factor", 3, "replicas of each created topic (1 for a single-broker cluster)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	conn := v.kafkaConfig(true)
	_, routes := v.routes()
	var eps []ingress.Endpoint
	if file := v.get("BRIDGE_ENDPOINTS_FILE"); file != "" {
		eps = v.endpoints(file)
	}
	tabs := tables(routes, eps)
	maxBody := v.integer("BRIDGE_MAX_BODY_BYTES", 1, 64<<20)
	if *partitions < 1 {
		v.problem("--partitions", "must be at least 1")
	}
	if *rf < 1 {
		v.problem("--replication-factor", "must be at least 1")
	}
	if err := v.err(); err != nil {
		return err
	}
	want := kafkaops.MaxMessageBytes(maxBody)
	var specs []kafkaops.TopicSpec
	for _, t := range allTopics(tabs) {
		specs = append(specs, kafkaops.TopicSpec{
			Name: t, Partitions: *partitions, ReplicationFactor: *rf,
			Configs: map[string]string{"max.message.bytes": strconv.FormatInt(want, 10)},
		})
	}
	return withOps(ctx, conn, opsTimeout, func(ctx context.Context, ops *kafkaops.Client) error {
		states, err := ops.EnsureTopics(ctx, specs)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		for _, s := range states {
			if s.Created {
				fmt.Fprintf(w, "%s\tcreated\t%d partitions, replication factor %d, max.message.bytes %d\n", s.Name, s.Partitions, *rf, want)
				continue
			}
			var differs []string
			if s.Partitions != *partitions {
				differs = append(differs, fmt.Sprintf("%d partitions (want %d)", s.Partitions, *partitions))
			}
			got, err := ops.TopicConfig(ctx, s.Name, "max.message.bytes")
			if n, perr := strconv.ParseInt(got, 10, 64); err == nil && perr == nil && n < want {
				differs = append(differs, fmt.Sprintf("max.message.bytes %d (want at least %d: a %d-byte body would be refused)", n, want, maxBody))
			}
			if len(differs) == 0 {
				fmt.Fprintf(w, "%s\texists\t%d partitions\n", s.Name, s.Partitions)
				continue
			}
			fmt.Fprintf(w, "%s\texists with other settings\t%s\n", s.Name, strings.Join(differs, "; "))
		}
		var templates []string
		for _, t := range tabs {
			for _, tmpl := range t.TenantTemplates() {
				if !slices.Contains(templates, tmpl) {
					templates = append(templates, tmpl)
				}
			}
		}
		for _, tmpl := range templates {
			fmt.Fprintf(w, "%s\tnot created\t{tenant} is known only from deliveries: create each tenant's topic yourself\n", tmpl)
		}
		return w.Flush()
	})
}

// knownTopics are the topics the bridge publishes to as far as the
// configuration tells: the table's fixed topics and its templates filled
// with every documented event type. topics creates them, readiness checks
// them. Event types Engage adds later and {tenant} templates are known only
// from deliveries (docs/operations.md says what to do).
func knownTopics(routes *router.Table) []string {
	return routes.TopicsFor(schemas.EventTypes())
}
