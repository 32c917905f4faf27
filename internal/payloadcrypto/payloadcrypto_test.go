package payloadcrypto

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/engage-bridge/engage-bridge/internal/allocbudget"
)

const docKey = "DaqfT7Ys6tGqM3zbesEKpmacTJEqBCp2"

// Vectors: the domain doc's (§2.2), and two made once with
// `openssl enc -aes-256-cbc -K <hex key> -iv <hex iv>`, IV prepended.
var vectors = []struct {
	name  string
	key   string
	iv    []byte
	plain string
	std   string // standard alphabet, padded
}{
	{
		"domain doc §2.2", docKey, seq(0, 16),
		`{"contactId":"515c1b2a-7124-4bb9-826b-aedbbe5da8c4"}`,
		"AAECAwQFBgcICQoLDA0OD6KFfIZqfNknoJzzFU5Dw9Ay0qMyP1pE7DuHeEiiOKOFHxiFlPSBLPhoRsCGEB6hoWGp+C5a02BjJnRNlVyy/Qk=",
	},
	{
		"openssl contact.deleted", docKey,
		[]byte{0xf0, 0xe1, 0xd2, 0xc3, 0xb4, 0xa5, 0x96, 0x87, 0x78, 0x69, 0x5a, 0x4b, 0x3c, 0x2d, 0x1e, 0x0f},
		`{"contactId":"d3bdcad4-3f90-46ce-be4c-b3d800dc7979","deletionReason":"cancelled membership"}`,
		"8OHSw7Sllod4aVpLPC0eD9tTbUttVWOOfaXmKbVWWhdZUHNYx0a+4Y5k3Eata20Ii8+0ELcs0XGiAR4HCspRybHvB3tJ8DDC1eRaDo49uBoweg+6wirWBzXfofsXYTXSd65sQ0rlBhPvofOQAvbttg==",
	},
	{
		"openssl full padding block", "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", make([]byte, 16),
		"0123456789abcdef",
		"AAAAAAAAAAAAAAAAAAAAAKc8PMkFn35nSk9w7ZKkOF6mU5m+cqDzUlqSCiyYttpW",
	},
}

func seq(from, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(from + i)
	}
	return b
}

func mustKey(t testing.TB, s string) Key {
	t.Helper()
	k, err := ParseKey(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// forms returns the four spellings Decrypt accepts.
func forms(std string) map[string]string {
	unpadded := strings.TrimRight(std, "=")
	url := strings.NewReplacer("+", "-", "/", "_").Replace(std)
	return map[string]string{
		"std padded":   std,
		"std unpadded": unpadded,
		"url padded":   url,
		"url unpadded": strings.TrimRight(url, "="),
	}
}

func TestVectors(t *testing.T) {
	t.Parallel()
	for _, v := range vectors {
		k := mustKey(t, v.key)
		for form, text := range forms(v.std) {
			t.Run(v.name+"/"+form, func(t *testing.T) {
				got, err := k.Decrypt([]byte(text))
				if err != nil {
					t.Fatalf("Decrypt: %v", err)
				}
				if string(got) != v.plain {
					t.Errorf("Decrypt = %q, want %q", got, v.plain)
				}
			})
		}
		t.Run(v.name+"/encrypt", func(t *testing.T) {
			url, err := k.Encrypt(v.iv, []byte(v.plain))
			if err != nil {
				t.Fatal(err)
			}
			if want := forms(v.std)["url unpadded"]; url != want {
				t.Errorf("Encrypt = %s, want %s", url, want)
			}
			std, err := k.EncryptAs(Standard, v.iv, []byte(v.plain))
			if err != nil || std != v.std {
				t.Errorf("EncryptAs(Standard) = %s, %v; want %s", std, err, v.std)
			}
		})
	}
}

func TestDecryptLeavesInputAlone(t *testing.T) {
	t.Parallel()
	k := mustKey(t, docKey)
	in := []byte(forms(vectors[0].std)["url unpadded"])
	orig := bytes.Clone(in)
	if _, err := k.Decrypt(in); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(in, orig) {
		t.Error("Decrypt changed its input")
	}
}

// rawCBC encrypts blocks without padding, to craft bad padding.
func rawCBC(t *testing.T, key string, iv, blocks []byte) string {
	t.Helper()
	b, _ := aes.NewCipher([]byte(key))
	ct := make([]byte, len(blocks))
	cipher.NewCBCEncrypter(b, iv).CryptBlocks(ct, blocks)
	return base64.StdEncoding.EncodeToString(append(bytes.Clone(iv), ct...))
}

func TestDecryptErrors(t *testing.T) {
	t.Parallel()
	k := mustKey(t, docKey)
	good := vectors[0].std
	block := func(last ...byte) []byte {
		b := bytes.Repeat([]byte{'A'}, 16)
		copy(b[16-len(last):], last)
		return b
	}
	tests := []struct {
		name string
		text string
		want error
	}{
		{"empty", "", ErrLength},
		{"IV only", base64.StdEncoding.EncodeToString(seq(0, 16)), ErrLength},
		{"IV and half a block", base64.StdEncoding.EncodeToString(seq(0, 24)), ErrLength},
		{"five characters dropped", good[:len(good)-6] + "=", ErrBase64},
		{"last block dropped (valid length, garbage padding)", base64.StdEncoding.EncodeToString(mustDecode(t, good)[:64]), ErrPadding},
		{"invalid character", "AAEC*AwQFBgcICQoLDA0ODw" + good[23:], ErrBase64},
		{"whitespace", good[:20] + " " + good[20:], ErrBase64},
		{"newline", good[:20] + "\n" + good[20:], ErrBase64},
		{"three padding characters", strings.TrimRight(good, "=") + "===", ErrBase64},
		{"padding in the middle", "AA==" + good, ErrBase64},
		{"padding byte 0", rawCBC(t, docKey, seq(0, 16), block(0)), ErrPadding},
		{"padding byte 17", rawCBC(t, docKey, seq(0, 16), block(0x11)), ErrPadding},
		{"pad bytes differ", rawCBC(t, docKey, seq(0, 16), block(2, 3, 3)), ErrPadding},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := k.Decrypt([]byte(tt.text))
			if !errors.Is(err, tt.want) {
				t.Fatalf("Decrypt error = %v, want %v", err, tt.want)
			}
		})
	}
}

