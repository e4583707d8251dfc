package cloud

import (
	"crypto/ed25519"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	nexus "github.com/gammazero/nexus/v3/router"
	"github.com/gammazero/nexus/v3/router/auth"
	"github.com/gammazero/nexus/v3/transport"
	"github.com/gammazero/nexus/v3/wamp"
)

// NexusConfig says which realm a nexus router serves and who may join it.
// With no credentials at all the realm is open to anonymous clients.
type NexusConfig struct {
	Realm     string // "realm1" when empty
	Anonymous bool   // let anonymous clients join besides those with credentials

	Tickets       map[string]string            // authid → ticket
	Secrets       map[string]string            // authid → wampcra secret, the HMAC key as it is
	SaltedSecrets map[string]SaltedSecret      // authid → wampcra password the router salts
	Keys          map[string]ed25519.PublicKey // authid → cryptosign public key

	AuthRole string    // the authrole of every authid ("user" when empty)
	Log      io.Writer // nexus's log; discarded when nil

	// OnStart, if set, runs each time the router starts, before its ports
	// accept connections: for sessions that must be in place before any
	// other can arrive (see Pipe).
	OnStart func(n *Nexus)
}

// SaltedSecret is a wampcra password that nexus keeps only as its
// derived key, announcing the salt, iterations and key length in the
// CHALLENGE (0 means the WAMP-CRA defaults, 1000 and 32).
type SaltedSecret struct {
	Password   string
	Salt       string
	Iterations int
	KeyLen     int
}

// Nexus is a nexus router on two loopback ports: RawSocket (both
// serializers) and WebSocket (wamp.2.json, wamp.2.msgpack). The ports
// stay the same when it is stopped and restarted.
type Nexus struct {
	RawSocketURL string // tcp://127.0.0.1:PORT
	WebSocketURL string // ws://127.0.0.1:PORT/

	cfg     NexusConfig
	rawAddr string
	wsAddr  string

	mu      sync.Mutex
	router  nexus.Router // nil while stopped
	rawLn   net.Listener
	wsLn    net.Listener
	conns   map[net.Conn]struct{}
	serving sync.WaitGroup // the accept loops

	accepted atomic.Int64 // connections accepted on the ports, ever
}

// Connections is the number of connections the ports have accepted
// since the start: how often a client tried.
func (n *Nexus) Connections() int { return int(n.accepted.Load()) }

// StartNexus starts a nexus router on free loopback ports; it is stopped
// when the test ends.
func StartNexus(t testing.TB, cfg NexusConfig) *Nexus {
	t.Helper()
	if cfg.Realm == "" {
		cfg.Realm = "realm1"
	}
	if cfg.AuthRole == "" {
		cfg.AuthRole = "user"
	}
	n := &Nexus{cfg: cfg}
	rawLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	wsLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		rawLn.Close()
		t.Fatal(err)
	}
	n.rawAddr, n.wsAddr = rawLn.Addr().String(), wsLn.Addr().String()
	n.RawSocketURL = "tcp://" + n.rawAddr
	n.WebSocketURL = "ws://" + n.wsAddr + "/"
	if err := n.serve(rawLn, wsLn); err != nil {
		rawLn.Close()
		wsLn.Close()
		t.Fatal(err)
	}
	t.Cleanup(n.Stop)
	return n
}

// Stop shuts the router down the orderly way: every session gets GOODBYE
// wamp.close.system_shutdown, then the connections and listeners close.
// The ports refuse connections until Restart.
func (n *Nexus) Stop() { n.halt(false) }

// Kill takes the router away at once, as a crash or a lost network
// would: every connection is dropped with no WAMP message. The ports
// refuse connections until Restart.
func (n *Nexus) Kill() { n.halt(true) }

