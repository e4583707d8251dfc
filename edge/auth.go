package edge

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tinylib/msgp/msgp"
	"github.com/wampedge/wampedge/codec"
)

// Authentication (WAMP.md §8.6): the router picks the first method the
// client offers that the realm has for it, sends CHALLENGE, and checks
// AUTHENTICATE. Secrets are compared in constant time.

// Authentication methods.
const (
	authAnonymous  = "anonymous"
	authTicket     = "ticket"
	authWAMPCRA    = "wampcra"
	authCryptosign = "cryptosign"
)

// challenge is what a session waits to see signed.
type challenge struct {
	rl      *realm
	p       *policy
	method  string
	user    *User  // nil: an unknown authid, which fails like a wrong secret
	authid  string // as asked
	message []byte // wampcra: the challenge string; cryptosign: challenge ⊕ channel id
	key     ed25519.PublicKey
}

// ticketHashPrefix marks a ticket stored as a salted hash.
const ticketHashPrefix = "pbkdf2-sha256$"

// ticketIterations is the PBKDF2 cost of a hashed ticket: about 20 ms on
// a Raspberry Pi Zero, once per join.
const ticketIterations = 10000

// HashTicket returns the form of a ticket to store in the config:
// pbkdf2-sha256$ITERATIONS$SALT$HASH, salt and hash in base64.
func HashTicket(ticket string) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	key, _ := pbkdf2.Key(sha256.New, ticket, salt, ticketIterations, 32)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("%s%d$%s$%s", ticketHashPrefix, ticketIterations, enc.EncodeToString(salt), enc.EncodeToString(key))
}

// DeriveCRAKey derives a salted WAMP-CRA key from a password, as the
// client does with the CHALLENGE's salt, iterations and keylen: the
// router stores this, not the password.
func DeriveCRAKey(password, salt string, iterations, keyLen int) string {
	key, _ := pbkdf2.Key(sha256.New, password, []byte(salt), iterations, keyLen)
	return base64.StdEncoding.EncodeToString(key)
}

func checkTicketForm(t string) error {
	if !strings.HasPrefix(t, ticketHashPrefix) {
		return nil // a ticket as it is
	}
	_, _, _, err := parseTicketHash(t)
	return err
}

func parseTicketHash(t string) (iterations int, salt, hash []byte, err error) {
	parts := strings.Split(strings.TrimPrefix(t, ticketHashPrefix), "$")
	if len(parts) == 3 {
		iterations, err = strconv.Atoi(parts[0])
		if err == nil && iterations > 0 {
			salt, err = base64.RawStdEncoding.DecodeString(parts[1])
			if err == nil {
				hash, err = base64.RawStdEncoding.DecodeString(parts[2])
				if err == nil && len(hash) > 0 {
					return iterations, salt, hash, nil
				}
			}
		}
	}
	return 0, nil, nil, errors.New("a hashed ticket is pbkdf2-sha256$ITERATIONS$SALT$HASH (see wampedge -hash)")
}

func checkTicket(stored, given string) bool {
	if !strings.HasPrefix(stored, ticketHashPrefix) {
		return subtle.ConstantTimeCompare([]byte(stored), []byte(given)) == 1
	}
	iterations, salt, hash, err := parseTicketHash(stored)
	if err != nil {
		return false
	}
	key, err := pbkdf2.Key(sha256.New, given, salt, iterations, len(hash))
	return err == nil && subtle.ConstantTimeCompare(key, hash) == 1
}

// pickMethod returns the first method offered that the realm has for
// this authid on this listener, or "".
func (s *session) pickMethod(p *policy, d *codec.HelloDetails) string {
	offered := d.AuthMethods
	if len(offered) == 0 {
		offered = []string{authAnonymous}
	}
	for _, m := range offered {
		switch m {
		case authAnonymous:
			if p.anonymousOn(s.listener) {
				return m
			}
		case authTicket, authWAMPCRA:
			// An unknown authid is challenged all the same: a client
			// cannot tell which authids exist.
			if d.AuthID != "" && p.hasMethod(m) {
				return m
			}
		case authCryptosign:
			if p.hasMethod(m) {
				return m
			}
		}
	}
	return ""
}

// hasMethod reports whether any user of the realm authenticates so.
func (p *policy) hasMethod(m string) bool {
	for i := range p.Users {
		u := &p.Users[i]
		switch {
		case m == authTicket && u.Ticket != "",
			m == authWAMPCRA && u.CRA != nil,
			m == authCryptosign && len(u.Keys) > 0:
			return true
		}
	}
	return false
}

