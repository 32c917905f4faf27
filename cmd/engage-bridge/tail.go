package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/engage-bridge/engage-bridge/internal/kafkaops"
)

// errEnough ends a tail that printed --max records.
var errEnough = errors.New("enough records")

func runTail(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("tail", "tail [flags]\n\nPrints the records on the bridge's topics: topic, partition, offset, key, headers\nand the value as indented JSON (numbers exactly as stored), or one JSON object per\nline with --json.\n\nExample:\n  engage-bridge tail --kafka-brokers 127.0.0.1:9092 --topic engage.contact --exit", stderr)
	withLocal := func(name string) string {
		if v := getenv(name); v != "" || name != "BRIDGE_KAFKA_BROKERS" {
			return v
		}
		return devKafkaAddr
	}
	v := newValues(fs, withLocal, append(kafkaSettings(), "BRIDGE_ROUTES_FILE")...)
	topics := fs.String("topic", "", "comma-separated topics (default: every topic of the routing table)")
	fromEnd := fs.Bool("from-end", false, "only print records written from now on")
	exit := fs.Bool("exit", false, "exit after the records that exist now instead of following")
	asJSON := fs.Bool("json", false, "one JSON object per record and line, for machines")
	maxRecords := fs.Int("max", 0, "exit after this many records (0: no limit)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	conn := v.kafkaConfig(true)
	var list []string
	for t := range strings.SplitSeq(*topics, ",") {
		if t = strings.TrimSpace(t); t != "" {
			list = append(list, t)
		}
	}
	routed := len(list) == 0 // every routed topic, rather than those asked for
	if routed {
		if _, routes := v.routes(); routes != nil {
			list = knownTopics(routes)
		}
	}
	if err := v.err(); err != nil {
		return err
	}
	return withOps(ctx, conn, 0, func(ctx context.Context, ops *kafkaops.Client) error {
		if routed {
			// A routed topic not created yet (a template of an event type
			// nobody sent, say) is named and left out; the others are read.
			exist, err := ops.Partitions(ctx, list...)
			if err != nil {
				return err
			}
			var missing []string
			list = slices.DeleteFunc(list, func(t string) bool {
				_, ok := exist[t]
				if !ok {
					missing = append(missing, t)
				}
				return !ok
			})
			if len(missing) > 0 {
				fmt.Fprintf(stderr, "tail: not reading %s: no such topic (engage-bridge topics creates them)\n", strings.Join(missing, ", "))
			}
			if len(list) == 0 {
				return errors.New("none of the routed topics exists; create them with engage-bridge topics")
			}
		}
		printed := 0
		err := ops.Tail(ctx, kafkaops.TailOptions{Topics: list, FromEnd: *fromEnd, StopAtEnd: *exit}, func(r kafkaops.Record) error {
			if *asJSON {
				writeRecordJSON(stdout, r)
			} else {
				writeRecordText(stdout, r)
			}
			printed++
			if *maxRecords > 0 && printed >= *maxRecords {
				return errEnough
			}
			return nil
		})
		if errors.Is(err, errEnough) || (err != nil && ctx.Err() != nil) {
			return nil
		}
		return err
	})
}

func writeRecordText(w io.Writer, r kafkaops.Record) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s  partition %d  offset %d  %s\n", r.Topic, r.Partition, r.Offset, r.Time.UTC().Format(time.RFC3339Nano))
	fmt.Fprintf(&b, "key: %s\n", r.Key)
	for _, h := range r.Headers {
		fmt.Fprintf(&b, "  %s: %s\n", h.Key, h.Value)
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, r.Value, "", "  ") == nil {
		b.Write(pretty.Bytes())
	} else {
		fmt.Fprintf(&b, "%q", r.Value)
	}
	b.WriteString("\n\n")
	_, _ = io.WriteString(w, b.String())
}

func writeRecordJSON(w io.Writer, r kafkaops.Record) {
	headers := make(map[string]string, len(r.Headers))
	for _, h := range r.Headers {
		headers[h.Key] = string(h.Value)
	}
	value := json.RawMessage(r.Value)
	if !json.Valid(r.Value) {
		value, _ = json.Marshal(string(r.Value))
	}
	line, _ := json.Marshal(struct {
		Topic     string            `json:"topic"`
		Partition int               `json:"partition"`
		Offset    int64             `json:"offset"`
		Timestamp time.Time         `json:"timestamp"`
		Key       string            `json:"key"`
		Headers   map[string]string `json:"headers"`
		Value     json.RawMessage   `json:"value"`
	}{r.Topic, r.Partition, r.Offset, r.Time.UTC(), string(r.Key), headers, value})
	_, _ = w.Write(append(line, '\n'))
}
