package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/engage-bridge/engage-bridge/internal/faultnet"
	"github.com/engage-bridge/engage-bridge/internal/kafkatest"
)

// The fault suite (docs/contract.md#invariants, issue 7): each test sends a bounded stream of
// signed deliveries that retry as Svix does (same svix-id, fresh timestamp
// and signature, Svix's schedule compressed 3600 times), injects one fault
// in the middle, then reads every topic back and asserts the invariants:
// no 2xx delivery missing from Kafka, no delivery that never landed after
// its retries. Duplicates (a record written although its answer was not
// 2xx, then retried) are allowed, counted, and all carry the same svix-id.
//
// FAULT_REPORT=file appends each test's figures as a JSON line, for
// docs/reliability.md.

const (
	faultDeliveries  = 600
	faultConcurrency = 24
)

// faultReport holds the figures of one fault test.
type faultReport struct {
	Fault        string  `json:"fault"`
	Sent         int     `json:"sent"`
	Attempts     int64   `json:"attempts"`
	Answers2xx   int64   `json:"answers_2xx"`
	AnswersNon   int64   `json:"answers_non_2xx"`
	ConnErrors   int64   `json:"connection_errors"`
	Records      int     `json:"records"`
	Missing2xx   int     `json:"missing_2xx_records"`
	NeverLanded  int     `json:"never_landed"`
	Duplicates   int     `json:"duplicates"`
	Seconds      float64 `json:"seconds"`
	MaxAttempts  int     `json:"max_attempts_of_one_delivery"`
	statusCounts sync.Map
}

// faultLoad is a stream of deliveries with Svix-like retries.
type faultLoad struct {
	t        *testing.T
	url      func() string // read at each attempt: a restarted bridge may move
	progress atomic.Int64  // deliveries whose first attempt was made
	report   *faultReport
	got2xx   sync.Map // svix-id → true
	attempts sync.Map // svix-id → int
	// cancelEarly, when set, makes some attempts hang up before the answer.
	cancelEarly func(attempt int) time.Duration
}

func newFaultLoad(t *testing.T, name string, url func() string) *faultLoad {
	return &faultLoad{t: t, url: url, report: &faultReport{Fault: name, Sent: faultDeliveries}}
}

// run sends every delivery; at(fraction, fn) hooks run when that fraction
// of first attempts has been made.
func (l *faultLoad) run(hooks map[float64]func()) {
	start := time.Now()
	ids := make(chan int)
	var wg sync.WaitGroup
	signer, _ := svix.NewWebhook(e2eSecret)
	for range faultConcurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 15 * time.Second} // Svix waits 15 s
			for i := range ids {
				l.deliver(client, signer, i)
			}
		}()
	}
	fired := map[float64]bool{}
	var hookWG sync.WaitGroup
	for i := range faultDeliveries {
		for at, fn := range hooks {
			if !fired[at] && float64(i) >= at*faultDeliveries {
				fired[at] = true
				hookWG.Add(1)
				go func() { defer hookWG.Done(); fn() }()
			}
		}
		ids <- i
	}
	close(ids)
	wg.Wait()
	hookWG.Wait()
	l.report.Seconds = time.Since(start).Seconds()
}

func (l *faultLoad) deliver(client *http.Client, signer *svix.Webhook, i int) {
	id := fmt.Sprintf("msg_fault_%05d", i)
	body := fmt.Appendf(nil, `{"eventId":"%s","eventType":"%s","tenant":"acme","payload":{"contactId":"c-%d","balance":%d.5}}`,
		id, []string{"point.balance.updated", "contact.updated", "reward.voucher.created"}[i%3], i%97, i)
	l.progress.Add(1)
	for attempt, delay := range svixSchedule() {
		time.Sleep(delay / fastScale)
		l.attempts.Store(id, attempt+1)
		atomic.AddInt64(&l.report.Attempts, 1)
		now := time.Now()
		sig, _ := signer.Sign(id, now, body)
		ctx, cancel := context.WithCancel(context.Background())
		if l.cancelEarly != nil {
			if d := l.cancelEarly(attempt); d > 0 {
				time.AfterFunc(d, cancel)
			}
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, l.url(), bytes.NewReader(body))
		req.Header.Set("content-type", "application/json")
		req.Header.Set("svix-id", id)
		req.Header.Set("svix-timestamp", strconv.FormatInt(now.Unix(), 10))
		req.Header.Set("svix-signature", sig)
		resp, err := client.Do(req)
		if err != nil {
			cancel()
			atomic.AddInt64(&l.report.ConnErrors, 1)
			continue
		}
		resp.Body.Close()
		cancel()
		n, _ := l.report.statusCounts.LoadOrStore(resp.StatusCode, new(atomic.Int64))
		n.(*atomic.Int64).Add(1)
		if resp.StatusCode/100 == 2 {
			atomic.AddInt64(&l.report.Answers2xx, 1)
			l.got2xx.Store(id, true)
			return
		}
		atomic.AddInt64(&l.report.AnswersNon, 1)
	}
}

