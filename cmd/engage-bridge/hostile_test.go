package main

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/engage-bridge/engage-bridge/internal/allocbudget"
	"github.com/engage-bridge/engage-bridge/internal/kafkatest"
)

// procStatusKiB reads a field of /proc/<pid>/status (VmRSS, VmHWM) in KiB.
func procStatusKiB(t *testing.T, pid int, field string) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n
		}
	}
	t.Fatalf("/proc/%d/status has no %s", pid, field)
	return 0
}

// hostileMaxInFlight and the 1 MiB body limit make the documented memory
// bound of docs/operations.md: bodies ≤ in-flight × max body. Under the
// race detector, which makes every byte the bridge touches several times
// dearer, half as many slots and a quarter of the slow-loris clients. The
// race-slowed bridge then never holds enough bodies at once for a bridge
// that holds each body twice to cross the bound (measured: 247 MiB of 256);
// without -race that regression fails here (421 MiB RSS of 384), and in
// both modes in ingress' TestMemoryBoundDuringOutage.
func hostileMaxInFlight() int {
	if allocbudget.RaceEnabled {
		return 128
	}
	return 256
}

// hostileLoris is how many slow-loris clients hold a slot each.
func hostileLoris() int {
	if allocbudget.RaceEnabled {
		return 16
	}
	return 64
}

// hostileBoundMiB is what the bridge process may reach (peak RSS) under
// the hostile load, with GOMEMLIMIT set below it (in-flight × 1 MiB +
// 64 MiB) as the Kubernetes Deployment does: the body bound plus 128 MiB
// for produce requests being encoded, the runtime, connections and
// buffers. Without GOMEMLIMIT the garbage collector lets the heap grow to
// about twice its live size (GOGC=100), so up to about twice the body
// bound.
func hostileBoundMiB() int { return hostileMaxInFlight() + 128 }

func hostileGoMemLimit() string { return fmt.Sprintf("%dMiB", hostileMaxInFlight()+64) }

// TestHostileLoad runs the real binary with BRIDGE_MAX_IN_FLIGHT=256 and
// GOMEMLIMIT=320MiB (half under -race) under as many concurrent signed
// 1 MiB bodies, 64 slow-loris clients (16 under -race) that send headers
// and trickle their body, and a flood of unsigned requests, all at once. The bridge must keep answering signed deliveries, publish
// nothing unsigned, and stay under the memory bound.
//
// It runs alone (not in parallel with the package's other tests): it is
// the heaviest test by far, and under the race detector its load made
// parallel tests with time bounds fail on a 2-core machine.
func TestHostileLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("hostile load: skipped with -short")
	}
	c := kafkatest.Cluster(t)
	for _, topic := range routedTopics {
		kafkatest.CreateTopic(t, c, topic, 3, map[string]string{"max.message.bytes": "2097152"})
	}
	p := startProcess(t, map[string]string{
		"BRIDGE_KAFKA_BROKERS": strings.Join(c.ListenAddrs(), ","),
		"BRIDGE_MAX_IN_FLIGHT": strconv.Itoa(hostileMaxInFlight()),
		"GOMEMLIMIT":           hostileGoMemLimit(),
	})
	pid := p.cmd.Process.Pid
	baseline := procStatusKiB(t, pid, "VmRSS")
	u, _ := url.Parse(p.webhook)

	big := make([]byte, 0, 1<<20)
	big = append(big, `{"eventType":"contact.updated","tenant":"acme","payload":{"contactId":"c-big","note":"`...)
	big = append(big, bytes.Repeat([]byte("x"), 1<<20-len(big)-3)...)
	big = append(big, `"}}`...)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var bigOK, bigNon, bigErr, unsigned, unsignedBad, signedOK, signedNon atomic.Int64

	// Slow-loris clients: headers, then a byte a second.
	for i := range hostileLoris() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := net.Dial("tcp", u.Host)
			if err != nil {
				return
			}
			defer conn.Close()
			fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Length: 1048576\r\nsvix-id: msg_loris_%d\r\nsvix-timestamp: %d\r\nsvix-signature: v1,AAAA\r\n\r\n", u.Path, u.Host, i, time.Now().Unix())
			for {
				select {
				case <-stop:
					return
				case <-time.After(time.Second):
					if _, err := conn.Write([]byte("x")); err != nil {
						return
					}
				}
			}
		}()
	}
	// A flood of unsigned requests from 16 clients.
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 10 * time.Second}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest(http.MethodPost, p.webhook, strings.NewReader(`{"eventType":"contact.created","payload":{"contactId":"intruder"}}`))
				req.Header.Set("svix-id", fmt.Sprintf("msg_unsigned_%d", i))
				req.Header.Set("svix-timestamp", strconv.FormatInt(time.Now().Unix(), 10))
				req.Header.Set("svix-signature", "v1,bm90IGEgc2lnbmF0dXJl")
				resp, err := client.Do(req)
				if err != nil {
					continue
				}
				resp.Body.Close()
				unsigned.Add(1)
				if resp.StatusCode != 401 && resp.StatusCode != 429 {
					unsignedBad.Add(1)
				}
			}
		}()
	}
	// As many concurrent signed 1 MiB bodies as in-flight slots: with the slow-loris clients they
	// take more than every in-flight slot at once, the most the bound lets
	// the bridge hold. More rounds would hold no more at a time.
	var bigWG sync.WaitGroup
	var bigStatus sync.Map // the non-2xx statuses, for the log
	for g := range hostileMaxInFlight() {
		bigWG.Add(1)
		go func() {
			defer bigWG.Done()
			client := &http.Client{Timeout: 30 * time.Second}
			o := post(client, p.webhook, fmt.Sprintf("msg_big_%03d", g), big)
			switch {
			case o.err != nil:
				bigErr.Add(1)
			case o.status == 200:
				bigOK.Add(1)
			default:
				bigNon.Add(1)
				bigStatus.Store(o.status, true)
			}
		}()
	}
	// Meanwhile, small signed deliveries keep getting answers.
	var smallWG sync.WaitGroup
	smallWG.Add(1)
	go func() {
		defer smallWG.Done()
		client := &http.Client{Timeout: 15 * time.Second}
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			o := post(client, p.webhook, fmt.Sprintf("msg_small_%d", i), []byte(fmt.Sprintf(`{"eventType":"point.balance.updated","tenant":"acme","payload":{"contactId":"c-%d","balance":1}}`, i)))
			if o.status == 200 {
				signedOK.Add(1)
			} else {
				signedNon.Add(1)
			}
		}
	}()
	// Under the race detector the process's RSS holds the detector's
	// shadow memory too (about three times the Go heap here), so the bound
	// is checked on the Go heap in use, sampled from /metrics: it holds
	// the bodies the bound is about. Without -race the bound is checked on
	// the peak RSS the kernel records, which misses nothing between samples.
	var peak, peakHeap int64
	var heapSamples, heapMisses int
	// Each heap sample opens its own connection: under the race detector
	// the flooded bridge can be slow enough that a kept-alive connection
	// is gone when the next sample reuses it ("server closed idle
	// connection", seen once in a cold CI run), and a missed sample is no
	// finding. Too many missed samples are.
	sampler := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	sample := time.NewTicker(50 * time.Millisecond)
	done := make(chan struct{})
	go func() { bigWG.Wait(); close(done) }()
