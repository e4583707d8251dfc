package mdns

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
)

// Service types.
const (
	ServiceType    = "_wamp._tcp"  // RawSocket over TCP
	ServiceTypeTLS = "_wamps._tcp" // RawSocket over TLS
	Domain         = "local."
)

// Info is what a router says about one listener in its TXT record.
type Info struct {
	Realms      []string // realms served; "*" when any realm is created on demand
	Serializers []string // "msgpack", "json"
	MaxLength   int      // largest message accepted, in bytes (a power of two)
	Auth        []string // offered authentication methods
	TLS         bool
	Version     string // wampedge version
	ID          string // stable router id
}

// maxTXTString is the DNS limit on one TXT string.
const maxTXTString = 255

// TXT returns the TXT record's strings. A realm list too long for one
// string is cut at a realm boundary; it is a hint, the router's WELCOME
// or ABORT is the answer.
func (i Info) TXT() []string {
	realms := "realm=" + strings.Join(i.Realms, ",")
	for len(realms) > maxTXTString {
		cut := strings.LastIndexByte(realms[:maxTXTString], ',')
		if cut < 0 { // one realm name longer than a TXT string: say none
			cut = len("realm=")
		}
		realms = realms[:cut]
	}
	txt := []string{"v=2", realms, "ser=" + strings.Join(i.Serializers, ",")}
	if i.MaxLength > 0 {
		txt = append(txt, "maxlen="+strconv.Itoa(bits.Len(uint(i.MaxLength-1))))
	}
	txt = append(txt, "auth="+strings.Join(i.Auth, ","), "tls="+boolDigit(i.TLS))
	if i.Version != "" {
		txt = append(txt, "ver="+i.Version)
	}
	if i.ID != "" {
		txt = append(txt, "id="+i.ID)
	}
	return txt
}

func boolDigit(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// ParseTXT reads a TXT record written by TXT (or by another router that
// follows the same convention). Unknown keys are ignored; for a repeated
// key the first one counts, as RFC 6763 §6.4 says.
func ParseTXT(txt []string) (Info, error) {
	var i Info
	seen := map[string]bool{}
	for _, kv := range txt {
		k, v, _ := strings.Cut(kv, "=")
		k = strings.ToLower(k)
		if k == "" || seen[k] {
			continue
		}
		seen[k] = true
		switch k {
		case "v":
			if v != "2" {
				return i, fmt.Errorf("mdns: TXT v=%q: not WAMP version 2", v)
			}
		case "realm":
			i.Realms = list(v)
		case "ser":
			i.Serializers = list(v)
		case "maxlen":
			n, err := strconv.Atoi(v)
			if err != nil || n < 9 || n > 30 {
				return i, fmt.Errorf("mdns: TXT maxlen=%q: want a log2 between 9 and 30", v)
			}
			i.MaxLength = 1 << n
		case "auth":
			i.Auth = list(v)
		case "tls":
			i.TLS = v == "1"
		case "ver":
			i.Version = v
		case "id":
			i.ID = v
		}
	}
	return i, nil
}

func list(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Serves reports whether the router says it serves realm.
func (i Info) Serves(realm string) bool {
	for _, r := range i.Realms {
		if r == realm || r == "*" {
			return true
		}
	}
	return false
}

// escapeLabel writes an instance name the way miekg/dns prints a label it
// unpacked, so that the name zeroconf compares against incoming questions
// is the name those questions carry (a space, a dot or a non-ASCII letter
// in "wampedge on Küche" would otherwise never match).
func escapeLabel(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case strings.IndexByte(". '@;()\"\\", c) >= 0:
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < ' ' || c > '~':
			fmt.Fprintf(&b, "\\%03d", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// unescapeLabel reverses escapeLabel.
func unescapeLabel(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		if i+3 < len(s) && isDigits(s[i+1:i+4]) {
			n, _ := strconv.Atoi(s[i+1 : i+4])
			b.WriteByte(byte(n))
			i += 3
			continue
		}
		b.WriteByte(s[i+1])
		i++
	}
	return b.String()
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