// check reads every topic back, fills in the report and asserts the
// invariants.
func (l *faultLoad) check(brokers []string) {
	t := l.t
	t.Helper()
	records := map[string]int{}
	for _, r := range kafkatest.ReadToEnd(t, brokers, routedTopics...) {
		id := r.Headers["svix-id"]
		if !strings.HasPrefix(id, "msg_fault_") {
			continue
		}
		if r.Topic == "engage.deadletter" {
			t.Errorf("%s was dead-lettered (%s): a fault must never turn into a dead letter", id, r.Headers["engage-dlq-reason"])
		}
		if r.Headers["ce_id"] != id || !bytes.Contains(r.Value, []byte(`"eventId":"`+id+`"`)) {
			t.Errorf("record with svix-id %s carries another delivery's id or value", id)
		}
		records[id]++
	}
	rep := l.report
	for i := range faultDeliveries {
		id := fmt.Sprintf("msg_fault_%05d", i)
		n := records[id]
		rep.Records += n
		if n > 1 {
			rep.Duplicates += n - 1
		}
		if _, ok := l.got2xx.Load(id); ok && n == 0 {
			rep.Missing2xx++
			t.Errorf("%s was answered 2xx but is not in Kafka", id)
		}
		if n == 0 {
			rep.NeverLanded++
		}
		if a, ok := l.attempts.Load(id); ok && a.(int) > rep.MaxAttempts {
			rep.MaxAttempts = a.(int)
		}
	}
	statuses := map[string]int64{}
	rep.statusCounts.Range(func(k, v any) bool {
		statuses[strconv.Itoa(k.(int))] = v.(*atomic.Int64).Load()
		return true
	})
	t.Logf("%s: sent %d, attempts %d, 2xx %d, non-2xx %d %v, connection errors %d, records %d, 2xx missing %d, never landed %d, duplicates %d, max attempts %d, %.1fs",
		rep.Fault, rep.Sent, rep.Attempts, rep.Answers2xx, rep.AnswersNon, statuses, rep.ConnErrors, rep.Records,
		rep.Missing2xx, rep.NeverLanded, rep.Duplicates, rep.MaxAttempts, rep.Seconds)
	if rep.NeverLanded > 0 {
		t.Errorf("%d deliveries never landed after Svix's retries", rep.NeverLanded)
	}
	if path := os.Getenv("FAULT_REPORT"); path != "" {
		f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err == nil {
			line, _ := json.Marshal(struct {
				*faultReport
				Statuses map[string]int64 `json:"statuses"`
			}{rep, statuses})
			fmt.Fprintf(f, "%s\n", line)
			f.Close()
		}
	}
}

func faultCluster(t *testing.T) (*kfake.Cluster, *faultnet.Net) {
	fn := faultnet.New()
	c := kafkatest.Cluster(t, kfake.ListenFn(fn.Listen))
	return c, fn
}

// TestFaultBrokerDown: the broker drops every connection for 3 seconds in
// the middle of the load, then comes back.
func TestFaultBrokerDown(t *testing.T) {
	t.Parallel()
	c, fn := faultCluster(t)
	b := startBridge(t, c, map[string]string{"BRIDGE_PUBLISH_TIMEOUT": "2s"}, true)
	l := newFaultLoad(t, "broker down 3s", b.webhookURL)
	l.run(map[float64]func(){0.3: func() { fn.Down(); time.Sleep(3 * time.Second); fn.Up() }})
	if l.report.AnswersNon == 0 {
		t.Error("no delivery was answered non-2xx: the outage did not happen under load")
	}
	l.check(b.brokers)
}

