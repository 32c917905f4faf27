package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/engage-bridge/engage-bridge/internal/kafkatest"
	"github.com/engage-bridge/engage-bridge/schemas"
)

// TestSlowClients: clients that trickle their headers or their body, or
// stop sending altogether, are cut off by the server timeouts; the
// in-flight slots they held come back, signed deliveries keep being
// answered, and nothing of theirs is published.
func TestSlowClients(t *testing.T) {
	// Not parallel: it asserts how soon server timeouts of 0.5-1.5 s cut
	// connections, which the CPU other tests take would make flaky; serial
	// tests run alone.
	c := kafkatest.Cluster(t)
	b := startBridgeWith(t, c, map[string]string{"BRIDGE_MAX_IN_FLIGHT": "2"}, true, func(cfg *config) {
		cfg.Timeouts = serverTimeouts{ReadHeader: 500 * time.Millisecond, Read: 1500 * time.Millisecond, Write: 5 * time.Second, Idle: time.Second}
	})
	u, _ := url.Parse(b.webhookURL())
	dial := func() net.Conn {
		conn, err := net.Dial("tcp", u.Host)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return conn
	}
	// closedWithin reads until the server closes the connection, and
	// reports how long that took and what it answered, if anything.
	closedWithin := func(conn net.Conn, limit time.Duration) (time.Duration, string) {
		start := time.Now()
		_ = conn.SetReadDeadline(start.Add(limit))
		got, err := io.ReadAll(conn)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("the server kept the connection open for %v", limit)
		}
		return time.Since(start), string(got)
	}
	body := example(t, schemas.EventContactCreated)
	signedHead := func(id string) string {
		h := signedHeaders(t, id, body)
		var sb strings.Builder
		fmt.Fprintf(&sb, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n", u.Path, u.Host, len(body))
		for k := range h {
			fmt.Fprintf(&sb, "%s: %s\r\n", k, h.Get(k))
		}
		return sb.String() + "\r\n"
	}

	t.Run("headers never finished", func(t *testing.T) {
		conn := dial()
		fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nsvix-id: msg_slow", u.Path, u.Host)
		took, _ := closedWithin(conn, 5*time.Second)
		if took > 2*time.Second {
			t.Errorf("closed after %v with a 500ms header timeout", took)
		}
	})

	t.Run("body trickled and stuck bodies hold no slots for long", func(t *testing.T) {
		// Two clients take both in-flight slots and then send their body
		// a byte at a time: the bridge is full.
		var stuck []net.Conn
		for i := range 2 {
			conn := dial()
			fmt.Fprint(conn, signedHead(fmt.Sprintf("msg_trickle_%d", i)))
			_, _ = conn.Write(body[:1])
			stuck = append(stuck, conn)
		}
		eventually(t, "both slots held", func() bool {
			return metricValue(t, b.adminURL(), "engage_bridge_in_flight_requests") == 2
		})
		if a := deliver(t, b.webhookURL(), e2eSecret, "msg_while_full", time.Now(), body, nil); a.status != 429 || a.retryAfter == "" {
			t.Errorf("with both slots held: %+v, want 429 with Retry-After", a)
		}
		done := make(chan string, 2)
		for _, conn := range stuck {
			go func() {
				for i := 1; i < len(body); i++ {
					if _, err := conn.Write(body[i : i+1]); err != nil {
						break
					}
					time.Sleep(50 * time.Millisecond)
				}
				_, answer := closedWithin(conn, 10*time.Second)
				done <- answer
			}()
		}
		for range stuck {
			if answer := <-done; strings.HasPrefix(answer, "HTTP/1.1 2") {
				t.Errorf("a trickled body was answered 2xx:\n%s", answer)
			}
		}
		if a := deliver(t, b.webhookURL(), e2eSecret, "msg_after_trickle", time.Now(), body, nil); a.status != 200 {
			t.Errorf("after the slow clients were cut off: %+v, want 200", a)
		}
	})

	t.Run("body never sent", func(t *testing.T) {
		conn := dial()
		fmt.Fprint(conn, signedHead("msg_silent"))
		took, _ := closedWithin(conn, 5*time.Second)
		if took > 3*time.Second {
			t.Errorf("closed after %v with a 1.5s read timeout", took)
		}
	})

	t.Run("idle keep-alive connection", func(t *testing.T) {
		conn := dial()
		fmt.Fprint(conn, signedHead("msg_idle"))
		_, _ = conn.Write(body)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		took, _ := closedWithin(conn, 5*time.Second)
		if took > 3*time.Second {
			t.Errorf("an idle keep-alive connection stayed open %v with a 1s idle timeout", took)
		}
	})

	recs := kafkatest.ReadToEnd(t, b.brokers, routedTopics...)
	for _, r := range recs {
		if id := r.Headers["svix-id"]; strings.HasPrefix(id, "msg_trickle") || id == "msg_slow" || id == "msg_silent" || id == "msg_while_full" {
			t.Errorf("%s was published", id)
		}
	}
	if got := metricValue(t, b.adminURL(), "engage_bridge_in_flight_requests"); got != 0 {
		t.Errorf("in-flight gauge %v after every client left, want 0", got)
	}
}
