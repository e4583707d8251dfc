package cloud

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/wampedge/wampedge/edge/client"
)

func TestAuthentication(t *testing.T) {
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	n := StartNexus(t, NexusConfig{
		Tickets:       map[string]string{"gateway-7": "ticket-7", "both": "ticket-b"},
		Secrets:       map[string]string{"plain": "secret123", "both": "secret-b"},
		SaltedSecrets: map[string]SaltedSecret{"salty": {Password: "password123", Salt: "salt123", Iterations: 1000, KeyLen: 32}},
		Keys:          map[string]ed25519.PublicKey{"keyed": pub},
		AuthRole:      "edge",
	})
	cases := []struct {
		name   string
		cfg    client.Config
		method string // the method WELCOME names, or "" when the router refuses
	}{
		{"ticket", client.Config{AuthID: "gateway-7", Ticket: "ticket-7"}, "ticket"},
		{"wampcra", client.Config{AuthID: "plain", Secret: "secret123"}, "wampcra"},
		{"wampcra salted", client.Config{AuthID: "salty", Secret: "password123"}, "wampcra"},
		{"cryptosign", client.Config{AuthID: "keyed", PrivateKey: key}, "cryptosign"},
		// wampcra comes before ticket, and nexus takes the first it serves.
		{"preference order", client.Config{AuthID: "both", Ticket: "ticket-b", Secret: "secret-b"}, "wampcra"},
		{"wrong ticket", client.Config{AuthID: "gateway-7", Ticket: "ticket-8"}, ""},
		{"wrong secret", client.Config{AuthID: "plain", Secret: "secret124"}, ""},
		{"wrong salted password", client.Config{AuthID: "salty", Secret: "password124"}, ""},
		{"salted key used as the secret", client.Config{AuthID: "salty", Secret: DeriveCRAKey(SaltedSecret{Password: "password123", Salt: "salt123"})}, ""},
		{"wrong key", client.Config{AuthID: "keyed", PrivateKey: otherKey}, ""},
		{"unknown authid", client.Config{AuthID: "nobody", Ticket: "ticket-7"}, ""},
		{"anonymous", client.Config{}, ""},
	}
	for _, w := range wiresOf(n) {
		t.Run(w.name, func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					cfg := tc.cfg
					cfg.Serializer = w.ser
					if tc.method == "" {
						refused(t, w.url, cfg)
						return
					}
					c, err := client.Dial(opCtx(t), w.url, cfg)
					if err != nil {
						t.Fatalf("Dial: %v", err)
					}
					defer c.Close()
					if c.AuthID() != cfg.AuthID || c.AuthRole() != "edge" || c.AuthMethod() != tc.method {
						t.Errorf("joined as %q, role %q, by %q; want %q, edge, %q", c.AuthID(), c.AuthRole(), c.AuthMethod(), cfg.AuthID, tc.method)
					}
					if !c.RouterFeature("dealer", "progressive_call_results") || !c.RouterFeature("broker", "pattern_based_subscription") {
						t.Error("RouterFeature does not see what nexus announces")
					}
					if c.RouterFeature("dealer", "no_such_feature") || c.RouterFeature("no_such_role", "call_canceling") {
						t.Error("RouterFeature reports what nexus does not announce")
					}
				})
			}
		})
	}
}

func TestAnonymousBesideCredentials(t *testing.T) {
	n := StartNexus(t, NexusConfig{Anonymous: true, Tickets: map[string]string{"gateway-7": "ticket-7"}})
	w := wiresOf(n)[1]
	anon := dial(t, w, client.Config{})
	if anon.AuthMethod() != "anonymous" {
		t.Errorf("AuthMethod() = %q, want anonymous", anon.AuthMethod())
	}
	ticket := dial(t, w, client.Config{AuthID: "gateway-7", Ticket: "ticket-7"})
	if ticket.AuthMethod() != "ticket" || ticket.AuthID() != "gateway-7" || ticket.AuthRole() != "user" {
		t.Errorf("joined as %q, role %q, by %q", ticket.AuthID(), ticket.AuthRole(), ticket.AuthMethod())
	}
}

// refused checks that nexus refuses cfg with ABORT
// wamp.error.authentication_failed. nexus closes the connection right
// after queueing its ABORT and discards what is still queued, so the
// ABORT is sometimes lost and the client sees the connection end instead:
// every attempt must fail, and the first ABORT that comes must say so.
func refused(t *testing.T, url string, cfg client.Config) {
	t.Helper()
	for range 20 {
		c, err := client.Dial(opCtx(t), url, cfg)
		if err == nil {
			c.Close()
			t.Fatalf("joined as %q by %q", c.AuthID(), c.AuthMethod())
		}
		var abort *client.AbortError
		if errors.As(err, &abort) {
			if abort.Reason != "wamp.error.authentication_failed" {
				t.Fatalf("Dial: %v, want ABORT wamp.error.authentication_failed", err)
			}
			return
		}
	}
	t.Fatal("no ABORT in 20 refusals")
}
