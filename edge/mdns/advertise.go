package mdns

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/grandcat/zeroconf"
)

// Listener is one RawSocket listener to advertise.
type Listener struct {
	Addr *net.TCPAddr // as bound: a wildcard, a specific or a loopback address
	Info Info         // Info.TLS selects _wamps._tcp
}

// Config configures an Advertiser. The zero value advertises on every
// multicast interface as "wampedge on HOSTNAME".
type Config struct {
	// Name is the DNS-SD instance name; "" means "wampedge on HOSTNAME".
	// A second listener of the same service type is named "NAME (PORT)".
	Name string
	// Interfaces limits advertising to these interface names; empty
	// means every multicast interface that is up.
	Interfaces []string
	// Rescan is how often interfaces and addresses are looked at again
	// (10s); a change re-announces the listeners it touches.
	Rescan time.Duration
	// Logger receives a line whenever what is advertised changes.
	Logger *slog.Logger
}

// MaxName is the longest instance name, in bytes: one DNS label.
const MaxName = 63

// truncate cuts s to at most n bytes, at a character boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// DefaultName is the instance name when Config.Name is empty.
func DefaultName() string { return "wampedge on " + hostname() }

// hostname is the host's first label: the SRV target is HOST.local.
func hostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "wampedge"
	}
	h, _, _ = strings.Cut(h, ".")
	return h
}

// Advertiser keeps a set of listeners advertised until Close.
type Advertiser struct {
	cfg    Config
	host   string
	ads    []*advert
	mu     sync.Mutex // guards the ads' servers against Close
	closed bool
	stop   chan struct{}
}

// advert is one listener's registration and the interfaces and
// addresses it was made for.
type advert struct {
	Listener
	instance, service string
	key               string // the plan it was registered with
	server            *zeroconf.Server
}

// unplanned is the key of a listener not looked at yet: every plan,
// even "nowhere", differs from it.
const unplanned = "?"

// Advertise starts advertising ls. A listener on loopback, or on an
// address no chosen interface holds, is not advertised; neither is a
// failure to register an error: both are logged and looked at again on
// every rescan, since interfaces come and go and a router must run
// without a LAN.
func Advertise(cfg Config, ls []Listener) (*Advertiser, error) {
	if cfg.Name == "" {
		cfg.Name = DefaultName()
	}
	cfg.Name = truncate(cfg.Name, MaxName)
	if cfg.Rescan <= 0 {
		cfg.Rescan = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	a := &Advertiser{cfg: cfg, host: hostname(), stop: make(chan struct{})}
	named := map[string]bool{}
	for _, l := range ls {
		if l.Addr == nil || l.Addr.Port == 0 {
			return nil, fmt.Errorf("mdns: listener without a bound TCP address")
		}
		ad := &advert{Listener: l, service: ServiceType, instance: cfg.Name, key: unplanned}
		if l.Info.TLS {
			ad.service = ServiceTypeTLS
		}
		if named[ad.service] {
			suffix := fmt.Sprintf(" (%d)", l.Addr.Port)
			ad.instance = truncate(cfg.Name, MaxName-len(suffix)) + suffix
		}
		named[ad.service] = true
		a.ads = append(a.ads, ad)
	}
	ifaces, err := a.interfaces()
	if err != nil {
		return nil, err
	}
	for _, name := range cfg.Interfaces {
		if !slices.ContainsFunc(ifaces, func(i net.Interface) bool { return i.Name == name }) {
			cfg.Logger.Warn("mDNS interface not found (yet): it is advertised on once it is up", "iface", name)
		}
	}
	a.update(ifaces)
	go a.rescan()
	return a, nil
}

// interfaces returns the interfaces that may carry advertisements: up,
// multicast, not loopback, and chosen by Config.Interfaces.
func (a *Advertiser) interfaces() ([]net.Interface, error) {
	all, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("mdns: %w", err)
	}
	var out []net.Interface
	for _, i := range all {
		if i.Flags&net.FlagUp == 0 || i.Flags&net.FlagMulticast == 0 || i.Flags&net.FlagLoopback != 0 {
			continue
		}
		if len(a.cfg.Interfaces) > 0 && !slices.Contains(a.cfg.Interfaces, i.Name) {
			continue
		}
		out = append(out, i)
	}
	return out, nil
}

// plan says where a listener is advertised: the interfaces, and the
// addresses to announce (nil: each interface's own). key names the plan,
// so that a rescan re-registers only what changed.
func plan(l Listener, ifaces []net.Interface) (on []net.Interface, ips []string, key string) {
	ip := l.Addr.IP
	if ip.IsLoopback() {
		return nil, nil, ""
	}
	var b strings.Builder
	for _, iface := range ifaces {
		addrs, _ := iface.Addrs()
		var held []string
		for _, a := range addrs {
			n, ok := a.(*net.IPNet)
			if !ok || n.IP.IsLoopback() {
				continue
			}
			if ip.IsUnspecified() || n.IP.Equal(ip) {
				held = append(held, n.IP.String())
			}
		}
		if len(held) == 0 {
			continue
		}
		on = append(on, iface)
		fmt.Fprintf(&b, "%s#%d=%s;", iface.Name, iface.Index, strings.Join(held, ","))
	}
	if len(on) > 0 && !ip.IsUnspecified() {
		ips = []string{ip.String()}
	}
	return on, ips, b.String()
}

// update registers every listener whose plan changed since last time.
func (a *Advertiser) update(ifaces []net.Interface) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return
	}
	for _, ad := range a.ads {
		on, ips, key := plan(ad.Listener, ifaces)
		if key == ad.key {
			continue
		}
		if ad.server != nil {
			ad.server.Shutdown() // goodbye for the old addresses
			ad.server = nil
		}
		ad.key = key
		log := a.cfg.Logger.With("name", ad.instance, "type", ad.service, "port", ad.Addr.Port)
		if len(on) == 0 {
			why := "no chosen interface holds its address"
			if ad.Addr.IP.IsLoopback() {
				why = "it listens on loopback only"
			}
			log.Info("mDNS: not advertised: "+why, "addr", ad.Addr.String())
			continue
		}
		s, err := zeroconf.RegisterProxy(escapeLabel(ad.instance), ad.service, Domain, ad.Addr.Port,
			a.host, ips, ad.Info.TXT(), on)
		if err != nil {
			ad.key = unplanned // try again on the next rescan
			log.Warn("mDNS: cannot advertise", "err", err)
			continue
		}
		restrictMulticast()
		ad.server = s
		names := make([]string, len(on))
		for i, iface := range on {
			names[i] = iface.Name
		}
		log.Info("mDNS: advertising", "ifaces", strings.Join(names, ","), "txt", strings.Join(ad.Info.TXT(), " "))
	}
}

func (a *Advertiser) rescan() {
	t := time.NewTicker(a.cfg.Rescan)
	defer t.Stop()
	for {
		select {
		case <-a.stop:
			return
		case <-t.C:
		}
		ifaces, err := a.interfaces()
		if err != nil {
			a.cfg.Logger.Warn("mDNS: rescan", "err", err)
			continue
		}
		a.update(ifaces)
	}
}

// Close withdraws every advertisement with goodbye packets.
func (a *Advertiser) Close() {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return
	}
	a.closed = true
	for _, ad := range a.ads {
		if ad.server != nil {
			ad.server.Shutdown()
			ad.server = nil
		}
	}
	a.mu.Unlock()
	close(a.stop)
}
