package edge_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"math/big"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wampedge/wampedge/codec"
	"github.com/wampedge/wampedge/edge"
	"github.com/wampedge/wampedge/edge/client"
	"github.com/wampedge/wampedge/rawsocket"
)

// The security model: authentication per realm and listener, roles and
// their permissions, realm isolation, and the limits.

var (
	_, gwKey, _    = ed25519.GenerateKey(nil)
	_, otherKey, _ = ed25519.GenerateKey(nil)
)

// sitePolicy: anonymous joins only over the Unix socket, as "device";
// an operator with a hashed ticket, a service with salted WAMP-CRA, a
// gateway with cryptosign.
func sitePolicy() *edge.RealmPolicy {
	return &edge.RealmPolicy{
		Anonymous: &edge.AnonymousPolicy{Role: "device", Listeners: []string{"unix"}},
		Users: []edge.User{
			{AuthID: "op", Role: "operator", Ticket: edge.HashTicket("op-ticket")},
			{AuthID: "plain", Role: "operator", Ticket: "plain-ticket"},
			{AuthID: "svc", Role: "operator", CRA: &edge.CRAKey{Key: edge.DeriveCRAKey("svc-pw", "s4lt", 100, 32), Salt: "s4lt", Iterations: 100, KeyLen: 32}},
			{AuthID: "svc-plain", Role: "operator", CRA: &edge.CRAKey{Key: "plain-secret"}},
			{AuthID: "gw", Role: "device", Keys: []ed25519.PublicKey{gwKey.Public().(ed25519.PublicKey)}},
		},
		Roles: []edge.Role{
			{Name: "device", Rules: []edge.Rule{
				{URI: "dev.", Match: "prefix", Allow: []edge.Action{"publish", "subscribe", "register", "call"}},
				{URI: "dev.secret", Deny: []edge.Action{"subscribe"}},                         // exact beats prefix
				{URI: "dev.admin.", Match: "prefix", Deny: []edge.Action{"call", "register"}}, // longer prefix wins
				{URI: "dev..public", Match: "wildcard", Allow: []edge.Action{"call"}},         // loses to the prefixes
				{URI: "cmd.", Match: "prefix", Allow: []edge.Action{"subscribe"}},
			}},
			{Name: "operator", Rules: []edge.Rule{
				{URI: "", Match: "prefix", Allow: []edge.Action{"publish", "subscribe", "register", "call"}},
				{URI: "cmd.", Match: "prefix", Allow: []edge.Action{"publish"}, Disclose: true},
			}},
		},
	}
}

