package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/engage-bridge/engage-bridge/internal/payloadcrypto"
	"github.com/engage-bridge/engage-bridge/schemas"
)

// loadOptions are the flags of `send --load`.
type loadOptions struct {
	concurrency int
	duration    time.Duration
	rate        float64 // requests a second; 0 is a closed loop
	maxRequests int     // hard bound on the number of requests
	warmup      time.Duration
	pool        int // distinct bodies of each kind, each with its own contactId
}

// loadResult is what a load run measured.
type loadResult struct {
	Requests   int64            `json:"requests"`
	Errors     int64            `json:"errors"`
	Statuses   map[string]int64 `json:"statuses"`
	Seconds    float64          `json:"seconds"`
	Throughput float64          `json:"throughput_per_s"`
	P50        float64          `json:"p50_ms"`
	P90        float64          `json:"p90_ms"`
	P99        float64          `json:"p99_ms"`
	P999       float64          `json:"p99_9_ms"`
	Max        float64          `json:"max_ms"`
	Mode       string           `json:"mode"`
	Rate       float64          `json:"rate_per_s,omitempty"`
	Conc       int              `json:"concurrency"`
	Encrypted  bool             `json:"encrypted"`
}

// loadBodies prepares the request bodies: Engage's 1.3 KB contact.updated
// and 300 B point.balance.updated samples, alternating, each copy with a
// random contactId (and, with encryption, its own IV), so that records
// spread over partitions as real traffic does.
func (o sendOptions) loadBodies(pool int) ([][]byte, error) {
	var key *payloadcrypto.Key
	if o.encrypt {
		k, err := payloadcrypto.ParseKey(o.key)
		if err != nil {
			return nil, &usageError{"send: --encrypt needs --encryption-key (or $BRIDGE_ENCRYPTION_KEY): " + err.Error()}
		}
		key = &k
	}
	var out [][]byte
	for _, et := range []string{schemas.EventContactUpdated, schemas.EventPointBalanceUpdated} {
		sample, _ := schemas.Example(et)
		env, err := schemas.ParseEnvelope(sample)
		if err != nil {
			return nil, err
		}
		id, err := env.ContactID()
		if err != nil {
			return nil, err
		}
		for range pool {
			b := bytes.Replace(sample, []byte(`"`+id+`"`), []byte(`"`+randomUUID()+`"`), 1)
			if key != nil {
				if b, err = encryptBody(*key, b); err != nil {
					return nil, err
				}
			}
			out = append(out, b)
		}
	}
	// Interleave the two kinds: contact, point, contact, point...
	mixed := make([][]byte, 0, len(out))
	for i := range pool {
		mixed = append(mixed, out[i], out[pool+i])
	}
	return mixed, nil
}

func randomUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// loadSigner signs as Svix does, without allocating more than it must: one
// HMAC per worker, reset for each message.
type loadSigner struct {
	mac hash
	buf []byte
	sig []byte
}

type hash interface {
	io.Writer
	Sum([]byte) []byte
	Reset()
}

func newLoadSigner(secret string) (*loadSigner, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return nil, &usageError{"send: --secret must be a whsec_ signing secret"}
	}
	return &loadSigner{mac: hmac.New(sha256.New, key)}, nil
}

// sign returns the svix-signature header value for id, ts and body.
func (s *loadSigner) sign(id, ts string, body []byte) string {
	s.mac.Reset()
	s.buf = append(append(append(append(s.buf[:0], id...), '.'), ts...), '.')
	s.mac.Write(s.buf)
	s.mac.Write(body)
	s.sig = s.mac.Sum(s.sig[:0])
	return "v1," + base64.StdEncoding.EncodeToString(s.sig)
}

