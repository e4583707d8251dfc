package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/wampedge/wampedge/edge"
	"github.com/wampedge/wampedge/edge/mdns"
	"github.com/wampedge/wampedge/rawsocket"
	"github.com/wampedge/wampedge/serial"
)

// DefaultSocket is the Unix socket the embedded default listens on.
const DefaultSocket = "/tmp/wampedge.sock"

// defaultListeners are the embedded default: TCP port 8080 on every
// interface, and a Unix socket for programs on the board.
var defaultListeners = []string{"tcp://0.0.0.0:8080", "unix://" + DefaultSocket}

// fileConfig is the JSON config file. Every field is optional.
type fileConfig struct {
	Realms     []realmConfig    `json:"realms"`
	AutoRealms bool             `json:"auto_realms"`
	StrictURIs bool             `json:"strict_uris"`
	Listeners  []listenerConfig `json:"listeners"`
	Limits     limitsConfig     `json:"limits"`
	LogLevel   string           `json:"log_level"`
	MDNS       mdnsConfig       `json:"mdns"`
	Uplink     uplinkConfig     `json:"uplink"`
}

type realmConfig struct {
	Name string `json:"name"`
	// Who may join and what they may do (see auth.go); absent: anyone,
	// anything.
	Anonymous   *anonymousConfig `json:"anonymous"`
	Users       []userConfig     `json:"users"`
	Roles       []roleConfig     `json:"roles"`
	MaxSessions int              `json:"max_sessions"`
}

type listenerConfig struct {
	URL         string `json:"url"`
	MaxLength   int    `json:"max_length"`   // bytes; rounded up to a power of two
	SocketMode  string `json:"socket_mode"`  // octal, e.g. "0660"
	SocketGroup string `json:"socket_group"` // a group name or number
	// tls:// listeners: the certificate and key files, and the CA file
	// that client certificates must be signed by (then required).
	TLSCert     string `json:"tls_cert"`
	TLSKey      string `json:"tls_key"`
	TLSClientCA string `json:"tls_client_ca"`
	MaxConns    int    `json:"max_conns"`
	// Serial lines (serial:///dev/ttyUSB0): these override the URL's
	// parameters of the same names.
	Baud     int    `json:"baud"`
	DataBits int    `json:"data_bits"`
	Parity   string `json:"parity"`
	StopBits string `json:"stop_bits"`
	Framing  string `json:"framing"`
}

// isSerial reports whether a listener is a serial line.
func (l listenerConfig) isSerial() bool { return strings.HasPrefix(l.URL, "serial:") }

// serial is a serial listener's line settings: the URL's, overridden by
// the fields.
func (l listenerConfig) serial() (serial.Config, error) {
	c, err := serial.ParseURL(l.URL)
	if err != nil {
		return c, err
	}
	if l.Baud != 0 {
		c.Baud = l.Baud
	}
	if l.DataBits != 0 {
		c.DataBits = l.DataBits
	}
	if l.Parity != "" {
		c.Parity = l.Parity
	}
	if l.StopBits != "" {
		c.StopBits = l.StopBits
	}
	if l.Framing != "" {
		c.Framing = serial.Framing(l.Framing)
	}
	return c, c.Check()
}

type limitsConfig struct {
	MaxLength        int      `json:"max_length"`
	MinPeerLength    int      `json:"min_peer_length"`
	HandshakeTimeout duration `json:"handshake_timeout"`
	HelloTimeout     duration `json:"hello_timeout"`
	GoodbyeTimeout   duration `json:"goodbye_timeout"`
	QueueBytes       int      `json:"queue_bytes"`
	SlowConsumer     string   `json:"slow_consumer"`
	SlowConsumerWait duration `json:"slow_consumer_wait"`
	MaxSessions      int      `json:"max_sessions"`
	MaxSubscriptions int      `json:"max_subscriptions"`
	MaxRegistrations int      `json:"max_registrations"`
	MaxPendingCalls  int      `json:"max_pending_calls"`
	CallTimeout      duration `json:"call_timeout"`
	// The RawSocket keepalive: a PING after ping_interval of silence,
	// the connection closed after ping_timeout more; "off" turns it off.
	PingInterval duration `json:"ping_interval"`
	// A session silent this long parks: no goroutine, no read buffer
	// until it sends again; "off" keeps every session's goroutine.
	IdleAfter   duration `json:"idle_after"`
	PingTimeout duration `json:"ping_timeout"`
}