func siteBed(t *testing.T, cfg edge.Config) *testbed {
	cfg.Realms = []string{"site", "other"}
	if cfg.Policies == nil {
		cfg.Policies = map[string]*edge.RealmPolicy{"site": sitePolicy()}
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return newTestbed(t, &cfg)
}

func dialAs(t *testing.T, tb *testbed, transport string, cfg client.Config) (*client.Client, error) {
	t.Helper()
	if cfg.Realm == "" {
		cfg.Realm = "site"
	}
	c, err := client.Dial(opCtx(t), tb.urls[transport], cfg)
	if err == nil {
		t.Cleanup(func() { c.Close() })
	}
	return c, err
}

func abortURI(err error) string {
	var a *client.AbortError
	if errors.As(err, &a) {
		return a.Reason
	}
	return ""
}

func TestAuthentication(t *testing.T) {
	tb := siteBed(t, edge.Config{})
	for _, tc := range []struct {
		name      string
		transport string
		cfg       client.Config
		role      string // "" when refused
		refusal   string
	}{
		{"anonymous on the Unix socket", "unix", client.Config{}, "device", ""},
		{"anonymous on TCP", "tcp", client.Config{}, "", "wamp.error.no_matching_auth_method"},
		{"hashed ticket", "tcp", client.Config{AuthID: "op", Ticket: "op-ticket"}, "operator", ""},
		{"plain ticket", "tcp", client.Config{AuthID: "plain", Ticket: "plain-ticket"}, "operator", ""},
		{"wrong ticket", "tcp", client.Config{AuthID: "op", Ticket: "nope"}, "", "wamp.error.authentication_failed"},
		{"unknown authid", "tcp", client.Config{AuthID: "nobody", Ticket: "op-ticket"}, "", "wamp.error.authentication_failed"},
		{"salted wampcra", "tcp", client.Config{AuthID: "svc", Secret: "svc-pw"}, "operator", ""},
		{"plain wampcra", "tcp", client.Config{AuthID: "svc-plain", Secret: "plain-secret"}, "operator", ""},
		{"wrong wampcra", "tcp", client.Config{AuthID: "svc", Secret: "guess"}, "", "wamp.error.authentication_failed"},
		{"cryptosign", "tcp", client.Config{AuthID: "gw", PrivateKey: gwKey}, "device", ""},
		{"cryptosign without authid", "tcp", client.Config{PrivateKey: gwKey}, "device", ""},
		{"cryptosign, unknown key", "tcp", client.Config{AuthID: "gw", PrivateKey: otherKey}, "", "wamp.error.authentication_failed"},
		{"cryptosign, someone else's key", "tcp", client.Config{AuthID: "op", PrivateKey: gwKey}, "", "wamp.error.authentication_failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := dialAs(t, tb, tc.transport, tc.cfg)
			if tc.role == "" {
				if got := abortURI(err); got != tc.refusal {
					t.Fatalf("got %v, want ABORT %s", err, tc.refusal)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.AuthRole() != tc.role || (tc.cfg.AuthID != "" && c.AuthID() != tc.cfg.AuthID) {
				t.Errorf("joined as %s/%s via %s", c.AuthID(), c.AuthRole(), c.AuthMethod())
			}
		})
	}
	if tb.Stats().AuthFailures != 5 {
		t.Errorf("AuthFailures = %d, want 5", tb.Stats().AuthFailures)
	}
	// An open realm still takes anonymous clients anywhere.
	if _, err := dialAs(t, tb, "tcp", client.Config{Realm: "other"}); err != nil {
		t.Fatal(err)
	}
}

func TestAuthorization(t *testing.T) {
	tb := siteBed(t, edge.Config{})
	device, err := dialAs(t, tb, "unix", client.Config{})
	if err != nil {
		t.Fatal(err)
	}
	op, err := dialAs(t, tb, "tcp", client.Config{AuthID: "op", Ticket: "op-ticket"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := opCtx(t)
	denied := func(what string, err error) {
		t.Helper()
		if e := wampError(t, err, "wamp.error.not_authorized"); len(e.Payload.Args) == 0 {
			t.Errorf("%s: no message", what)
		}
	}
	// Allowed by the prefix rule.
	temps, _ := eventsOf(t, op, "dev.temp", 4)
	if err := device.Publish(ctx, "dev.temp", client.Args(1), client.PublishOptions{Acknowledge: true}); err != nil {
		t.Fatal(err)
	}
	receive(t, temps, "an allowed event")
	// Denied: outside every rule, and by the more specific rules.
	denied("publish elsewhere", device.Publish(ctx, "sys.reboot", client.Args(), client.PublishOptions{Acknowledge: true}))
	_, err = device.Subscribe(ctx, "dev.secret", func(*client.Event) {})
	denied("subscribe dev.secret", err)
	_, err = device.Register(ctx, "dev.admin.reset", func(context.Context, *client.Invocation) (client.Payload, error) { return client.Payload{}, nil })
	denied("register under dev.admin.", err)
	_, err = device.Call(ctx, "dev.admin.public", client.Payload{})
	denied("call dev.admin.public: the longer prefix beats the wildcard", err)
	_, err = device.Call(ctx, "wamp.session.count", client.Payload{})
	denied("the meta API", err)
	// An unacknowledged denied publish: nothing happens.
	device.Publish(ctx, "sys.reboot", client.Args(), client.PublishOptions{})
	// The disclose rule: the operator's commands always name it.
	cmds, _ := eventsOf(t, device, "cmd.valve", 4)
	if err := op.Publish(ctx, "cmd.valve", client.Args("open"), client.PublishOptions{Acknowledge: true}); err != nil {
		t.Fatal(err)
	}
	if ev := receive(t, cmds, "a command"); ev.Publisher != op.ID() || ev.PublisherAuthID != "op" || ev.PublisherAuthRole != "operator" {
		t.Errorf("command from %d/%s/%s, want the operator disclosed", ev.Publisher, ev.PublisherAuthID, ev.PublisherAuthRole)
	}
	// The operator may use the meta API.
	if _, err := op.Call(ctx, "wamp.session.count", client.Payload{}); err != nil {
		t.Fatal(err)
	}
}

// Realm isolation holds for pattern subscriptions that match everything
// and for the meta API too (TestRealmIsolation covers exact ones).
func TestRealmIsolationPatternsAndMeta(t *testing.T) {
	tb := newTestbed(t, &edge.Config{Realms: []string{"a", "b"}})
	w := wires[1]
	inA, inB := tb.clientIn(t, w, "a"), tb.clientIn(t, w, "b")
	evA := make(chan *client.Event, 16)
	if _, err := inA.SubscribeWith(opCtx(t), "com.", client.SubscribeOptions{Match: "prefix"}, func(e *client.Event) { evA <- e }); err != nil {
		t.Fatal(err)
	}
	evB, _ := eventsOf(t, inB, "com.example.t", 4)
	inA.Register(opCtx(t), "com.example.p", func(context.Context, *client.Invocation) (client.Payload, error) {
		return client.Args("a"), nil
	})
	pubB := tb.clientIn(t, w, "b")
	pubB.Publish(opCtx(t), "com.example.t", client.Args(1), client.PublishOptions{Acknowledge: true})
	receive(t, evB, "the event in realm b")
	_, err := pubB.Call(opCtx(t), "com.example.p", client.Payload{})
	wampError(t, err, "wamp.error.no_such_procedure")
	select {
	case ev := <-evA:
		t.Fatalf("realm a got an event of realm b: %s", ev.Topic)
	case <-time.After(50 * time.Millisecond):
	}
	// Meta API answers for the caller's realm only.
	res, err := pubB.Call(opCtx(t), "wamp.session.count", client.Payload{})
	if err != nil || res.Args[0] != int64(2) {
		t.Errorf("wamp.session.count in realm b: %v %v", res, err)
	}
}

func TestLimits(t *testing.T) {
	w := wires[1]
	t.Run("sessions", func(t *testing.T) {
		tb := newTestbed(t, &edge.Config{MaxSessions: 2, Realms: []string{"realm1", "small"},
			Policies: map[string]*edge.RealmPolicy{"small": {MaxSessions: 1}}})
		tb.clientIn(t, w, "small")
		_, err := client.Dial(opCtx(t), tb.urls["tcp"], client.Config{Realm: "small"})
		if abortURI(err) != "wampedge.error.too_many_sessions" {
			t.Fatalf("a second session in a realm of one: %v", err)
		}
		tb.client(t, w)
		_, err = client.Dial(opCtx(t), tb.urls["tcp"], client.Config{})
		if abortURI(err) != "wampedge.error.too_many_sessions" {
			t.Fatalf("a third session on a router of two: %v", err)
		}
	})
	t.Run("per session", func(t *testing.T) {
		tb := newTestbed(t, &edge.Config{MaxSubscriptions: 2, MaxRegistrations: 1, MaxPendingCalls: 2})
		c := tb.client(t, w)
		ctx := opCtx(t)
		c.Subscribe(ctx, "a", func(*client.Event) {})
		c.Subscribe(ctx, "b", func(*client.Event) {})
		_, err := c.Subscribe(ctx, "c", func(*client.Event) {})
		wampError(t, err, "wampedge.error.too_many_subscriptions")
		release := make(chan struct{})
		var started atomic.Int32
		c.Register(ctx, "slow", func(context.Context, *client.Invocation) (client.Payload, error) {
			started.Add(1)
			<-release
			return client.Payload{}, nil
		})
		_, err = c.Register(ctx, "other", func(context.Context, *client.Invocation) (client.Payload, error) { return client.Payload{}, nil })
		wampError(t, err, "wampedge.error.too_many_registrations")
		caller := tb.client(t, w)
		done := make(chan error, 2)
		for range 2 {
			go func() { _, err := caller.Call(ctx, "slow", client.Payload{}); done <- err }()
		}
		waitFor(t, "two calls in progress", func() bool { return started.Load() == 2 })
		_, err = caller.Call(ctx, "slow", client.Payload{})
		wampError(t, err, "wampedge.error.too_many_calls")
		close(release)
		for range 2 {
			if err := receive(t, done, "a call's answer"); err != nil {
				t.Fatal(err)
			}
		}
	})
	t.Run("call timeout", func(t *testing.T) {
		tb := newTestbed(t, &edge.Config{CallTimeout: 300 * time.Millisecond})
		callee, caller := tb.client(t, w), tb.client(t, w)
		ctx := opCtx(t)
		interrupted := make(chan error, 1)
		callee.Register(ctx, "hang", func(ctx context.Context, _ *client.Invocation) (client.Payload, error) {
			<-ctx.Done()
			interrupted <- context.Cause(ctx)
			return client.Payload{}, ctx.Err()
		})
		start := time.Now()
		_, err := caller.Call(ctx, "hang", client.Payload{})
		wampError(t, err, "wamp.error.timeout")
		if cause := receive(t, interrupted, "the callee's INTERRUPT"); !errors.Is(cause, client.ErrInterrupted) {
			t.Errorf("the callee's context ended with %v", cause)
		}
		// The caller's own, shorter timeout applies within the cap.
		_, err = caller.CallWith(ctx, "hang", client.Payload{}, client.CallOptions{Timeout: 50 * time.Millisecond})
		wampError(t, err, "wamp.error.timeout")
		t.Logf("cap 300ms: the first call ended after %v", time.Since(start))
		// Progressive results restart the clock.
		callee.Register(ctx, "ticker", func(ctx context.Context, inv *client.Invocation) (client.Payload, error) {
			for i := range 4 {
				time.Sleep(150 * time.Millisecond)
				inv.Progress(ctx, client.Args(i))
			}
			return client.Args("done"), nil
		})
		n := 0
		res, err := caller.CallWith(ctx, "ticker", client.Payload{}, client.CallOptions{Progress: func(*client.Result) { n++ }})
		if err != nil || n != 4 || res.Args[0] != "done" {
			t.Errorf("a call with progressive results every 150ms under a 300ms cap: %v, %d results", err, n)
		}
	})
}

// Cryptosign with the tls-exporter channel binding (RFC 9266): the
// signature covers challenge ⊕ channel ID, so it cannot be replayed on
// another TLS connection.
func TestCryptosignChannelBinding(t *testing.T) {
	cert, pool := testCert(t)
	r := edge.New(&edge.Config{Realms: []string{"site"}, Policies: map[string]*edge.RealmPolicy{"site": sitePolicy()}})
	t.Cleanup(func() { r.Close(context.Background()) })
	l, err := r.Listen("tls://127.0.0.1:0", rawsocket.ListenConfig{TLS: &tls.Config{Certificates: []tls.Certificate{cert}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, bound := range []bool{true, false} {
		conn, err := rawsocket.Dial(opCtx(t), l.Endpoint().String(), codec.MsgPack, rawsocket.DialConfig{TLS: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		pub := gwKey.Public().(ed25519.PublicKey)
		d, _ := (&codec.HelloDetails{
			Roles: map[string]codec.Role{"caller": {}}, AuthMethods: []string{"cryptosign"}, AuthID: "gw",
			AuthExtra: map[string]any{"pubkey": hex.EncodeToString(pub), "channel_binding": "tls-exporter"},
		}).MarshalMsg(nil)
		conn.WriteMsg((&codec.Hello{Realm: []byte("site"), Details: d}).Append(nil))
		var ch codec.Challenge
		readInto(t, conn, &ch)
		var extra codec.ChallengeExtra
		extra.Decode(ch.Extra)
		if extra.ChannelBinding != "tls-exporter" {
			t.Fatalf("CHALLENGE channel_binding %q over TLS", extra.ChannelBinding)
		}
		msg, _ := hex.DecodeString(extra.Challenge)
		if bound {
			id, err := conn.TLS().ExportKeyingMaterial("EXPORTER-Channel-Binding", nil, 32)
			if err != nil {
				t.Fatal(err)
			}
			for i := range msg {
				msg[i] ^= id[i]
			}
		}
		sig := append(ed25519.Sign(gwKey, msg), msg...)
		conn.WriteMsg((&codec.Authenticate{Signature: []byte(hex.EncodeToString(sig)), Extra: []byte{0x80}}).Append(nil))
		frame, err := conn.ReadMsg()
		if err != nil {
			t.Fatal(err)
		}
		typ, _ := codec.TypeOf(frame)
		if want := map[bool]codec.Type{true: codec.TypeWelcome, false: codec.TypeAbort}[bound]; typ != want {
			t.Errorf("bound %v: got %v, want %v", bound, typ, want)
		}
	}
}

func readInto(t *testing.T, conn *rawsocket.Conn, m interface{ Decode([]byte) error }) {
	t.Helper()
	frame, err := conn.ReadMsg()
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Decode(append([]byte(nil), frame...)); err != nil {
		t.Fatalf("%v: %x", err, frame)
	}
}

func testCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(c)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}
