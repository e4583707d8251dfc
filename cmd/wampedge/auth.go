package main

import (
	"bufio"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/wampedge/wampedge/edge"
)

// The config file's authentication and authorization, per realm:
//
//	"realms": [{"name": "site",
//	  "anonymous": {"listeners": ["unix", "serial"], "role": "device"},
//	  "users": [{"authid": "op", "role": "operator", "ticket": "pbkdf2-sha256$..."},
//	            {"authid": "gw", "role": "device", "cryptosign": ["<hex public key>"]}],
//	  "roles": [{"name": "device", "permissions": [
//	            {"uri": "dev.", "match": "prefix", "allow": ["publish", "register"]}]}]}]

type anonymousConfig struct {
	Enabled   *bool    `json:"enabled"`   // true unless false
	Role      string   `json:"role"`      // "anonymous"
	Listeners []string `json:"listeners"` // schemes (unix, serial, tcp, tls) or listener URLs; all when empty
}

type userConfig struct {
	AuthID     string     `json:"authid"`
	Role       string     `json:"role"`
	Ticket     string     `json:"ticket"`     // as it is, or hashed by wampedge -hash ticket
	WAMPCRA    *craConfig `json:"wampcra"`    // a secret, or a salted key from wampedge -hash wampcra
	Cryptosign []string   `json:"cryptosign"` // Ed25519 public keys, 64 hex characters each
}

type craConfig struct {
	Secret     string `json:"secret,omitempty"`
	DerivedKey string `json:"derived_key,omitempty"`
	Salt       string `json:"salt,omitempty"`
	Iterations int    `json:"iterations,omitempty"`
	KeyLen     int    `json:"keylen,omitempty"`
}

type roleConfig struct {
	Name        string             `json:"name"`
	Permissions []permissionConfig `json:"permissions"`
}

type permissionConfig struct {
	URI      string   `json:"uri"`
	Match    string   `json:"match" want:"exact (the default), prefix or wildcard"`
	Allow    []string `json:"allow"` // call, register, publish, subscribe
	Deny     []string `json:"deny"`
	Disclose bool     `json:"disclose"` // always disclose callers and publishers under this rule
}

// hasPolicy reports whether the realm says anything about who joins.
func (r realmConfig) hasPolicy() bool {
	return r.Anonymous != nil || len(r.Users) > 0 || len(r.Roles) > 0 || r.MaxSessions != 0
}

// policy is the realm's edge.RealmPolicy, nil for an open realm; its
// errors name the field.
func (r realmConfig) policy() (*edge.RealmPolicy, error) {
	if !r.hasPolicy() {
		return nil, nil
	}
	p := &edge.RealmPolicy{MaxSessions: r.MaxSessions}
	if a := r.Anonymous; a != nil {
		p.Anonymous = &edge.AnonymousPolicy{Off: a.Enabled != nil && !*a.Enabled, Role: a.Role, Listeners: a.Listeners}
	}
	for i, u := range r.Users {
		user := edge.User{AuthID: u.AuthID, Role: u.Role, Ticket: u.Ticket}
		if c := u.WAMPCRA; c != nil {
			switch {
			case c.Secret != "" && c.DerivedKey == "" && c.Salt == "":
				user.CRA = &edge.CRAKey{Key: c.Secret}
			case c.Secret == "" && c.DerivedKey != "" && c.Salt != "":
				user.CRA = &edge.CRAKey{Key: c.DerivedKey, Salt: c.Salt, Iterations: c.Iterations, KeyLen: c.KeyLen}
				if user.CRA.Iterations == 0 {
					user.CRA.Iterations = 1000 // WAMP-CRA's defaults
				}
				if user.CRA.KeyLen == 0 {
					user.CRA.KeyLen = 32
				}
			default:
				return nil, fmt.Errorf("users[%d].wampcra: give either secret, or derived_key with salt (wampedge -hash wampcra)", i)
			}
		}
		for j, k := range u.Cryptosign {
			key, err := hex.DecodeString(k)
			if err != nil || len(key) != ed25519.PublicKeySize {
				return nil, fmt.Errorf("users[%d].cryptosign[%d]: want a public key as 64 hex characters", i, j)
			}
			user.Keys = append(user.Keys, ed25519.PublicKey(key))
		}
		p.Users = append(p.Users, user)
	}
	for _, rc := range r.Roles {
		role := edge.Role{Name: rc.Name}
		for _, pc := range rc.Permissions {
			rule := edge.Rule{URI: pc.URI, Match: pc.Match, Disclose: pc.Disclose}
			for _, a := range pc.Allow {
				rule.Allow = append(rule.Allow, edge.Action(a))
			}
			for _, a := range pc.Deny {
				rule.Deny = append(rule.Deny, edge.Action(a))
			}
			role.Rules = append(role.Rules, rule)
		}
		p.Roles = append(p.Roles, role)
	}
	return p, nil
}

// listenerTLS loads a tls:// listener's certificate, and the CA its
// clients' certificates must be signed by, when it asks for them.
func (l listenerConfig) listenerTLS() (*tls.Config, error) {
	switch {
	case l.TLSCert == "":
		return nil, errors.New("tls_cert: missing; tls:// needs tls_cert and tls_key")
	case l.TLSKey == "":
		return nil, errors.New("tls_key: missing; tls:// needs tls_cert and tls_key")
	}
	cert, err := tls.LoadX509KeyPair(l.TLSCert, l.TLSKey)
	if err != nil {
		return nil, fmt.Errorf("tls_cert: %w", err)
	}
	c := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if l.TLSClientCA != "" {
		pem, err := os.ReadFile(l.TLSClientCA)
		if err != nil {
			return nil, fmt.Errorf("tls_client_ca: %w", err)
		}
		c.ClientCAs = x509.NewCertPool()
		if !c.ClientCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls_client_ca: %s holds no PEM certificate", l.TLSClientCA)
		}
		c.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return c, nil
}

// hashSecret is wampedge -hash METHOD: it reads a secret from in (one
// line) and prints what to put in the config instead of it.
func hashSecret(method string, in io.Reader, out io.Writer) error {
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && line == "" {
		return fmt.Errorf("-hash: read the secret from stdin: %w", err)
	}
	secret := strings.TrimRight(line, "\r\n")
	if secret == "" {
		return errors.New("-hash: the secret is empty")
	}
	switch method {
	case "ticket":
		b, _ := json.Marshal(map[string]string{"ticket": edge.HashTicket(secret)})
		fmt.Fprintln(out, string(b))
	case "wampcra":
		salt := make([]byte, 16)
		rand.Read(salt)
		c := craConfig{Salt: base64.RawStdEncoding.EncodeToString(salt), Iterations: 10000, KeyLen: 32}
		c.DerivedKey = edge.DeriveCRAKey(secret, c.Salt, c.Iterations, c.KeyLen)
		b, _ := json.Marshal(map[string]any{"wampcra": c})
		fmt.Fprintln(out, string(b))
	default:
		return fmt.Errorf("-hash %q: want ticket or wampcra", method)
	}
	return nil
}