func mustDecode(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestWrongKey: with another key the padding check fails, or what comes
// out is not the plaintext (the caller then finds it is not JSON).
func TestWrongKey(t *testing.T) {
	t.Parallel()
	wrong := mustKey(t, "ZZqfT7Ys6tGqM3zbesEKpmacTJEqBCp2")
	for _, v := range vectors[:2] {
		got, err := wrong.Decrypt([]byte(v.std))
		if err == nil && string(got) == v.plain {
			t.Fatalf("%s: the wrong key decrypted the plaintext", v.name)
		}
		if err != nil && !errors.Is(err, ErrPadding) {
			t.Errorf("%s: %v, want ErrPadding or garbage", v.name, err)
		}
	}
}

func TestParseKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		key  string
		ok   bool
	}{
		{"32 characters", docKey, true},
		{"31", docKey[:31], false},
		{"33", docKey + "x", false},
		{"empty", "", false},
		{"32 bytes, 31 runes", "é" + docKey[:30], false},
		{"32 runes, 33 bytes", "é" + docKey[:31], false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ParseKey(tt.key)
			if (err == nil) != tt.ok {
				t.Fatalf("ParseKey error = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && tt.key != "" && strings.Contains(err.Error(), tt.key[2:10]) {
				t.Errorf("error %q contains the key", err)
			}
			if tt.ok {
				s := fmt.Sprintf("%v %+v %#v %s %q %x", k, k, k, k, k, k)
				if strings.Contains(s, tt.key) || strings.Contains(s, fmt.Sprintf("%x", tt.key)) {
					t.Errorf("printing the key shows it: %s", s)
				}
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	k := mustKey(t, docKey)
	r := rand.New(rand.NewPCG(1, 2))
	for n := range 101 {
		plain := make([]byte, n)
		for i := range plain {
			plain[i] = byte(r.IntN(256))
		}
		iv := make([]byte, 16)
		for i := range iv {
			iv[i] = byte(r.IntN(256))
		}
		for _, enc := range []Encoding{URLSafe, Standard} {
			text, err := k.EncryptAs(enc, iv, plain)
			if err != nil {
				t.Fatal(err)
			}
			got, err := k.Decrypt([]byte(text))
			if err != nil {
				t.Fatalf("len %d: %v", n, err)
			}
			if diff := cmp.Diff(plain, got); diff != "" && n > 0 {
				t.Fatalf("len %d (-want +got):\n%s", n, diff)
			}
		}
	}
	if _, err := k.Encrypt(make([]byte, 8), nil); err == nil {
		t.Error("Encrypt accepted an 8-byte IV")
	}
}

// FuzzDecrypt: Decrypt never panics; what it accepts has a consistent
// length and re-encrypts to the same plaintext.
func FuzzDecrypt(f *testing.F) {
	for _, v := range vectors {
		for _, text := range forms(v.std) {
			f.Add([]byte(text))
		}
	}
	for _, s := range []string{"", "=", "====", "A", "AA==", "-_-_", strings.Repeat("A", 43), strings.Repeat("/", 64)} {
		f.Add([]byte(s))
	}
	k := mustKey(f, docKey)
	f.Fuzz(func(t *testing.T, text []byte) {
		plain, err := k.Decrypt(text)
		if err != nil {
			if !errors.Is(err, ErrBase64) && !errors.Is(err, ErrLength) && !errors.Is(err, ErrPadding) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		decoded, derr := base64.RawStdEncoding.DecodeString(strings.NewReplacer("-", "+", "_", "/", "=", "").Replace(string(text)))
		if derr != nil {
			t.Fatalf("Decrypt accepted what base64 rejects: %v", derr)
		}
		if pad := len(decoded) - 16 - len(plain); pad < 1 || pad > 16 {
			t.Fatalf("padding of %d bytes", pad)
		}
		again, err := k.Encrypt(decoded[:16], plain)
		if err != nil {
			t.Fatal(err)
		}
		back, err := k.Decrypt([]byte(again))
		if err != nil || !bytes.Equal(back, plain) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

// TestDecryptAllocBudget holds decryption to the allocations it makes
// today (docs/performance.md).
func TestDecryptAllocBudget(t *testing.T) {
	k := mustKey(t, docKey)
	plain := []byte(`{"contactId":"515c1b2a-7124-4bb9-826b-aedbbe5da8c4","email":"` + strings.Repeat("x", 1250) + `"}`)
	text, _ := k.Encrypt(seq(0, 16), plain)
	allocbudget.Check(t, 2, func() {
		if _, err := k.Decrypt([]byte(text)); err != nil {
			t.Fatal(err)
		}
	})
}

func BenchmarkDecrypt(b *testing.B) {
	k := mustKey(b, docKey)
	plain := []byte(`{"contactId":"515c1b2a-7124-4bb9-826b-aedbbe5da8c4","email":"` + strings.Repeat("x", 1250) + `"}`)
	text, _ := k.Encrypt(seq(0, 16), plain)
	b.SetBytes(int64(len(plain)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k.Decrypt([]byte(text)); err != nil {
			b.Fatal(err)
		}
	}
}
