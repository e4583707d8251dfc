package mdns

import (
	"net"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

func TestTXTRoundTrip(t *testing.T) {
	in := Info{
		Realms:      []string{"realm1", "com.example.site"},
		Serializers: []string{"msgpack", "json"},
		MaxLength:   1 << 20,
		Auth:        []string{"anonymous", "ticket"},
		TLS:         true,
		Version:     "v1.2.3",
		ID:          "0123456789ab",
	}
	txt := in.TXT()
	want := []string{"v=2", "realm=realm1,com.example.site", "ser=msgpack,json", "maxlen=20",
		"auth=anonymous,ticket", "tls=1", "ver=v1.2.3", "id=0123456789ab"}
	if !reflect.DeepEqual(txt, want) {
		t.Fatalf("TXT:\n got %q\nwant %q", txt, want)
	}
	out, err := ParseTXT(txt)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out, in) {
		t.Fatalf("ParseTXT(TXT()):\n got %+v\nwant %+v", out, in)
	}
}

func TestTXTMaxLenRoundsUp(t *testing.T) {
	for n, want := range map[int]string{512: "maxlen=9", 513: "maxlen=10", 1 << 24: "maxlen=24"} {
		if txt := (Info{MaxLength: n}).TXT(); !slices.Contains(txt, want) {
			t.Errorf("MaxLength %d: %q has no %q", n, txt, want)
		}
	}
}

func TestTXTLongRealmListIsCut(t *testing.T) {
	var realms []string
	for i := 0; i < 40; i++ {
		realms = append(realms, "com.example.realm"+strings.Repeat("x", i%5))
	}
	txt := Info{Realms: realms}.TXT()
	r := txt[1]
	if len(r) > 255 || !strings.HasPrefix(r, "realm=com.example.realm,") || strings.HasSuffix(r, ",") {
		t.Fatalf("realm string %d bytes: %q", len(r), r)
	}
	info, _ := ParseTXT(txt)
	for _, got := range info.Realms {
		if !slices.Contains(realms, got) {
			t.Fatalf("cut realm list has %q, which is not a realm", got)
		}
	}
	if txt := (Info{Realms: []string{strings.Repeat("r", 300)}}).TXT(); txt[1] != "realm=" {
		t.Fatalf("an overlong realm name: %q, want an empty list", txt[1])
	}
}

func TestParseTXT(t *testing.T) {
	info, err := ParseTXT([]string{"V=2", "realm=a, b,", "realm=ignored", "unknown=x", "flag", "tls=0"})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(info.Realms, []string{"a", "b"}) || info.TLS {
		t.Fatalf("got %+v", info)
	}
	for _, bad := range [][]string{{"v=1"}, {"v=2", "maxlen=x"}, {"maxlen=99"}} {
		if _, err := ParseTXT(bad); err == nil {
			t.Errorf("ParseTXT(%q): no error", bad)
		}
	}
}

func TestServes(t *testing.T) {
	i := Info{Realms: []string{"realm1", "site"}}
	if !i.Serves("site") || i.Serves("other") {
		t.Fatal("Serves is wrong for a fixed list")
	}
	if !(Info{Realms: []string{"*"}}).Serves("anything") {
		t.Fatal(`"*" serves every realm`)
	}
}

// The instance name zeroconf matches questions against must be the
// label as miekg/dns prints it after unpacking a question.
func TestEscapeLabelMatchesTheWire(t *testing.T) {
	for _, name := range []string{"wampedge on pi", "a.b", `quote" (x); @y \z`, "wampedge on Küche", "tab\there"} {
		esc := escapeLabel(name)
		buf := make([]byte, 512)
		n, err := dns.PackDomainName(esc+"._wamp._tcp.local.", buf, 0, nil, false)
		if err != nil {
			t.Fatalf("%q: pack: %v", name, err)
		}
		got, _, err := dns.UnpackDomainName(buf[:n], 0)
		if err != nil {
			t.Fatalf("%q: unpack: %v", name, err)
		}
		if got != esc+"._wamp._tcp.local." {
			t.Errorf("%q: on the wire and back %q, zeroconf would compare %q", name, got, esc+"._wamp._tcp.local.")
		}
		if int(buf[0]) != len(name) {
			t.Errorf("%q: label is %d bytes on the wire, want %d", name, buf[0], len(name))
		}
		if back := unescapeLabel(esc); back != name {
			t.Errorf("unescapeLabel(%q) = %q, want %q", esc, back, name)
		}
	}
}

func TestTruncate(t *testing.T) {
	name := strings.Repeat("ä", 40) // 80 bytes
	got := truncate(name, MaxName)
	if len(got) > MaxName || !strings.HasPrefix(name, got) || len(got) != 62 {
		t.Fatalf("truncate: %d bytes %q", len(got), got)
	}
}

// plan, against this machine's real interfaces.
func TestPlan(t *testing.T) {
	ifaces, err := (&Advertiser{}).interfaces()
	if err != nil {
		t.Fatal(err)
	}
	if on, _, _ := plan(Listener{Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}}, ifaces); on != nil {
		t.Fatalf("a loopback listener is advertised on %v", on)
	}
	if on, _, _ := plan(Listener{Addr: &net.TCPAddr{IP: net.IPv6loopback, Port: 1}}, ifaces); on != nil {
		t.Fatalf("a ::1 listener is advertised on %v", on)
	}
	if on, _, _ := plan(Listener{Addr: &net.TCPAddr{IP: net.IPv4(192, 0, 2, 254), Port: 1}}, nil); on != nil {
		t.Fatalf("an address no interface holds is advertised on %v", on)
	}
	// Each interface with an address: a wildcard listener is advertised
	// on all of them with their own addresses, a listener on one address
	// on that interface alone, with that address.
	var withAddr []net.Interface
	for _, iface := range ifaces {
		addrs, _ := iface.Addrs()
		if len(addrs) > 0 {
			withAddr = append(withAddr, iface)
		}
	}
	on, ips, key := plan(Listener{Addr: &net.TCPAddr{IP: net.IPv6zero, Port: 1}}, ifaces)
	if len(on) != len(withAddr) || ips != nil {
		t.Fatalf("wildcard: on %d interfaces with ips %v, want %d with their own", len(on), ips, len(withAddr))
	}
	for _, iface := range withAddr {
		addrs, _ := iface.Addrs()
		ip := addrs[0].(*net.IPNet).IP
		on, ips, key2 := plan(Listener{Addr: &net.TCPAddr{IP: ip, Port: 1}}, ifaces)
		if len(on) != 1 || on[0].Name != iface.Name || !reflect.DeepEqual(ips, []string{ip.String()}) {
			t.Errorf("listener on %v: on %v with %v, want %s alone", ip, on, ips, iface.Name)
		}
		if key2 == key {
			t.Errorf("listener on %v has the wildcard's plan key %q", ip, key)
		}
	}
	if len(withAddr) == 0 {
		t.Log("no multicast interface with an address here: the netns test in test/discovery covers advertising")
	}
}

func TestInterfacesFilter(t *testing.T) {
	a := &Advertiser{cfg: Config{Interfaces: []string{"no-such-iface0"}}}
	ifaces, err := a.interfaces()
	if err != nil || len(ifaces) != 0 {
		t.Fatalf("interfaces() = %v, %v; want none", ifaces, err)
	}
}
