package ingress

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"

	"github.com/engage-bridge/engage-bridge/schemas"
)

// Svix's published test vectors (domain doc §3.4).
const (
	vectorSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	// rotatedSecret stands for the new secret of a rotation.
	rotatedSecret = "whsec_ZW5nYWdlLWJyaWRnZS1yb3RhdGVkLXNlY3JldC0zMmI="
	vectorID      = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTS      = 1614265330
	vectorBody    = `{"test": 2432232314}`
	vectorSig     = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

	// manualSecret's key is 18 bytes, shorter than ParseSecret accepts:
	// the vectors' table builds its verifier from raw keys (vectorKeys).
	manualSecret = "whsec_plJ3nmyCDGBKInavdOK15jsl"
	manualID     = "msg_loFOjxBNrRLzqYUf"
	manualTS     = 1731705121
	manualBody   = `{"event_type":"ping","data":{"success":true}}`
	manualSig    = "v1,rAvfW3dJ/X/qxhsaXPOyyCGmRKsaKWcsNccKXlIktD0="

	wrongSig = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="
)

func svixHeaders(id string, ts int64, sig string) http.Header {
	h := http.Header{}
	h.Set("svix-id", id)
	h.Set("svix-timestamp", strconv.FormatInt(ts, 10))
	h.Set("svix-signature", sig)
	return h
}

func webhookHeaders(id string, ts int64, sig string) http.Header {
	h := http.Header{}
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	h.Set("webhook-signature", sig)
	return h
}

func clockAt(sec int64) func() time.Time { return func() time.Time { return time.Unix(sec, 0) } }

func reasonOf(err error) string {
	var se *SignatureError
	if errors.As(err, &se) {
		return se.Reason
	}
	if err != nil {
		return "not a SignatureError: " + err.Error()
	}
	return ""
}

