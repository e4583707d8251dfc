package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
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

// The URL schemes each place takes. Checks, their messages and the flags'
// usage all read these lists, so that they cannot drift apart.
var (
	// listenerSchemes: rawsocket.Listen's tcp, tls and unix, and
	// serial.NewListener's serial.
	listenerSchemes = []string{"tcp", "tls", "unix", "serial"}
	// uplinkSchemes: what the uplink's dialer, client.Dial, connects to.
	uplinkSchemes = []string{"tcp", "tls", "unix", "ws", "wss", "serial"}
)

// urlForms is each scheme's URL as messages spell it.
var urlForms = map[string]string{
	"tcp": "tcp://HOST:PORT", "tls": "tls://HOST:PORT", "unix": "unix:///PATH",
	"serial": "serial:///DEVICE", "ws": "ws://HOST[:PORT]/PATH", "wss": "wss://HOST[:PORT]/PATH",
}

// forms lists the URL forms of schemes: "tcp://HOST:PORT or unix:///PATH".
func forms(schemes []string) string {
	var f []string
	for _, s := range schemes {
		f = append(f, urlForms[s])
	}
	return orList(f)
}

// orList is "a, b or c".
func orList(words []string) string { return wordList(words, "or") }

// wordList is "a, b and c", with the conjunction given.
func wordList(words []string, conj string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " " + conj + " " + words[len(words)-1]
}

// fileConfig is the JSON config file. Every field is optional. A `want`
// tag says in words what a field takes, where its type alone does not.
type fileConfig struct {
	Realms     []realmConfig    `json:"realms"`
	AutoRealms bool             `json:"auto_realms"`
	StrictURIs bool             `json:"strict_uris"`
	Listeners  []listenerConfig `json:"listeners"`
	Limits     limitsConfig     `json:"limits"`
	LogLevel   string           `json:"log_level" want:"debug, info, warn or error"`
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
	MaxLength   int    `json:"max_length" want:"a size in bytes such as 1048576"` // rounded up to a power of two
	SocketMode  string `json:"socket_mode" want:"an octal file mode in quotes such as \"0660\""`
	SocketGroup string `json:"socket_group"` // a group name or number
	// tls:// listeners: the certificate and key files, and the CA file
	// that client certificates must be signed by (then required).
	TLSCert     string `json:"tls_cert"`
	TLSKey      string `json:"tls_key"`
	TLSClientCA string `json:"tls_client_ca"`
	MaxConns    int    `json:"max_conns"`
	// Serial lines (serial:///dev/ttyUSB0): these override the URL's
	// parameters of the same names.
	Baud     int    `json:"baud" want:"a whole number such as 115200"`
	DataBits int    `json:"data_bits" want:"5, 6, 7 or 8"`
	Parity   string `json:"parity" want:"none, odd, even, mark or space"`
	StopBits string `json:"stop_bits" want:"\"1\" or \"2\" (in quotes)"`
	Framing  string `json:"framing" want:"plain or cobs"`
}

// isSerial reports whether a listener is a serial line.
func (l listenerConfig) isSerial() bool { return strings.HasPrefix(l.URL, "serial:") }

// serialSetting is a serial line setting a listener's field overrides.
type serialSetting struct {
	field string
	set   bool
	apply func(*serial.Config)
}

func (l listenerConfig) serialSettings() []serialSetting {
	return []serialSetting{
		{"baud", l.Baud != 0, func(c *serial.Config) { c.Baud = l.Baud }},
		{"data_bits", l.DataBits != 0, func(c *serial.Config) { c.DataBits = l.DataBits }},
		{"parity", l.Parity != "", func(c *serial.Config) { c.Parity = l.Parity }},
		{"stop_bits", l.StopBits != "", func(c *serial.Config) { c.StopBits = l.StopBits }},
		{"framing", l.Framing != "", func(c *serial.Config) { c.Framing = serial.Framing(l.Framing) }},
	}
}

// serial is a serial listener's line settings: the URL's, overridden by
// the fields.
func (l listenerConfig) serial() (serial.Config, error) {
	c, err := serial.ParseURL(l.URL)
	if err != nil {
		return c, err
	}
	for _, s := range l.serialSettings() {
		if s.set {
			s.apply(&c)
		}
	}
	return c, c.Check()
}

