package client_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/tinylib/msgp/msgp"
	"github.com/wampedge/wampedge/codec"
	"github.com/wampedge/wampedge/edge/client"
	"github.com/wampedge/wampedge/rawsocket"
)

// challenger is a fake router's authentication: it checks HELLO, then
// sends CHALLENGE with extra and checks the signature; "" means no
// CHALLENGE (a router that welcomes or aborts at once).
type challenger struct {
	method string
	extra  map[string]any
	check  func(hello codec.HelloDetails, signature string) error
}

// authRouter runs one handshake per connection: HELLO, CHALLENGE,
// AUTHENTICATE, then WELCOME (as authid, role "edge", by method) or the
// ABORT a failed check earns. It reports the check's verdict, or the
// client's own ABORT, on the returned channel.
func authRouter(t *testing.T, ch challenger) (url string, verdict <-chan error) {
	t.Helper()
	out := make(chan error, 1)
	url = fakeRouter(t, func(conn *rawsocket.Conn, wire codec.Codec) {
		m, err := fakeRead(conn, wire)
		if err != nil {
			return
		}
		var hd codec.HelloDetails
		if err := hd.Decode(m.(*codec.Hello).Details); err != nil {
			out <- err
			return
		}
		extra, err := msgp.AppendIntf(nil, ch.extra)
		if err != nil {
			out <- err
			return
		}
		if fakeSend(conn, wire, &codec.Challenge{AuthMethod: []byte(ch.method), Extra: extra}) != nil {
			return
		}
		m, err = fakeRead(conn, wire)
		if err != nil {
			return
		}
		switch m := m.(type) {
		case *codec.Abort:
			out <- errors.New("client aborted: " + string(m.Reason))
			return
		case *codec.Authenticate:
			if err := ch.check(hd, string(m.Signature)); err != nil {
				out <- err
				d, _ := (&codec.CloseDetails{Message: "bad signature"}).MarshalMsg(nil)
				fakeSend(conn, wire, &codec.Abort{Details: d, Reason: []byte("wamp.error.authentication_failed")})
				return
			}
		}
		out <- nil
		d, _ := (&codec.WelcomeDetails{
			Roles:  map[string]codec.Role{"dealer": {Features: map[string]bool{"progressive_call_results": true}}},
			AuthID: hd.AuthID, AuthRole: "edge", AuthMethod: ch.method, AuthProvider: "static",
		}).MarshalMsg(nil)
		if fakeSend(conn, wire, &codec.Welcome{Session: 1, Details: d}) == nil {
			fakeRead(conn, wire) // GOODBYE
			fakeSend(conn, wire, &codec.Goodbye{Reason: []byte("wamp.close.goodbye_and_out")})
		}
	})
	return url, out
}

