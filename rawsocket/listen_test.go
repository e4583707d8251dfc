package rawsocket

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/big"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wampedge/wampedge/codec"
	"github.com/wampedge/wampedge/internal/testutil"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		url     string
		want    Endpoint
		wantErr string // part of the error; "" for success
	}{
		{url: "tcp://127.0.0.1:8080", want: Endpoint{"tcp", "tcp", "127.0.0.1:8080"}},
		{url: "tcp://:8080", want: Endpoint{"tcp", "tcp", ":8080"}},
		{url: "tcp://[::1]:8080", want: Endpoint{"tcp", "tcp", "[::1]:8080"}},
		{url: "tls://host:1", want: Endpoint{"tls", "tcp", "host:1"}},
		{url: "unix:///tmp/x.sock", want: Endpoint{"unix", "unix", "/tmp/x.sock"}},
		{url: "unix://run/x.sock", want: Endpoint{"unix", "unix", "run/x.sock"}},
		{url: "http://host:80", wantErr: "scheme must be"},
		{url: "ws://host:80", wantErr: "scheme must be"},
		{url: "udp://host:80", wantErr: "scheme must be"},
		{url: "127.0.0.1:8080", wantErr: "bad URL"},
		{url: "/tmp/x.sock", wantErr: "scheme must be"},
		{url: "", wantErr: "scheme must be"},
		{url: "tcp://%zz:1", wantErr: "bad URL"},
		{url: "tcp://127.0.0.1", wantErr: "needs HOST:PORT"},
		{url: "tcp://127.0.0.1:", wantErr: "needs HOST:PORT"},
		{url: "tls://host", wantErr: "needs HOST:PORT"},
		{url: "tcp://", wantErr: "needs HOST:PORT"},
		{url: "unix://", wantErr: "needs a socket path"},
		{url: "unix:", wantErr: "needs a socket path"},
	}
	for _, tc := range tests {
		ep, err := ParseURL(tc.url)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseURL(%q) = %+v, %v; want an error with %q", tc.url, ep, err, tc.wantErr)
			}
			continue
		}
		if err != nil || ep != tc.want {
			t.Errorf("ParseURL(%q) = %+v, %v; want %+v", tc.url, ep, err, tc.want)
			continue
		}
		if again, err := ParseURL(ep.String()); err != nil || again != ep {
			t.Errorf("ParseURL(%q.String() = %q) = %+v, %v", tc.url, ep.String(), again, err)
		}
	}
}

// serve listens on url and serves with handle until the test ends, then
// checks that Serve returned nil after Close.
func serve(t *testing.T, url string, cfg ListenConfig, handle func(*Conn)) (*Listener, string) {
	t.Helper()
	l, err := Listen(url, cfg)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- l.Serve(handle) }()
	t.Cleanup(func() {
		l.Close()
		if err := <-served; err != nil {
			t.Errorf("Serve after Close: %v", err)
		}
	})
	return l, l.Endpoint().String()
}

// echo sends every message back until the connection fails.
func echo(c *Conn) {
	for {
		m, err := c.ReadMsg()
		if err != nil || c.WriteMsg(m) != nil {
			return
		}
	}
}

// dialEcho dials url and checks that messages come back from an echo
// server unchanged.
func dialEcho(t *testing.T, url string, cfg DialConfig) {
	t.Helper()
	c, err := Dial(context.Background(), url, codec.JSON, cfg)
	if err != nil {
		t.Fatalf("Dial(%s): %v", url, err)
	}
	defer c.Close()
	if c.Serializer() != codec.JSON {
		t.Errorf("serializer %v", c.Serializer())
	}
	for i, m := range [][]byte{[]byte(`[1,"realm1",{}]`), {}, pattern(10000, 1)} {
		if err := c.WriteMsg(m); err != nil {
			t.Fatalf("WriteMsg %d: %v", i, err)
		}
		got, err := c.ReadMsg()
		if err != nil || !bytes.Equal(got, m) {
			t.Fatalf("echo %d: %d bytes, %v; want %d bytes", i, len(got), err, len(m))
		}
	}
}

