package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wampedge/wampedge/codec"
	"github.com/wampedge/wampedge/rawsocket"
)

// checkCase is a config for -check: $DIR is a temp dir, $PORT a free
// loopback port.
type checkCase struct {
	name, config string
	// want is the start of the line after "wampedge: config: FILE: ":
	// the field's exact path, then what is wrong.
	want []string
}

// badConfigs has one config per rule -check enforces, and per kind of
// wrong JSON type.
var badConfigs = []checkCase{
	{"empty file", ``, []string{"empty; want a JSON object"}},
	{"only whitespace", " \n\t\n", []string{"empty; want a JSON object"}},
	{"a list, not an object", `[{"url": "tcp://127.0.0.1:1"}]`, []string{"want a JSON object such as {} (every field is optional), got a list"}},
	{"null", `null`, []string{"want a JSON object such as {} (every field is optional), got null"}},
	{"a string", `"realm1"`, []string{`want a JSON object such as {} (every field is optional), got "realm1"`}},

	{"uplink scheme", `{"uplink": {"url": "http://cloud.example.com:80", "realm": "r"}}`,
		[]string{`uplink.url: want tcp://HOST:PORT, tls://HOST:PORT, unix:///PATH, ws://HOST[:PORT]/PATH, wss://HOST[:PORT]/PATH or serial:///DEVICE, got "http://cloud.example.com:80"`}},
	{"uplink without port", `{"uplink": {"url": "tcp://cloud.example.com", "realm": "r"}}`,
		[]string{`uplink.url: URL "tcp://cloud.example.com" needs HOST:PORT`}},
	{"uplink port 0", `{"uplink": {"url": "wss://cloud.example.com:0/ws", "realm": "r"}}`,
		[]string{"uplink.url: port 0 is out of range; want 1 to 65535"}},
	{"uplink without realm", `{"uplink": {"url": "tcp://127.0.0.1:1"}}`, []string{"uplink.realm: missing"}},
	{"uplink local realm missing", `{"realms": [{"name": "a"}], "uplink": {"url": "tcp://127.0.0.1:1", "realm": "r", "local_realm": "b"}}`,
		[]string{`uplink.local_realm: "b" is not one of the realms (a)`}},
	{"uplink rule direction", `{"uplink": {"url": "tcp://127.0.0.1:1", "realm": "r", "rules": [{"direction": "topics_in"}, {"direction": "up"}]}}`,
		[]string{`uplink.rules[1].direction: want topics_out, topics_in, procedures_out or procedures_in, got "up"`}},

	{"listener port out of range", `{"listeners": [{"url": "tcp://$PORT"}, {"url": "tcp://127.0.0.1:65536"}]}`,
		[]string{"listeners[1].url: port 65536 is out of range"}},
	{"listener scheme", `{"listeners": [{"url": "ws://127.0.0.1:8080"}]}`,
		[]string{`listeners[0].url: want tcp://HOST:PORT, tls://HOST:PORT, unix:///PATH or serial:///DEVICE, got "ws://127.0.0.1:8080"`}},
	{"listener without port", `{"listeners": [{"url": "tcp://127.0.0.1"}]}`, []string{`listeners[0].url: URL "tcp://127.0.0.1" needs HOST:PORT`}},
	{"listener URL missing", `{"listeners": [{"max_conns": 1}]}`, []string{"listeners[0].url: missing; want tcp://HOST:PORT"}},
	{"two listeners on one address", `{"listeners": [{"url": "unix://$DIR/a.sock"}, {"url": "tcp://0.0.0.0:$FREEPORT"}, {"url": "tcp://127.0.0.1:$FREEPORT"}]}`,
		[]string{"listeners[2].url: the same address as listeners[1] (tcp://0.0.0.0:"}},
	{"two listeners on one socket", `{"listeners": [{"url": "unix://$DIR/a.sock"}, {"url": "unix://$DIR//a.sock"}]}`,
		[]string{"listeners[1].url: the same socket as listeners[0] (unix://$DIR/a.sock)"}},
	{"two listeners on one device", `{"listeners": [{"url": "serial://$DIR/tty"}, {"url": "serial://$DIR/tty?baud=9600"}]}`,
		[]string{"listeners[1].url: the same device as listeners[0] (serial://$DIR/tty?baud=115200)"}},
	{"serial field on tcp", `{"listeners": [{"url": "tcp://$PORT", "baud": 9600}]}`, []string{"listeners[0].baud: only serial:// listeners have it"}},
	{"serial parity", `{"listeners": [{"url": "serial://$DIR/tty", "parity": "maybe"}]}`, []string{`listeners[0].parity: parity "maybe" is not`}},
	{"socket mode on tcp", `{"listeners": [{"url": "tcp://$PORT", "socket_mode": "0660"}]}`, []string{"listeners[0].socket_mode: only unix:// listeners have it"}},
	{"tls without key", `{"listeners": [{"url": "tls://$PORT", "tls_cert": "$DIR/cert.pem"}]}`, []string{"listeners[0].tls_key: missing"}},
	{"no listeners", `{"listeners": []}`, []string{"listeners: empty, so the router would listen nowhere"}},

	{"two realms with one name", `{"realms": [{"name": "a"}, {"name": "b"}, {"name": "a"}]}`, []string{`realms[2].name: "a" twice: realms[0] has this name too`}},
	{"no realms", `{"realms": []}`, []string{"realms: empty"}},
	{"realm name", `{"realms": [{"name": "bad realm"}]}`, []string{`realms[0].name: "bad realm" is not a valid URI`}},
	{"user role missing", `{"realms": [{"name": "a", "roles": [{"name": "device"}], "anonymous": {"enabled": false}, "users": [
		{"authid": "d", "role": "device", "ticket": "t"}, {"authid": "o", "role": "operator", "ticket": "t"}]}]}`,
		[]string{`realms[0].users[1].role: "operator" is not one of the roles`}},
	{"anonymous role missing", `{"realms": [{"name": "a", "roles": [{"name": "device"}], "anonymous": {"role": "guest"}}]}`,
		[]string{`realms[0].anonymous.role: "guest" is not one of the roles`}},
	{"anonymous listener scheme", `{"listeners": [{"url": "unix://$DIR/a.sock"}], "realms": [{"name": "a"}, {"name": "b", "anonymous": {"listeners": ["unix", "tpc"]}}]}`,
		[]string{`realms[1].anonymous.listeners[1]: "tpc" is neither a listener scheme (tcp, tls, unix or serial) nor a listener's URL (unix://$DIR/a.sock)`}},
	{"anonymous listener URL", `{"listeners": [{"url": "serial://$DIR/tty"}], "realms": [{"name": "a", "anonymous": {"listeners": ["serial://$DIR/tty"]}}]}`,
		[]string{`realms[0].anonymous.listeners[0]: "serial://$DIR/tty" is neither a listener scheme (tcp, tls, unix or serial) nor a listener's URL (serial://$DIR/tty?baud=115200)`}},
	{"permission action", `{"realms": [{"name": "a", "roles": [{"name": "r", "permissions": [{"uri": "a.", "match": "prefix", "allow": ["eat"]}]}]}]}`,
		[]string{`realms[0].roles[0].permissions[0]: action "eat" is not call, register, publish or subscribe`}},

	{"log level", `{"log_level": "loud"}`, []string{`log_level: "loud" is not debug, info, warn or error`}},
	{"duration value", `{"limits": {"hello_timeout": "ten seconds"}}`, []string{`limits.hello_timeout: want a duration such as "10s", got "ten seconds"`}},
	{"off where off is not allowed", `{"limits": {"call_timeout": "off"}}`, []string{`limits.call_timeout: want a duration such as "10s", got "off"`}},

	// Wrong JSON types: the path with indexes, what the field takes in
	// words, what it got and where.
	{"duration a number", "{\"limits\": {\n  \"hello_timeout\": 10}}", []string{`limits.hello_timeout: want a duration such as "10s", got 10 (line 2)`}},
	{"duration or off a bool", `{"limits": {"ping_interval": true}}`, []string{`limits.ping_interval: want a duration such as "30s", or "off", got true (line 1)`}},
	{"uplink duration a number", `{"uplink": {"url": "tcp://127.0.0.1:1", "realm": "r", "backoff_max": 60}}`, []string{`uplink.backoff_max: want a duration such as "10s", got 60`}},
	{"size a string", "{\n\"limits\": {\n\"queue_bytes\": \"1M\"}}", []string{`limits.queue_bytes: want a size in bytes such as 1048576, got "1M" (line 3)`}},
	{"size a fraction", `{"listeners": [{"url": "tcp://$PORT", "max_length": 1.5}]}`, []string{"listeners[0].max_length: want a size in bytes such as 1048576, got 1.5"}},
	{"number too large", `{"listeners": [{"url": "tcp://$PORT", "max_conns": 1e400}]}`, []string{"listeners[0].max_conns: want a whole number, got 1e400"}},
	{"bool a string", `{"auto_realms": "yes"}`, []string{`auto_realms: want true or false, got "yes"`}},
	{"pointer bool a string", `{"mdns": {"enabled": "no"}}`, []string{`mdns.enabled: want true or false, got "no"`}},
	{"enum a number", `{"limits": {"slow_consumer": 1}}`, []string{"limits.slow_consumer: want disconnect or drop, got 1"}},
	{"stop bits a number", `{"listeners": [{"url": "serial://$DIR/tty", "stop_bits": 2}]}`, []string{`listeners[0].stop_bits: want "1" or "2" (in quotes), got 2`}},
	{"nested enum a number", `{"realms": [{"name": "a", "roles": [{"name": "r", "permissions": [{"uri": "a", "allow": ["call"]}, {"uri": "b", "match": 2}]}]}]}`,
		[]string{"realms[0].roles[0].permissions[1].match: want exact (the default), prefix or wildcard, got 2"}},
	{"list an object", `{"listeners": {"url": "tcp://$PORT"}}`, []string{"listeners: want a list [...], got an object"}},
	{"list a string", `{"mdns": {"interfaces": "eth0"}}`, []string{`mdns.interfaces: want a list [...], got "eth0"`}},
	{"list element a string", `{"realms": [{"name": "a"}, "b"]}`, []string{`realms[1]: want an object {...}, got "b"`}},
	{"object a list", `{"limits": []}`, []string{"limits: want an object {...}, got a list"}},
	{"unknown field in a list", `{"listeners": [{"url": "tcp://$PORT"}, {"url": "tls://$PORT", "tls_certs": "x"}]}`,
		[]string{"listeners[1].tls_certs: unknown field (line 1); listeners[1] has url, max_length"}},
	{"field in another case", `{"Realms": [{"name": "a"}]}`, []string{"Realms: unknown field"}},

	// Every problem, one line each.
	{"three problems", "{\"auto_realms\": 1,\n \"limits\": {\"idle_after\": 5},\n \"listeners\": [{\"url\": \"tcp://h\", \"max_conns\": \"many\"}]}",
		[]string{"auto_realms: want true or false, got 1 (line 1)", `limits.idle_after: want a duration such as "30s", or "off", got 5 (line 2)`,
			`listeners[0].max_conns: want a whole number, got "many" (line 3)`}},
	{"problems after decoding", `{"realms": [{"name": "a"}, {"name": "a"}], "listeners": [{"url": "tcp://127.0.0.1:99999"}], "log_level": "loud"}`,
		[]string{`realms[1].name: "a" twice`, "listeners[0].url: port 99999", `log_level: "loud"`}},
}

