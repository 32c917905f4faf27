package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/engage-bridge/engage-bridge/ingress"
	"github.com/engage-bridge/engage-bridge/internal/dedupe"
	"github.com/engage-bridge/engage-bridge/internal/kafkaops"
	"github.com/engage-bridge/engage-bridge/internal/metrics"
	"github.com/engage-bridge/engage-bridge/internal/payloadcrypto"
	"github.com/engage-bridge/engage-bridge/publisher"
	"github.com/engage-bridge/engage-bridge/schemas"
)

// defaultRedriveGroup is the consumer group whose offsets remember how far
// redrive got in the dead-letter topic.
const defaultRedriveGroup = "engage-bridge-redrive"

func runRedrive(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("redrive", `redrive [--dry-run] [--group G]

Reads the dead-letter topic from consumer group G's committed offsets (without joining
G; refused while G has members) and runs every record through the same
steps as a webhook (parse, decrypt, find contactId, route, publish) with the current
configuration: for example after BRIDGE_ENCRYPTION_KEY was added, or a routes file fixed.
Signatures are not checked again; they were when the deliveries arrived. Each record's
offset is committed only after its outcome was acknowledged by Kafka. A record that still
cannot be used is written to the dead-letter topic again (with its new reason), so that a
later redrive sees it; it is reported here. Records that arrive while redrive runs wait
for the next run. --dry-run only says what would happen.

With BRIDGE_ENDPOINTS_FILE, each record is processed with the current key, tenants and
routes of the endpoint its engage-endpoint header names. A record without the header
goes to the endpoint named default, or to the only one; with several and no default,
--endpoint NAME says which, and without it redrive stops at such a record, leaving it
and the records after it dead-lettered.

Example:
  BRIDGE_ENCRYPTION_KEY_FILE=/secrets/engage-key engage-bridge redrive --dry-run
  BRIDGE_ENCRYPTION_KEY_FILE=/secrets/engage-key engage-bridge redrive`, stderr)
	v := newValues(fs, getenv, append(kafkaSettings(),
		"BRIDGE_KAFKA_COMPRESSION", "BRIDGE_ENCRYPTION_KEY", "BRIDGE_ROUTES_FILE", "BRIDGE_PUBLISH_TIMEOUT",
		"BRIDGE_DEDUPE_TTL", "BRIDGE_DEDUPE_MAX_ENTRIES", "BRIDGE_LOG_LEVEL", "BRIDGE_LOG_FORMAT",
		"BRIDGE_ENDPOINTS_FILE")...)
	only := fs.String("endpoint", "", "the endpoint of dead letters without an engage-endpoint header, when BRIDGE_ENDPOINTS_FILE has several and none named default")
	group := fs.String("group", defaultRedriveGroup, "consumer group that records how far redrive got")
	dryRun := fs.Bool("dry-run", false, "show what would happen; publish and commit nothing")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	conn := v.kafkaConfig(true)
	compression := v.compression()
	_, routes := v.routes()
	var key *payloadcrypto.Key
	var eps []ingress.Endpoint
	if file := v.get("BRIDGE_ENDPOINTS_FILE"); file != "" {
		eps = v.endpoints(file)
	} else {
		key = v.encryptionKey()
	}
	publishTimeout := v.publishTimeout()
	dedupeCfg := v.dedupeConfig()
	level, format := v.logging()
	if err := v.err(); err != nil {
		return err
	}
	log := newLogger(stderr, format, level)

	ops, err := kafkaops.New(conn)
	if err != nil {
		return err
	}
	defer ops.Close()
	pub, err := publisher.New(publisher.Config{Conn: conn, Compression: compression}, log.With().Str("component", "publisher").Logger())
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_ = pub.Close(cctx)
	}()
	seen, err := dedupe.New(dedupeCfg, nil)
	if err != nil {
		return &configError{problems: []string{"BRIDGE_DEDUPE_TTL/BRIDGE_DEDUPE_MAX_ENTRIES: " + err.Error()}}
	}
	validator, err := schemas.NewValidator()
	if err != nil {
		return err
	}
	proc, err := ingress.NewProcessor(ingress.Config{EncryptionKey: key, PublishTimeout: publishTimeout}, ingress.Deps{
		Routes: routes, Publisher: pub, Dedupe: seen, Metrics: metrics.New(), Schemas: validator,
	})
	if err != nil {
		return err
	}
	procs := map[string]*ingress.Processor{}
	for _, e := range eps {
		procs[e.Name] = proc.ForEndpoint(e)
	}
	if len(eps) == 0 {
		procs[ingress.DefaultEndpoint] = proc
	} else if _, ok := procs[*only]; *only != "" && !ok {
		return &configError{problems: []string{fmt.Sprintf("--endpoint: %s is not an endpoint of BRIDGE_ENDPOINTS_FILE", *only)}}
	}
	pick := func(r kafkaops.Record) (*ingress.Processor, error) {
		name := header(r, schemas.RecordEndpoint)
		if name == "" {
			_, hasDefault := procs[ingress.DefaultEndpoint]
			switch {
			case *only != "":
				name = *only
			case hasDefault:
				name = ingress.DefaultEndpoint
			case len(eps) == 1:
				name = eps[0].Name
			default:
				return nil, errors.New("no engage-endpoint header and several endpoints, none named default: run again with --endpoint NAME")
			}
		}
		p, ok := procs[name]
		if !ok {
			return nil, fmt.Errorf("its endpoint %s is not configured here", name)
		}
		return p, nil
	}

	var dlqs []string
	for _, t := range tables(routes, eps) {
		if !slices.Contains(dlqs, t.DeadLetter()) {
			dlqs = append(dlqs, t.DeadLetter())
		}
	}
	report := func(r kafkaops.Record, res ingress.Result, outcome string) {
		was := header(r, schemas.RecordDLQReason)
		fmt.Fprintf(stdout, "%s/%d@%d  %s  %s  was %s -> %s\n", r.Topic, r.Partition, r.Offset,
			res.SvixID, orDash(res.EventType), orDash(was), outcome)
	}

	for _, dlq := range dlqs {
		if err := redriveTopic(ctx, ops, dlq, *group, *dryRun, pick, report, stdout); err != nil {
			return err
		}
	}
	return nil
}