// runLoad sends signed deliveries for lo.duration (and at most
// lo.maxRequests), closed loop with lo.concurrency workers, or open loop
// at lo.rate with latency measured from each request's intended send
// time, and prints the figures and a final JSON line.
func runLoad(ctx context.Context, o sendOptions, lo loadOptions, stdout io.Writer) (loadResult, error) {
	bodies, err := o.loadBodies(lo.pool)
	if err != nil {
		return loadResult{}, err
	}
	if _, err := newLoadSigner(o.secret); err != nil {
		return loadResult{}, err
	}
	transport := &http.Transport{
		// Svix sends no Accept-Encoding; Go's transport would add gzip,
		// and some servers (Benthos) then compress every answer.
		DisableCompression:  true,
		MaxIdleConns:        lo.concurrency,
		MaxIdleConnsPerHost: lo.concurrency,
		IdleConnTimeout:     90 * time.Second,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
	}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: o.timeout}
	prefix := "svix-"
	if o.headerSet == "webhook" {
		prefix = "webhook-"
	}
	hID, hTS, hSig := http.CanonicalHeaderKey(prefix+"id"), http.CanonicalHeaderKey(prefix+"timestamp"), http.CanonicalHeaderKey(prefix+"signature")

	// Warm-up, not measured: connections, the target's pools, Kafka
	// metadata, the Go runtime's heap size. The same closed loop as the
	// run, for lo.warmup.
	if lo.warmup > 0 {
		wctx, cancel := context.WithTimeout(ctx, lo.warmup)
		var wg sync.WaitGroup
		for w := range lo.concurrency {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s, _ := newLoadSigner(o.secret)
				for i := 0; wctx.Err() == nil; i++ {
					id := fmt.Sprintf("msg_warmup%04d%013d", w%10000, i)
					_, _, _ = postLoad(wctx, client, o.url, s, hID, hTS, hSig, id, bodies[(w+i)%len(bodies)])
				}
			}()
		}
		wg.Wait()
		cancel()
	}
	// A marker for tools that measure the target (bench/runner reads its
	// CPU time here).
	fmt.Fprintln(stdout, "measuring")

	var (
		seq      atomic.Int64
		errs     atomic.Int64
		statusMu sync.Mutex
		statuses = map[int]int64{}
		latMu    sync.Mutex
		lats     []time.Duration
	)
	runCtx, cancel := context.WithTimeout(ctx, lo.duration)
	defer cancel()
	start := time.Now()
	var slots chan time.Time // open loop: intended send times
	if lo.rate > 0 {
		slots = make(chan time.Time, lo.concurrency)
		go func() {
			defer close(slots)
			interval := time.Duration(float64(time.Second) / lo.rate)
			for i := int64(0); i < int64(lo.maxRequests); i++ {
				at := start.Add(time.Duration(i) * interval)
				if d := time.Until(at); d > 0 {
					select {
					case <-time.After(d):
					case <-runCtx.Done():
						return
					}
				}
				select {
				case slots <- at:
				case <-runCtx.Done():
					return
				}
			}
		}()
	}
	runID := strconv.FormatInt(time.Now().UnixNano()%1e12, 36)
	var wg sync.WaitGroup
	for w := range lo.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, _ := newLoadSigner(o.secret)
			local := make([]time.Duration, 0, 4096)
			localStatus := map[int]int64{}
			for runCtx.Err() == nil {
				var intended time.Time
				if slots != nil {
					at, ok := <-slots
					if !ok {
						break
					}
					intended = at
				}
				n := seq.Add(1)
				if n > int64(lo.maxRequests) {
					break
				}
				if slots == nil {
					intended = time.Now()
				}
				id := fmt.Sprintf("msg_%s%03d%015d", runID, w%1000, n)
				status, _, err := postLoad(runCtx, client, o.url, s, hID, hTS, hSig, id, bodies[n%int64(len(bodies))])
				if err != nil {
					if runCtx.Err() != nil {
						break // the run ended during this request: not an error of the target
					}
					errs.Add(1)
					continue
				}
				local = append(local, time.Since(intended))
				localStatus[status]++
			}
			latMu.Lock()
			lats = append(lats, local...)
			latMu.Unlock()
			statusMu.Lock()
			for k, v := range localStatus {
				statuses[k] += v
			}
			statusMu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)

	res := loadResult{Statuses: map[string]int64{}, Seconds: elapsed.Seconds(), Conc: lo.concurrency, Encrypted: o.encrypt, Mode: "closed", Rate: lo.rate}
	if lo.rate > 0 {
		res.Mode = "open"
	}
	for code, n := range statuses {
		res.Statuses[strconv.Itoa(code)] = n
		res.Requests += n
		if code/100 != 2 {
			res.Errors += n
		}
	}
	res.Errors += errs.Load()
	res.Requests += errs.Load()
	if res.Seconds > 0 {
		res.Throughput = float64(res.Requests-res.Errors) / res.Seconds
	}
	slices.Sort(lats)
	q := func(p float64) float64 {
		if len(lats) == 0 {
			return 0
		}
		i := int(math.Ceil(p*float64(len(lats)))) - 1
		return float64(lats[max(i, 0)]) / float64(time.Millisecond)
	}
	res.P50, res.P90, res.P99, res.P999, res.Max = q(0.50), q(0.90), q(0.99), q(0.999), q(1)

	codes := slices.Sorted(func(yield func(string) bool) {
		for k := range res.Statuses {
			if !yield(k) {
				return
			}
		}
	})
	var by []string
	for _, k := range codes {
		by = append(by, fmt.Sprintf("%s: %d", k, res.Statuses[k]))
	}
	if errs.Load() > 0 {
		by = append(by, fmt.Sprintf("connection errors: %d", errs.Load()))
	}
	fmt.Fprintf(stdout, "mode        %s loop, concurrency %d", res.Mode, lo.concurrency)
	if lo.rate > 0 {
		fmt.Fprintf(stdout, ", %g req/s intended", lo.rate)
	}
	fmt.Fprintf(stdout, ", encrypted %v\n", o.encrypt)
	fmt.Fprintf(stdout, "requests    %d in %.2fs (%s)\n", res.Requests, res.Seconds, strings.Join(by, ", "))
	fmt.Fprintf(stdout, "errors      %d\n", res.Errors)
	fmt.Fprintf(stdout, "throughput  %.1f/s (2xx)\n", res.Throughput)
	fmt.Fprintf(stdout, "latency     p50 %.3fms  p90 %.3fms  p99 %.3fms  p99.9 %.3fms  max %.3fms\n", res.P50, res.P90, res.P99, res.P999, res.Max)
	line, _ := json.Marshal(res)
	fmt.Fprintf(stdout, "%s\n", line)
	return res, nil
}

func postLoad(ctx context.Context, client *http.Client, url string, s *loadSigner, hID, hTS, hSig, id string, body []byte) (int, []byte, error) {
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header = http.Header{
		"Content-Type": {"application/json"},
		hID:            {id},
		hTS:            {ts},
		hSig:           {s.sign(id, ts, body)},
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil, nil
}
