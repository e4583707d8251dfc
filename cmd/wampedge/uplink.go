package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strings"

	"github.com/wampedge/wampedge/codec"
	"github.com/wampedge/wampedge/edge"
	"github.com/wampedge/wampedge/edge/client"
	"github.com/wampedge/wampedge/edge/uplink"
	"github.com/wampedge/wampedge/serial"
)

// uplinkConfig is the config file's "uplink" object: the bridge to a
// cloud router (see edge/uplink).
type uplinkConfig struct {
	URL         string       `json:"url"`   // one of uplinkSchemes
	Realm       string       `json:"realm"` // in the cloud
	Serializer  string       `json:"serializer" want:"msgpack or json"`
	LocalRealm  string       `json:"local_realm"`
	AuthID      string       `json:"authid"`
	AuthRole    string       `json:"authrole"`
	Ticket      string       `json:"ticket"`
	Secret      string       `json:"secret"`   // WAMP-CRA
	KeyFile     string       `json:"key_file"` // cryptosign: an Ed25519 private key
	TLS         tlsConfig    `json:"tls"`
	BackoffMin  duration     `json:"backoff_min"`
	BackoffMax  duration     `json:"backoff_max"`
	QueueEvents int          `json:"queue_events"`
	QueueBytes  int          `json:"queue_bytes" want:"a size in bytes such as 4194304"`
	CallTimeout duration     `json:"call_timeout"`
	Rules       []ruleConfig `json:"rules"`
}

type tlsConfig struct {
	CAFile             string `json:"ca_file"`   // the cloud's CA; default: the system's
	CertFile           string `json:"cert_file"` // a client certificate, with key_file
	KeyFile            string `json:"key_file"`
	ServerName         string `json:"server_name"`
	InsecureSkipVerify bool   `json:"insecure_skip_verify"`
}

type ruleConfig struct {
	Direction string `json:"direction" want:"topics_out, topics_in, procedures_out or procedures_in"`
	Local     string `json:"local"`
	Cloud     string `json:"cloud"`
	Match     string `json:"match" want:"prefix (the default), exact or wildcard"`
}

// simpleUplink is what -uplink URL -uplink-realm NAME -uplink-prefix P
// mean: everything under P, both ways, with the same URIs in the cloud.
func simpleUplink(url, realm, prefix string) uplinkConfig {
	c := uplinkConfig{URL: url, Realm: realm}
	for _, d := range uplinkDirections {
		c.Rules = append(c.Rules, ruleConfig{Direction: string(d), Local: prefix, Cloud: prefix})
	}
	return c
}

// config turns the file's uplink object into the bridge's Config, with
// the key and certificates read; errors name the field.
func (c *uplinkConfig) config(localRealm string, log *slog.Logger) (uplink.Config, error) {
	cfg := uplink.Config{
		URL: c.URL, Realm: c.Realm, LocalRealm: c.LocalRealm,
		AuthID: c.AuthID, AuthRole: c.AuthRole, Ticket: c.Ticket, Secret: c.Secret,
		BackoffMin: c.BackoffMin.value(), BackoffMax: c.BackoffMax.value(),
		QueueEvents: c.QueueEvents, QueueBytes: c.QueueBytes, CallTimeout: c.CallTimeout.value(),
		Logger: log,
	}
	if cfg.LocalRealm == "" {
		cfg.LocalRealm = localRealm
	}
	switch c.Serializer {
	case "", "msgpack":
		cfg.Serializer = codec.MsgPack
	case "json":
		cfg.Serializer = codec.JSON
	default:
		return cfg, fmt.Errorf("uplink.serializer: %q is not msgpack or json", c.Serializer)
	}
	if c.KeyFile != "" {
		key, err := client.LoadPrivateKey(c.KeyFile)
		if err != nil {
			return cfg, fmt.Errorf("uplink.key_file: %w", err)
		}
		cfg.PrivateKey = key
	}
	t, err := c.TLS.config()
	if err != nil {
		return cfg, fmt.Errorf("uplink.tls.%w", err)
	}
	cfg.TLS = t
	for _, r := range c.Rules {
		cfg.Rules = append(cfg.Rules, uplink.Rule{Direction: uplink.Direction(r.Direction), Local: r.Local, Cloud: r.Cloud, Match: r.Match})
	}
	return cfg, nil
}

