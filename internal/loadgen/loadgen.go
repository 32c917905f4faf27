// Package loadgen is what the load mode of `engage-bridge send` and the
// benchmark's runner (bench/runner) share: Engage's sample bodies, a
// vegeta Targeter that signs every request as Svix does, the targets file
// that feeds the vegeta CLI, and the summary of vegeta's results as the one
// JSON line that scripts read.
//
// The load itself (pacing, workers, connections, timing) is vegeta's
// (github.com/tsenart/vegeta/v12/lib): the same library in `send --load`
// and, as its CLI, in the runner's second generator.
package loadgen

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/engage-bridge/engage-bridge/internal/payloadcrypto"
	"github.com/engage-bridge/engage-bridge/schemas"
)

// ErrSecret is returned for a signing secret that is not whsec_ and base64.
var ErrSecret = errors.New("the signing secret must be whsec_ followed by base64")

// Result is what a load run measured: the last line of `send --load`, and
// the figures bench/runner reads from both of its generators.
type Result struct {
	Requests   int64            `json:"requests"`
	Errors     int64            `json:"errors"`
	Statuses   map[string]int64 `json:"statuses,omitempty"`
	Seconds    float64          `json:"seconds"`
	Throughput float64          `json:"throughput_per_s"`
	SentRate   float64          `json:"sent_per_s"` // requests started a second
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

// Bodies returns Engage's 1.3 KB contact.updated and 300 B
// point.balance.updated samples, alternating, pool copies of each, every
// copy with a random contactId (and with a key, encrypted with its own IV),
// so that records spread over partitions as real traffic does.
func Bodies(pool int, key *payloadcrypto.Key) ([][]byte, error) {
	var kinds [2][][]byte
	for k, et := range []string{schemas.EventContactUpdated, schemas.EventPointBalanceUpdated} {
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
				if b, err = EncryptBody(*key, b); err != nil {
					return nil, err
				}
			}
			kinds[k] = append(kinds[k], b)
		}
	}
	mixed := make([][]byte, 0, 2*pool)
	for i := range pool {
		mixed = append(mixed, kinds[0][i], kinds[1][i])
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

// EncryptBody does what Engage does with encryption on: the payload object
// becomes a string holding base64url(IV || AES-256-CBC(payload JSON)) and
// isEncrypted is true; the rest of the envelope stays readable. Keys come
// out in alphabetical order, as in Engage's examples.
func EncryptBody(key payloadcrypto.Key, body []byte) ([]byte, error) {
	var env map[string]json.RawMessage
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, err
	}
	var plain bytes.Buffer
	if err := json.Compact(&plain, env["payload"]); err != nil {
		return nil, err
	}
	iv := make([]byte, 16)
	if _, err := rand.Read(iv); err != nil {
		return nil, err
	}
	text, err := key.Encrypt(iv, plain.Bytes())
	if err != nil {
		return nil, err
	}
	env["payload"], _ = json.Marshal(text)
	env["isEncrypted"] = json.RawMessage("true")
	return json.Marshal(env)
}

// Targets describes the requests of a load.
type Targets struct {
	URL       string
	Secret    string   // whsec_...
	HeaderSet string   // "svix" (svix-id, ...) or "webhook" (webhook-id, ...)
	Bodies    [][]byte // sent round robin
	// IDPrefix makes the ids of this load unique among loads against the
	// same bridge (whose dedupe would otherwise answer from memory).
	IDPrefix string
}

