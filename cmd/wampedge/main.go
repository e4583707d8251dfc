// Command wampedge is the wampedge router daemon. With no arguments it
// runs the embedded default: realm realm1, anonymous, RawSocket on TCP
// port 8080 on every interface and on the Unix socket /tmp/wampedge.sock.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/wampedge/wampedge/edge"
	"github.com/wampedge/wampedge/edge/mdns"
	"github.com/wampedge/wampedge/rawsocket"
	"github.com/wampedge/wampedge/serial"
)

// Set by the linker (see the Makefile).
var (
	version = "dev"
	commit  = ""
)

// listFlag collects a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	fs := flag.NewFlagSet("wampedge", flag.ContinueOnError)
	var listens, realms listFlag
	fs.Var(&listens, "listen", "listen on `URL`: "+forms(listenerSchemes)+"?baud=115200 (repeatable; replaces the default listeners)")
	fs.Var(&realms, "realm", "serve realm `NAME` (repeatable; replaces the config's realms)")
	configPath := fs.String("config", "", "read the JSON config `FILE`")
	check := fs.Bool("check", false, "check the config file and exit")
	logLevel := fs.String("log-level", "", "log `level`: debug, info, warn or error (default info)")
	showVersion := fs.Bool("version", false, "print the version and exit")
	hashMethod := fs.String("hash", "", "read a secret from stdin and print what to put in the config instead: `METHOD` ticket or wampcra (a salted hash or key)")
	boardName := fs.String("board", board, "apply board `NAME`'s runtime defaults (memory limit, queue and message sizes; -boards lists them); the config file overrides them")
	listBoards := fs.Bool("boards", false, "list the board profiles and exit")
	debugAddr := fs.String("debug-addr", "", "serve runtime and router counters on http://`HOST:PORT`/debug/vars (JSON) and /metrics (Prometheus) (keep it on loopback; default off)")
	useMDNS := fs.Bool("mdns", true, "advertise the TCP listeners on the LAN by mDNS as _wamp._tcp (-mdns=false: do not)")
	var mdnsIfaces listFlag
	fs.Var(&mdnsIfaces, "mdns-iface", "advertise only on interface `NAME` (repeatable or a comma list; default every multicast interface)")
	mdnsName := fs.String("mdns-name", "", "mDNS instance `NAME` (default \"wampedge on HOSTNAME\")")
	uplinkURL := fs.String("uplink", "", "bridge to the cloud router at `URL` ("+forms(uplinkSchemes)+"); with -uplink-realm")
	uplinkRealm := fs.String("uplink-realm", "", "the cloud `REALM` of -uplink")
	uplinkPrefix := fs.String("uplink-prefix", "", "with -uplink: forward topics and procedures under `PREFIX`, both ways, with the same URIs in the cloud (default: all)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: wampedge [flags]\n\nWith no flags: realm realm1, anonymous, RawSocket on tcp://0.0.0.0:8080 and unix://%s.\n\n", DefaultSocket)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "wampedge: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *hashMethod != "" {
		if err := hashSecret(*hashMethod, os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "wampedge:", err)
			return 2
		}
		return 0
	}
	if *showVersion {
		fmt.Println(versionString())
		return 0
	}
	if *listBoards {
		printBoards(os.Stdout)
		return 0
	}

	fc := &fileConfig{}
	if *configPath != "" {
		var err error
		if fc, err = loadConfig(*configPath); err != nil {
			printLines("wampedge: config: ", err)
			return 1
		}
	} else if *check {
		fmt.Fprintln(os.Stderr, "wampedge: -check needs -config FILE")
		return 2
	}
	profile, err := applyBoard(*boardName, fc)
	if err != nil {
		fmt.Fprintln(os.Stderr, "wampedge:", err)
		return 2
	}
	// What the flags set, by the config path each replaces: errors about
	// them name the flag.
	byFlag := map[string]string{}
	if len(realms) > 0 {
		fc.Realms = nil
		for i, name := range realms {
			fc.Realms = append(fc.Realms, realmConfig{Name: name})
			byFlag[fmt.Sprintf("realms[%d]", i)] = fmt.Sprintf("-realm %q", name)
		}
	}
	if len(listens) > 0 {
		fc.Listeners = nil
		for i, u := range listens {
			fc.Listeners = append(fc.Listeners, listenerConfig{URL: u})
			byFlag[fmt.Sprintf("listeners[%d]", i)] = "-listen " + u
		}
	}
	fc.Listeners = fc.listeners()
	if *logLevel != "" {
		fc.LogLevel = *logLevel
		byFlag["log_level"] = "-log-level"
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "mdns" {
			fc.MDNS.Enabled = useMDNS
		}
	})
	for _, names := range mdnsIfaces {
		for _, name := range strings.Split(names, ",") {
			byFlag[fmt.Sprintf("mdns.interfaces[%d]", len(fc.MDNS.Interfaces))] = "-mdns-iface"
			fc.MDNS.Interfaces = append(fc.MDNS.Interfaces, name)
		}
	}
	if *mdnsName != "" {
		fc.MDNS.Name = *mdnsName
		byFlag["mdns.name"] = "-mdns-name"
	}
	if *uplinkURL != "" || *uplinkRealm != "" {
		fc.Uplink = simpleUplink(*uplinkURL, *uplinkRealm, *uplinkPrefix)
		byFlag["uplink.url"], byFlag["uplink.realm"], byFlag["uplink.rules"] = "-uplink", "-uplink-realm", "-uplink-prefix"
	}
	ps := flagProblems(fc.check(), byFlag)
	if err := checkAddr(*debugAddr); err != nil {
		ps.add("-debug-addr", "%v", err)
	}
	if len(ps) > 0 {
		printLines("wampedge: ", ps)
		return 2
	}
	if *check {
		fmt.Printf("%s: OK\n", *configPath)
		return 0
	}
	level, _ := parseLevel(fc.LogLevel)
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(log) // libraries' log.Printf lines (zeroconf's) go to the same log

	// Before listening: a client can connect, or a supervisor see the
	// socket, as soon as it exists, and SIGTERM must shut down gracefully
	// from then on.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sig)

	rc := fc.routerConfig()
	rc.Logger = log
	rc.Agent = "wampedge-" + version
	mon := &monitor{}
	rc.Stats = mon.statsDict
	r := edge.New(&rc)
	mon.router = r
	stopTrim := make(chan struct{})
	defer close(stopTrim)
	go trimMemory(stopTrim)
	if err := serveDebug(*debugAddr, mon, log); err != nil {
		log.Error("cannot serve the debug endpoint", "addr", *debugAddr, "err", err)
		return 1
	}
	var network []*rawsocket.Listener // what mDNS advertises
	for _, l := range fc.Listeners {
		nl, err := listen(r, fc, l, mon, log)
		if err != nil {
			log.Error("cannot listen", "url", l.URL, "err", err)
			r.Close(context.Background())
			return 1
		}
		if nl != nil && nl.Endpoint().Network == "tcp" {
			network = append(network, nl)
		}
	}
	log.Info("wampedge ready", "version", version, "realms", realmNames(rc))
	logBoard(log, profile, fc)
	var adv *mdns.Advertiser
	if fc.MDNS.enabled() {
		adv = advertise(fc, rc, network, log)
	}
	up, err := startUplink(r, fc, rc, log)
	if err != nil {
		log.Error("cannot start the uplink", "err", err)
		r.Close(context.Background())
		return 1
	}
	if up != nil {
		mon.setUplink(up)
	}

	got := <-sig
	log.Info("shutting down", "signal", got.String())
	if adv != nil {
		adv.Close() // browsers forget the router before it stops answering
	}
	if up != nil {
		up.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.Close(ctx); err != nil {
		log.Warn("shutdown incomplete", "err", err)
	}
	return 0
}