// duration is a time.Duration written as "10s" in JSON. check parses it,
// so that the error names the field.
type duration string

func (d duration) parse() (time.Duration, error) {
	if d == "" {
		return 0, nil
	}
	v, err := time.ParseDuration(string(d))
	if err != nil || v < 0 {
		return 0, fmt.Errorf("%q is not a duration such as \"10s\"", string(d))
	}
	return v, nil
}

func (d duration) value() time.Duration { v, _ := d.parse(); return v }

// keepalive is a setting that can be "off": -1, which turns the
// keepalive (or parking) off; zero keeps the default.
func (d duration) keepalive() time.Duration {
	if d == "off" {
		return -1
	}
	return d.value()
}

// loadConfig reads and checks a config file; errors name the bad field.
func loadConfig(path string) (*fileConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var fc fileConfig
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&fc); err != nil {
		return nil, fmt.Errorf("%s: %s", path, describeJSONError(data, err))
	}
	if rest := bytes.TrimLeft(data[dec.InputOffset():], " \t\r\n"); len(rest) > 0 {
		return nil, fmt.Errorf("%s: line %d: unexpected data after the config", path, line(data, int64(len(data)-len(rest))))
	}
	if err := fc.check(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &fc, nil
}

// describeJSONError says which field and line a decode error is about.
func describeJSONError(data []byte, err error) string {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		return fmt.Sprintf("line %d: field %s: want %v, got JSON %s", line(data, te.Offset), te.Field, te.Type, te.Value)
	case errors.As(err, &se):
		return fmt.Sprintf("line %d: %v", line(data, se.Offset), se)
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

func line(data []byte, offset int64) int {
	return bytes.Count(data[:min(int(offset), len(data))], []byte("\n")) + 1
}

func (fc *fileConfig) check() error {
	for i, r := range fc.Realms {
		if r.Name == "" {
			return fmt.Errorf("realms[%d].name: missing", i)
		}
		if _, err := r.policy(); err != nil {
			return fmt.Errorf("realms[%d].%w", i, err)
		}
	}
	for i, l := range fc.Listeners {
		if l.isSerial() {
			if _, err := l.serial(); err != nil {
				return fmt.Errorf("listeners[%d]: %v", i, err)
			}
			continue
		}
		ep, err := rawsocket.ParseURL(l.URL)
		if err != nil {
			return fmt.Errorf("listeners[%d].url: %v", i, err)
		}
		if ep.Scheme == "tls" {
			if _, err := l.listenerTLS(); err != nil {
				return fmt.Errorf("listeners[%d]: %s: %v", i, l.URL, err)
			}
		}
		if _, err := l.mode(); err != nil {
			return fmt.Errorf("listeners[%d].socket_mode: %v", i, err)
		}
		if l.MaxLength < 0 || l.MaxLength > rawsocket.MaxLength {
			return fmt.Errorf("listeners[%d].max_length: must be between 0 and %d", i, rawsocket.MaxLength)
		}
		if l.MaxConns < 0 {
			return fmt.Errorf("listeners[%d].max_conns: must not be negative", i)
		}
	}
	if fc.Limits.MaxLength < 0 || fc.Limits.MaxLength > rawsocket.MaxLength {
		return fmt.Errorf("limits.max_length: must be between 0 and %d", rawsocket.MaxLength)
	}
	if fc.Limits.MinPeerLength < 0 || fc.Limits.MinPeerLength > rawsocket.MaxLength {
		return fmt.Errorf("limits.min_peer_length: must be between 0 and %d", rawsocket.MaxLength)
	}
	for _, d := range []struct {
		field string
		d     duration
	}{
		{"handshake_timeout", fc.Limits.HandshakeTimeout},
		{"hello_timeout", fc.Limits.HelloTimeout},
		{"goodbye_timeout", fc.Limits.GoodbyeTimeout},
		{"call_timeout", fc.Limits.CallTimeout},
		{"slow_consumer_wait", fc.Limits.SlowConsumerWait},
		{"ping_interval", fc.Limits.PingInterval},
		{"idle_after", fc.Limits.IdleAfter},
		{"ping_timeout", fc.Limits.PingTimeout},
	} {
		if d.d == "off" && (strings.HasPrefix(d.field, "ping_") || d.field == "idle_after") {
			continue
		}
		if _, err := d.d.parse(); err != nil {
			return fmt.Errorf("limits.%s: %v", d.field, err)
		}
	}
	if len(fc.MDNS.Name) > mdns.MaxName {
		return fmt.Errorf("mdns.name: %d bytes; a DNS-SD instance name has at most %d", len(fc.MDNS.Name), mdns.MaxName)
	}
	for i, name := range fc.MDNS.Interfaces {
		if name == "" {
			return fmt.Errorf("mdns.interfaces[%d]: empty", i)
		}
	}
	if err := fc.Uplink.check(); err != nil {
		return err
	}
	if _, err := parseLevel(fc.LogLevel); err != nil {
		return fmt.Errorf("log_level: %v", err)
	}
	rc := fc.routerConfig()
	if err := rc.Validate(); err != nil {
		if !strings.HasPrefix(err.Error(), "realm") {
			return fmt.Errorf("limits.%v", err)
		}
		return err
	}
	return nil
}

func (l listenerConfig) mode() (fs.FileMode, error) {
	if l.SocketMode == "" {
		return 0, nil
	}
	m, err := strconv.ParseUint(l.SocketMode, 8, 32)
	if err != nil || m > 0o777 {
		return 0, fmt.Errorf("%q is not an octal file mode such as \"0660\"", l.SocketMode)
	}
	return fs.FileMode(m), nil
}

func (fc *fileConfig) routerConfig() edge.Config {
	c := edge.Config{
		AutoRealms:       fc.AutoRealms,
		StrictURIs:       fc.StrictURIs,
		HelloTimeout:     fc.Limits.HelloTimeout.value(),
		GoodbyeTimeout:   fc.Limits.GoodbyeTimeout.value(),
		QueueBytes:       fc.Limits.QueueBytes,
		SlowConsumer:     edge.SlowConsumerPolicy(fc.Limits.SlowConsumer),
		SlowConsumerWait: fc.Limits.SlowConsumerWait.value(),
		IdleAfter:        fc.Limits.IdleAfter.keepalive(),

		MaxSessions:      fc.Limits.MaxSessions,
		MaxSubscriptions: fc.Limits.MaxSubscriptions,
		MaxRegistrations: fc.Limits.MaxRegistrations,
		MaxPendingCalls:  fc.Limits.MaxPendingCalls,
		CallTimeout:      fc.Limits.CallTimeout.value(),
	}
	for _, r := range fc.Realms {
		c.Realms = append(c.Realms, r.Name)
		if p, _ := r.policy(); p != nil { // check reported its errors
			if c.Policies == nil {
				c.Policies = map[string]*edge.RealmPolicy{}
			}
			c.Policies[r.Name] = p
		}
	}
	return c
}

func (fc *fileConfig) listenConfig(l listenerConfig) rawsocket.ListenConfig {
	mode, _ := l.mode()
	maxLen := l.MaxLength
	if maxLen == 0 {
		maxLen = fc.Limits.MaxLength
	}
	return rawsocket.ListenConfig{
		Config: rawsocket.Config{
			MaxLength:     maxLen,
			MinPeerLength: fc.Limits.MinPeerLength,
			Timeout:       fc.Limits.HandshakeTimeout.value(),
			PingInterval:  fc.Limits.PingInterval.keepalive(),
			PingTimeout:   fc.Limits.PingTimeout.keepalive(),
		},
		SocketMode:  mode,
		SocketGroup: l.SocketGroup,
		MaxConns:    l.MaxConns,
	}
}