type limitsConfig struct {
	MaxLength        int      `json:"max_length" want:"a size in bytes such as 1048576"`
	MinPeerLength    int      `json:"min_peer_length" want:"a size in bytes such as 4096"`
	HandshakeTimeout duration `json:"handshake_timeout"`
	HelloTimeout     duration `json:"hello_timeout"`
	GoodbyeTimeout   duration `json:"goodbye_timeout"`
	QueueBytes       int      `json:"queue_bytes" want:"a size in bytes such as 1048576"`
	SlowConsumer     string   `json:"slow_consumer" want:"disconnect or drop"`
	SlowConsumerWait duration `json:"slow_consumer_wait"`
	MaxSessions      int      `json:"max_sessions"`
	MaxSubscriptions int      `json:"max_subscriptions"`
	MaxRegistrations int      `json:"max_registrations"`
	MaxPendingCalls  int      `json:"max_pending_calls"`
	CallTimeout      duration `json:"call_timeout"`
	// The RawSocket keepalive: a PING after ping_interval of silence,
	// the connection closed after ping_timeout more; "off" turns it off.
	PingInterval durationOrOff `json:"ping_interval"`
	// A session silent this long parks: no goroutine, no read buffer
	// until it sends again; "off" keeps every session's goroutine.
	IdleAfter   durationOrOff `json:"idle_after"`
	PingTimeout durationOrOff `json:"ping_timeout"`
}

// duration is a time.Duration written as "10s" in JSON. check parses it,
// so that the error names the field.
type duration string

func (duration) want() string { return `a duration such as "10s"` }

func (d duration) parse() (time.Duration, error) {
	if d == "" {
		return 0, nil
	}
	v, err := time.ParseDuration(string(d))
	if err != nil || v < 0 {
		return 0, fmt.Errorf("want %s, got %q", d.want(), string(d))
	}
	return v, nil
}

func (d duration) value() time.Duration { v, _ := d.parse(); return v }

// durationOrOff is a duration that can also be "off": -1, which turns
// the keepalive (or parking) off; zero keeps the default.
type durationOrOff string

func (durationOrOff) want() string { return `a duration such as "30s", or "off"` }

func (d durationOrOff) parse() (time.Duration, error) {
	if d == "off" {
		return -1, nil
	}
	v, err := duration(d).parse()
	if err != nil {
		return 0, fmt.Errorf("want %s, got %q", d.want(), string(d))
	}
	return v, nil
}

func (d durationOrOff) value() time.Duration { v, _ := d.parse(); return v }

// loadConfig reads and checks a config file; each line of its error is
// one problem, naming the file and the field.
func loadConfig(path string) (*fileConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	fc, err := parseConfig(data)
	if err != nil {
		return nil, errors.New(path + ": " + strings.ReplaceAll(err.Error(), "\n", "\n"+path+": "))
	}
	return fc, nil
}

// parseConfig decodes and checks a config file's contents.
func parseConfig(data []byte) (*fileConfig, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err == io.EOF {
		return nil, errors.New("empty; want a JSON object such as {} (every field is optional)")
	} else if err != nil {
		return nil, errors.New(describeJSONError(data, err))
	}
	if rest := bytes.TrimLeft(data[dec.InputOffset():], " \t\r\n"); len(rest) > 0 {
		return nil, fmt.Errorf("line %d: unexpected data after the config", line(data, int64(len(data)-len(rest))))
	}
	if raw[0] != '{' {
		return nil, fmt.Errorf("want a JSON object such as {} (every field is optional), got %s", gotJSON(raw))
	}
	var ps problems
	shape{data, &ps}.value(raw, int(dec.InputOffset())-len(raw), reflect.TypeFor[fileConfig](), "", "")
	if err := ps.err(); err != nil {
		return nil, err
	}
	var fc fileConfig
	if err := json.Unmarshal(raw, &fc); err != nil { // shape let nothing through that fails here
		return nil, errors.New(describeJSONError(data, err))
	}
	if err := fc.check(); err != nil {
		return nil, err
	}
	return &fc, nil
}