func (t tlsConfig) config() (*tls.Config, error) {
	if t == (tlsConfig{}) {
		return nil, nil
	}
	c := &tls.Config{ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file: %s holds no PEM certificate", t.CAFile)
		}
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		return nil, errors.New("cert_file: a client certificate needs both cert_file and key_file")
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("cert_file: %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

// check validates the uplink object without starting anything.
func (c *uplinkConfig) check(ps *problems) {
	if reflect.ValueOf(*c).IsZero() {
		return // no uplink
	}
	before := len(*ps)
	if err := checkUplinkURL(c.URL); err != nil {
		ps.add("uplink.url", "%v", err)
	}
	if c.Realm == "" {
		ps.add("uplink.realm", "missing; want the realm to join in the cloud")
	}
	for _, d := range []struct {
		field string
		d     duration
	}{{"backoff_min", c.BackoffMin}, {"backoff_max", c.BackoffMax}, {"call_timeout", c.CallTimeout}} {
		if _, err := d.d.parse(); err != nil {
			ps.add("uplink."+d.field, "%v", err)
		}
	}
	for i, r := range c.Rules {
		at := fmt.Sprintf("uplink.rules[%d]", i)
		if !slices.Contains(uplinkDirections, uplink.Direction(r.Direction)) {
			ps.add(at+".direction", "want %s, got %q", orList(directionNames()), r.Direction)
		}
		if r.Match != "" && !slices.Contains(uplinkMatches, r.Match) {
			ps.add(at+".match", "want %s, got %q", orList(uplinkMatches), r.Match)
		}
	}
	cfg, err := c.config("realm1", nil)
	if err != nil {
		ps.addErr("", err)
		return
	}
	if len(*ps) == before { // what is left for the bridge to say
		if err := uplink.Check(cfg); err != nil {
			ps.addErr("uplink", errors.New(strings.TrimPrefix(err.Error(), "uplink: ")))
		}
	}
}

// What the bridge's rules take (edge/uplink).
var (
	uplinkDirections = []uplink.Direction{uplink.TopicsOut, uplink.TopicsIn, uplink.ProceduresOut, uplink.ProceduresIn}
	uplinkMatches    = []string{uplink.MatchPrefix, uplink.MatchExact, uplink.MatchWildcard}
)

func directionNames() []string {
	var names []string
	for _, d := range uplinkDirections {
		names = append(names, string(d))
	}
	return names
}

// checkUplinkURL: a URL the uplink's dialer takes, with the port that
// RawSocket over TCP needs (WebSocket has its defaults, 80 and 443).
func checkUplinkURL(u string) error {
	scheme, err := urlScheme(u, uplinkSchemes)
	if err != nil {
		return err
	}
	switch scheme {
	case "serial":
		if _, err := serial.ParseURL(u); err != nil {
			return errors.New(strings.TrimPrefix(err.Error(), "serial: "))
		}
	case "ws", "wss":
		pu, _ := url.Parse(u)
		if pu.Hostname() == "" {
			return fmt.Errorf("%q has no host; want %s", u, urlForms[scheme])
		}
		if pu.Port() != "" {
			return checkDialPort(pu.Port())
		}
	default:
		_, err := parseRawSocketURL(u, checkDialPort)
		return err
	}
	return nil
}

// startUplink starts the bridge when the config has one.
func startUplink(r *edge.Router, fc *fileConfig, rc edge.Config, log *slog.Logger) (*uplink.Uplink, error) {
	if fc.Uplink.URL == "" {
		return nil, nil
	}
	localRealm := "realm1"
	if len(rc.Realms) > 0 {
		localRealm = rc.Realms[0]
	}
	cfg, err := fc.Uplink.config(localRealm, log)
	if err != nil {
		return nil, err
	}
	return uplink.Start(r, cfg)
}
