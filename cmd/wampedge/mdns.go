package main

import (
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net"
	"os"
	"strings"

	"github.com/wampedge/wampedge/edge"
	"github.com/wampedge/wampedge/edge/mdns"
	"github.com/wampedge/wampedge/rawsocket"
)

// mdnsConfig is the config file's "mdns" object.
type mdnsConfig struct {
	// Enabled is on unless set to false.
	Enabled *bool `json:"enabled"`
	// Name is the DNS-SD instance name ("wampedge on HOSTNAME").
	Name string `json:"name"`
	// Interfaces limits advertising to these interfaces (all).
	Interfaces []string `json:"interfaces"`
	// ID is the router id in the TXT record; empty derives a stable one.
	ID string `json:"id"`
}

func (m mdnsConfig) enabled() bool { return m.Enabled == nil || *m.Enabled }

// advertise starts advertising the TCP and TLS listeners; Unix sockets
// and serial lines are not on the LAN.
func advertise(fc *fileConfig, rc edge.Config, listeners []*rawsocket.Listener, log *slog.Logger) *mdns.Advertiser {
	realms := rc.Realms
	if len(realms) == 0 {
		realms = []string{"realm1"}
	}
	if rc.AutoRealms {
		realms = append(realms, "*")
	}
	id := fc.MDNS.ID
	if id == "" {
		id = routerID(listeners)
	}
	var ls []mdns.Listener
	for _, l := range listeners {
		addr, ok := l.Addr().(*net.TCPAddr)
		if !ok {
			continue
		}
		cfg := l.Config()
		ls = append(ls, mdns.Listener{Addr: addr, Info: mdns.Info{
			Realms:      realms,
			Serializers: cfg.SerializerNames(),
			MaxLength:   cfg.AnnouncedLength(),
			Auth:        []string{"anonymous"},
			TLS:         l.Endpoint().Scheme == "tls",
			Version:     version,
			ID:          id,
		}})
	}
	if len(ls) == 0 {
		return nil
	}
	a, err := mdns.Advertise(mdns.Config{Name: fc.MDNS.Name, Interfaces: fc.MDNS.Interfaces, Logger: log}, ls)
	if err != nil {
		log.Warn("mDNS: not advertising", "err", err)
		return nil
	}
	return a
}

// routerID is a stable id for this router: the same across restarts on
// one machine with the same listeners, different for two routers on one
// machine (they cannot share a port) and for two machines.
func routerID(listeners []*rawsocket.Listener) string {
	h := sha256.New()
	for _, f := range []string{"/etc/machine-id", "/var/lib/dbus/machine-id"} {
		if b, err := os.ReadFile(f); err == nil {
			h.Write(b)
			break
		}
	}
	host, _ := os.Hostname()
	h.Write([]byte(host))
	var eps []string
	for _, l := range listeners {
		eps = append(eps, l.String())
	}
	h.Write([]byte(strings.Join(eps, ",")))
	return hex.EncodeToString(h.Sum(nil)[:6])
}
