package client

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tinylib/msgp/msgp"
)

// extra encodes a CHALLENGE.Extra.
func extra(t *testing.T, m map[string]any) challengeExtra {
	t.Helper()
	b, err := msgp.AppendIntf(nil, m)
	if err != nil {
		t.Fatal(err)
	}
	x, err := readChallengeExtra(b)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// The WAMP-CRA vectors of WAMP.md §8.6.
func TestSignCRA(t *testing.T) {
	const challenge = `{"authid":"peter","authmethod":"wampcra","authprovider":"userdb","authrole":"user","nonce":"LHRTC9zeOIrt_9U3","session":3251278072152162,"timestamp":"2014-06-22T16:36:25.448Z"}`
	cases := []struct {
		name  string
		extra map[string]any
		want  string
	}{
		{"plain", map[string]any{"challenge": challenge}, "etG5qq5M6zALDkdcqbeR0EFRhCi9VPYKZZPo4nck4T8="},
		{"salted", map[string]any{"challenge": challenge, "salt": "salt123", "iterations": int64(1000), "keylen": int64(32)}, "WvX9bhA1l6oHoqocoRo/rQ5jL6VJHrnUqSx5+UoWF2g="},
		{"salted, defaults", map[string]any{"challenge": challenge, "salt": "salt123"}, "WvX9bhA1l6oHoqocoRo/rQ5jL6VJHrnUqSx5+UoWF2g="},
		{"salted, unsigned and float counts", map[string]any{"challenge": challenge, "salt": "salt123", "iterations": uint64(1000), "keylen": 32.0}, "WvX9bhA1l6oHoqocoRo/rQ5jL6VJHrnUqSx5+UoWF2g="},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := signCRA("secret123", extra(t, tc.extra))
			if err != nil || got != tc.want {
				t.Errorf("signCRA = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
	for _, bad := range []map[string]any{
		{},
		{"challenge": challenge, "salt": "s", "iterations": int64(1 << 30)},
	} {
		if sig, err := signCRA("secret123", extra(t, bad)); err == nil {
			t.Errorf("signCRA(%v) = %q, want an error", bad, sig)
		}
	}
}

// The vectors without channel binding of the WAMP spec's
// authentication_cryptosign.md.
func TestSignCryptosign(t *testing.T) {
	for _, v := range []struct{ seed, challenge, signature string }{
		{"4d57d97a68f555696620a6d849c0ce582568518d729eb753dc7c732de2804510", "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
			"b32675b221f08593213737bef8240e7c15228b07028e19595294678c90d11c0cae80a357331bfc5cc9fb71081464e6e75013517c2cf067ad566a6b7b728e5d03ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"},
		{"d511fe78e23934b3dadb52fcd022974b80bd92bccc7c5cf404e46cc0a8a2f5cd", "b26c1f87c13fc1da14997f1b5a71995dff8fbe0a62fae8473c7bdbd05bfb607d",
			"d4209ad10d5aff6bfbc009d7e924795de138a63515efc7afc6b01b7fe5201372190374886a70207b042294af5bd64ce725cd8dceb344e6d11c09d1aaaf4d660fb26c1f87c13fc1da14997f1b5a71995dff8fbe0a62fae8473c7bdbd05bfb607d"},
		{"6e1fde9cf9e2359a87420b65a87dc0c66136e66945196ba2475990d8a0c3a25b", "b05e6b8ad4d69abf74aa3be3c0ee40ae07d66e1895b9ab09285a2f1192d562d2",
			"7beb282184baadd08f166f16dd683b39cab53816ed81e6955def951cb2ddad1ec184e206746fd82bda075af03711d3d5658fc84a76196b0fa8d1ebc92ef9f30bb05e6b8ad4d69abf74aa3be3c0ee40ae07d66e1895b9ab09285a2f1192d562d2"},
	} {
		key, err := parsePrivateKey([]byte(v.seed))
		if err != nil {
			t.Fatal(err)
		}
		got, err := signCryptosign(key, extra(t, map[string]any{"challenge": v.challenge, "channel_binding": nil}))
		if err != nil || got != v.signature {
			t.Errorf("seed %s…: signature %s, %v; want %s", v.seed[:8], got, err, v.signature)
		}
	}
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	for _, bad := range []map[string]any{
		{"challenge": "abcd"},
		{"challenge": "not hex"},
		{"challenge": strings.Repeat("ff", 32), "channel_binding": "tls-unique"},
	} {
		if sig, err := signCryptosign(key, extra(t, bad)); err == nil {
			t.Errorf("signCryptosign(%v) = %q, want an error", bad, sig)
		}
	}
}

func TestLoadPrivateKey(t *testing.T) {
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	seed := key.Seed()
	wrongHalf := append(append([]byte(nil), seed...), make([]byte, 32)...)
	cases := []struct {
		name string
		file []byte
		ok   bool
	}{
		{"hex seed", []byte(hex.EncodeToString(seed)), true},
		{"hex seed in whitespace", []byte("  " + hex.EncodeToString(seed) + "\n"), true},
		{"hex key", []byte(hex.EncodeToString(key) + "\n"), true},
		{"raw seed", seed, true},
		{"raw key", key, true},
		{"PEM", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), true},
		{"PEM of another type", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), false},
		{"key with a wrong public half", wrongHalf, false},
		{"short", []byte("abcd"), false},
		{"empty", nil, false},
	}
	dir := t.TempDir()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_"))
			if err := os.WriteFile(path, tc.file, 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := LoadPrivateKey(path)
			switch {
			case tc.ok && (err != nil || !key.Equal(got)):
				t.Errorf("LoadPrivateKey: %x, %v; want the key", got, err)
			case !tc.ok && err == nil:
				t.Errorf("LoadPrivateKey succeeded: %x", got)
			case !tc.ok && !strings.Contains(err.Error(), path):
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
	if _, err := LoadPrivateKey(filepath.Join(dir, "missing")); err == nil {
		t.Error("LoadPrivateKey of a missing file succeeded")
	}
}
