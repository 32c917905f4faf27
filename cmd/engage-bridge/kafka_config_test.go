package main

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/engage-bridge/engage-bridge/internal/kafkaconn"
	"github.com/engage-bridge/engage-bridge/internal/kafkaops"
)

// TestWithOps: the helper of topics, replay, tail and dev bounds do's
// context only when given a timeout, returns do's error, and does not run
// do on a configuration kafkaops refuses. No Kafka is needed: the client
// connects on first use.
func TestWithOps(t *testing.T) {
	t.Parallel()
	errDo := errors.New("from do")
	valid := kafkaconn.Config{Brokers: []string{"127.0.0.1:9"}}
	tests := []struct {
		name         string
		conn         kafkaconn.Config
		timeout      time.Duration
		wantRan      bool
		wantDeadline bool
		wantErr      error
	}{
		{name: "timeout", conn: valid, timeout: opsTimeout, wantRan: true, wantDeadline: true, wantErr: errDo},
		{name: "no timeout", conn: valid, timeout: 0, wantRan: true, wantDeadline: false, wantErr: errDo},
		{name: "invalid config", conn: kafkaconn.Config{}, timeout: opsTimeout, wantRan: false, wantErr: kafkaconn.ErrRequired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ran, deadline := false, false
			err := withOps(context.Background(), tt.conn, tt.timeout, func(ctx context.Context, ops *kafkaops.Client) error {
				ran = true
				_, deadline = ctx.Deadline()
				if ops == nil {
					t.Error("do got a nil client")
				}
				return errDo
			})
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if ran != tt.wantRan || deadline != tt.wantDeadline {
				t.Errorf("ran %v with deadline %v, want ran %v with deadline %v", ran, deadline, tt.wantRan, tt.wantDeadline)
			}
		})
	}
}