// expand fills in a config's $DIR and $PORT (two free loopback ports:
// $FREEPORT is a bare port).
func expand(s, dir, addr, port string) string {
	return strings.NewReplacer("$DIR", dir, "$PORT", addr, "$FREEPORT", port).Replace(s)
}

// TestCheckRefuses: -check refuses each bad config with one line per
// problem, each naming the exact field, and exit status 1; starting with
// it is refused the same way.
func TestCheckRefuses(t *testing.T) {
	for _, tc := range badConfigs {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			addr := freeAddr(t)
			_, port, _ := net.SplitHostPort(freeAddr(t))
			file := writeFile(t, dir, "c.json", expand(tc.config, dir, addr, port))
			for _, args := range [][]string{
				{"-check", "-config", file},
				// Loopback only, should the check let it through.
				{"-config", file, "-listen", "unix://" + filepath.Join(dir, "s.sock"), "-mdns=false"},
			} {
				d := startDaemon(t, args...)
				if code := d.wait(t); code != 1 {
					t.Errorf("%s: exit status %d, want 1", args[0], code)
				}
				lines := strings.Split(strings.TrimSuffix(d.stderr.String(), "\n"), "\n")
				if len(lines) != len(tc.want) {
					t.Errorf("%s: %d lines, want %d:\n%s", args[0], len(lines), len(tc.want), d.stderr.String())
				}
				for i, w := range tc.want {
					prefix := "wampedge: config: " + file + ": " + expand(w, dir, addr, port)
					if i >= len(lines) || !strings.HasPrefix(lines[i], prefix) {
						t.Errorf("%s: stderr\n%s\nwant line %d to start with\n%s", args[0], d.stderr.String(), i+1, prefix)
					}
				}
			}
		})
	}
}

