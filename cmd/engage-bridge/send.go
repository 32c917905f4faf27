package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	svix "github.com/svix/svix-webhooks/go"

	"github.com/engage-bridge/engage-bridge/internal/loadgen"
	"github.com/engage-bridge/engage-bridge/internal/payloadcrypto"
	"github.com/engage-bridge/engage-bridge/schemas"
)

// svixSchedule is Svix's retry schedule: the first attempt at once, then
// each delay after the previous failure (about 27.6 h in all).
func svixSchedule() []time.Duration {
	return []time.Duration{0, 5 * time.Second, 5 * time.Minute, 30 * time.Minute,
		2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour}
}

// fastScale compresses Svix's schedule for tests: an hour becomes a
// second, so the whole 27.6 h schedule takes about 28 s.
const fastScale = 3600

type sendOptions struct {
	url         string
	secret      string
	events      []string
	file        string
	encrypt     bool
	key         string
	headerSet   string
	retry       bool
	fastRetries bool
	timeout     time.Duration
	count       int
	tenant      string
}

func runSend(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("send", "send [flags]\n\nSigns Engage events exactly as Svix does (a fresh msg_ id, the current timestamp,\na v1 HMAC-SHA256 signature) and posts them, printing each answer.\n\nExamples:\n  engage-bridge send --url http://127.0.0.1:8080/webhooks/engage --secret whsec_... --event contact.updated\n  engage-bridge send --load --concurrency 64 --duration 30s --secret whsec_...\n  engage-bridge send --load --rate 2000 --duration 30s --encrypt --secret whsec_... --encryption-key ...", stderr)
	var o sendOptions
	var events string
	fs.StringVar(&o.url, "url", "http://127.0.0.1:8080/webhooks/engage", "webhook endpoint")
	fs.StringVar(&o.secret, "secret", "", "whsec_ signing secret (default: the first of $BRIDGE_SIGNING_SECRETS)")
	fs.StringVar(&events, "event", "", "comma-separated event types to send from the built-in samples (default: all "+strconv.Itoa(len(schemas.EventTypes()))+" documented types)")
	fs.StringVar(&o.file, "file", "", "send this file's body instead of the built-in samples")
	fs.BoolVar(&o.encrypt, "encrypt", false, "encrypt the payload as Engage does (AES-256-CBC, IV first, base64url)")
	fs.StringVar(&o.key, "encryption-key", "", "32-character payload key for --encrypt (default: $BRIDGE_ENCRYPTION_KEY)")
	fs.StringVar(&o.headerSet, "header-set", "svix", "svix (svix-id, ...) or webhook (webhook-id, ..., as white-labelled Svix sends)")
	fs.BoolVar(&o.retry, "retry", false, "retry non-2xx answers on Svix's schedule (5s, 5m, 30m, 2h, 5h, 10h, 10h), same svix-id, fresh timestamp and signature")
	fs.BoolVar(&o.fastRetries, "fast-retries", false, "with --retry: compress the schedule 3600 times (an hour becomes a second)")
	fs.DurationVar(&o.timeout, "timeout", 15*time.Second, "how long to wait for each answer (Svix waits 15s)")
	fs.IntVar(&o.count, "count", 1, "send each event this many times, each a new message")
	fs.StringVar(&o.tenant, "tenant", "", "set the envelope's tenant to this (for {tenant} routes); the samples have none")
	var lo loadOptions
	load := fs.Bool("load", false, "load mode (vegeta's library): send the contact.updated (1.3 KB) and point.balance.updated (300 B) samples with random contactIds, each request a fresh svix-id, and print throughput and latency percentiles")
	fs.IntVar(&lo.concurrency, "concurrency", 64, "with --load: requests in flight (closed loop: workers; open loop: the most in flight)")
	fs.DurationVar(&lo.duration, "duration", 10*time.Second, "with --load: how long to send")
	fs.Float64Var(&lo.rate, "rate", 0, "with --load: requests a second, open loop (vegeta's constant pacer; latency from each request's send time, with a warning when every worker was busy and the rate fell short) (0: closed loop)")
	fs.IntVar(&lo.maxRequests, "max-requests", 10_000_000, "with --load: stop after this many requests")
	fs.DurationVar(&lo.warmup, "warmup", time.Second, "with --load: unmeasured warm-up before the run, at the run's pace (--rate, or a closed loop)")
	lo.pool = 2048
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if o.secret == "" {
		o.secret, _, _ = strings.Cut(getenv("BRIDGE_SIGNING_SECRETS"), ",")
	}
	if o.key == "" {
		o.key = getenv("BRIDGE_ENCRYPTION_KEY")
	}
	for e := range strings.SplitSeq(events, ",") {
		if e = strings.TrimSpace(e); e != "" {
			o.events = append(o.events, e)
		}
	}
	if o.count < 1 {
		return &usageError{"send: --count must be at least 1"}
	}

	if *load {
		if o.tenant != "" {
			return &usageError{"send: --tenant applies to single deliveries, not to --load"}
		}
		if err := lo.validate(); err != nil {
			return err
		}
		if o.secret == "" {
			return &usageError{"send: --secret (or $BRIDGE_SIGNING_SECRETS) must be a whsec_ signing secret"}
		}
		res, err := runLoad(ctx, o, lo, stdout)
		if err != nil {
			return err
		}
		if res.Requests == 0 || res.Errors == res.Requests {
			return fmt.Errorf("send --load: no request was answered 2xx (%d errors)", res.Errors)
		}
		return nil
	}
	deliveries, err := o.deliveries()
	if err != nil {
		return err
	}
	signer, err := svix.NewWebhook(o.secret)
	if err != nil || o.secret == "" {
		return &usageError{"send: --secret (or $BRIDGE_SIGNING_SECRETS) must be a whsec_ signing secret"}
	}
	client := &http.Client{Timeout: o.timeout}
	failed := 0
	for range o.count {
		for _, d := range deliveries {
			if !o.deliver(ctx, client, signer, d, stdout) {
				failed++
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d deliveries were not answered 2xx", failed, o.count*len(deliveries))
	}
	return nil
}

type delivery struct {
	eventType string
	body      []byte
}

// deliveries builds the bodies to send, encrypting payloads when asked.
func (o sendOptions) deliveries() ([]delivery, error) {
	var out []delivery
	switch {
	case o.file != "":
		b, err := os.ReadFile(o.file)
		if err != nil {
			return nil, fmt.Errorf("send: %w", err)
		}
		et := "(file)"
		if env, err := schemas.ParseEnvelope(b); err == nil {
			et = env.EventType
		}
		out = append(out, delivery{et, b})
	default:
		events := o.events
		if len(events) == 0 {
			events = schemas.EventTypes()
		}
		for _, et := range events {
			b, ok := schemas.Example(et)
			if !ok {
				return nil, &usageError{fmt.Sprintf("send: no sample for event type %q (documented types: %s)", et, strings.Join(schemas.EventTypes(), ", "))}
			}
			out = append(out, delivery{et, b})
		}
	}
	if o.tenant != "" {
		for i := range out {
			b, err := withTenant(out[i].body, o.tenant)
			if err != nil {
				return nil, fmt.Errorf("send: setting the tenant of %s: %w", out[i].eventType, err)
			}
			out[i].body = b
		}
	}
	if !o.encrypt {
		return out, nil
	}
	key, err := payloadcrypto.ParseKey(o.key)
	if err != nil {
		return nil, &usageError{"send: --encrypt needs --encryption-key (or $BRIDGE_ENCRYPTION_KEY): " + err.Error()}
	}
	for i := range out {
		if out[i].body, err = loadgen.EncryptBody(key, out[i].body); err != nil {
			return nil, fmt.Errorf("send: encrypting %s: %w", out[i].eventType, err)
		}
	}
	return out, nil
}

// withTenant returns body with its envelope's top-level tenant set to
// tenant: every key equal to "tenant" in any casing (the bridge matches
// them so) is replaced by one. The fields are re-encoded in sorted order;
// the signature is made afterwards over these bytes. An error never quotes
// the body.
func withTenant(body []byte, tenant string) ([]byte, error) {
	var env map[string]json.RawMessage
	if err := json.Unmarshal(body, &env); err != nil || env == nil {
		return nil, errors.New("the body is not a JSON object")
	}
	for k := range env {
		if strings.EqualFold(k, "tenant") {
			delete(env, k)
		}
	}
	t, _ := json.Marshal(tenant)
	env["tenant"] = t
	return json.Marshal(env)
}

// newMessageID returns an id shaped like Svix's: msg_ and 27 base62
// characters.
func newMessageID() string {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	b := make([]byte, 27)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return "msg_" + string(b)
}

// deliver posts one message, retrying on Svix's schedule when asked; each
// attempt carries the same id with a fresh timestamp and signature.
func (o sendOptions) deliver(ctx context.Context, client *http.Client, signer *svix.Webhook, d delivery, out io.Writer) bool {
	id := newMessageID()
	schedule := []time.Duration{0}
	if o.retry {
		schedule = svixSchedule()
	}
	for attempt, delay := range schedule {
		if o.fastRetries {
			delay /= fastScale
		}
		if delay > 0 {
			fmt.Fprintf(out, "%-32s %s  retrying in %s\n", d.eventType, id, delay)
			select {
			case <-time.After(delay):
			case <-ctx.Done():
				return false
			}
		}
		status, answer, err := o.post(ctx, client, signer, id, d.body)
		if err != nil {
			fmt.Fprintf(out, "%-32s %s  attempt %d: %v\n", d.eventType, id, attempt+1, err)
			continue
		}
		fmt.Fprintf(out, "%-32s %s  %d %s\n", d.eventType, id, status, answer)
		if status >= 200 && status < 300 {
			return true
		}
	}
	return false
}

func (o sendOptions) post(ctx context.Context, client *http.Client, signer *svix.Webhook, id string, body []byte) (int, string, error) {
	now := time.Now()
	sig, err := signer.Sign(id, now, body)
	if err != nil {
		return 0, "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.url, bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	prefix := "svix-"
	if o.headerSet == "webhook" {
		prefix = "webhook-"
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "engage-bridge-send")
	req.Header.Set(prefix+"id", id)
	req.Header.Set(prefix+"timestamp", strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(prefix+"signature", sig)
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil && !errors.Is(err, io.EOF) {
		return resp.StatusCode, "", err
	}
	return resp.StatusCode, strings.TrimSpace(string(answer)), nil
}
