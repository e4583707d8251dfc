package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wampedge/wampedge/edge"
	"github.com/wampedge/wampedge/rawsocket"
)

// fullConfig sets every field of the config file.
const fullConfig = `{
  "realms": [{"name": "realm1"}, {"name": "com.example.board"}],
  "auto_realms": true,
  "strict_uris": true,
  "listeners": [
    {"url": "tcp://127.0.0.1:8080", "max_length": 65536, "max_conns": 16},
    {"url": "unix:///run/wampedge.sock", "socket_mode": "0660"}
  ],
  "limits": {
    "max_length": 1048576,
    "min_peer_length": 4096,
    "handshake_timeout": "3s",
    "hello_timeout": "10s",
    "goodbye_timeout": "1500ms",
    "queue_bytes": 262144,
    "slow_consumer": "drop"
  },
  "log_level": "debug"
}
`

// writeFile writes content into a file in dir and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadConfigFull(t *testing.T) {
	fc, err := loadConfig(writeFile(t, t.TempDir(), "full.json", fullConfig))
	if err != nil {
		t.Fatal(err)
	}
	rc := fc.routerConfig()
	wantRC := edge.Config{
		Realms:         []string{"realm1", "com.example.board"},
		AutoRealms:     true,
		StrictURIs:     true,
		HelloTimeout:   10 * time.Second,
		GoodbyeTimeout: 1500 * time.Millisecond,
		QueueBytes:     262144,
		SlowConsumer:   edge.DropEvents,
	}
	if !reflect.DeepEqual(rc, wantRC) {
		t.Errorf("routerConfig:\n got %+v\nwant %+v", rc, wantRC)
	}
	if fc.LogLevel != "debug" {
		t.Errorf("log_level = %q, want debug", fc.LogLevel)
	}
	wantLC := []rawsocket.ListenConfig{
		{Config: rawsocket.Config{MaxLength: 65536, MinPeerLength: 4096, Timeout: 3 * time.Second}, MaxConns: 16},
		// No max_length of its own: the one in limits.
		{Config: rawsocket.Config{MaxLength: 1048576, MinPeerLength: 4096, Timeout: 3 * time.Second}, SocketMode: 0o660},
	}
	if len(fc.Listeners) != len(wantLC) {
		t.Fatalf("%d listeners, want %d", len(fc.Listeners), len(wantLC))
	}
	for i, l := range fc.Listeners {
		if got := fc.listenConfig(l); !reflect.DeepEqual(got, wantLC[i]) {
			t.Errorf("listeners[%d] (%s):\n got %+v\nwant %+v", i, l.URL, got, wantLC[i])
		}
	}
}