// sockPath is a Unix socket path in the test's own directory.
func sockPath(t *testing.T) string { return filepath.Join(t.TempDir(), "r.sock") }

// selfSigned returns a certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "wampedge test router"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

func TestListenDial(t *testing.T) {
	cert, pool := selfSigned(t)
	tests := []struct {
		name   string
		url    string
		listen ListenConfig
		dial   DialConfig
	}{
		{"tcp", "tcp://127.0.0.1:0", ListenConfig{}, DialConfig{}},
		{"unix", "unix://" + sockPath(t), ListenConfig{}, DialConfig{}},
		{"tls", "tls://127.0.0.1:0",
			ListenConfig{TLS: &tls.Config{Certificates: []tls.Certificate{cert}}},
			DialConfig{TLS: &tls.Config{RootCAs: pool}}},
		{"small limits", "tcp://127.0.0.1:0",
			ListenConfig{Config: Config{MaxLength: 1 << 14, Serializers: []codec.Serializer{codec.JSON}}},
			DialConfig{Config: Config{MaxLength: 1 << 14}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, url := serve(t, tc.url, tc.listen, echo)
			if l.Addr() == nil || l.Endpoint().Scheme != strings.Split(tc.url, ":")[0] {
				t.Errorf("listener on %s: Addr %v, Endpoint %v", tc.url, l.Addr(), l.Endpoint())
			}
			if strings.HasSuffix(url, ":0") {
				t.Errorf("Endpoint %s does not report the bound port", url)
			}
			dialEcho(t, url, tc.dial)
		})
	}
}

func TestDialTLSUntrusted(t *testing.T) {
	cert, _ := selfSigned(t)
	_, url := serve(t, "tls://127.0.0.1:0", ListenConfig{TLS: &tls.Config{Certificates: []tls.Certificate{cert}}}, echo)
	_, err := Dial(context.Background(), url, codec.MsgPack, DialConfig{})
	var verr *tls.CertificateVerificationError
	if !errors.As(err, &verr) {
		t.Errorf("Dial with no trusted root: %v, want a certificate verification error", err)
	}
}

func TestListenErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, url := range []string{
		"tls://127.0.0.1:0",             // no TLS config
		"http://127.0.0.1:0",            // not a transport URL
		"tcp://" + busy.Addr().String(), // port taken
		"unix://" + filepath.Join(t.TempDir(), "no", "such", "dir.sock"),
	} {
		if l, err := Listen(url, ListenConfig{}); err == nil {
			l.Close()
			t.Errorf("Listen(%s) succeeded", url)
		}
	}
}

func TestDialErrors(t *testing.T) {
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := closed.Addr().String()
	closed.Close()
	for _, url := range []string{"tcp://" + addr, "unix://" + sockPath(t), "ftp://127.0.0.1:1"} {
		if c, err := Dial(context.Background(), url, codec.MsgPack, DialConfig{}); err == nil {
			c.Close()
			t.Errorf("Dial(%s) succeeded", url)
		}
	}
}

// staleSocket leaves a socket file at path that nobody listens on, the way
// a crashed router does.
func staleSocket(t *testing.T, path string) {
	t.Helper()
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	if fi, err := os.Lstat(path); err != nil || fi.Mode()&fs.ModeSocket == 0 {
		t.Fatalf("no stale socket at %s: %v", path, err)
	}
}

func TestListenUnixStale(t *testing.T) {
	path := sockPath(t)
	staleSocket(t, path)
	_, url := serve(t, "unix://"+path, ListenConfig{}, echo)
	dialEcho(t, url, DialConfig{})
}

func TestListenUnixInUse(t *testing.T) {
	path := sockPath(t)
	_, url := serve(t, "unix://"+path, ListenConfig{}, echo)
	if l, err := Listen(url, ListenConfig{}); err == nil || !strings.Contains(err.Error(), "in use") {
		if l != nil {
			l.Close()
		}
		t.Fatalf("second Listen on a live socket: %v, want an error", err)
	}
	dialEcho(t, url, DialConfig{}) // the first listener is untouched
}

