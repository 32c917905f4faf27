package main

import (
	"context"
	"net"
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
	res, err := measure(ctx, c.ListenAddrs()[0], "engage.contact", 100, 100*time.Millisecond, 300*time.Millisecond, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if res.Records < 5 || res.Rate != 100 || res.Sent <= 0 || res.Sent > 110 || !(0 < res.P50 && res.P50 <= res.P90 && res.P90 <= res.P99) {
		t.Errorf("%+v: want some records and 0 < p50 <= p90 <= p99", res)
	}
	if got := len(kafkatest.ReadToEnd(t, c.ListenAddrs(), "engage.contact")); got < res.Records {
		t.Errorf("%d records in the topic, %d measured", got, res.Records)
	}
	if _, err := measure(ctx, c.ListenAddrs()[0], "engage.contact", 0, 0, time.Second, time.Second); err == nil {
		t.Error("rate 0 accepted")
	}
	short, cancelShort := context.WithTimeout(ctx, 3*time.Second)
	defer cancelShort()
	if _, err := measure(short, c.ListenAddrs()[0], "no.such.topic", 100, 0, time.Second, 10*time.Second); err == nil {
		t.Error("a missing topic gave figures")
	}
}

// TestMeasureWithoutBroker: nothing listening is an error within the
// acknowledgement timeout, not a wait without end.
func TestMeasureWithoutBroker(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	start := time.Now()
	if _, err := measure(context.Background(), addr, "engage.contact", 100, 0, time.Second, 500*time.Millisecond); err == nil {
		t.Error("no broker gave figures")
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took %v to give up, want about the 500 ms acknowledgement timeout", took)
	}
}
