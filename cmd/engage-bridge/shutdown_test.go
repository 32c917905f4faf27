package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/engage-bridge/engage-bridge/internal/buildtest"
	"github.com/engage-bridge/engage-bridge/internal/faultnet"
	"github.com/engage-bridge/engage-bridge/internal/kafkatest"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
	binDir  string
)

// defaultParallel is how many parallel tests run at once unless
// -test.parallel is given. These tests mostly wait (on the real binary, on
// brokers, on timers and server timeouts) rather than compute, so more of
// them than GOMAXPROCS, go test's default, keep a small machine busy.
const defaultParallel = "8"

func TestMain(m *testing.M) {
	flag.Parse()
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit {
		if err := flag.Set("test.parallel", defaultParallel); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// binary builds the real engage-bridge binary once per test run.
func binary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		if binDir, binErr = os.MkdirTemp("", "engage-bridge-bin"); binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "engage-bridge")
		binErr = buildtest.Build("", binPath, ".")
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// process is the real binary running serve.
type process struct {
	cmd     *exec.Cmd
	webhook string
	admin   string
	logs    *syncBuffer
	exited  chan error
}

// startProcess runs `engage-bridge serve` with the variables and waits
// for it to listen.
func startProcess(t *testing.T, env map[string]string) *process {
	t.Helper()
	cmd := exec.Command(binary(t), "serve")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	vars := map[string]string{
		"BRIDGE_LISTEN": "127.0.0.1:0", "BRIDGE_ADMIN_LISTEN": "127.0.0.1:0",
		"BRIDGE_SIGNING_SECRETS": e2eSecret, "BRIDGE_ENCRYPTION_KEY": e2eKey,
	}
	for k, v := range env {
		vars[k] = v
	}
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, logs: &syncBuffer{}, exited: make(chan error, 1)}
	listening := make(chan [2]string, 1)
	go func() {
		re := regexp.MustCompile(`"webhook":"([^"]+)".*"admin":"([^"]+)"`)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			p.logs.Write(append(sc.Bytes(), '\n'))
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				listening <- [2]string{m[1], m[2]}
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
		p.exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
	})
	select {
	case a := <-listening:
		p.webhook = "http://" + a[0] + "/webhooks/engage"
		p.admin = "http://" + a[1]
	case err := <-p.exited:
		t.Fatalf("the bridge exited before listening: %v\n%s", err, p.logs.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("the bridge did not start listening\n%s", p.logs.String())
	}
	return p
}

// outcome is what a sender saw for one delivery.
type outcome struct {
	id     string
	status int   // 0 when the request failed
	err    error // connection refused, reset, ...
	at     time.Time
}

// post sends one signed delivery with its own client and reports the
// outcome without failing the test.
func post(client *http.Client, url, id string, body []byte) outcome {
	wh, _ := svix.NewWebhook(e2eSecret)
	now := time.Now()
	sig, _ := wh.Sign(id, now, body)
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("content-type", "application/json")
	req.Header.Set("svix-id", id)
	req.Header.Set("svix-timestamp", strconv.FormatInt(now.Unix(), 10))
	req.Header.Set("svix-signature", sig)
	resp, err := client.Do(req)
	if err != nil {
		return outcome{id: id, err: err, at: time.Now()}
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return outcome{id: id, status: resp.StatusCode, at: time.Now()}
}

// TestGracefulShutdown sends a stream of signed deliveries to the real
// binary over a broker slowed to keep requests in flight, signals SIGTERM
// midway, and proves: the process exits 0; every 2xx delivery is in Kafka;
// every other delivery got a non-2xx answer or a failed connection; the
// requests in flight at the signal were finished, not cut.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	fn := faultnet.New()
	c := kafkatest.Cluster(t, kfake.ListenFn(fn.Listen))
	for _, topic := range routedTopics {
		kafkatest.CreateTopic(t, c, topic, 3, nil)
	}
	fn.SetLatency(20 * time.Millisecond)
	p := startProcess(t, map[string]string{"BRIDGE_KAFKA_BROKERS": strings.Join(c.ListenAddrs(), ",")})

	const senders, perSender = 16, 200
	var (
		mu       sync.Mutex
		outcomes []outcome
		ok2xx    atomic.Int64
		wg       sync.WaitGroup
	)
	signalled := make(chan time.Time, 1)
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{}}
			defer client.CloseIdleConnections()
			for i := range perSender {
				id := fmt.Sprintf("msg_term_%02d_%03d", s, i)
				body := fmt.Appendf(nil, `{"eventId":"%s","eventType":"point.balance.updated","tenant":"acme","payload":{"contactId":"c-%d-%d","balance":%d}}`, id, s, i, i)
				o := post(client, p.webhook, id, body)
				mu.Lock()
				outcomes = append(outcomes, o)
				mu.Unlock()
				if o.status/100 == 2 && ok2xx.Add(1) == 150 {
					_ = p.cmd.Process.Signal(syscall.SIGTERM)
					signalled <- time.Now()
				}
				if o.err != nil && errors.Is(o.err, syscall.ECONNREFUSED) {
					return // the listener is closed: the bridge is going away
				}
			}
		}()
	}
	wg.Wait()
	var sigAt time.Time
	select {
	case sigAt = <-signalled:
	default:
		t.Fatal("never reached 150 answers to signal SIGTERM")
	}
	select {
	case err := <-p.exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v, want exit code 0\n%s", err, p.logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the bridge did not exit within 30s of SIGTERM")
	}

	published := map[string]bool{}
	for _, r := range kafkatest.ReadToEnd(t, c.ListenAddrs(), routedTopics...) {
		published[r.Headers["svix-id"]] = true
	}
	var n2xx, after, non2xx, failed int
	kinds := map[string]int{}
	for _, o := range outcomes {
		switch {
		case o.status/100 == 2:
			n2xx++
			if !published[o.id] {
				t.Errorf("%s answered %d but is not in Kafka", o.id, o.status)
			}
			if o.at.After(sigAt) {
				after++
			}
		case o.status != 0:
			non2xx++
			kinds[strconv.Itoa(o.status)]++
		default:
			failed++
			kinds[errorKind(o.err)]++
		}
	}
	t.Logf("sent %d: %d 2xx (%d finished after SIGTERM), %d non-2xx, %d failed connections %v; %d records in Kafka",
		len(outcomes), n2xx, after, non2xx, failed, kinds, len(published))
	if after == 0 {
		t.Error("no request finished after SIGTERM: the test did not catch requests in flight")
	}
	if !strings.Contains(p.logs.String(), `"message":"stopped"`) {
		t.Errorf("no orderly stop in the logs:\n%s", p.logs.String())
	}
}

func errorKind(err error) string {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "reset"
	case errors.Is(err, io.EOF), strings.Contains(err.Error(), "EOF"):
		return "eof"
	default:
		return err.Error()
	}
}
