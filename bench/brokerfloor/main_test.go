package main

import (
	"context"
	"testing"
	"time"

	"github.com/engage-bridge/engage-bridge/internal/kafkatest"
)

// TestMeasure measures a short run against kfake: every record after the
// warm-up is counted, the percentiles are ordered, and a missing topic is
// an error rather than a figure.
func TestMeasure(t *testing.T) {
	c := kafkatest.Cluster(t)
	kafkatest.CreateTopic(t, c, "engage.contact", 1, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := measure(ctx, c.ListenAddrs()[0], "engage.contact", 100, 100*time.Millisecond, 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if res.Records < 5 || res.Rate != 100 || !(0 < res.P50 && res.P50 <= res.P90 && res.P90 <= res.P99) {
		t.Errorf("%+v: want some records and 0 < p50 <= p90 <= p99", res)
	}
	if got := len(kafkatest.ReadToEnd(t, c.ListenAddrs(), "engage.contact")); got < res.Records {
		t.Errorf("%d records in the topic, %d measured", got, res.Records)
	}
	if _, err := measure(ctx, c.ListenAddrs()[0], "engage.contact", 0, 0, time.Second); err == nil {
		t.Error("rate 0 accepted")
	}
	short, cancelShort := context.WithTimeout(ctx, 3*time.Second)
	defer cancelShort()
	if _, err := measure(short, c.ListenAddrs()[0], "no.such.topic", 100, 0, time.Second); err == nil {
		t.Error("a missing topic gave figures")
	}
}