func TestAuthenticationHandshake(t *testing.T) {
	// The WAMP-CRA vector of WAMP.md §8.6, salted.
	const craChallenge = `{"authid":"peter","authmethod":"wampcra","authprovider":"userdb","authrole":"user","nonce":"LHRTC9zeOIrt_9U3","session":3251278072152162,"timestamp":"2014-06-22T16:36:25.448Z"}`
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	challenge := make([]byte, 32)
	rand.Read(challenge)
	offers := func(want ...string) func(codec.HelloDetails) error {
		return func(hd codec.HelloDetails) error {
			if !reflect.DeepEqual(hd.AuthMethods, want) {
				return errors.New("offered " + strings.Join(hd.AuthMethods, ","))
			}
			return nil
		}
	}
	cases := []struct {
		name string
		cfg  client.Config
		ch   challenger
	}{
		{"ticket", client.Config{AuthID: "gw-7", AuthRole: "edge", Ticket: "ticket-7"}, challenger{"ticket", nil, func(hd codec.HelloDetails, sig string) error {
			if err := offers("ticket")(hd); err != nil {
				return err
			}
			if hd.AuthID != "gw-7" || hd.AuthRole != "edge" || sig != "ticket-7" {
				return errors.New("ticket " + sig + " for " + hd.AuthID + " as " + hd.AuthRole)
			}
			return nil
		}}},
		{"wampcra salted", client.Config{AuthID: "peter", Secret: "secret123"}, challenger{"wampcra",
			map[string]any{"challenge": craChallenge, "salt": "salt123", "iterations": int64(1000), "keylen": int64(32)},
			func(hd codec.HelloDetails, sig string) error {
				if err := offers("wampcra")(hd); err != nil {
					return err
				}
				if sig != "WvX9bhA1l6oHoqocoRo/rQ5jL6VJHrnUqSx5+UoWF2g=" {
					return errors.New("signature " + sig)
				}
				return nil
			}}},
		{"cryptosign", client.Config{PrivateKey: key}, challenger{"cryptosign",
			map[string]any{"challenge": hex.EncodeToString(challenge), "channel_binding": nil},
			func(hd codec.HelloDetails, sig string) error {
				if err := offers("cryptosign")(hd); err != nil {
					return err
				}
				if hd.AuthExtra["pubkey"] != hex.EncodeToString(pub) {
					return errors.New("authextra does not name the public key")
				}
				signed, err := hex.DecodeString(sig)
				if err != nil || len(signed) != 96 || !bytes.Equal(signed[64:], challenge) || !ed25519.Verify(pub, challenge, signed[:64]) {
					return errors.New("signature " + sig)
				}
				return nil
			}}},
		{"every method, in order", client.Config{AuthID: "gw-7", PrivateKey: key, Secret: "s", Ticket: "ticket-7"}, challenger{"ticket", nil, func(hd codec.HelloDetails, sig string) error {
			return offers("cryptosign", "wampcra", "ticket")(hd)
		}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			url, verdict := authRouter(t, tc.ch)
			c, err := client.Dial(opCtx(t), url, tc.cfg)
			if v := receive(t, verdict, "the router's verdict"); v != nil {
				t.Fatalf("the router: %v", v)
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if c.AuthID() != tc.cfg.AuthID || c.AuthRole() != "edge" || c.AuthMethod() != tc.ch.method {
				t.Errorf("joined as %q, role %q, by %q", c.AuthID(), c.AuthRole(), c.AuthMethod())
			}
			if !c.RouterFeature("dealer", "progressive_call_results") {
				t.Error("RouterFeature misses what WELCOME announced")
			}
		})
	}

	t.Run("refused", func(t *testing.T) {
		url, verdict := authRouter(t, challenger{"ticket", nil, func(codec.HelloDetails, string) error { return errors.New("wrong ticket") }})
		_, err := client.Dial(opCtx(t), url, client.Config{AuthID: "gw-7", Ticket: "ticket-8"})
		receive(t, verdict, "the router's verdict")
		var abort *client.AbortError
		if !errors.As(err, &abort) || abort.Reason != "wamp.error.authentication_failed" || abort.Message != "bad signature" {
			t.Errorf("Dial: %v, want ABORT wamp.error.authentication_failed", err)
		}
	})

	for _, tc := range []struct {
		name   string
		cfg    client.Config
		method string
	}{
		{"anonymous client challenged", client.Config{}, "ticket"},
		{"challenged for a method not offered", client.Config{AuthID: "gw-7", Ticket: "ticket-7"}, "wampcra"},
		{"unknown method", client.Config{AuthID: "gw-7", Ticket: "ticket-7"}, "scram"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url, verdict := authRouter(t, challenger{tc.method, map[string]any{"challenge": "x"}, nil})
			_, err := client.Dial(opCtx(t), url, tc.cfg)
			var abort *client.AbortError
			if err == nil || errors.As(err, &abort) || !strings.Contains(err.Error(), tc.method) {
				t.Errorf("Dial: %v, want an error naming %s", err, tc.method)
			}
			if v := receive(t, verdict, "the client's ABORT"); v == nil || !strings.Contains(v.Error(), "wamp.error.cannot_authenticate") {
				t.Errorf("the router got %v, want ABORT wamp.error.cannot_authenticate", v)
			}
		})
	}

	t.Run("short private key", func(t *testing.T) {
		_, err := client.Dial(opCtx(t), startRouter(t).urls["tcp"], client.Config{PrivateKey: key[:32]})
		if err == nil || !strings.Contains(err.Error(), "private key") {
			t.Errorf("Dial: %v", err)
		}
	})
}
