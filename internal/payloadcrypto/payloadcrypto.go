// Package payloadcrypto decrypts (and, for the sender and tests, encrypts)
// Engage webhook payloads. Engage uses its "soft identification" scheme:
// AES-256-CBC with the 32 ASCII characters of the shared key as the key
// bytes, a fresh 16-byte IV per message, PKCS#7 padding, and
// base64(IV || ciphertext), URL-safe and unpadded in Voyado's soft-id docs.
// Nothing documents the webhook variant exactly, so Decrypt accepts both
// base64 alphabets (even mixed) with or without padding.
//
// There is no MAC: the Svix HMAC over the whole body already protects the
// ciphertext, so no one can probe the padding check without the signing
// secret. A wrong key therefore usually shows up as ErrPadding, and
// sometimes as plaintext that is not JSON, which the caller checks.
package payloadcrypto

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"errors"
	"fmt"
	"unicode/utf8"
)

// KeySize is the length of an Engage payload key in characters and bytes.
const KeySize = 32

// Errors of Decrypt, checked with errors.Is. Their text never holds input
// bytes, plaintext or key material: it ends up in dead-letter headers.
var (
	ErrBase64  = errors.New("payload is not base64")
	ErrLength  = errors.New("payload has a bad length for IV and AES blocks")
	ErrPadding = errors.New("payload has invalid PKCS#7 padding (wrong key?)")
)

// Key is an Engage payload encryption key. It prints as redacted in every
// fmt verb, so logging a configuration that holds one cannot leak it.
type Key struct {
	block cipher.Block
}

// ParseKey accepts exactly 32 characters, each one byte (Voyado keys are
// a-z, A-Z and 0-9). Errors never contain the key.
func ParseKey(s string) (Key, error) {
	if n := utf8.RuneCountInString(s); len(s) != KeySize || n != KeySize {
		return Key{}, fmt.Errorf("must be exactly %d single-byte characters, got %d characters in %d bytes", KeySize, n, len(s))
	}
	block, err := aes.NewCipher([]byte(s))
	if err != nil {
		return Key{}, fmt.Errorf("cannot be used as an AES-256 key")
	}
	return Key{block: block}, nil
}

// String redacts the key.
func (Key) String() string { return "payloadcrypto.Key(redacted)" }

// GoString redacts the key for %#v.
func (Key) GoString() string { return "payloadcrypto.Key(redacted)" }

// Format redacts the key for every verb, %+v and %x included.
func (k Key) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(k.String())) }

// Decrypt decodes base64 text (after JSON unescaping: the caller resolves
// escapes such as \u002B) into IV and ciphertext, decrypts in place and
// strips the validated PKCS#7 padding. It returns the plaintext bytes as
// they were encrypted; checking that they are JSON is the caller's job.
func (k Key) Decrypt(text []byte) ([]byte, error) {
	if k.block == nil {
		return nil, errors.New("no key")
	}
	buf, err := decodeBase64(text)
	if err != nil {
		return nil, err
	}
	if len(buf) < 2*aes.BlockSize || len(buf)%aes.BlockSize != 0 {
		return nil, fmt.Errorf("%w: %d bytes after base64 decoding", ErrLength, len(buf))
	}
	iv, ct := buf[:aes.BlockSize], buf[aes.BlockSize:]
	cipher.NewCBCDecrypter(k.block, iv).CryptBlocks(ct, ct)
	pad := int(ct[len(ct)-1])
	if pad == 0 || pad > aes.BlockSize {
		return nil, ErrPadding
	}
	for _, b := range ct[len(ct)-pad:] {
		if int(b) != pad {
			return nil, ErrPadding
		}
	}
	return ct[:len(ct)-pad], nil
}

// decodeBase64 decodes standard or URL-safe base64, padded or not, into one
// new buffer. The alphabet is normalised while the input is copied, so the
// caller's bytes are never changed.
func decodeBase64(text []byte) ([]byte, error) {
	n := len(text)
	for n > 0 && text[n-1] == '=' {
		n--
	}
	if len(text)-n > 2 {
		return nil, fmt.Errorf("%w: too much padding", ErrBase64)
	}
	if len(text) != n && len(text)%4 != 0 {
		return nil, fmt.Errorf("%w: padding at a wrong position", ErrBase64)
	}
	// One allocation: the decoded bytes at the start, the normalised text
	// after them, so that source and destination never overlap.
	out := base64.RawStdEncoding.DecodedLen(n)
	buf := make([]byte, out+n)
	src := buf[out:]
	for i, c := range text[:n] {
		switch c {
		case '-':
			c = '+'
		case '_':
			c = '/'
		}
		src[i] = c
	}
	m, err := base64.RawStdEncoding.Decode(buf[:out], src)
	if err != nil {
		var ce base64.CorruptInputError
		if errors.As(err, &ce) {
			return nil, fmt.Errorf("%w: invalid character at offset %d", ErrBase64, int64(ce))
		}
		return nil, fmt.Errorf("%w", ErrBase64)
	}
	return buf[:m:m], nil
}

// Encoding chooses Encrypt's output alphabet.
type Encoding int

const (
	// URLSafe is base64url without padding, Voyado's soft-id format.
	URLSafe Encoding = iota
	// Standard is base64 with + and / and = padding.
	Standard
)

// Encrypt does what Engage does. iv must be 16 fresh random bytes (tests
// pass fixed ones).
func (k Key) Encrypt(iv, plaintext []byte) (string, error) {
	return k.EncryptAs(URLSafe, iv, plaintext)
}

// EncryptAs is Encrypt with a choice of base64 alphabet.
func (k Key) EncryptAs(enc Encoding, iv, plaintext []byte) (string, error) {
	if k.block == nil {
		return "", errors.New("no key")
	}
	if len(iv) != aes.BlockSize {
		return "", fmt.Errorf("iv must be %d bytes, got %d", aes.BlockSize, len(iv))
	}
	pad := aes.BlockSize - len(plaintext)%aes.BlockSize
	buf := make([]byte, aes.BlockSize+len(plaintext)+pad)
	copy(buf, iv)
	copy(buf[aes.BlockSize:], plaintext)
	for i := len(buf) - pad; i < len(buf); i++ {
		buf[i] = byte(pad)
	}
	ct := buf[aes.BlockSize:]
	cipher.NewCBCEncrypter(k.block, iv).CryptBlocks(ct, ct)
	if enc == Standard {
		return base64.StdEncoding.EncodeToString(buf), nil
	}
	return base64.RawURLEncoding.EncodeToString(buf), nil
}
