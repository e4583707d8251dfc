package main

import (
	"crypto/tls"
	"crypto/x509"
	"flag"
	"os"
	"strings"

	"github.com/wampedge/wampedge/edge/client"
)

// login is how wampcat joins: who it is, how it proves it, and the TLS
// it trusts and shows.
type login struct {
	authID, authRole       string
	ticket, ticketFile     string
	secret, secretFile     string
	keyFile                string
	tlsCA, tlsCert, tlsKey string
}

func (l *login) defineFlags(fs *flag.FlagSet) {
	fs.StringVar(&l.authID, "authid", "", "authenticate as `ID`")
	fs.StringVar(&l.authRole, "authrole", "", "ask for `ROLE`")
	fs.StringVar(&l.ticket, "ticket", "", "ticket authentication with `TICKET`")
	fs.StringVar(&l.ticketFile, "ticket-file", "", "ticket authentication with the ticket in `FILE`")
	fs.StringVar(&l.secret, "secret", "", "WAMP-CRA authentication with `SECRET` (salted when the router says so)")
	fs.StringVar(&l.secretFile, "secret-file", "", "WAMP-CRA authentication with the secret in `FILE`")
	fs.StringVar(&l.keyFile, "key", "", "cryptosign authentication with the Ed25519 private key in `FILE` (hex or raw seed or key, or PKCS#8 PEM)")
	fs.StringVar(&l.tlsCA, "tls-ca", "", "tls://: trust the CA certificates in `FILE` (default: the system's)")
	fs.StringVar(&l.tlsCert, "tls-cert", "", "tls://: show the client certificate in `FILE` (with -tls-key)")
	fs.StringVar(&l.tlsKey, "tls-key", "", "tls://: the client certificate's key `FILE`")
}

// config is the client's Config: credentials and TLS read, each error
// naming its flag.
func (l *login) config(o *options) (client.Config, error) {
	cfg := client.Config{Realm: o.realm, Serializer: o.serializer, Agent: "wampcat-" + version, AuthID: l.authID, AuthRole: l.authRole}
	var err error
	if cfg.Ticket, err = credential("ticket", l.ticket, l.ticketFile, l.authID); err != nil {
		return cfg, err
	}
	if cfg.Secret, err = credential("secret", l.secret, l.secretFile, l.authID); err != nil {
		return cfg, err
	}
	if l.keyFile != "" {
		if cfg.PrivateKey, err = client.LoadPrivateKey(l.keyFile); err != nil {
			return cfg, usagef("-key: %v", strings.TrimPrefix(err.Error(), "client: "))
		}
	}
	if (cfg.Ticket != "" || cfg.Secret != "") && l.authID == "" {
		return cfg, usagef("-ticket and -secret need -authid")
	}
	cfg.TLS, err = l.tlsConfig()
	return cfg, err
}

// credential is a secret from its flag, else its file, else (with an
// authid) $WAMPCAT_<NAME>: the last two keep it out of ps.
func credential(name, value, file, authID string) (string, error) {
	if value != "" && file != "" {
		return "", usagef("-%s and -%s-file: give one", name, name)
	}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", usagef("-%s-file: %v", name, err)
		}
		s := strings.TrimRight(string(b), "\r\n")
		if s == "" {
			return "", usagef("-%s-file: %s is empty", name, file)
		}
		return s, nil
	}
	if value == "" && authID != "" {
		value = os.Getenv("WAMPCAT_" + strings.ToUpper(name))
	}
	return value, nil
}

// tlsConfig is nil (the system's roots, no client certificate) unless a
// -tls- flag says otherwise.
func (l *login) tlsConfig() (*tls.Config, error) {
	if l.tlsCA == "" && l.tlsCert == "" && l.tlsKey == "" {
		return nil, nil
	}
	c := &tls.Config{}
	if l.tlsCA != "" {
		pem, err := os.ReadFile(l.tlsCA)
		if err != nil {
			return nil, usagef("-tls-ca: %v", err)
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pem) {
			return nil, usagef("-tls-ca: %s holds no PEM certificate", l.tlsCA)
		}
	}
	if (l.tlsCert == "") != (l.tlsKey == "") {
		return nil, usagef("-tls-cert and -tls-key go together")
	}
	if l.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(l.tlsCert, l.tlsKey)
		if err != nil {
			return nil, usagef("-tls-cert: %v", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}
