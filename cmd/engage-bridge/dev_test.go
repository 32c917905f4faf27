package main

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/engage-bridge/engage-bridge/internal/kafkatest"
)

// TestDevNoColourThroughPipe is issue 14 defect 12d: dev's console logs
// through a pipe (not a terminal) carry no escape codes.
func TestDevNoColourThroughPipe(t *testing.T) {
	t.Parallel()
	c := kafkatest.Cluster(t)
	env := map[string]string{
		"BRIDGE_LISTEN":        "127.0.0.1:0",
		"BRIDGE_ADMIN_LISTEN":  "127.0.0.1:0",
		"BRIDGE_KAFKA_BROKERS": strings.Join(c.ListenAddrs(), ","),
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	copied := make(chan struct{}, 2)
	for _, p := range []struct {
		r   *os.File
		dst io.Writer
	}{{outR, stdout}, {errR, stderr}} {
		go func() { io.Copy(p.dst, p.r); copied <- struct{}{} }()
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"dev"}, envOf(env), outW, errW) }()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(stdout.String(), "See the records") {
		if time.Now().After(deadline) {
			t.Fatalf("no banner; stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
		}
		select {
		case err := <-done:
			t.Fatalf("dev stopped: %v\n%s", err, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("dev exited with %v", err)
	}
	outW.Close()
	errW.Close()
	<-copied
	<-copied
	if !strings.Contains(stderr.String(), "INF") {
		t.Fatalf("no console log line on stderr:\n%s", stderr.String())
	}
	for name, out := range map[string]string{"stdout": stdout.String(), "stderr": stderr.String()} {
		if i := strings.IndexByte(out, 0x1b); i >= 0 {
			t.Errorf("%s through a pipe holds an escape code at byte %d:\n%q", name, i, out[max(0, i-40):min(len(out), i+40)])
		}
	}
}