// TestCheckFlags: a problem in what a flag set names the flag; exit
// status 2.
func TestCheckFlags(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "good.json", `{"listeners": [{"url": "unix://`+filepath.Join(dir, "s.sock")+`"}]}`)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"log level", []string{"-log-level", "loud"}, `wampedge: -log-level: "loud" is not debug, info, warn or error`},
		{"listen scheme", []string{"-listen", "tcp://127.0.0.1:1", "-listen", "udp://127.0.0.1:2"}, "wampedge: -listen udp://127.0.0.1:2: want tcp://HOST:PORT"},
		{"listen twice", []string{"-listen", "tcp://127.0.0.1:7", "-listen", "tcp://127.0.0.1:7"}, "wampedge: -listen tcp://127.0.0.1:7: the same address as listeners[0]"},
		{"realm", []string{"-realm", "a b"}, `wampedge: -realm "a b": "a b" is not a valid URI`},
		{"uplink scheme", []string{"-uplink", "http://127.0.0.1:1", "-uplink-realm", "r"}, "wampedge: -uplink: want tcp://HOST:PORT"},
		{"uplink realm", []string{"-uplink", "tcp://127.0.0.1:1"}, "wampedge: -uplink-realm: missing"},
		{"uplink prefix", []string{"-uplink", "tcp://127.0.0.1:1", "-uplink-realm", "r", "-uplink-prefix", "wamp."}, "wampedge: -uplink-prefix: "},
		{"mdns iface", []string{"-mdns-iface", "eth0,"}, "wampedge: -mdns-iface: empty"},
		{"mdns name", []string{"-mdns-name", strings.Repeat("x", 64)}, "wampedge: -mdns-name: 64 bytes"},
		{"debug addr", []string{"-debug-addr", "localhost"}, `wampedge: -debug-addr: want HOST:PORT such as 127.0.0.1:6060, got "localhost"`},
		{"board", []string{"-board", "nosuchboard"}, `wampedge: -board: no board "nosuchboard"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := startDaemon(t, append([]string{"-check", "-config", good}, tc.args...)...)
			if code := d.wait(t); code != 2 {
				t.Errorf("exit status %d, want 2", code)
			}
			if got := d.stderr.String(); !strings.HasPrefix(got, tc.want) {
				t.Errorf("stderr %q, want it to start with %q", got, tc.want)
			}
		})
	}
}

// TestCheckAcceptsWhatStarts: each good config passes -check, and then
// starts: ready on its listeners, then stopped by SIGTERM.
func TestCheckAcceptsWhatStarts(t *testing.T) {
	dir := t.TempDir()
	cert, key := writeCert(t, dir)
	for _, tc := range []struct {
		name, config string
		dial         []string // the listeners to wait for, opened after the others
	}{
		{"every listener kind", `{"listeners": [
			{"url": "serial://$DIR/not-yet-plugged-in?baud=9600", "parity": "even", "stop_bits": "2", "framing": "cobs"},
			{"url": "tcp://$TCP", "max_conns": 8, "max_length": 65536},
			{"url": "tls://$TLS", "tls_cert": "` + cert + `", "tls_key": "` + key + `"},
			{"url": "unix://$DIR/s.sock", "socket_mode": "0600"}]}`,
			[]string{"tcp://$TCP", "tls://$TLS", "unix://$DIR/s.sock"}},
		{"secured realm", `{"listeners": [{"url": "tcp://$TCP"}, {"url": "unix://$DIR/s.sock"}],
			"realms": [{"name": "site",
				"anonymous": {"listeners": ["unix", "tcp://$TCP"], "role": "device"},
				"users": [{"authid": "op", "role": "operator", "ticket": "secret"},
				          {"authid": "hist", "role": "operator", "wampcra": {"secret": "s"}},
				          {"authid": "gw", "role": "device", "cryptosign": ["` + strings.Repeat("ab", 32) + `"]}],
				"roles": [{"name": "device", "permissions": [{"uri": "dev.", "match": "prefix", "allow": ["publish", "subscribe"]}]},
				          {"name": "operator", "permissions": [{"uri": "", "match": "prefix", "allow": ["call", "register", "publish", "subscribe"]}]}]},
				{"name": "open"}]}`,
			[]string{"tcp://$TCP", "unix://$DIR/s.sock"}},
		{"uplink", `{"listeners": [{"url": "unix://$DIR/s.sock"}], "realms": [{"name": "a"}, {"name": "b"}],
			"uplink": {"url": "tcp://$TLS", "realm": "cloud", "local_realm": "b", "backoff_min": "100ms", "backoff_max": "1s",
				"rules": [{"direction": "topics_out", "local": "dev.", "cloud": "gh1.dev."}, {"direction": "procedures_in", "local": "svc.", "cloud": "svc.", "match": "prefix"}]}}`,
			[]string{"unix://$DIR/s.sock"}},
		{"limits", `{"listeners": [{"url": "tcp://$TCP"}], "log_level": "warn", "auto_realms": true, "strict_uris": true,
			"limits": {"max_length": 16777216, "hello_timeout": "2s", "ping_interval": "off", "ping_timeout": "off", "idle_after": "off",
				"queue_bytes": 65536, "slow_consumer": "drop", "call_timeout": "30s"}, "mdns": {"enabled": false}}`,
			[]string{"tcp://$TCP"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sub := t.TempDir()
			r := strings.NewReplacer("$DIR", sub, "$TCP", freeAddr(t), "$TLS", freeAddr(t))
			file := writeFile(t, sub, "c.json", r.Replace(tc.config))
			check := startDaemon(t, "-check", "-config", file)
			if code := check.wait(t); code != 0 {
				t.Fatalf("-check: exit status %d, want 0; stderr:\n%s", code, check.stderr.String())
			}
			if got := check.stdout.String(); got != file+": OK\n" {
				t.Errorf("-check: stdout %q", got)
			}

			d := startDaemon(t, "-config", file, "-mdns=false")
			for _, u := range tc.dial {
				dialReady(t, d, r.Replace(u), cert)
			}
			// Status 0 says nothing failed after the listeners either:
			// the uplink, say, would have ended it with 1.
			d.signal(t, syscall.SIGTERM)
			if code := d.wait(t); code != 0 {
				t.Errorf("exit status %d after SIGTERM, want 0; stderr:\n%s", code, d.stderr.String())
			}
		})
	}
}

// dialReady waits until a RawSocket handshake with a listener of d
// succeeds; tls:// trusts the test's certificate.
func dialReady(t *testing.T, d *daemon, u, certFile string) {
	t.Helper()
	dc := rawsocket.DialConfig{}
	if strings.HasPrefix(u, "tls:") {
		pem, err := os.ReadFile(certFile)
		if err != nil {
			t.Fatal(err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		dc.TLS = &tls.Config{RootCAs: pool}
	}
	for deadline := time.Now().Add(readyTimeout); ; time.Sleep(5 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		c, err := rawsocket.Dial(ctx, u, codec.MsgPack, dc)
		cancel()
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-d.exited:
			t.Fatalf("wampedge exited before listening on %s:\n%s", u, d.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready after %v: %v", u, readyTimeout, err)
		}
	}
}

// writeCert writes a self-signed certificate for 127.0.0.1 and its key.
func writeCert(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile = writeFile(t, dir, "cert.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	keyFile = writeFile(t, dir, "key.pem", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})))
	return certFile, keyFile
}