sampling:
	for {
		select {
		case <-done:
			break sampling
		case <-sample.C:
			peak = max(peak, procStatusKiB(t, pid, "VmRSS"))
			if allocbudget.RaceEnabled {
				heapSamples++
				if v, err := scrapeMetric(sampler, p.admin, "go_memstats_heap_inuse_bytes"); err != nil {
					heapMisses++
				} else {
					peakHeap = max(peakHeap, int64(v))
				}
			}
		}
	}
	sample.Stop()
	time.Sleep(500 * time.Millisecond) // a last stretch of the flood and slow clients
	close(stop)
	wg.Wait()
	smallWG.Wait()
	hwm := procStatusKiB(t, pid, "VmHWM")

	var statuses []int
	bigStatus.Range(func(k, _ any) bool { statuses = append(statuses, k.(int)); return true })
	t.Logf("1 MiB bodies: %d published, %d non-2xx %v (429 when full), %d failed; unsigned: %d answered, %d not 401/429; small signed: %d published, %d not",
		bigOK.Load(), bigNon.Load(), statuses, bigErr.Load(), unsigned.Load(), unsignedBad.Load(), signedOK.Load(), signedNon.Load())
	t.Logf("bridge memory (GOMEMLIMIT=%s): baseline RSS %d MiB, sampled peak RSS %d MiB, VmHWM %d MiB; bound %d MiB",
		hostileGoMemLimit(), baseline>>10, peak>>10, hwm>>10, hostileBoundMiB())
	switch {
	case allocbudget.RaceEnabled:
		t.Logf("race detector: sampled peak Go heap in use %d MiB (%d of %d samples missed)", peakHeap>>20, heapMisses, heapSamples)
		if heapMisses*2 > heapSamples {
			t.Errorf("%d of %d samples of the Go heap failed: the bound was not checked", heapMisses, heapSamples)
		}
		if peakHeap>>20 > int64(hostileBoundMiB()) {
			t.Errorf("peak Go heap in use %d MiB exceeds the bound of %d MiB", peakHeap>>20, hostileBoundMiB())
		}
	case hwm>>10 > int64(hostileBoundMiB()):
		t.Errorf("peak RSS %d MiB exceeds the bound of %d MiB", hwm>>10, hostileBoundMiB())
	}
	if unsignedBad.Load() > 0 {
		t.Errorf("%d unsigned requests were answered something else than 401 or 429", unsignedBad.Load())
	}
	if bigOK.Load() == 0 || signedOK.Load() == 0 {
		t.Error("signed deliveries stopped being published under the hostile load")
	}

	for _, r := range kafkatest.ReadToEnd(t, c.ListenAddrs(), routedTopics...) {
		id := r.Headers["svix-id"]
		if strings.HasPrefix(id, "msg_unsigned") || strings.HasPrefix(id, "msg_loris") || bytes.Contains(r.Value, []byte("intruder")) {
			t.Fatalf("an unsigned request was published: %s", id)
		}
	}
}