func TestListenUnixNotSocket(t *testing.T) {
	path := sockPath(t)
	if err := os.WriteFile(path, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	if l, err := Listen("unix://"+path, ListenConfig{}); err == nil || !strings.Contains(err.Error(), "not a socket") {
		if l != nil {
			l.Close()
		}
		t.Fatalf("Listen on a regular file: %v, want an error", err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "keep" {
		t.Errorf("the regular file was changed: %q, %v", b, err)
	}
}

func TestListenUnixMode(t *testing.T) {
	for _, mode := range []fs.FileMode{0o660, 0o600, 0o666} {
		path := sockPath(t)
		l, err := Listen("unix://"+path, ListenConfig{SocketMode: mode})
		if err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(path)
		if err != nil || fi.Mode()&fs.ModeSocket == 0 || fi.Mode().Perm() != mode {
			t.Errorf("SocketMode %v: socket file %v, %v", mode, fi.Mode(), err)
		}
		l.Close()
	}
}

func TestListenerClose(t *testing.T) {
	path := sockPath(t)
	l, err := Listen("unix://"+path, ListenConfig{})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- l.Serve(echo) }()
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve after Close: %v, want nil", err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("socket file left behind after Close: %v", err)
	}
	if _, err := Dial(context.Background(), "unix://"+path, codec.MsgPack, DialConfig{}); err == nil {
		t.Error("Dial after Close succeeded")
	}
}

// A client that connects and never sends its handshake holds up no one:
// with a handshake timeout far beyond the test's run, the next client is
// served while the first stays silent.
func TestSilentClientBlocksNobody(t *testing.T) {
	l, url := serve(t, "tcp://127.0.0.1:0", ListenConfig{Config: Config{Timeout: time.Hour}}, echo)
	silent, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close() // ends its handshake, so that Serve can return
	dialEcho(t, url, DialConfig{})
}

// A silent client is dropped after the handshake timeout without a reply.
func TestSilentClientDropped(t *testing.T) {
	l, _ := serve(t, "tcp://127.0.0.1:0", ListenConfig{Config: Config{Timeout: 20 * time.Millisecond}}, echo)
	silent, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	if b, err := io.ReadAll(silent); err != nil || len(b) != 0 {
		t.Errorf("silent client read % x, %v; want a close without reply", b, err)
	}
}

// Refused handshakes are logged with the peer's address, on Unix sockets
// (whose peers have no name) too.
func TestListenerLogsRefusal(t *testing.T) {
	var log testutil.SyncBuffer
	_, url := serve(t, "unix://"+sockPath(t), ListenConfig{Logger: slog.New(slog.NewTextHandler(&log, nil))}, echo)
	ep, _ := ParseURL(url)
	for _, req := range [][]byte{[]byte("GET "), {Magic, 0xf7, 0, 0}} {
		nc, err := net.Dial("unix", ep.Address)
		if err != nil {
			t.Fatal(err)
		}
		nc.Write(req)
		io.ReadAll(nc) // until the listener closes the connection
		nc.Close()
	}
	for _, want := range []string{"not a RawSocket", "serializer unsupported"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log %q does not mention %q", log.String(), want)
		}
	}
}

// A Unix socket's group and mode, for "who on the board may connect".
func TestListenSocketGroup(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.sock")
	l, err := Listen("unix://"+path, ListenConfig{SocketMode: 0o660, SocketGroup: "daemon"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	g, err := user.LookupGroup("daemon")
	if err != nil {
		t.Fatal(err)
	}
	if gid := fmt.Sprint(fi.Sys().(*syscall.Stat_t).Gid); gid != g.Gid || fi.Mode().Perm() != 0o660 {
		t.Errorf("socket gid %s mode %v, want %s and 0660", gid, fi.Mode().Perm(), g.Gid)
	}
	if _, err := Listen("unix://"+filepath.Join(t.TempDir(), "t.sock"), ListenConfig{SocketGroup: "no-such-group-here"}); err == nil {
		t.Error("an unknown group: no error")
	}
}