// describeJSONError says where a syntax error is.
func describeJSONError(data []byte, err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("line %d: %v", line(data, se.Offset), se)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

func line(data []byte, offset int64) int {
	return bytes.Count(data[:min(int(offset), len(data))], []byte("\n")) + 1
}

// problem is one thing wrong with the config: the field, by its JSON
// path with indexes ("realms[0].users[1].role"), and what is wrong.
type problem struct{ path, msg string }

func (p problem) String() string {
	if p.path == "" {
		return p.msg
	}
	return p.path + ": " + p.msg
}

// problems is all that a check found; as an error, one line each.
type problems []problem

func (ps problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// err is ps as an error, nil when there are none.
func (ps problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	return ps
}

func (ps *problems) add(path, format string, args ...any) {
	*ps = append(*ps, problem{path, fmt.Sprintf(format, args...)})
}

// addErr adds an error from a checker whose messages start with the
// field's path relative to at ("users[1].role: ...", as auth.go's and
// edge's do), or with none.
func (ps *problems) addErr(at string, err error) {
	msg := err.Error()
	if rel, rest, ok := strings.Cut(msg, ": "); ok && isFieldPath(rel) {
		at, msg = joinPath(at, rel), rest
	}
	ps.add(at, "%s", msg)
}

// isFieldPath reports whether p is a field path such as users[1].role:
// names of a-z and _, each followed by any number of [N], joined by dots.
// By hand: the regexp package would add 25 KB to the binary for this.
func isFieldPath(p string) bool {
	for _, part := range strings.Split(p, ".") {
		name, index, bracket := strings.Cut(part, "[")
		if name == "" || strings.Trim(name, "abcdefghijklmnopqrstuvwxyz_") != "" {
			return false
		}
		for bracket {
			n, rest, ok := strings.Cut(index, "]")
			if !ok || n == "" || strings.Trim(n, "0123456789") != "" || rest != "" && rest[0] != '[' {
				return false
			}
			index, bracket = strings.CutPrefix(rest, "[")
		}
	}
	return true
}

func joinPath(at, rel string) string {
	switch {
	case at == "":
		return rel
	case strings.HasPrefix(rel, "["):
		return at + rel
	}
	return at + "." + rel
}

// shape checks that JSON has the shape of the Go type it decodes into.
// It reports every value of the wrong kind and every unknown field with
// its indexed path, its line and, in words, what the field takes, where
// encoding/json stops at the first, without indexes, in Go's type names.
type shape struct {
	data []byte // the whole file, for line numbers
	ps   *problems
}

// value checks raw, found at offset at, against t; want, when not empty,
// is what the field takes in words.
func (s shape) value(raw []byte, at int, t reflect.Type, path, want string) {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var kind reflect.Kind
	switch raw[0] {
	case 'n':
		return // null: as if absent, as encoding/json has it
	case '{':
		kind = reflect.Struct
	case '[':
		kind = reflect.Slice
	case '"':
		kind = reflect.String
	case 't', 'f':
		kind = reflect.Bool
	default:
		if _, err := strconv.ParseInt(string(raw), 10, 0); err == nil {
			kind = reflect.Int
		}
	}
	if kind != t.Kind() {
		if want == "" {
			want = wanted(t)
		}
		s.ps.add(path, "want %s, got %s (line %d)", want, gotJSON(raw), line(s.data, int64(at)))
		return
	}
	switch kind {
	case reflect.Struct:
		s.object(raw, at, t, path)
	case reflect.Slice:
		s.list(raw, at, t.Elem(), path)
	}
}

func (s shape) object(raw []byte, at int, t reflect.Type, path string) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.Token() // {
	for dec.More() {
		key, _ := dec.Token()
		var v json.RawMessage
		dec.Decode(&v)
		vAt := at + int(dec.InputOffset()) - len(v)
		here := joinPath(path, key.(string))
		f, ok := fieldNamed(t, key.(string))
		if !ok {
			within := path
			if within == "" {
				within = "the config"
			}
			s.ps.add(here, "unknown field (line %d); %s has %s", line(s.data, int64(vAt)), within, wordList(fieldNames(t), "and"))
			continue
		}
		s.value(v, vAt, f.Type, here, f.Tag.Get("want"))
	}
}

func (s shape) list(raw []byte, at int, elem reflect.Type, path string) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.Token() // [
	for i := 0; dec.More(); i++ {
		var v json.RawMessage
		dec.Decode(&v)
		s.value(v, at+int(dec.InputOffset())-len(v), elem, fmt.Sprintf("%s[%d]", path, i), "")
	}
}

// wanted says in words what a value of type t is.
func wanted(t reflect.Type) string {
	if w, ok := reflect.Zero(t).Interface().(interface{ want() string }); ok {
		return w.want()
	}
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int:
		return "a whole number"
	case reflect.String:
		return "a string"
	case reflect.Slice:
		return "a list [...]"
	}
	return "an object {...}"
}