func TestVerifySvixVectors(t *testing.T) {
	tests := []struct {
		name    string
		secrets []string
		header  http.Header
		body    string
		now     int64
		want    string // "" means accepted
	}{
		{"svix library vector", []string{vectorSecret}, svixHeaders(vectorID, vectorTS, vectorSig), vectorBody, vectorTS, ""},
		{"manual verification vector (18-byte key)", []string{manualSecret}, svixHeaders(manualID, manualTS, manualSig), manualBody, manualTS, ""},
		{"secret without whsec_ prefix", []string{"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, svixHeaders(vectorID, vectorTS, vectorSig), vectorBody, vectorTS, ""},
		{"unbranded webhook-* headers", []string{vectorSecret}, webhookHeaders(vectorID, vectorTS, vectorSig), vectorBody, vectorTS, ""},
		{"wrong signature", []string{vectorSecret}, svixHeaders(vectorID, vectorTS, wrongSig), vectorBody, vectorTS, ReasonNoMatch},
		{"partial entry v1,", []string{vectorSecret}, svixHeaders(vectorID, vectorTS, "v1,"), vectorBody, vectorTS, ReasonNoMatch},
		{"valid among bogus v1 and v2 entries", []string{vectorSecret}, svixHeaders(vectorID, vectorTS, "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= "+vectorSig+" v1a,abc"), vectorBody, vectorTS, ""},
		{"right signature under v2 only", []string{vectorSecret}, svixHeaders(vectorID, vectorTS, "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="), vectorBody, vectorTS, ReasonNoMatch},
		{"body changed (space removed)", []string{vectorSecret}, svixHeaders(vectorID, vectorTS, vectorSig), `{"test":2432232314}`, vectorTS, ReasonNoMatch},
		{"other message id", []string{vectorSecret}, svixHeaders("msg_other", vectorTS, vectorSig), vectorBody, vectorTS, ReasonNoMatch},
		{"wrong secret", []string{manualSecret}, svixHeaders(vectorID, vectorTS, vectorSig), vectorBody, vectorTS, ReasonNoMatch},
		{"rotation: valid with the second secret", []string{manualSecret, vectorSecret}, svixHeaders(vectorID, vectorTS, vectorSig), vectorBody, vectorTS, ""},
		{"rotation: valid with the first secret", []string{vectorSecret, manualSecret}, svixHeaders(vectorID, vectorTS, vectorSig), vectorBody, vectorTS, ""},
		{"missing id", []string{vectorSecret}, svixHeaders("", vectorTS, vectorSig), vectorBody, vectorTS, ReasonMissingHeaders},
		{"missing signature", []string{vectorSecret}, svixHeaders(vectorID, vectorTS, ""), vectorBody, vectorTS, ReasonMissingHeaders},
		{"no headers", []string{vectorSecret}, http.Header{}, vectorBody, vectorTS, ReasonMissingHeaders},
		{"timestamp not an integer", []string{vectorSecret}, func() http.Header {
			h := svixHeaders(vectorID, vectorTS, vectorSig)
			h.Set("svix-timestamp", "1614265330.5")
			return h
		}(), vectorBody, vectorTS, ReasonBadTimestamp},
		{"timestamp as a date", []string{vectorSecret}, func() http.Header {
			h := svixHeaders(vectorID, vectorTS, vectorSig)
			h.Set("svix-timestamp", "2021-02-25T15:02:10Z")
			return h
		}(), vectorBody, vectorTS, ReasonBadTimestamp},
		// Svix's library check is now − ts > tolerance, at second granularity
		// with our injected clock: exactly 5 minutes passes, 1 s more fails.
		{"5m old exactly", []string{vectorSecret}, svixHeaders(vectorID, vectorTS, vectorSig), vectorBody, vectorTS + 300, ""},
		{"5m1s old", []string{vectorSecret}, svixHeaders(vectorID, vectorTS, vectorSig), vectorBody, vectorTS + 301, ReasonTooOld},
		{"5m in the future exactly", []string{vectorSecret}, svixHeaders(vectorID, vectorTS, vectorSig), vectorBody, vectorTS - 300, ""},
		{"5m1s in the future", []string{vectorSecret}, svixHeaders(vectorID, vectorTS, vectorSig), vectorBody, vectorTS - 301, ReasonTooNew},
		{"too old is reported before a wrong signature", []string{vectorSecret}, svixHeaders(vectorID, vectorTS, wrongSig), vectorBody, vectorTS + 3600, ReasonTooOld},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := newVerifier(vectorKeys(t, tt.secrets), 5*time.Minute, clockAt(tt.now))
			if err != nil {
				t.Fatal(err)
			}
			d, err := v.Verify(tt.header, []byte(tt.body))
			if got := reasonOf(err); got != tt.want {
				t.Fatalf("Verify reason = %q, want %q", got, tt.want)
			}
			if tt.want == "" && (d.ID == "" || d.Timestamp == "") {
				t.Errorf("accepted delivery without id/timestamp: %+v", d)
			}
		})
	}
}

// vectorKeys decodes secrets without ParseSecret's length rule, for
// Svix's published vectors.
func vectorKeys(t *testing.T, secrets []string) []Secret {
	t.Helper()
	keys := make([]Secret, len(secrets))
	for i, s := range secrets {
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, "whsec_"))
		if err != nil {
			t.Fatal(err)
		}
		keys[i] = Secret{key: key}
	}
	return keys
}

// TestVerifyBothHeaderSets: svix-* wins when complete; otherwise the whole
// webhook-* set is used, as the svix library does.
func TestVerifyBothHeaderSets(t *testing.T) {
	v, _ := NewVerifier([]string{vectorSecret}, 5*time.Minute, clockAt(vectorTS))
	h := webhookHeaders(vectorID, vectorTS, vectorSig)
	h.Set("svix-id", "msg_incomplete_svix_set")
	d, err := v.Verify(h, []byte(vectorBody))
	if err != nil || d.ID != vectorID {
		t.Fatalf("incomplete svix-* set with a complete webhook-* set: %+v, %v", d, err)
	}
	mixed := http.Header{}
	mixed.Set("svix-id", vectorID)
	mixed.Set("webhook-timestamp", strconv.Itoa(vectorTS))
	mixed.Set("webhook-signature", vectorSig)
	if _, err := v.Verify(mixed, []byte(vectorBody)); reasonOf(err) != ReasonMissingHeaders {
		t.Fatalf("mixed sets: %v, want missing_headers", err)
	}
}

