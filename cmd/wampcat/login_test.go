package main

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"net"
	"os/exec"
	"testing"
	"time"

	"github.com/wampedge/wampedge/edge"
)

// TestLogin: a realm that only its users may join, one per method: each
// logs in with its credentials, given on the command line, in a file or
// in the environment, and fails with the router's ABORT URI without them.
func TestLogin(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	r := newRouter(t, map[string]any{"realms": []any{map[string]any{
		"name":      "secure",
		"anonymous": map[string]any{"enabled": false},
		"users": []any{
			map[string]any{"authid": "ticket-user", "role": "user", "ticket": edge.HashTicket("t1cket")},
			map[string]any{"authid": "cra-user", "role": "user", "wampcra": map[string]any{"secret": "cr4-secret"}},
			map[string]any{"authid": "salted-user", "role": "user", "wampcra": map[string]any{
				"salt": "s4lt", "iterations": 1000, "keylen": 32, "derived_key": edge.DeriveCRAKey("p4ssword", "s4lt", 1000, 32)}},
			map[string]any{"authid": "key-user", "role": "user", "cryptosign": []string{hex.EncodeToString(key.Public().(ed25519.PublicKey))}},
		},
		"roles": []any{map[string]any{"name": "user", "permissions": []any{
			map[string]any{"uri": "", "match": "prefix", "allow": []string{"publish", "subscribe", "register", "call"}},
		}}},
	}}})
	hexSeed := writeFile(t, "seed.hex", hex.EncodeToString(key.Seed())+"\n")
	pemKey := writeFile(t, "key.pem", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})))
	rawKey := writeFile(t, "key.raw", string(key))
	wrongKey := writeFile(t, "other.hex", hex.EncodeToString(otherKey.Seed()))
	for _, tc := range []struct {
		name   string
		args   []string
		env    []string
		code   int
		stderr string
	}{
		{"anonymous", nil, nil, 1, "wampcat: wamp.error."},
		{"ticket", []string{"-authid", "ticket-user", "-ticket", "t1cket"}, nil, 0, ""},
		{"ticket file", []string{"-authid", "ticket-user", "-ticket-file", writeFile(t, "ticket", "t1cket\n")}, nil, 0, ""},
		{"ticket from the environment", []string{"-authid", "ticket-user"}, []string{"WAMPCAT_TICKET=t1cket"}, 0, ""},
		{"wrong ticket", []string{"-authid", "ticket-user", "-ticket", "guess"}, nil, 1, "wampcat: wamp.error.authentication_failed"},
		{"WAMP-CRA", []string{"-authid", "cra-user", "-secret", "cr4-secret"}, nil, 0, ""},
		{"WAMP-CRA wrong secret", []string{"-authid", "cra-user", "-secret", "guess"}, nil, 1, "wampcat: wamp.error.authentication_failed"},
		{"WAMP-CRA salted", []string{"-authid", "salted-user", "-secret", "p4ssword"}, nil, 0, ""},
		{"WAMP-CRA salted, secret file", []string{"-authid", "salted-user", "-secret-file", writeFile(t, "secret", "p4ssword\r\n")}, nil, 0, ""},
		{"WAMP-CRA salted, environment", []string{"-authid", "salted-user"}, []string{"WAMPCAT_SECRET=p4ssword"}, 0, ""},
		{"WAMP-CRA salted, flag over environment", []string{"-authid", "salted-user", "-secret", "p4ssword"}, []string{"WAMPCAT_SECRET=guess"}, 0, ""},
		{"WAMP-CRA salted, wrong secret", []string{"-authid", "salted-user", "-secret", "p4sswort"}, nil, 1, "wampcat: wamp.error.authentication_failed"},
		{"cryptosign, hex seed", []string{"-authid", "key-user", "-key", hexSeed}, nil, 0, ""},
		{"cryptosign, PEM", []string{"-authid", "key-user", "-key", pemKey}, nil, 0, ""},
		{"cryptosign, raw key", []string{"-authid", "key-user", "-key", rawKey}, nil, 0, ""},
		{"cryptosign, -authrole", []string{"-authid", "key-user", "-authrole", "user", "-key", rawKey}, nil, 0, ""},
		{"cryptosign, another key", []string{"-authid", "key-user", "-key", wrongKey}, nil, 1, "wampcat: wamp.error.authentication_failed"},
		{"environment without -authid", nil, []string{"WAMPCAT_SECRET=p4ssword"}, 1, "wampcat: wamp.error."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := cat([]string{"-url", r.url, "-realm", "secure"}, tc.args, []string{"publish", "-ack", "test.login", "1"})
			cmd := exec.Command(wampcatBin, args...)
			cmd.Env = append(cmd.Environ(), tc.env...)
			runCmd(t, cmd).check(t, tc.code, "", tc.stderr)
		})
	}
}

// TestTLS: -tls-ca trusts the router's certificate, and -tls-cert with
// -tls-key shows the client certificate a tls:// listener requires.
func TestTLS(t *testing.T) {
	pki := newPKI(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	tlsURL := "tls://" + ln.Addr().String()
	newRouter(t, map[string]any{"listeners": []any{map[string]any{
		"url": tlsURL, "tls_cert": pki.serverCert, "tls_key": pki.serverKey, "tls_client_ca": pki.ca,
	}}})
	ok := []string{"-tls-ca", pki.ca, "-tls-cert", pki.clientCert, "-tls-key", pki.clientKey}
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"CA and client certificate", ok, 0, ""},
		{"no client certificate", []string{"-tls-ca", pki.ca}, 1, "wampcat: "},
		{"untrusted router", []string{"-tls-cert", pki.clientCert, "-tls-key", pki.clientKey}, 1, "certificate"},
		{"bad CA file", []string{"-tls-ca", pki.clientKey}, 2, "wampcat: -tls-ca: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var last result
			// The listener comes up beside the Unix one the router was
			// waited for; give it a moment.
			for deadline := time.Now().Add(readyTimeout); ; time.Sleep(20 * time.Millisecond) {
				last = wampcat(t, cat([]string{"-url", tlsURL, "-timeout", "5s"}, tc.args, []string{"publish", "-ack", "test.tls"})...)
				if tc.code != 0 || last.code == 0 || time.Now().After(deadline) {
					break
				}
			}
			last.check(t, tc.code, "", tc.stderr)
		})
	}
}

// pki is a CA, a certificate for a router on 127.0.0.1 and one for a
// client, all signed by the CA, as PEM files.
type pki struct{ ca, serverCert, serverKey, clientCert, clientKey string }

func newPKI(t *testing.T) pki {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "wampcat test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	issue := func(name string, serial int64, usage x509.ExtKeyUsage, ips []net.IP) (certFile, keyFile string) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			ExtKeyUsage: []x509.ExtKeyUsage{usage}, KeyUsage: x509.KeyUsageDigitalSignature, IPAddresses: ips,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
		return writeFile(t, name+".pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))),
			writeFile(t, name+".key", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})))
	}
	p := pki{ca: writeFile(t, "ca.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})))}
	p.serverCert, p.serverKey = issue("router", 2, x509.ExtKeyUsageServerAuth, []net.IP{net.IPv4(127, 0, 0, 1)})
	p.clientCert, p.clientKey = issue("client", 3, x509.ExtKeyUsageClientAuth, nil)
	return p
}