// Restart brings up a fresh router (no sessions, subscriptions or
// registrations) on the same ports, stopping the running one first.
func (n *Nexus) Restart(t testing.TB) {
	t.Helper()
	n.Stop()
	// The ports were ours a moment ago; a listener only just closed may
	// take a moment to free its port.
	var rawLn, wsLn net.Listener
	var err error
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if rawLn == nil {
			rawLn, err = net.Listen("tcp", n.rawAddr)
		}
		if rawLn != nil && wsLn == nil {
			wsLn, err = net.Listen("tcp", n.wsAddr)
		}
		if wsLn != nil || time.Now().After(deadline) {
			break
		}
	}
	if err == nil {
		err = n.serve(rawLn, wsLn)
	}
	if err != nil {
		for _, ln := range []net.Listener{rawLn, wsLn} {
			if ln != nil {
				ln.Close()
			}
		}
		t.Fatalf("restarting nexus on %s and %s: %v", n.rawAddr, n.wsAddr, err)
	}
}

// serve starts a router and its accept loops on the listeners.
func (n *Nexus) serve(rawLn, wsLn net.Listener) error {
	out := n.cfg.Log
	if out == nil {
		out = io.Discard
	}
	r, err := nexus.NewRouter(&nexus.Config{RealmConfigs: []*nexus.RealmConfig{n.realmConfig()}}, log.New(out, "nexus: ", log.Lmicroseconds))
	if err != nil {
		return err
	}
	n.mu.Lock()
	n.router, n.rawLn, n.wsLn, n.conns = r, rawLn, wsLn, map[net.Conn]struct{}{}
	n.mu.Unlock()
	if n.cfg.OnStart != nil {
		n.cfg.OnStart(n)
	}
	n.serving.Add(2)
	// RawSocket: nexus's own accept path (handshake, then attach), on a
	// listener of ours so that Kill can drop the connections.
	go func() {
		defer n.serving.Done()
		for {
			conn, err := n.accept(rawLn)
			if err != nil {
				return
			}
			go func() {
				peer, err := transport.AcceptRawSocket(conn, r.Logger(), 0, 64)
				if err != nil {
					return
				}
				r.Attach(peer)
			}()
		}
	}()
	ws := nexus.NewWebsocketServer(r)
	srv := &http.Server{Handler: ws, ReadHeaderTimeout: 5 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	go func() {
		defer n.serving.Done()
		srv.Serve(trackingListener{wsLn, n}) // until the listener closes
	}()
	return nil
}

// pipeQueue is the outbound queue of a Pipe session: nexus drops what
// does not fit, and a test's observer must see every message.
const pipeQueue = 1 << 14

// Pipe connects to the running router in memory and returns the
// client's end, ready for a RawSocket handshake (rawsocket.Connect).
// Stop and Kill drop it like any other connection.
func (n *Nexus) Pipe() net.Conn {
	routerEnd, clientEnd := net.Pipe()
	n.mu.Lock()
	r := n.router
	n.conns[routerEnd] = struct{}{}
	n.mu.Unlock()
	go func() {
		peer, err := transport.AcceptRawSocket(routerEnd, r.Logger(), 0, pipeQueue)
		if err != nil {
			return
		}
		r.Attach(peer)
	}()
	return clientEnd
}

// accept accepts a connection and keeps it for Kill.
func (n *Nexus) accept(ln net.Listener) (net.Conn, error) {
	conn, err := ln.Accept()
	if err != nil {
		return nil, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.conns == nil { // halted meanwhile
		conn.Close()
		return nil, net.ErrClosed
	}
	n.conns[conn] = struct{}{}
	n.accepted.Add(1)
	return conn, nil
}

// trackingListener hands the HTTP server connections that Kill can drop
// (hijacked WebSocket connections are out of the server's reach).
type trackingListener struct {
	net.Listener
	n *Nexus
}

func (l trackingListener) Accept() (net.Conn, error) { return l.n.accept(l.Listener) }

func (n *Nexus) halt(abrupt bool) {
	n.mu.Lock()
	r, rawLn, wsLn, conns := n.router, n.rawLn, n.wsLn, n.conns
	n.router, n.conns = nil, nil
	n.mu.Unlock()
	if r == nil {
		return
	}
	rawLn.Close()
	wsLn.Close()
	if abrupt {
		for conn := range conns {
			conn.Close()
		}
	}
	r.Close()
	for conn := range conns {
		conn.Close()
	}
	n.serving.Wait()
}

func (n *Nexus) realmConfig() *nexus.RealmConfig {
	ks := keyStore{n.cfg}
	rc := &nexus.RealmConfig{
		URI:           wamp.URI(n.cfg.Realm),
		AllowDisclose: true,
		AnonymousAuth: n.cfg.Anonymous,
	}
	if len(n.cfg.Tickets) > 0 {
		rc.Authenticators = append(rc.Authenticators, auth.NewTicketAuthenticator(ks, time.Second))
	}
	if len(n.cfg.Secrets) > 0 || len(n.cfg.SaltedSecrets) > 0 {
		rc.Authenticators = append(rc.Authenticators, auth.NewCRAuthenticator(ks, time.Second))
	}
	if len(n.cfg.Keys) > 0 {
		rc.Authenticators = append(rc.Authenticators, auth.NewCryptoSignAuthenticator(ks, time.Second))
	}
	if len(rc.Authenticators) == 0 {
		rc.AnonymousAuth = true
	}
	return rc
}

// keyStore gives nexus's authenticators the credentials of a NexusConfig
// in the form each expects.
type keyStore struct{ cfg NexusConfig }

var errNoSuchAuthID = errors.New("no such authid")

func (ks keyStore) AuthKey(authid, authmethod string) ([]byte, error) {
	switch authmethod {
	case "ticket":
		if t, ok := ks.cfg.Tickets[authid]; ok {
			return []byte(t), nil
		}
	case "wampcra":
		// A salted secret's key is the base64 text of its PBKDF2 key,
		// exactly what a client derives from the password.
		if s, ok := ks.cfg.SaltedSecrets[authid]; ok {
			return []byte(DeriveCRAKey(s)), nil
		}
		if s, ok := ks.cfg.Secrets[authid]; ok {
			return []byte(s), nil
		}
	case "cryptosign":
		if k, ok := ks.cfg.Keys[authid]; ok {
			return k, nil // the 32 bytes of the public key
		}
	}
	return nil, errNoSuchAuthID
}

func (ks keyStore) PasswordInfo(authid string) (salt string, keylen int, iterations int) {
	s, ok := ks.cfg.SaltedSecrets[authid]
	if !ok {
		return "", 0, 0
	}
	keylen, iterations = craDefaults(s)
	return s.Salt, keylen, iterations
}

func (ks keyStore) AuthRole(authid string) (string, error) {
	for _, known := range []bool{
		ks.cfg.Tickets[authid] != "", ks.cfg.Secrets[authid] != "",
		ks.cfg.SaltedSecrets[authid].Password != "", ks.cfg.Keys[authid] != nil,
	} {
		if known {
			return ks.cfg.AuthRole, nil
		}
	}
	return "", errNoSuchAuthID
}

func (keyStore) Provider() string { return "static" }

// DeriveCRAKey is the key a router stores for a salted wampcra password:
// base64 of PBKDF2-HMAC-SHA256(password, salt, iterations, keylen).
func DeriveCRAKey(s SaltedSecret) string {
	keylen, iterations := craDefaults(s)
	key, err := pbkdf2.Key(sha256.New, s.Password, []byte(s.Salt), iterations, keylen)
	if err != nil {
		panic(err) // only in FIPS mode, with keys too short for it
	}
	return base64.StdEncoding.EncodeToString(key)
}

func craDefaults(s SaltedSecret) (keylen, iterations int) {
	keylen, iterations = s.KeyLen, s.Iterations
	if keylen == 0 {
		keylen = 32
	}
	if iterations == 0 {
		iterations = 1000
	}
	return keylen, iterations
}