// TestVerifyTolerance: a configurable tolerance, signed fresh at now ± 4 and
// ± 6 minutes against the default, and ± 30 s against a 20 s tolerance.
func TestVerifyTolerance(t *testing.T) {
	signer, _ := svix.NewWebhook(vectorSecret)
	now := time.Now()
	tests := []struct {
		tolerance time.Duration
		skew      time.Duration
		want      string
	}{
		{5 * time.Minute, -4 * time.Minute, ""},
		{5 * time.Minute, 4 * time.Minute, ""},
		{5 * time.Minute, -6 * time.Minute, ReasonTooOld},
		{5 * time.Minute, 6 * time.Minute, ReasonTooNew},
		{20 * time.Second, -30 * time.Second, ReasonTooOld},
		{20 * time.Second, 30 * time.Second, ReasonTooNew},
		{20 * time.Second, -10 * time.Second, ""},
		{time.Hour, -50 * time.Minute, ""},
	}
	for _, tt := range tests {
		t.Run(tt.tolerance.String()+"/"+tt.skew.String(), func(t *testing.T) {
			ts := now.Add(tt.skew)
			sig, _ := signer.Sign("msg_1", ts, []byte(vectorBody))
			v, _ := NewVerifier([]string{vectorSecret}, tt.tolerance, func() time.Time { return now })
			_, err := v.Verify(svixHeaders("msg_1", ts.Unix(), sig), []byte(vectorBody))
			if got := reasonOf(err); got != tt.want {
				t.Fatalf("reason %q, want %q", got, tt.want)
			}
		})
	}
}