// TestFaultBrokerSlow: for 3 seconds every request to the broker is
// delayed beyond BRIDGE_PUBLISH_TIMEOUT, then the delay goes.
func TestFaultBrokerSlow(t *testing.T) {
	t.Parallel()
	c, fn := faultCluster(t)
	b := startBridge(t, c, map[string]string{"BRIDGE_PUBLISH_TIMEOUT": "1s"}, true)
	l := newFaultLoad(t, "broker slower than the publish timeout for 3s", b.webhookURL)
	l.run(map[float64]func(){0.3: func() { fn.SetLatency(1500 * time.Millisecond); time.Sleep(3 * time.Second); fn.SetLatency(0) }})
	if l.report.AnswersNon == 0 {
		t.Error("no delivery was answered non-2xx: the slowness did not exceed the publish timeout")
	}
	l.check(b.brokers)
}

// TestFaultProduceErrors: for a while, produce requests fail with
// NOT_LEADER_OR_FOLLOWER, NOT_ENOUGH_REPLICAS or REQUEST_TIMED_OUT, or
// have their connection reset before an answer.
func TestFaultProduceErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		code int16 // 0: reset the connection instead
	}{
		{"NOT_LEADER_OR_FOLLOWER", 6},
		{"NOT_ENOUGH_REPLICAS", 19},
		{"REQUEST_TIMED_OUT", 7},
		{"connection reset mid-request", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, _ := faultCluster(t)
			b := startBridge(t, c, map[string]string{"BRIDGE_PUBLISH_TIMEOUT": "2s"}, true)
			var on atomic.Bool
			var injected, seen atomic.Int64
			c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
				c.KeepControl()
				// Every other produce request fails while the fault is on.
				if !on.Load() || seen.Add(1)%2 == 0 {
					return nil, nil, false
				}
				injected.Add(1)
				if tc.code == 0 {
					return nil, errors.New("injected connection reset"), true
				}
				return kafkatest.ProduceError(req.(*kmsg.ProduceRequest), tc.code), nil, true
			})
			l := newFaultLoad(t, "produce errors: "+tc.name, b.webhookURL)
			l.run(map[float64]func(){
				0.2: func() { on.Store(true) },
				0.6: func() { on.Store(false) },
			})
			if injected.Load() == 0 {
				t.Fatal("no produce request was failed: the fault did not happen")
			}
			t.Logf("%d produce requests failed on purpose", injected.Load())
			l.check(b.brokers)
		})
	}
}

// TestFaultClientDisconnects: a third of the first attempts hang up while
// the bridge waits for Kafka (the broker is slowed so that the wait is
// long enough); Svix sees a failed attempt and retries.
func TestFaultClientDisconnects(t *testing.T) {
	t.Parallel()
	c, fn := faultCluster(t)
	b := startBridge(t, c, nil, true)
	fn.SetLatency(30 * time.Millisecond)
	l := newFaultLoad(t, "HTTP client disconnects mid-request", b.webhookURL)
	var n atomic.Int64
	l.cancelEarly = func(attempt int) time.Duration {
		if attempt == 0 && n.Add(1)%3 == 0 {
			return 20 * time.Millisecond
		}
		return 0
	}
	l.run(nil)
	if l.report.ConnErrors == 0 {
		t.Error("no attempt was cut: the fault did not happen")
	}
	l.check(b.brokers)
}

// TestFaultRestart: SIGTERM to the real binary in the middle of the load,
// then a new process on the same port, as an orchestrator does.
func TestFaultRestart(t *testing.T) {
	t.Parallel()
	c, _ := faultCluster(t)
	for _, topic := range routedTopics {
		kafkatest.CreateTopic(t, c, topic, 3, nil)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	env := map[string]string{"BRIDGE_KAFKA_BROKERS": strings.Join(c.ListenAddrs(), ","), "BRIDGE_LISTEN": addr}
	p := startProcess(t, env)
	url := "http://" + addr + "/webhooks/engage"
	l := newFaultLoad(t, "SIGTERM mid-load, then a restart", func() string { return url })
	l.run(map[float64]func(){0.4: func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-p.exited:
			if err != nil {
				t.Errorf("exit after SIGTERM: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("no exit within 30s of SIGTERM")
		}
		time.Sleep(500 * time.Millisecond) // the orchestrator's restart delay
		startProcess(t, env)
	}})
	if l.report.ConnErrors+l.report.AnswersNon == 0 {
		t.Error("no attempt failed: the restart did not happen under load")
	}
	l.check(c.ListenAddrs())
}
