package mdns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"sync"

	"github.com/grandcat/zeroconf"
)

// Router is a router found on the LAN.
type Router struct {
	Instance string   // the instance name, unescaped
	Service  string   // ServiceType or ServiceTypeTLS
	Host     string   // the SRV target, e.g. pi.local.
	Addrs    []net.IP // IPv4 first
	Port     int
	Info     Info
	TXT      []string // the TXT record as it came
}

// URLs returns a transport URL per address, IPv4 first. IPv6 link-local
// addresses are left out: without the browser's interface they cannot
// be dialed.
func (r Router) URLs() []string {
	scheme := "tcp"
	if r.Service == ServiceTypeTLS || r.Info.TLS {
		scheme = "tls"
	}
	var urls []string
	for _, ip := range r.Addrs {
		if ip.IsLinkLocalUnicast() && ip.To4() == nil {
			continue
		}
		urls = append(urls, scheme+"://"+net.JoinHostPort(ip.String(), strconv.Itoa(r.Port)))
	}
	return urls
}

// Browse calls found for each WAMP router that answers on the LAN until
// ctx is done, then returns nil; or an error if it cannot browse at all
// (no multicast interface).
func Browse(ctx context.Context, found func(Router)) error {
	var wg sync.WaitGroup
	var mu sync.Mutex // found is called from one goroutine at a time
	var errs []error
	services := []string{ServiceType, ServiceTypeTLS}
	var resolvers []*zeroconf.Resolver
	for range services {
		// One resolver per service type: a resolver's socket feeds one
		// browse.
		res, err := zeroconf.NewResolver()
		if err != nil {
			return fmt.Errorf("mdns: cannot browse: %w", err)
		}
		resolvers = append(resolvers, res)
	}
	for i, service := range services {
		res := resolvers[i]
		entries := make(chan *zeroconf.ServiceEntry)
		if err := res.Browse(ctx, service, Domain, entries); err != nil {
			errs = append(errs, err)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for e := range entries { // closed when ctx is done
				r, ok := routerOf(service, e)
				if !ok {
					continue
				}
				mu.Lock()
				found(r)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(errs) == 2 {
		return fmt.Errorf("mdns: cannot browse: %w", errors.Join(errs...))
	}
	return nil
}

// routerOf reads a browse answer; one whose TXT does not say WAMP 2 is
// not a router of ours to talk to.
func routerOf(service string, e *zeroconf.ServiceEntry) (Router, bool) {
	info, err := ParseTXT(e.Text)
	if err != nil {
		return Router{}, false
	}
	r := Router{
		Instance: unescapeLabel(e.Instance),
		Service:  service,
		Host:     e.HostName,
		Port:     e.Port,
		Info:     info,
		TXT:      e.Text,
	}
	r.Addrs = append(slices.Clone(e.AddrIPv4), e.AddrIPv6...)
	return r, true
}

// ErrNotFound is returned by Find when no router answered in time.
var ErrNotFound = errors.New("mdns: no router found")

// Find returns the first router found that serves realm ("" for any),
// within ctx's deadline.
func Find(ctx context.Context, realm string) (Router, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var first *Router
	err := Browse(ctx, func(r Router) {
		if first == nil && (realm == "" || r.Info.Serves(realm)) && len(r.URLs()) > 0 {
			first = &r
			cancel()
		}
	})
	if err != nil {
		return Router{}, err
	}
	if first == nil {
		if realm != "" {
			return Router{}, fmt.Errorf("%w serving realm %q", ErrNotFound, realm)
		}
		return Router{}, ErrNotFound
	}
	return *first, nil
}