// NewTargeter returns a vegeta Targeter, safe for concurrent use, that
// signs each request as Svix does when it is about to be sent: a fresh
// msg_ id, the current timestamp, a v1 HMAC-SHA256 signature over
// "id.timestamp.body". It sends no Accept-Encoding: Svix sends none (see
// docs/performance.md#the-load-generator).
func NewTargeter(t Targets) (vegeta.Targeter, error) {
	secret, ok := strings.CutPrefix(t.Secret, "whsec_")
	key, err := base64.StdEncoding.DecodeString(secret)
	if !ok || err != nil || len(key) == 0 {
		return nil, ErrSecret
	}
	if len(t.Bodies) == 0 {
		return nil, errors.New("no bodies to send")
	}
	prefix := "Svix-"
	if t.HeaderSet == "webhook" {
		prefix = "Webhook-"
	}
	hID, hTS, hSig := prefix+"Id", prefix+"Timestamp", prefix+"Signature"
	macs := sync.Pool{New: func() any { return hmac.New(sha256.New, key) }}
	// Svix's ids are msg_ and 27 base62 characters; ours are msg_, the
	// prefix and a zero-padded sequence number, as long.
	idPrefix := "msg_" + t.IDPrefix
	width := max(27-len(t.IDPrefix), 10)
	var seq atomic.Int64
	return func(tgt *vegeta.Target) error {
		if tgt == nil {
			return vegeta.ErrNilTarget
		}
		n := seq.Add(1) - 1
		body := t.Bodies[n%int64(len(t.Bodies))]
		num := strconv.FormatInt(n, 10)
		id := idPrefix + strings.Repeat("0", max(width-len(num), 0)) + num
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		mac := macs.Get().(hash.Hash)
		mac.Reset()
		mac.Write([]byte(id))
		mac.Write([]byte{'.'})
		mac.Write([]byte(ts))
		mac.Write([]byte{'.'})
		mac.Write(body)
		var sum [sha256.Size]byte
		sig := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(sum[:0]))
		macs.Put(mac)
		tgt.Method, tgt.URL, tgt.Body = http.MethodPost, t.URL, body
		tgt.Header = http.Header{
			"Content-Type": {"application/json"},
			"User-Agent":   {"engage-bridge-send"},
			hID:            {id},
			hTS:            {ts},
			hSig:           {sig},
		}
		return nil
	}, nil
}

// WriteTargets writes n targets from tr in vegeta's JSON targets format
// (one object a line, bodies in base64), for `vegeta attack -format json
// -lazy`, adding header to each. They are signed now: the bridge accepts a
// timestamp up to 5 minutes old.
func WriteTargets(w io.Writer, tr vegeta.Targeter, n int, header http.Header) error {
	enc := vegeta.NewJSONTargetEncoder(w)
	for range n {
		var tgt vegeta.Target
		if err := tr(&tgt); err != nil {
			return err
		}
		for k, v := range header {
			tgt.Header[k] = v
		}
		if err := enc.Encode(&tgt); err != nil {
			return err
		}
	}
	return nil
}

// Summary gathers vegeta's results into a Result: exact percentiles over
// every answered request, errors counted as non-2xx answers and requests
// that got no answer.
type Summary struct {
	lats     []time.Duration
	statuses map[int]int64
	first    time.Time // the first request's start
	last     time.Time // the last request's start
	end      time.Time // the last answer
}

// Add counts one of vegeta's results.
func (s *Summary) Add(r *vegeta.Result) {
	if s.statuses == nil {
		s.statuses = map[int]int64{}
	}
	if s.first.IsZero() || r.Timestamp.Before(s.first) {
		s.first = r.Timestamp
	}
	if r.Timestamp.After(s.last) {
		s.last = r.Timestamp
	}
	if e := r.End(); e.After(s.end) {
		s.end = e
	}
	s.statuses[int(r.Code)]++
	if r.Code != 0 {
		s.lats = append(s.lats, r.Latency)
	}
}

// Result returns the figures; code 0 (no answer: connection refused,
// timeout, reset) counts as an error and not in Statuses.
func (s *Summary) Result() Result {
	res := Result{Statuses: map[string]int64{}}
	for code, n := range s.statuses {
		res.Requests += n
		if code/100 != 2 {
			res.Errors += n
		}
		if code != 0 {
			res.Statuses[strconv.Itoa(code)] = n
		}
	}
	if d := s.end.Sub(s.first).Seconds(); d > 0 {
		res.Seconds = d
		res.Throughput = float64(res.Requests-res.Errors) / d
	}
	if d := s.last.Sub(s.first).Seconds(); d > 0 && res.Requests > 1 {
		res.SentRate = float64(res.Requests-1) / d
	}
	lats := slices.Clone(s.lats)
	slices.Sort(lats)
	q := func(p float64) float64 {
		if len(lats) == 0 {
			return 0
		}
		i := int(math.Ceil(p*float64(len(lats)))) - 1
		return float64(lats[max(i, 0)]) / float64(time.Millisecond)
	}
	res.P50, res.P90, res.P99, res.P999, res.Max = q(0.50), q(0.90), q(0.99), q(0.999), q(1)
	return res
}

// NoAnswer is the number of requests that got no HTTP answer.
func (s *Summary) NoAnswer() int64 { return s.statuses[0] }
