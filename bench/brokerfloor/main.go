// Command brokerfloor measures the broker's own round trip: one record at
// a time, acks=all, produced at a fixed rate by franz-go (a client none of
// us wrote), the way the bridge publishes at low load. The bridge's
// server-side latency at that rate cannot be lower than this floor, since
// it answers only after the same round trip.
//
//	go build -o /tmp/kfake ./bench/kfake && /tmp/kfake -addr 127.0.0.1:19092 & kfake=$!
//	go run ./bench/brokerfloor -brokers 127.0.0.1:19092 -rate 200 -duration 10s
//	kill $kfake   # bench/run.sh uses the same port
//
// bench/run.sh runs it beside every open-loop scenario.
//
// It prints one JSON line: records, rate_per_s (asked for), sent_per_s
// (measured records over the measured time: below the rate when a round
// trip took longer than the interval), p50_ms, p90_ms, p99_ms. A record
// not acknowledged within 10 s (no broker there, say) ends it with an
// error.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func main() {
	brokers := flag.String("brokers", "127.0.0.1:19092", "a loopback broker")
	topic := flag.String("topic", "engage.contact", "the topic to produce to (it must exist)")
	rate := flag.Int("rate", 200, "records per second")
	duration := flag.Duration("duration", 10*time.Second, "how long to measure, after a 1 s warm-up")
	flag.Parse()
	if host, _, err := net.SplitHostPort(*brokers); err != nil || (host != "127.0.0.1" && host != "localhost") {
		fmt.Fprintln(os.Stderr, "brokerfloor: -brokers must be one loopback host:port")
		os.Exit(2)
	}
	if *rate < 1 || *duration <= 0 {
		fmt.Fprintln(os.Stderr, "brokerfloor: -rate and -duration must be positive")
		os.Exit(2)
	}
	res, err := measure(context.Background(), *brokers, *topic, *rate, time.Second, *duration, 10*time.Second)
	if err != nil {
		fmt.Fprintln(os.Stderr, "brokerfloor:", err)
		os.Exit(1)
	}
	_ = json.NewEncoder(os.Stdout).Encode(res)
}

// result is what brokerfloor prints.
type result struct {
	Records int     `json:"records"`
	Rate    int     `json:"rate_per_s"`
	Sent    float64 `json:"sent_per_s"`
	P50     float64 `json:"p50_ms"`
	P90     float64 `json:"p90_ms"`
	P99     float64 `json:"p99_ms"`
}

// measure produces one record at a time at rate for warmUp, then for
// duration, and returns the round trips of the second part. A record not
// acknowledged within ackTimeout is an error.
func measure(ctx context.Context, brokers, topic string, rate int, warmUp, duration, ackTimeout time.Duration) (result, error) {
	if rate < 1 || duration <= 0 {
		return result{}, errors.New("-rate and -duration must be positive")
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.DisableIdempotentWrite(), kgo.ProducerLinger(0), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		return result{}, err
	}
	defer cl.Close()
	value := []byte(`{"eventType":"contact.updated","payload":{"contactId":"c-1"}}`)
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	var took []time.Duration
	start := time.Now()
	for end := start.Add(warmUp + duration); time.Now().Before(end); <-tick.C {
		sent := time.Now()
		r := &kgo.Record{Topic: topic, Key: []byte("c-1"), Value: value}
		rctx, cancel := context.WithTimeout(ctx, ackTimeout)
		err := cl.ProduceSync(rctx, r).FirstErr()
		cancel()
		if err != nil {
			return result{}, fmt.Errorf("no acknowledgement from %s within %v: %w", brokers, ackTimeout, err)
		}
		if sent.Sub(start) >= warmUp {
			took = append(took, time.Since(sent))
		}
	}
	if len(took) == 0 {
		return result{}, errors.New("no record was measured")
	}
	slices.Sort(took)
	ms := func(q float64) float64 { return float64(took[int(q*float64(len(took)-1))]) / 1e6 }
	return result{Records: len(took), Rate: rate, Sent: float64(len(took)) / duration.Seconds(), P50: ms(0.5), P90: ms(0.9), P99: ms(0.99)}, nil
}