func TestLoadConfigValid(t *testing.T) {
	for name, content := range map[string]string{
		"empty object":   `{}`,
		"trailing space": "{\"log_level\": \"warn\"}\n\n  \n",
		"loose realm":    `{"realms": [{"name": "Realm-1"}]}`,
		"zero limits":    `{"limits": {"max_length": 0, "queue_bytes": 0, "hello_timeout": "0s"}}`,
		"largest length": `{"limits": {"max_length": 16777216}, "listeners": [{"url": "tcp://:1", "max_length": 16777216}]}`,
		"mdns":           `{"mdns": {"enabled": false, "name": "Greenhouse gateway", "interfaces": ["eth0", "wlan0"], "id": "gh-1"}}`,
		"uplink": `{"uplink": {"url": "wss://cloud.example.com/ws", "realm": "plant", "authid": "edge-1", "ticket": "t",
			"backoff_min": "500ms", "backoff_max": "30s", "queue_events": 500, "call_timeout": "10s",
			"rules": [{"direction": "topics_out", "local": "dev.", "cloud": "plant.dev."},
			          {"direction": "procedures_in", "local": "cloud.", "cloud": "svc.", "match": "prefix"}]}}`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := loadConfig(writeFile(t, t.TempDir(), "c.json", content)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestLoadConfigErrors: each error names the file and the bad field (and,
// for JSON errors, the line).
func TestLoadConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name, content string
		want          []string // substrings of the error
	}{
		{"unknown field", `{"realm": "realm1"}`, []string{`realm: unknown field`}},
		{"unknown field in limits", `{"limits": {"queue_byte": 1}}`, []string{`limits.queue_byte: unknown field`, "queue_bytes"}},
		{"wrong type", "{\n  \"auto_realms\": \"yes\"\n}", []string{"line 2", "auto_realms: want true or false"}},
		{"wrong type in a listener", `{
  "listeners": [
    {"url": "tcp://127.0.0.1:1"},
    {"url": "tcp://127.0.0.1:2", "max_conns": "ten"}
  ]
}`, []string{"line 4", "listeners[1].max_conns: want a whole number"}},
		{"wrong type of listeners", "{\"listeners\": {}}", []string{"line 1", "listeners: want a list"}},
		{"syntax error", "{\n  \"auto_realms\": true\n  \"strict_uris\": true\n}", []string{"line 3"}},
		{"trailing data", "{\"auto_realms\": true}\n}\n", []string{"line 2", "after the config"}},
		{"second object", "{}\n{\"auto_realms\": true}\n", []string{"line 2", "after the config"}},
		{"mdns name too long", `{"mdns": {"name": "` + strings.Repeat("x", 64) + `"}}`, []string{"mdns.name", "63"}},
		{"mdns empty interface", `{"mdns": {"interfaces": ["eth0", ""]}}`, []string{"mdns.interfaces[1]"}},
		{"mdns enabled not bool", `{"mdns": {"enabled": "no"}}`, []string{"mdns.enabled"}},
		{"uplink without realm", `{"uplink": {"url": "tcp://127.0.0.1:1"}}`, []string{"uplink", "realm"}},
		{"uplink bad direction", `{"uplink": {"url": "tcp://127.0.0.1:1", "realm": "r", "rules": [{"direction": "up", "local": "a."}]}}`, []string{"uplink", "rules[0]", "direction"}},
		{"uplink bad serializer", `{"uplink": {"url": "tcp://127.0.0.1:1", "realm": "r", "serializer": "cbor"}}`, []string{"uplink.serializer"}},
		{"uplink missing key file", `{"uplink": {"url": "tcp://127.0.0.1:1", "realm": "r", "key_file": "/nonexistent/key"}}`, []string{"uplink.key_file"}},
		{"uplink bad backoff", `{"uplink": {"url": "tcp://127.0.0.1:1", "realm": "r", "backoff_max": "soon"}}`, []string{"uplink.backoff_max"}},
		{"uplink client cert without key", `{"uplink": {"url": "tls://127.0.0.1:1", "realm": "r", "tls": {"cert_file": "/x.pem"}}}`, []string{"uplink.tls.cert_file"}},
		{"bad listener URL", `{"listeners": [{"url": "tcp://127.0.0.1:1"}, {"url": "http://127.0.0.1:2"}]}`, []string{"listeners[1].url", "tcp://HOST:PORT"}},
		{"listener without port", `{"listeners": [{"url": "tcp://127.0.0.1"}]}`, []string{"listeners[0].url", "HOST:PORT"}},
		{"listener without path", `{"listeners": [{"url": "unix://"}]}`, []string{"listeners[0].url"}},
		{"tls listener without a certificate", `{"listeners": [{"url": "tls://127.0.0.1:8443"}]}`, []string{"listeners[0]", "tls_cert"}},
		{"serial bad baud", `{"listeners": [{"url": "serial:///dev/ttyUSB0?baud=fast"}]}`, []string{"listeners[0]", "baud"}},
		{"serial bad framing field", `{"listeners": [{"url": "serial:///dev/ttyUSB0", "framing": "hdlc"}]}`, []string{"listeners[0]", "framing"}},
		{"serial bad parity field", `{"listeners": [{"url": "serial:///dev/ttyUSB0", "parity": "maybe"}]}`, []string{"listeners[0]", "parity"}},
		{"serial unknown parameter", `{"listeners": [{"url": "serial:///dev/ttyUSB0?speed=9600"}]}`, []string{"listeners[0]", "speed"}},
		{"socket mode not octal", `{"listeners": [{"url": "unix:///tmp/s", "socket_mode": "0698"}]}`, []string{"listeners[0].socket_mode", `"0698"`}},
		{"socket mode too large", `{"listeners": [{"url": "unix:///tmp/s", "socket_mode": "01777"}]}`, []string{"listeners[0].socket_mode"}},
		{"negative max_conns", `{"listeners": [{"url": "tcp://:1"}, {"url": "tcp://:2", "max_conns": -1}]}`, []string{"listeners[1].max_conns"}},
		{"listener max_length too large", `{"listeners": [{"url": "tcp://:1", "max_length": 16777217}]}`, []string{"listeners[0].max_length"}},
		{"listener max_length negative", `{"listeners": [{"url": "tcp://:1", "max_length": -1}]}`, []string{"listeners[0].max_length"}},
		{"limits max_length too large", `{"limits": {"max_length": 16777217}}`, []string{"limits.max_length"}},
		{"limits max_length negative", `{"limits": {"max_length": -512}}`, []string{"limits.max_length"}},
		{"min_peer_length too large", `{"limits": {"min_peer_length": 16777217}}`, []string{"limits.min_peer_length"}},
		{"min_peer_length negative", `{"limits": {"min_peer_length": -1}}`, []string{"limits.min_peer_length"}},
		{"bad hello_timeout", `{"limits": {"hello_timeout": "ten seconds"}}`, []string{"limits.hello_timeout", `"ten seconds"`}},
		{"negative goodbye_timeout", `{"limits": {"goodbye_timeout": "-1s"}}`, []string{"limits.goodbye_timeout"}},
		{"handshake_timeout a number", "{\"limits\": {\n\"handshake_timeout\": 10}}", []string{"line 2", "limits.handshake_timeout"}},
		{"bad slow_consumer", `{"limits": {"slow_consumer": "block"}}`, []string{"limits.slow_consumer", `"block"`}},
		{"negative queue_bytes", `{"limits": {"queue_bytes": -1}}`, []string{"limits.queue_bytes"}},
		{"bad log_level", `{"log_level": "verbose"}`, []string{"log_level", `"verbose"`}},
		{"realm without name", `{"realms": [{"name": "a"}, {}]}`, []string{"realms[1].name", "missing"}},
		{"realm name empty", `{"realms": [{"name": ""}]}`, []string{"realms[0].name"}},
		{"invalid realm URI", `{"realms": [{"name": "a"}, {"name": "bad realm"}]}`, []string{"realms[1]", `"bad realm"`, "not a valid URI"}},
		{"realm URI with empty component", `{"realms": [{"name": "com..example"}]}`, []string{"realms[0]"}},
		{"realm URI not strict", `{"strict_uris": true, "realms": [{"name": "Realm1"}]}`, []string{"realms[0]", `"Realm1"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, t.TempDir(), "c.json", tc.content)
			fc, err := loadConfig(path)
			if err == nil {
				t.Fatalf("loadConfig accepted %s as %+v", tc.content, fc)
			}
			for _, w := range append([]string{path + ": "}, tc.want...) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestLoadConfigMissingFile(t *testing.T) {
	_, err := loadConfig(filepath.Join(t.TempDir(), "none.json"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want a not-exist error", err)
	}
}

// TestCheckFlagOverrides: check() is also what run() applies to the
// config after -realm, -listen and -log-level, so it must catch them
// without a file.
func TestCheckFlagOverrides(t *testing.T) {
	for _, tc := range []struct {
		name string
		fc   fileConfig
		want string // "" when valid
	}{
		{"zero", fileConfig{}, ""},
		{"realms", fileConfig{Realms: []realmConfig{{Name: "a"}, {Name: "b"}}}, ""},
		{"bad realm", fileConfig{Realms: []realmConfig{{Name: "a"}, {Name: "b#"}}}, "realms[1]"},
		{"listeners", fileConfig{Listeners: []listenerConfig{{URL: "tcp://127.0.0.1:0"}, {URL: "unix:///tmp/x.sock"}}}, ""},
		{"bad listener", fileConfig{Listeners: []listenerConfig{{URL: "127.0.0.1:8080"}}}, "listeners[0].url"},
		{"log level", fileConfig{LogLevel: "WARNING"}, ""},
		{"bad log level", fileConfig{LogLevel: "trace"}, "log_level"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.fc.check()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("check: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("check: %v, want an error naming %s", err, tc.want)
			}
		})
	}
}

func TestDefaultListeners(t *testing.T) {
	want := []string{"tcp://0.0.0.0:8080", "unix:///tmp/wampedge.sock"}
	if !reflect.DeepEqual(defaultListeners, want) {
		t.Fatalf("defaultListeners = %q, want %q", defaultListeners, want)
	}
	fc := fileConfig{}
	for _, u := range defaultListeners {
		fc.Listeners = append(fc.Listeners, listenerConfig{URL: u})
	}
	if err := fc.check(); err != nil {
		t.Fatal(err)
	}
	if rc := fc.routerConfig(); realmNames(rc) != "realm1" {
		t.Errorf("default realms: %s, want realm1", realmNames(rc))
	}
}

func TestParseLevel(t *testing.T) {
	for in, want := range map[string]string{"": "INFO", "info": "INFO", "DEBUG": "DEBUG", "warn": "WARN", "warning": "WARN", "Error": "ERROR"} {
		if got, err := parseLevel(in); err != nil || got.String() != want {
			t.Errorf("parseLevel(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	if _, err := parseLevel("fatal"); err == nil {
		t.Error(`parseLevel("fatal") succeeded`)
	}
}