// challengeFor builds the CHALLENGE for a method and what the answer
// must sign; false (after an ABORT) when it cannot be made.
func (s *session) challengeFor(c *challenge, d *codec.HelloDetails) (*codec.Challenge, bool) {
	u := c.p.users[c.authid]
	if u != nil && !userHas(u, c.method) {
		u = nil
	}
	c.user = u
	switch c.method {
	case authTicket:
		return &codec.Challenge{AuthMethod: []byte(authTicket), Extra: emptyDict}, true
	case authWAMPCRA:
		role := ""
		if u != nil {
			role = u.Role
		}
		nonce := make([]byte, 16)
		rand.Read(nonce)
		msg, _ := json.Marshal(map[string]any{
			"authid": c.authid, "authrole": role, "authmethod": authWAMPCRA, "authprovider": "static",
			"nonce": base64.RawURLEncoding.EncodeToString(nonce), "session": s.id,
			"timestamp": time.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
		})
		c.message = msg
		x := codec.ChallengeExtra{Challenge: string(msg)}
		if u != nil && u.CRA.Salt != "" {
			x.Salt, x.Iterations, x.KeyLen = u.CRA.Salt, uint64(u.CRA.Iterations), uint64(u.CRA.KeyLen)
		}
		extra, _ := x.MarshalMsg(nil)
		return &codec.Challenge{AuthMethod: []byte(authWAMPCRA), Extra: extra}, true
	case authCryptosign:
		pub, err := hex.DecodeString(stringOf(d.AuthExtra["pubkey"]))
		if err != nil || len(pub) != ed25519.PublicKeySize {
			return nil, s.abort(errAuthenticationFailed, "cryptosign: HELLO.Details.authextra.pubkey must be 32 bytes as 64 hex characters")
		}
		u = c.p.byKey[string(pub)]
		if u != nil && c.authid != "" && u.AuthID != c.authid {
			u = nil // the key is someone else's
		}
		c.user, c.key = u, pub
		nonce := make([]byte, 32)
		rand.Read(nonce)
		c.message = nonce
		extra := msgp.AppendMapHeader(nil, 2)
		extra = msgp.AppendString(msgp.AppendString(extra, "challenge"), hex.EncodeToString(nonce))
		extra = msgp.AppendString(extra, "channel_binding")
		if binding := stringOf(d.AuthExtra["channel_binding"]); binding == "tls-exporter" {
			if id := s.tlsExporter(); id != nil {
				c.message = xor(nonce, id)
				return &codec.Challenge{AuthMethod: []byte(authCryptosign), Extra: msgp.AppendString(extra, binding)}, true
			}
		}
		// No binding asked for, or none this transport can give: the
		// router goes on without one, and says so (WAMP.md §8.6).
		return &codec.Challenge{AuthMethod: []byte(authCryptosign), Extra: msgp.AppendNil(extra)}, true
	}
	return nil, s.abort(errNoMatchingAuthMethod, "no authentication method in common")
}

var emptyDict = msgp.AppendMapHeader(nil, 0)

func userHas(u *User, method string) bool {
	switch method {
	case authTicket:
		return u.Ticket != ""
	case authWAMPCRA:
		return u.CRA != nil
	case authCryptosign:
		return len(u.Keys) > 0
	}
	return false
}

func stringOf(v any) string { s, _ := v.(string); return s }

func xor(a, b []byte) []byte {
	out := make([]byte, len(a))
	for i := range a {
		out[i] = a[i] ^ b[i%len(b)]
	}
	return out
}

// tlsExporter is the connection's RFC 9266 channel binding, or nil when
// the transport is not TLS.
func (s *session) tlsExporter() []byte {
	t, ok := s.t.(interface{ TLS() *tls.ConnectionState })
	if !ok {
		return nil
	}
	st := t.TLS()
	if st == nil {
		return nil
	}
	id, err := st.ExportKeyingMaterial("EXPORTER-Channel-Binding", nil, 32)
	if err != nil {
		return nil
	}
	return id
}

// verify checks AUTHENTICATE's signature against the challenge.
func (c *challenge) verify(signature []byte) bool {
	u := c.user
	if u == nil {
		return false
	}
	switch c.method {
	case authTicket:
		return checkTicket(u.Ticket, string(signature))
	case authWAMPCRA:
		mac := hmac.New(sha256.New, []byte(u.CRA.Key))
		mac.Write(c.message)
		want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
		return subtle.ConstantTimeCompare([]byte(want), signature) == 1
	case authCryptosign:
		sig, err := hex.DecodeString(string(signature))
		if err != nil || len(sig) != ed25519.SignatureSize+len(c.message) {
			return false
		}
		if subtle.ConstantTimeCompare(sig[ed25519.SignatureSize:], c.message) != 1 {
			return false
		}
		return ed25519.Verify(c.key, c.message, sig[:ed25519.SignatureSize])
	}
	return false
}