// redriveTopic redrives one dead-letter topic (each routing table names
// its own; most share engage.deadletter).
func redriveTopic(ctx context.Context, ops *kafkaops.Client, dlq, group string, dryRun bool,
	pick func(kafkaops.Record) (*ingress.Processor, error), report func(kafkaops.Record, ingress.Result, string), stdout io.Writer) error {
	counts := 0
	if dryRun {
		err := ops.Tail(ctx, kafkaops.TailOptions{Topics: []string{dlq}, StopAtEnd: true, Group: group}, func(r kafkaops.Record) error {
			counts++
			proc, err := pick(r)
			if err != nil {
				report(r, ingress.Result{SvixID: deliveryOf(r).ID}, "would stay dead-lettered: "+err.Error())
				return nil
			}
			res := proc.Plan(ctx, deliveryOf(r), r.Value)
			if res.Outcome == ingress.Published {
				report(r, res, "would publish to "+res.Topic)
			} else {
				report(r, res, "would stay dead-lettered: "+res.Reason)
			}
			return nil
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "dry run of %s (group %s): %d records; nothing published or committed\n", dlq, group, counts)
		return nil
	}

	published, still := 0, 0
	n, err := ops.NewGroupConsumer(group, dlq).Run(ctx, func(ctx context.Context, r kafkaops.Record) error {
		proc, err := pick(r)
		if err != nil {
			report(r, ingress.Result{SvixID: deliveryOf(r).ID}, "left dead-lettered: "+err.Error())
			return err // not committed: stays for a run that can place it
		}
		res, err := proc.Process(ctx, deliveryOf(r), r.Value, nil)
		if err != nil {
			return err // not committed: the next run tries again
		}
		switch res.Outcome {
		case ingress.Published:
			published++
			report(r, res, fmt.Sprintf("published to %s/%d@%d", res.Topic, res.Partition, res.Offset))
		case ingress.Duplicate:
			report(r, res, "already published, skipped")
		default:
			still++
			report(r, res, fmt.Sprintf("still dead-lettered: %s (again at %s/%d@%d)", res.Reason, res.Topic, res.Partition, res.Offset))
		}
		return nil
	})
	fmt.Fprintf(stdout, "redrive of %s (group %s): %d records, %d published, %d still dead-lettered\n", dlq, group, n, published, still)
	return err
}

// deliveryOf rebuilds a dead letter's delivery from its headers; the key
// is the svix-id too, should a header be missing.
func deliveryOf(r kafkaops.Record) ingress.Delivery {
	d := ingress.Delivery{ID: header(r, schemas.RecordSvixID), Timestamp: header(r, schemas.RecordSvixTimestamp)}
	if d.ID == "" {
		d.ID = string(r.Key)
	}
	return d
}

func header(r kafkaops.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