// gotJSON says what a JSON value is: itself, when it is short.
func gotJSON(raw []byte) string {
	switch {
	case raw[0] == '{':
		return "an object"
	case raw[0] == '[':
		return "a list"
	case len(raw) > 40:
		return string(raw[:37]) + "..."
	}
	return string(raw)
}

func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	return name
}

// fieldNamed finds a struct's field by its JSON name, exactly: a field
// spelt in another case is a typo to report, not to guess at.
func fieldNamed(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		if f := t.Field(i); jsonName(f) == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func fieldNames(t reflect.Type) []string {
	var names []string
	for i := range t.NumField() {
		names = append(names, jsonName(t.Field(i)))
	}
	return names
}

// check finds everything in the config that would fail or mislead at
// start-up: every problem, each naming its field.
func (fc *fileConfig) check() error {
	var ps problems
	fc.checkRealms(&ps)
	fc.checkListeners(&ps)
	fc.checkLimits(&ps)
	fc.checkMDNS(&ps)
	fc.Uplink.check(&ps)
	if l := fc.Uplink.LocalRealm; l != "" && !fc.hasRealm(l) {
		ps.add("uplink.local_realm", "%q is not one of the realms (%s)", l, strings.Join(fc.realmNames(), ", "))
	}
	if _, err := parseLevel(fc.LogLevel); err != nil {
		ps.add("log_level", "%v", err)
	}
	return ps.err()
}

func (fc *fileConfig) realmNames() []string {
	if len(fc.Realms) == 0 {
		return []string{"realm1"}
	}
	var names []string
	for _, r := range fc.Realms {
		names = append(names, r.Name)
	}
	return names
}

func (fc *fileConfig) hasRealm(name string) bool {
	return fc.AutoRealms || slices.Contains(fc.realmNames(), name)
}

func (fc *fileConfig) checkRealms(ps *problems) {
	if fc.Realms != nil && len(fc.Realms) == 0 {
		ps.add("realms", "empty; leave realms out for the default realm1, or name at least one")
	}
	first := map[string]int{}
	for i, r := range fc.Realms {
		at := fmt.Sprintf("realms[%d]", i)
		if r.Name == "" {
			ps.add(at+".name", "missing")
			continue
		}
		if j, dup := first[r.Name]; dup {
			ps.add(at+".name", "%q twice: realms[%d] has this name too", r.Name, j)
			continue
		}
		first[r.Name] = i
		fc.checkRealm(ps, at, r)
	}
}

// checkRealm checks a realm's name and policy as the router will, with
// the paths of this file's fields.
func (fc *fileConfig) checkRealm(ps *problems, at string, r realmConfig) {
	p, err := r.policy()
	if err != nil {
		ps.addErr(at, err)
		return
	}
	c := edge.Config{Realms: []string{r.Name}, StrictURIs: fc.StrictURIs}
	if p != nil {
		c.Policies = map[string]*edge.RealmPolicy{r.Name: p}
	}
	if err := c.Validate(); err != nil {
		if msg, ok := strings.CutPrefix(err.Error(), "realms[0]: "); ok {
			ps.add(at+".name", "%s", msg)
			return
		}
		msg := strings.TrimPrefix(err.Error(), "realm "+r.Name+": ")
		// edge calls a role's permissions its rules.
		msg = strings.Replace(msg, "].rules[", "].permissions[", 1)
		ps.addErr(at, errors.New(msg))
		return
	}
	if r.Anonymous != nil {
		fc.checkAnonymousListeners(ps, at+".anonymous.listeners", r.Anonymous.Listeners)
	}
}

// checkAnonymousListeners: the router lets anonymous clients in on a
// listener whose scheme or URL is in the list; any other entry would
// match nothing and keep them out without a word.
func (fc *fileConfig) checkAnonymousListeners(ps *problems, at string, entries []string) {
	var urls []string
	for _, l := range fc.listeners() {
		if ep, err := l.endpoint(); err == nil {
			urls = append(urls, ep.url)
		}
	}
	for i, e := range entries {
		if !slices.Contains(listenerSchemes, e) && !slices.Contains(urls, e) {
			ps.add(fmt.Sprintf("%s[%d]", at, i), "%q is neither a listener scheme (%s) nor a listener's URL (%s)",
				e, orList(listenerSchemes), strings.Join(urls, ", "))
		}
	}
}

// listeners are the config's listeners, or the defaults when it has none.
func (fc *fileConfig) listeners() []listenerConfig {
	if fc.Listeners != nil {
		return fc.Listeners
	}
	var ls []listenerConfig
	for _, u := range defaultListeners {
		ls = append(ls, listenerConfig{URL: u})
	}
	return ls
}

// checkListeners refuses "listeners": [] rather than listening nowhere:
// a router with no listener serves nobody (even the uplink bridges only
// local clients), so an empty list is a mistake, not a use case.
func (fc *fileConfig) checkListeners(ps *problems) {
	if fc.Listeners != nil && len(fc.Listeners) == 0 {
		ps.add("listeners", "empty, so the router would listen nowhere; leave listeners out for the defaults (%s), or name at least one",
			strings.Join(defaultListeners, " and "))
	}
	var taken []endpoint
	for i, l := range fc.Listeners {
		at := fmt.Sprintf("listeners[%d]", i)
		ep, ok := l.check(ps, at)
		if !ok {
			continue
		}
		for _, t := range taken {
			if ep.clashes(t) {
				ps.add(at+".url", "the same %s as %s (%s)", ep.noun(), t.at, t.url)
				break
			}
		}
		ep.at = at
		taken = append(taken, ep)
	}
}

// check reports a listener's problems; ok says its URL is good.
func (l listenerConfig) check(ps *problems, at string) (endpoint, bool) {
	ep, err := l.endpoint()
	if err != nil {
		ps.add(at+".url", "%v", err)
	}
	for _, f := range []struct {
		field, scheme string
		set           bool
	}{
		{"tls_cert", "tls", l.TLSCert != ""}, {"tls_key", "tls", l.TLSKey != ""}, {"tls_client_ca", "tls", l.TLSClientCA != ""},
		{"socket_mode", "unix", l.SocketMode != ""}, {"socket_group", "unix", l.SocketGroup != ""},
	} {
		if f.set && err == nil && ep.scheme != f.scheme {
			ps.add(at+"."+f.field, "only %s:// listeners have it", f.scheme)
		}
	}
	for _, s := range l.serialSettings() {
		switch {
		case !s.set || err != nil:
		case ep.scheme != "serial":
			ps.add(at+"."+s.field, "only serial:// listeners have it")
		default:
			c, _ := serial.ParseURL(l.URL)
			s.apply(&c)
			if err := c.Check(); err != nil {
				ps.add(at+"."+s.field, "%s", strings.TrimPrefix(err.Error(), "serial: "))
			}
		}
	}
	if ep.scheme == "tls" {
		if _, err := l.listenerTLS(); err != nil {
			ps.addErr(at, err)
		}
	}
	if _, err := l.mode(); err != nil {
		ps.add(at+".socket_mode", "%v", err)
	}
	if l.MaxLength < 0 || l.MaxLength > rawsocket.MaxLength {
		ps.add(at+".max_length", "want 0 to %d bytes, got %d", rawsocket.MaxLength, l.MaxLength)
	}
	if l.MaxConns < 0 {
		ps.add(at+".max_conns", "want 0 (unlimited) or more, got %d", l.MaxConns)
	}
	return ep, err == nil
}

// endpoint is where a listener listens, to find two on the same one.
type endpoint struct {
	scheme string
	kind   string // tcp (tcp and tls), unix or serial
	host   string // tcp
	port   string // tcp
	path   string // unix, serial
	url    string // as the router names the listener
	at     string // the listener's path in the config
}

func (a endpoint) clashes(b endpoint) bool {
	if a.kind != b.kind {
		return false
	}
	if a.kind != "tcp" {
		return a.path == b.path
	}
	wildcard := func(host string) bool { return host == "" || host == "0.0.0.0" || host == "::" }
	return a.port == b.port && a.port != "0" && (a.host == b.host || wildcard(a.host) || wildcard(b.host))
}

func (a endpoint) noun() string {
	return map[string]string{"tcp": "address", "unix": "socket", "serial": "device"}[a.kind]
}

// endpoint parses a listener's URL; errors say which URLs it may be.
func (l listenerConfig) endpoint() (endpoint, error) {
	scheme, err := urlScheme(l.URL, listenerSchemes)
	if err != nil {
		return endpoint{}, err
	}
	if scheme == "serial" {
		c, err := serial.ParseURL(l.URL)
		if err != nil {
			return endpoint{}, errors.New(strings.TrimPrefix(err.Error(), "serial: "))
		}
		path := filepath.Clean(c.Path)
		if real, err := filepath.EvalSymlinks(path); err == nil {
			path = real // /dev/serial/by-id/... is the same device as /dev/ttyUSB0
		}
		return endpoint{scheme: scheme, kind: "serial", path: path, url: c.URL()}, nil
	}
	ep, err := parseRawSocketURL(l.URL, checkPort)
	if err != nil {
		return endpoint{}, err
	}
	if ep.Network == "unix" {
		return endpoint{scheme: scheme, kind: "unix", path: filepath.Clean(ep.Address), url: ep.String()}, nil
	}
	host, port, _ := net.SplitHostPort(ep.Address)
	return endpoint{scheme: scheme, kind: "tcp", host: host, port: port, url: ep.String()}, nil
}

// urlScheme returns the scheme of u when it is one of schemes; the error
// says what u may be instead.
func urlScheme(u string, schemes []string) (string, error) {
	if u == "" {
		return "", fmt.Errorf("missing; want %s", forms(schemes))
	}
	pu, err := url.Parse(u)
	if err != nil || !slices.Contains(schemes, pu.Scheme) {
		return "", fmt.Errorf("want %s, got %q", forms(schemes), u)
	}
	return pu.Scheme, nil
}

// parseRawSocketURL is rawsocket.ParseURL with the port's range checked
// by checkPort.
func parseRawSocketURL(u string, checkPort func(string) error) (rawsocket.Endpoint, error) {
	ep, err := rawsocket.ParseURL(u)
	if err != nil {
		return ep, errors.New(strings.TrimPrefix(err.Error(), "rawsocket: "))
	}
	if ep.Network == "tcp" {
		_, port, _ := net.SplitHostPort(ep.Address)
		return ep, checkPort(port)
	}
	return ep, nil
}

// checkPort checks a port to listen on: 0 is allowed, for a free port
// the system picks.
func checkPort(port string) error {
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("port %s is out of range; want 1 to 65535 (or 0: any free port)", port)
	}
	return nil
}

