package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/wampedge/wampedge/edge/client"
	"github.com/wampedge/wampedge/edge/mdns"
)

// discoveredRouter is one line of `discover -json`.
type discoveredRouter struct {
	Instance    string            `json:"instance"`
	Service     string            `json:"service"`
	Host        string            `json:"host"`
	Addresses   []string          `json:"addresses"`
	Port        int               `json:"port"`
	URLs        []string          `json:"urls"`
	Realms      []string          `json:"realms"`
	Serializers []string          `json:"serializers"`
	MaxLength   int               `json:"maxlen,omitempty"`
	Auth        []string          `json:"auth"`
	TLS         bool              `json:"tls"`
	Version     string            `json:"version,omitempty"`
	ID          string            `json:"id,omitempty"`
	TXT         map[string]string `json:"txt"`
}

// discover lists the routers that answer on the LAN within the timeout,
// as a table or as a JSON list.
func discover(ctx context.Context, timeout time.Duration, asJSON bool, stdout io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var found []discoveredRouter
	err := mdns.Browse(ctx, func(r mdns.Router) {
		d := discoveredRouter{
			Instance: r.Instance, Service: r.Service, Host: r.Host, Port: r.Port, URLs: r.URLs(),
			Realms: r.Info.Realms, Serializers: r.Info.Serializers, MaxLength: r.Info.MaxLength,
			Auth: r.Info.Auth, TLS: r.Info.TLS, Version: r.Info.Version, ID: r.Info.ID,
			TXT: map[string]string{},
		}
		for _, ip := range r.Addrs {
			d.Addresses = append(d.Addresses, ip.String())
		}
		for _, kv := range r.TXT {
			k, v, _ := strings.Cut(kv, "=")
			if _, dup := d.TXT[k]; !dup {
				d.TXT[k] = v
			}
		}
		found = append(found, d)
	})
	if err != nil {
		return err
	}
	return printRouters(found, asJSON, timeout, stdout)
}

// printRouters prints what discover found, as a table or a JSON list;
// finding nothing is an error either way, so that scripts can tell.
func printRouters(found []discoveredRouter, asJSON bool, timeout time.Duration, stdout io.Writer) error {
	if asJSON {
		out := []byte("[")
		for i, d := range found {
			if i > 0 {
				out = append(out, ',')
			}
			b, _ := json.Marshal(d)
			out = append(append(out, '\n'), b...)
		}
		if len(found) > 0 {
			out = append(out, '\n')
		}
		if _, err := fmt.Fprintf(stdout, "%s]\n", out); err != nil {
			return err
		}
	}
	if len(found) == 0 {
		return fmt.Errorf("no router answered within %v", timeout)
	}
	if asJSON {
		return nil
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "INSTANCE\tADDRESSES\tPORT\tREALMS\tSER\tAUTH\tTLS\tID")
	for _, d := range found {
		tls := "no"
		if d.TLS {
			tls = "yes"
		}
		fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", d.Instance, strings.Join(d.Addresses, ","), d.Port,
			strings.Join(d.Realms, ","), strings.Join(d.Serializers, ","), strings.Join(d.Auth, ","), tls, d.ID)
	}
	return w.Flush()
}

// dialMDNS finds a router by mDNS (mdns://, or mdns://?realm=NAME to
// name the realm instead of -realm) and joins the first one found that
// serves the realm, trying its addresses in turn.
func dialMDNS(ctx context.Context, rawURL string, cfg client.Config) (*client.Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	if realm := u.Query().Get("realm"); realm != "" {
		cfg.Realm = realm
	}
	r, err := mdns.Find(ctx, cfg.Realm)
	if err != nil {
		return nil, err
	}
	var errs []string
	for _, addr := range r.URLs() {
		c, err := client.Dial(ctx, addr, cfg)
		if err == nil {
			return c, nil
		}
		errs = append(errs, err.Error())
	}
	return nil, fmt.Errorf("%q found by mDNS at %s:%d, but: %s", r.Instance, r.Host, r.Port, strings.Join(errs, "; "))
}

// isMDNS reports whether a -url asks for discovery.
func isMDNS(rawURL string) bool { return strings.HasPrefix(rawURL, "mdns:") }
