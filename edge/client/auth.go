package client

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"

	"github.com/tinylib/msgp/msgp"
)

// Authentication, client side (WAMP.md §8.6): HELLO offers the methods
// whose credentials Config holds, and each CHALLENGE is answered with
// AUTHENTICATE.

// authMethods are the methods HELLO offers, in order of preference; none
// means anonymous.
func authMethods(cfg Config) []string {
	var methods []string
	if cfg.PrivateKey != nil {
		methods = append(methods, "cryptosign")
	}
	if cfg.Secret != "" {
		methods = append(methods, "wampcra")
	}
	if cfg.Ticket != "" {
		methods = append(methods, "ticket")
	}
	return methods
}

// authExtra is HELLO.Details.authextra: cryptosign names its public key.
func authExtra(cfg Config) map[string]any {
	if cfg.PrivateKey == nil {
		return nil
	}
	return map[string]any{"pubkey": hex.EncodeToString(cfg.PrivateKey.Public().(ed25519.PublicKey))}
}

// signChallenge returns the AUTHENTICATE signature for a CHALLENGE.
func signChallenge(cfg Config, offered []string, method string, extra []byte) (string, error) {
	if !slices.Contains(offered, method) {
		if len(offered) == 0 {
			return "", fmt.Errorf("router asks for %s authentication; this client offered none (anonymous)", method)
		}
		return "", fmt.Errorf("router asks for %s authentication; this client offered only %v", method, offered)
	}
	x, err := readChallengeExtra(extra)
	if err != nil {
		return "", fmt.Errorf("%s challenge: %w", method, err)
	}
	switch method {
	case "ticket":
		return cfg.Ticket, nil
	case "wampcra":
		return signCRA(cfg.Secret, x)
	default: // cryptosign, the only other method offered
		return signCryptosign(cfg.PrivateKey, x)
	}
}

// challengeExtra is CHALLENGE.Extra. It is read loosely, not with
// codec.ChallengeExtra: routers send null for keys they leave unset
// (cryptosign's channel_binding).
type challengeExtra map[string]any

func readChallengeExtra(extra []byte) (challengeExtra, error) {
	if len(extra) == 0 {
		return challengeExtra{}, nil
	}
	v, _, err := msgp.ReadIntfBytes(extra)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("extra is not a dict")
	}
	return m, nil
}

func (x challengeExtra) str(key string) string {
	s, _ := x[key].(string)
	return s
}

// count reads a positive integer, 0 when absent or not one.
func (x challengeExtra) count(key string) int {
	switch n := x[key].(type) {
	case int64:
		if n > 0 && n <= math.MaxInt32 {
			return int(n)
		}
	case uint64:
		if n <= math.MaxInt32 {
			return int(n)
		}
	case float64: // a JSON router's whole number
		if n > 0 && n <= math.MaxInt32 && n == math.Trunc(n) {
			return int(n)
		}
	}
	return 0
}

// Bounds on what a router may make the client compute.
const (
	maxCRAIterations = 10_000_000
	maxCRAKeyLen     = 1024
)

// signCRA answers a wampcra challenge: base64(HMAC-SHA256(key,
// challenge)), where key is the secret, or with salt the base64 text of
// PBKDF2-HMAC-SHA256(secret, salt, iterations, keylen) (defaults 1000
// and 32), as Autobahn derives it.
func signCRA(secret string, x challengeExtra) (string, error) {
	challenge := x.str("challenge")
	if challenge == "" {
		return "", errors.New("wampcra challenge has no challenge string")
	}
	key := []byte(secret)
	if salt := x.str("salt"); salt != "" {
		iterations, keyLen := x.count("iterations"), x.count("keylen")
		if iterations == 0 {
			iterations = 1000
		}
		if keyLen == 0 {
			keyLen = 32
		}
		if iterations > maxCRAIterations || keyLen > maxCRAKeyLen {
			return "", fmt.Errorf("wampcra challenge asks for %d iterations and a %d-byte key, over this client's bounds", iterations, keyLen)
		}
		derived, err := pbkdf2.Key(sha256.New, secret, []byte(salt), iterations, keyLen)
		if err != nil {
			return "", fmt.Errorf("wampcra key: %w", err)
		}
		key = []byte(base64.StdEncoding.EncodeToString(derived))
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(challenge))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}

// signCryptosign answers a cryptosign challenge (32 random bytes, hex):
// hex of the Ed25519 signature followed by the challenge, 96 bytes. The
// client asks for no channel binding, so a challenge that requires one
// is refused.
func signCryptosign(key ed25519.PrivateKey, x challengeExtra) (string, error) {
	if cb := x.str("channel_binding"); cb != "" {
		return "", fmt.Errorf("cryptosign challenge requires channel binding %q, which this client does not do", cb)
	}
	challenge, err := hex.DecodeString(x.str("challenge"))
	if err != nil || len(challenge) != 32 {
		return "", fmt.Errorf("cryptosign challenge %q is not 32 bytes in hex", x.str("challenge"))
	}
	return hex.EncodeToString(ed25519.Sign(key, challenge)) + hex.EncodeToString(challenge), nil
}

// LoadPrivateKey reads an Ed25519 private key for cryptosign from a file
// holding a 32-byte seed or a 64-byte key, as hex (surrounding whitespace
// ignored) or raw bytes, or a PEM "PRIVATE KEY" block (PKCS #8).
func LoadPrivateKey(path string) (ed25519.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("client: private key: %w", err)
	}
	key, err := parsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("client: private key %s: %w", path, err)
	}
	return key, nil
}

func parsePrivateKey(data []byte) (ed25519.PrivateKey, error) {
	if block, _ := pem.Decode(data); block != nil {
		if block.Type != "PRIVATE KEY" {
			return nil, fmt.Errorf("PEM block is %q, want PRIVATE KEY", block.Type)
		}
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, err
		}
		key, ok := k.(ed25519.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("PEM key is a %T, not Ed25519", k)
		}
		return key, nil
	}
	raw := data
	if text := bytes.TrimSpace(data); len(text) == 2*ed25519.SeedSize || len(text) == 2*ed25519.PrivateKeySize {
		if decoded, err := hex.DecodeString(string(text)); err == nil {
			raw = decoded
		}
	}
	switch len(raw) {
	case ed25519.SeedSize:
		return ed25519.NewKeyFromSeed(raw), nil
	case ed25519.PrivateKeySize:
		key := ed25519.NewKeyFromSeed(raw[:ed25519.SeedSize])
		if !bytes.Equal(key, raw) {
			return nil, errors.New("the 64-byte key's public half does not match its seed")
		}
		return key, nil
	}
	return nil, fmt.Errorf("%d bytes: want a 32-byte seed or a 64-byte key, as hex or raw, or PEM", len(data))
}
