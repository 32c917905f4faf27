// Command consumer is an example of a downstream team's consumer of the
// engage-bridge topics. It shows the three things every consumer must
// get right:
//
//  1. decode the record with package schemas (payload types per event
//     type, Decimals kept exact);
//  2. deduplicate on the svix-id header: delivery is at least once, so the
//     same webhook can be in a topic twice (Svix retries, a resend, a
//     redrive, an ambiguous Kafka write);
//  3. commit an offset only after its record was handled, so that a crash
//     replays it instead of losing it.
//
// It keeps the processed svix-ids in memory; a real consumer stores them
// with its own data, in the same transaction, so that "handled" and
// "remembered" cannot disagree.
//
//	go run ./examples/consumer --brokers 127.0.0.1:9092 --group pos
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/engage-bridge/engage-bridge/schemas"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var cfg config
	var brokers, topics string
	flag.StringVar(&brokers, "brokers", "127.0.0.1:9092", "comma-separated Kafka bootstrap host:port")
	flag.StringVar(&cfg.group, "group", "engage-example", "consumer group: one per team, so each team has its own offsets")
	flag.StringVar(&topics, "topics", "engage.contact,engage.loyalty,engage.reward,engage.promotion", "comma-separated topics")
	flag.Parse()
	cfg.brokers = strings.Split(brokers, ",")
	cfg.topics = strings.Split(topics, ",")
	err := consume(ctx, cfg, printer{os.Stdout}.handle)
	if err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "consumer:", err)
		os.Exit(1)
	}
}

type config struct {
	brokers []string
	group   string
	topics  []string
}

// Delivery is one Engage event as the consumer sees it.
type Delivery struct {
	SvixID  string // the webhook's id: stable across retries and resends
	Topic   string
	Offset  int64
	Event   schemas.Event
	Payload any // *schemas.ContactUpdated, *schemas.PointBalanceUpdated, …; nil for unknown types
}

// consume reads the topics as one consumer group member until ctx ends,
// calling handle once per svix-id.
func consume(ctx context.Context, cfg config, handle func(context.Context, Delivery) error) error {
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:     cfg.brokers,
		GroupID:     cfg.group,
		GroupTopics: cfg.topics,
		// A new group starts at the beginning: nothing Engage sent before
		// the team's first deploy is missed.
		StartOffset: kafka.FirstOffset,
		// CommitInterval 0: CommitMessages commits synchronously, right
		// after each record was handled.
		CommitInterval: 0,
		MaxWait:        500 * time.Millisecond,
	})
	defer r.Close()

	done := newProcessed(100_000)
	for {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			return err
		}
		d := Delivery{SvixID: header(m, schemas.RecordSvixID), Topic: m.Topic, Offset: m.Offset}
		if !done.has(d.SvixID) {
			if err := json.Unmarshal(m.Value, &d.Event); err != nil {
				// A record that is not an envelope cannot become one by
				// retrying: log it and move on (or park it somewhere).
				fmt.Fprintf(os.Stderr, "skip %s/%d@%d: %v\n", m.Topic, m.Partition, m.Offset, err)
			} else {
				d.Payload, err = d.Event.DecodePayload()
				if err != nil && !errors.Is(err, schemas.ErrUnknownEventType) {
					fmt.Fprintf(os.Stderr, "skip %s/%d@%d: %v\n", m.Topic, m.Partition, m.Offset, err)
				} else if err := handle(ctx, d); err != nil {
					// Not handled: do not commit; the record comes back
					// after a restart or rebalance.
					return fmt.Errorf("handle %s: %w", d.SvixID, err)
				}
				done.add(d.SvixID)
			}
		}
		if err := r.CommitMessages(ctx, m); err != nil {
			return err
		}
	}
}

func header(m kafka.Message, key string) string {
	for _, h := range m.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// processed is a bounded set of handled svix-ids, oldest forgotten first.
type processed struct {
	ids   map[string]bool
	order []string
	max   int
}

func newProcessed(max int) *processed { return &processed{ids: map[string]bool{}, max: max} }

func (p *processed) has(id string) bool { return p.ids[id] }

func (p *processed) add(id string) {
	if len(p.order) >= p.max {
		delete(p.ids, p.order[0])
		p.order = p.order[1:]
	}
	p.ids[id] = true
	p.order = append(p.order, id)
}

// printer says what a POS, an e-commerce site or a CRM would do.
type printer struct{ w io.Writer }

func (p printer) handle(_ context.Context, d Delivery) error {
	action := "ignore (unknown event type: Engage adds types over time)"
	switch v := d.Payload.(type) {
	case *schemas.ContactCreated:
		action = "create the customer " + v.ContactID
	case *schemas.ContactUpdated:
		action = fmt.Sprintf("update the customer %s (%d changed values)", v.ContactID, len(v.ChangedValues))
	case *schemas.ContactDeleted:
		action = "erase the personal data of " + v.ContactID
	case *schemas.PreferenceChanged:
		action = "update the channel opt-ins of " + v.ContactID
	case *schemas.ConsentChanged:
		action = "update the consents of " + v.ContactID
	case *schemas.LoyaltyAddPoints:
		action = fmt.Sprintf("record %s points for %s", v.Amount, v.ContactID)
	case *schemas.PointBalanceUpdated:
		action = fmt.Sprintf("show the balance %s for %s", v.Balance, v.ContactID)
	case *schemas.RewardVoucherCreated:
		action = fmt.Sprintf("make voucher %s (%s %s) usable for %s", v.UniqueCode, v.Amount, v.Currency, v.ContactID)
	case *schemas.PromotionAssigned:
		action = fmt.Sprintf("expose promotion %s to %s", v.PromotionID, v.ContactID)
	}
	_, err := fmt.Fprintf(p.w, "%s %s %s: %s\n", d.Topic, d.Event.EventType, d.SvixID, action)
	return err
}
