package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/wampedge/wampedge/codec"
	"github.com/wampedge/wampedge/edge"
	"github.com/wampedge/wampedge/edge/client"
	"github.com/wampedge/wampedge/internal/testutil"
	"github.com/wampedge/wampedge/rawsocket"
)

// -uplink URL -uplink-realm NAME -uplink-prefix P: the daemon bridges
// everything under P to a cloud router (here another wampedge), both ways.
func TestUplinkFlags(t *testing.T) {
	cloud := edge.New(&edge.Config{Realms: []string{"plant"}})
	t.Cleanup(func() { cloud.Close(context.Background()) })
	cl, err := cloud.Listen("tcp://127.0.0.1:0", rawsocket.ListenConfig{})
	if err != nil {
		t.Fatal(err)
	}
	cloudURL := "tcp://" + cl.Addr().String()
	tcpURL := "tcp://" + freeAddr(t)
	d := startDaemon(t, "-listen", tcpURL, "-mdns=false",
		"-uplink", cloudURL, "-uplink-realm", "plant", "-uplink-prefix", "site.")
	waitReady(t, d.started, d.exited, tcpURL)
	device := mustJoin(t, tcpURL, "realm1", codec.MsgPack)
	testutil.WaitFor(t, 10*time.Second, "the uplink to connect", func() bool {
		res, err := device.Call(ctxT(t), "wampedge.uplink.status", client.Payload{})
		return err == nil && res.Args[0].(map[string]any)["state"] == "connected"
	})
	operator := mustJoin(t, cloudURL, "plant", codec.MsgPack)
	got := make(chan *client.Event, 1)
	if _, err := operator.Subscribe(ctxT(t), "site.temp", func(e *client.Event) { got <- e }); err != nil {
		t.Fatal(err)
	}
	device.Publish(ctxT(t), "site.temp", client.Args(20.5), client.PublishOptions{})
	device.Publish(ctxT(t), "elsewhere.temp", client.Args(0), client.PublishOptions{}) // not under the prefix
	select {
	case e := <-got:
		if e.Args[0] != 20.5 {
			t.Errorf("cloud got %v", e.Args)
		}
	case <-time.After(waitTimeout):
		t.Fatal("the event did not reach the cloud")
	}
	if _, err := device.Register(ctxT(t), "site.ping", func(context.Context, *client.Invocation) (client.Payload, error) {
		return client.Args("pong"), nil
	}); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 10*time.Second, "a cloud call to the device", func() bool {
		res, err := operator.Call(ctxT(t), "site.ping", client.Payload{})
		return err == nil && res.Args[0] == "pong"
	})
	d.signal(t, syscall.SIGTERM)
	if code := d.wait(t); code != 0 {
		t.Fatalf("exit status %d", code)
	}
}

// An uplink over tls:// to a cloud that checks client certificates, set
// up from the config file: the cloud's CA, and the board's certificate.
func TestUplinkTLSConfig(t *testing.T) {
	dir := t.TempDir()
	ca := newCA(t)
	serverCert := ca.issue(t, "127.0.0.1")
	clientCert := ca.issue(t, "edge-1")
	writePEM(t, dir+"/ca.pem", "CERTIFICATE", ca.cert.Raw)
	writePEM(t, dir+"/edge.pem", "CERTIFICATE", clientCert.Certificate[0])
	keyDER, _ := x509.MarshalPKCS8PrivateKey(clientCert.PrivateKey)
	writePEM(t, dir+"/edge.key", "PRIVATE KEY", keyDER)

	cloud := edge.New(&edge.Config{Realms: []string{"plant"}})
	t.Cleanup(func() { cloud.Close(context.Background()) })
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	cl, err := cloud.Listen("tls://127.0.0.1:0", rawsocket.ListenConfig{TLS: &tls.Config{
		Certificates: []tls.Certificate{serverCert}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert,
	}})
	if err != nil {
		t.Fatal(err)
	}
	tcpURL := "tcp://" + freeAddr(t)
	config := fmt.Sprintf(`{"listeners": [{"url": %q}], "mdns": {"enabled": false},
		"uplink": {"url": "tls://%s", "realm": "plant",
			"tls": {"ca_file": %q, "cert_file": %q, "key_file": %q},
			"rules": [{"direction": "topics_out", "local": "dev.", "cloud": "site.dev."}]}}`,
		tcpURL, cl.Addr(), dir+"/ca.pem", dir+"/edge.pem", dir+"/edge.key")
	path := dir + "/wampedge.json"
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, "-config", path)
	waitReady(t, d.started, d.exited, tcpURL)
	device := mustJoin(t, tcpURL, "realm1", codec.MsgPack)
	testutil.WaitFor(t, 10*time.Second, "the uplink to connect over TLS", func() bool {
		res, err := device.Call(ctxT(t), "wampedge.uplink.status", client.Payload{})
		return err == nil && res.Args[0].(map[string]any)["state"] == "connected"
	})
}

// testCA is a certificate authority for tests.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newCA(t *testing.T) *testCA {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key}
}

// issue makes a certificate for an IP address or a client name.
func (ca *testCA) issue(t *testing.T, name string) tls.Certificate {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		KeyUsage:    x509.KeyUsageDigitalSignature,
	}
	if ip := net.ParseIP(name); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