// listen starts one listener: a serial line (which mon watches), or TCP,
// TLS or Unix (which it returns).
func listen(r *edge.Router, fc *fileConfig, l listenerConfig, mon *monitor, log *slog.Logger) (*rawsocket.Listener, error) {
	lc := fc.listenConfig(l)
	if strings.HasPrefix(l.URL, "tls:") {
		t, err := l.listenerTLS()
		if err != nil {
			return nil, err
		}
		lc.TLS = t
	}
	if !l.isSerial() {
		return r.Listen(l.URL, lc)
	}
	sc, err := l.serial()
	if err != nil {
		return nil, err
	}
	sl, err := serial.NewListener(sc, serial.ListenConfig{Config: lc.Config, Logger: log})
	if err != nil {
		return nil, err
	}
	mon.addLine(sl)
	return nil, r.ServeListener(sl)
}

// printLines prints each line of err after prefix.
func printLines(prefix string, err error) {
	for line := range strings.SplitSeq(err.Error(), "\n") {
		fmt.Fprintln(os.Stderr, prefix+line)
	}
}

// flagProblems are the problems check found, with the paths of what a
// flag set replaced by the flag's name.
func flagProblems(err error, byFlag map[string]string) problems {
	var ps problems
	if !errors.As(err, &ps) {
		return nil
	}
	for i, p := range ps {
		for path, name := range byFlag {
			if p.path == path || strings.HasPrefix(p.path, path+".") || strings.HasPrefix(p.path, path+"[") {
				ps[i].path = name
			}
		}
	}
	return ps
}

// checkAddr checks a HOST:PORT flag; empty is off.
func checkAddr(addr string) error {
	if addr == "" {
		return nil
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("want HOST:PORT such as 127.0.0.1:6060, got %q", addr)
	}
	return checkPort(port)
}

func realmNames(c edge.Config) string {
	if len(c.Realms) == 0 {
		return "realm1"
	}
	return strings.Join(c.Realms, ",")
}

func parseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "", "info":
		return slog.LevelInfo, nil
	case "debug":
		return slog.LevelDebug, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("%q is not debug, info, warn or error", s)
}

// versionString is what -version prints: the version, commit and board,
// every one named in every build. A build without the Makefile's
// -ldflags (go build, go install) takes what the Go toolchain stamped.
func versionString() string {
	v, c, b := version, commit, board
	if info, ok := debug.ReadBuildInfo(); ok {
		if v == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			v = info.Main.Version // go install ...@version
		}
		if c == "" {
			c = vcsCommit(info.Settings)
		}
	}
	if c == "" {
		c = "unknown"
	}
	if b == "" {
		b = "none"
	}
	return "wampedge " + v + " (commit " + c + ", board " + b + ")"
}

// vcsCommit is the short commit go build stamped, "-dirty" when the
// tree had changes; "" when it stamped none (go run, no git).
func vcsCommit(settings []debug.BuildSetting) string {
	var rev, dirty string
	for _, s := range settings {
		switch {
		case s.Key == "vcs.revision":
			rev = s.Value[:min(7, len(s.Value))]
		case s.Key == "vcs.modified" && s.Value == "true":
			dirty = "-dirty"
		}
	}
	if rev == "" {
		return ""
	}
	return rev + dirty
}