// checkDialPort checks a port to connect to.
func checkDialPort(port string) error {
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("port %s is out of range; want 1 to 65535", port)
	}
	return nil
}

func (fc *fileConfig) checkLimits(ps *problems) {
	for _, n := range []struct {
		field string
		v     int
	}{{"max_length", fc.Limits.MaxLength}, {"min_peer_length", fc.Limits.MinPeerLength}} {
		if n.v < 0 || n.v > rawsocket.MaxLength {
			ps.add("limits."+n.field, "want 0 to %d bytes, got %d", rawsocket.MaxLength, n.v)
		}
	}
	for _, d := range []struct {
		field string
		d     interface{ parse() (time.Duration, error) }
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
		if _, err := d.d.parse(); err != nil {
			ps.add("limits."+d.field, "%v", err)
		}
	}
	rc := fc.routerConfig()
	rc.Realms, rc.Policies = nil, nil // checkRealms has checked them
	if err := rc.Validate(); err != nil {
		ps.addErr("limits", err)
	}
}

func (fc *fileConfig) checkMDNS(ps *problems) {
	if len(fc.MDNS.Name) > mdns.MaxName {
		ps.add("mdns.name", "%d bytes; a DNS-SD instance name has at most %d", len(fc.MDNS.Name), mdns.MaxName)
	}
	for i, name := range fc.MDNS.Interfaces {
		if name == "" {
			ps.add(fmt.Sprintf("mdns.interfaces[%d]", i), "empty; want an interface name such as eth0")
		}
	}
}

func (l listenerConfig) mode() (fs.FileMode, error) {
	if l.SocketMode == "" {
		return 0, nil
	}
	m, err := strconv.ParseUint(l.SocketMode, 8, 32)
	if err != nil || m > 0o777 {
		return 0, fmt.Errorf("want an octal file mode such as \"0660\", got %q", l.SocketMode)
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
		IdleAfter:        fc.Limits.IdleAfter.value(),

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
			PingInterval:  fc.Limits.PingInterval.value(),
			PingTimeout:   fc.Limits.PingTimeout.value(),
		},
		SocketMode:  mode,
		SocketGroup: l.SocketGroup,
		MaxConns:    l.MaxConns,
	}
}