// TestParseSecretsLenient is defect 5 of issue 14: a secret without whsec_
// or with a key shorter than Svix's was accepted. Each bad entry is named
// by position and never quoted.
func TestParseSecretsLenient(t *testing.T) {
	short23 := "whsec_" + base64.StdEncoding.EncodeToString([]byte("23-bytes-is-one-too-few"))
	exactly24 := "whsec_" + base64.StdEncoding.EncodeToString([]byte("engage-bridge-dev-secret"))
	tests := []struct {
		name    string
		secrets []string
		want    []error // per bad entry, in order; nil: accepted
		msg     string
	}{
		{"svix vector, 24 bytes", []string{vectorSecret}, nil, ""},
		{"24 bytes", []string{exactly24}, nil, ""},
		{"32 bytes, rotation", []string{vectorSecret, rotatedSecret}, nil, ""},
		{"none", nil, nil, "at least one signing secret is required"},
		{"no prefix", []string{"nope"}, []error{ErrSecretPrefix}, "signing secret 1 of 1 does not start with whsec_"},
		{"no prefix but base64", []string{vectorSecret[6:]}, []error{ErrSecretPrefix}, "signing secret 1 of 1 does not start with whsec_"},
		{"not base64", []string{"whsec_not*base64!"}, []error{ErrSecretEncoding}, "signing secret 1 of 1 is not a whsec_ secret (expected whsec_ followed by standard base64)"},
		{"url base64", []string{"whsec_" + base64.URLEncoding.EncodeToString([]byte("\xff\xfe engage-bridge-secret-32-b"))}, []error{ErrSecretEncoding}, ""},
		{"empty key", []string{"whsec_"}, []error{ErrSecretShort}, ""},
		{"18 bytes", []string{manualSecret}, []error{ErrSecretShort}, ""},
		{"23 bytes", []string{short23}, []error{ErrSecretShort}, "signing secret 1 of 1 is shorter than 24 bytes after base64 decoding (Svix's secrets have 24 or 32)"},
		{"second and third bad", []string{vectorSecret, "whsec_%%%", "nope"}, []error{ErrSecretEncoding, ErrSecretPrefix},
			"signing secret 2 of 3 is not a whsec_ secret (expected whsec_ followed by standard base64)\nsigning secret 3 of 3 does not start with whsec_"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := ParseSecrets(tt.secrets)
			if tt.want == nil && tt.msg == "" {
				if err != nil || len(keys) != len(tt.secrets) {
					t.Fatalf("ParseSecrets = %d keys, %v", len(keys), err)
				}
				if _, err := NewVerifier(tt.secrets, time.Minute, nil); err != nil {
					t.Fatalf("NewVerifier: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tt.want {
				if !errors.Is(err, w) {
					t.Errorf("error %q is not %v", err, w)
				}
			}
			if tt.msg != "" && err.Error() != tt.msg {
				t.Errorf("error %q, want %q", err, tt.msg)
			}
			if _, vErr := NewVerifier(tt.secrets, time.Minute, nil); vErr == nil || vErr.Error() != err.Error() {
				t.Errorf("NewVerifier error %v, want %v", vErr, err)
			}
			if cErr := (Config{SigningSecrets: tt.secrets}).Validate(); len(tt.secrets) == 0 && !errors.Is(cErr, ErrRequired) {
				t.Errorf("Config.Validate error %v, want ErrRequired", cErr)
			} else if len(tt.secrets) > 0 && (cErr == nil || !strings.Contains(cErr.Error(), err.Error())) {
				t.Errorf("Config.Validate error %v, want it to hold %v", cErr, err)
			}
			for _, s := range tt.secrets {
				if len(s) > 6 && strings.Contains(err.Error(), s[6:]) {
					t.Errorf("error %q quotes the secret", err)
				}
			}
		})
	}
}

// TestSecretRedacted: a parsed secret prints no key material.
func TestSecretRedacted(t *testing.T) {
	keys, err := ParseSecrets([]string{vectorSecret})
	if err != nil {
		t.Fatal(err)
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%q"} {
		if got := fmt.Sprintf(verb, keys[0]); got != "ingress.Secret(redacted)" {
			t.Errorf("%s prints %q", verb, got)
		}
	}
}

// FuzzVerify feeds arbitrary signature headers and bodies: never a panic,
// and the verifier accepts exactly what the svix library accepts (the
// library is the oracle; its own tolerance is bypassed with
// VerifyIgnoringTimestamp and a clock pinned to the timestamp).
func FuzzVerify(f *testing.F) {
	f.Add(vectorID, strconv.Itoa(vectorTS), vectorSig, vectorBody, false)
	f.Add(vectorID, strconv.Itoa(vectorTS), "v1,a v1,b "+vectorSig, vectorBody, true)
	f.Add(vectorID, "+1614265330", vectorSig, vectorBody, false)
	f.Add("", "", "", "", false)
	f.Add(vectorID, "-1", ",,, v1 v1, ,v1", "{}", true)
	f.Add(vectorID, "99999999999999999999", vectorSig, vectorBody, false)
	lib, _ := svix.NewWebhook(vectorSecret)
	f.Fuzz(func(t *testing.T, id, ts, sig, body string, unbranded bool) {
		h := http.Header{}
		prefix := "svix-"
		if unbranded {
			prefix = "webhook-"
		}
		h.Set(prefix+"id", id)
		h.Set(prefix+"timestamp", ts)
		h.Set(prefix+"signature", sig)
		sec, perr := strconv.ParseInt(h.Get(prefix+"timestamp"), 10, 64)
		v, _ := NewVerifier([]string{vectorSecret}, 5*time.Minute, clockAt(sec))
		_, err := v.Verify(h, []byte(body))
		if err != nil && reasonOf(err) == "" {
			t.Fatalf("error is not a SignatureError: %v", err)
		}
		if perr != nil {
			return
		}
		libErr := lib.VerifyIgnoringTimestamp([]byte(body), h)
		if (err == nil) != (libErr == nil) {
			t.Fatalf("verifier %v, svix library %v", err, libErr)
		}
	})
}

// FuzzVerifySigned holds the verifier to the svix library on deliveries
// that do carry a valid signature, placed among fuzzed entries (and
// sometimes altered), so that matches, not only mismatches, are compared.
func FuzzVerifySigned(f *testing.F) {
	f.Add(vectorID, int64(vectorTS), vectorBody, "v1,bogus", uint8(0))
	f.Add("msg_x", int64(1), "{}", "v2,abc v1,", uint8(1))
	f.Add("", int64(-5), "", ",", uint8(2))
	f.Add("msg_y", int64(1700000000), `{"a":1}`, "v1,AAAA v1a,b", uint8(3))
	lib, _ := svix.NewWebhook(vectorSecret)
	other, _ := svix.NewWebhook(rotatedSecret)
	f.Fuzz(func(t *testing.T, id string, sec int64, body, junk string, how uint8) {
		sig, _ := lib.Sign(id, time.Unix(sec, 0), []byte(body))
		switch how % 5 {
		case 1:
			sig = junk + " " + sig
		case 2:
			sig = sig + " " + junk
		case 3:
			sig = strings.Replace(sig, "v1,", "v1,"+junk, 1) // altered
		case 4:
			sig, _ = other.Sign(id, time.Unix(sec, 0), []byte(body)) // another secret
		}
		h := http.Header{}
		h.Set("svix-id", id)
		h.Set("svix-timestamp", strconv.FormatInt(sec, 10))
		h.Set("svix-signature", sig)
		v, _ := NewVerifier([]string{vectorSecret}, 5*time.Minute, clockAt(sec))
		_, err := v.Verify(h, []byte(body))
		libErr := lib.VerifyIgnoringTimestamp([]byte(body), h)
		if (err == nil) != (libErr == nil) {
			t.Fatalf("verifier %v, svix library %v (id %q, sig %q)", err, libErr, id, sig)
		}
		if how%5 == 0 && h.Get("svix-id") != "" && err != nil {
			t.Fatalf("a delivery signed with the secret was refused: %v", err)
		}
	})
}

// BenchmarkVerify compares the verifier with the svix library's Verify on
// the 1.3 KB contact.updated example, with two secrets configured (a
// rotation) and the delivery signed with the second.
// signedByRotated is the contact.updated example signed now with the
// second of two secrets, as the verify benchmark and budget use it.
func signedByRotated(id string) (http.Header, []byte) {
	body, _ := schemas.Example(schemas.EventContactUpdated)
	signer, _ := svix.NewWebhook(rotatedSecret)
	now := time.Now()
	sig, _ := signer.Sign(id, now, body)
	h := http.Header{}
	h.Set("svix-id", id)
	h.Set("svix-timestamp", strconv.FormatInt(now.Unix(), 10))
	h.Set("svix-signature", sig)
	return h, body
}

func BenchmarkVerify(b *testing.B) {
	h, body := signedByRotated("msg_bench")
	b.Run("verifier", func(b *testing.B) {
		v, _ := NewVerifier([]string{vectorSecret, rotatedSecret}, 5*time.Minute, nil)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := v.Verify(h, body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("svix-library", func(b *testing.B) {
		hooks := []*svix.Webhook{}
		for _, s := range []string{vectorSecret, rotatedSecret} {
			wh, _ := svix.NewWebhook(s)
			hooks = append(hooks, wh)
		}
		b.ReportAllocs()
		for b.Loop() {
			ok := false
			for _, wh := range hooks {
				if wh.Verify(body, h) == nil {
					ok = true
					break
				}
			}
			if !ok {
				b.Fatal("no match")
			}
		}
	})
}

// TestCanonicalHeaderNames holds the verifier's header names, written in
// the canonical form net/http keys requests by, to Svix's names.
func TestCanonicalHeaderNames(t *testing.T) {
	for canonical, name := range map[string]string{
		canonicalSvixID:           schemas.HeaderSvixID,
		canonicalSvixTimestamp:    schemas.HeaderSvixTimestamp,
		canonicalSvixSignature:    schemas.HeaderSvixSignature,
		canonicalWebhookID:        schemas.HeaderWebhookID,
		canonicalWebhookTimestamp: schemas.HeaderWebhookTimestamp,
		canonicalWebhookSignature: schemas.HeaderWebhookSignature,
	} {
		if want := http.CanonicalHeaderKey(name); canonical != want {
			t.Errorf("%q: want %q", canonical, want)
		}
	}
}
