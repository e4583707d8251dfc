// Command wampcat is a command-line WAMP client: publish, subscribe,
// call and register from a shell on the board.
//
//	wampcat [-url tcp://127.0.0.1:8080|tls://|unix:///PATH|serial:///DEVICE|mdns://] [-realm realm1] COMMAND ...
//
//	publish TOPIC [JSON_ARG...]    publish an event (-ack, -kw, -retain, -exclude-me=false)
//	subscribe TOPIC                print each event as a JSON line (-count, -match, -retained)
//	call PROC [JSON_ARG...]        print the result as JSON; exit 1 with the error URI on error
//	register PROC                  answer calls with their arguments, or with -exec CMD's output
//	discover                       list the routers that answer on the LAN by mDNS
//
// subscribe and register stay: they reconnect with backoff when the
// session is lost (-once: exit instead).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/wampedge/wampedge/codec"
	"github.com/wampedge/wampedge/edge/client"
)

// Set by the Makefile's -ldflags (-X main.version=... -X main.commit=...
// -X main.board=...).
var (
	version = "dev"
	commit  = ""
	board   = ""
)

const shortUsage = `usage: wampcat [flags] COMMAND [ARGS]   (wampcat -h: every flag)
  publish TOPIC [JSON_ARG...]   subscribe TOPIC   call PROC [JSON_ARG...]   register PROC   discover
`

const usage = `usage: wampcat [flags] COMMAND [ARGS]

commands:
  publish TOPIC [JSON_ARG...]   publish an event; -ack waits for the router's answer
  subscribe TOPIC               print each event as a JSON line, until interrupted or -count N
  call PROC [JSON_ARG...]       print the result as JSON; exit status 1 and the error URI on error
  register PROC                 answer each call with its arguments, or run -exec CMD
  discover                      list the routers found on the LAN by mDNS (-timeout, default 3s; -json)

JSON_ARG is a JSON value; a bare word that does not look like JSON is a string,
and one that looks like JSON but does not parse is an error (-str: all strings).
-url mdns:// (or mdns://?realm=NAME) joins the first router found by mDNS that serves the realm.
subscribe and register reconnect with backoff when the session is lost (-once: exit).
-exec CMD runs through sh -c with the call's arguments as a JSON list on stdin and in
$WAMP_ARGS (keyword arguments in $WAMP_KWARGS, the procedure in $WAMP_PROCEDURE); its
output, as JSON if it parses, is the result; a non-zero exit answers
wamp.error.runtime_error with its stderr.
-secret and -ticket may instead come from -secret-file and -ticket-file, or with -authid
from $WAMPCAT_SECRET and $WAMPCAT_TICKET, so that they stay out of ps.

flags:
`

// options are the command line, and what check and login make of it.
type options struct {
	url, realm, ser    string
	timeout, keepalive time.Duration
	count              int
	ack, json, str     bool
	once, version      bool
	retain, retained   bool
	excludeMe          bool
	kw, match, exec    string
	login              login

	fs             *flag.FlagSet
	stdout, stderr io.Writer
	command        string
	commandArgs    []string // after the command
	target         string   // TOPIC or PROC
	payload        client.Payload
	serializer     codec.Serializer
	clientCfg      client.Config
	device         *device // a serial:// URL's, locked
}

// commandFlags are the flags that mean something to only some commands;
// given to another, they are a usage error rather than silently ignored.
var commandFlags = map[string][]string{
	"ack": {"publish"}, "retain": {"publish"}, "exclude-me": {"publish"},
	"kw": {"publish", "call"}, "str": {"publish", "call"},
	"count": {"subscribe"}, "retained": {"subscribe"},
	"match": {"subscribe", "register"}, "once": {"subscribe", "register"}, "keepalive": {"subscribe", "register"},
	"exec": {"register"}, "json": {"discover"},
}

// usageError is a mistake in the command line: exit status 2, with the
// short usage.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// errBare is wampcat without a command: the whole usage, exit status 2.
var errBare = errors.New("no command")

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	o := &options{stdout: stdout, stderr: stderr}
	err := o.run(args)
	var ue *usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		o.printUsage()
		return 0
	case errors.Is(err, errBare):
		o.printUsage()
		return 2
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "wampcat: %s\n%s", ue.msg, shortUsage)
		return 2
	}
	fmt.Fprintln(stderr, "wampcat:", describe(err))
	return 1
}

// describe is an error's text with a WAMP error's URI first.
func describe(err error) string {
	var we *client.Error
	var ae *client.AbortError
	switch {
	case errors.As(err, &we):
		return we.Error()
	case errors.As(err, &ae):
		return ae.Error()
	}
	return err.Error()
}

func (o *options) printUsage() {
	fmt.Fprint(o.stderr, usage)
	o.fs.SetOutput(o.stderr)
	o.fs.PrintDefaults()
}

func (o *options) defineFlags() {
	fs := flag.NewFlagSet("wampcat", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported by run, in one line
	fs.Usage = func() {}
	fs.StringVar(&o.url, "url", "tcp://127.0.0.1:8080", "router `URL`: tcp://HOST:PORT, tls://HOST:PORT, unix:///PATH, serial:///DEVICE?baud=115200 or mdns://[?realm=NAME]")
	fs.StringVar(&o.realm, "realm", "realm1", "realm to join")
	fs.StringVar(&o.ser, "ser", "msgpack", "serializer: msgpack or json")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "time limit for connecting and for each request")
	fs.BoolVar(&o.version, "version", false, "print the version, commit and board, and exit")
	fs.IntVar(&o.count, "count", 0, "subscribe: exit after `N` events")
	fs.BoolVar(&o.ack, "ack", false, "publish: ask the router to acknowledge")
	fs.BoolVar(&o.retain, "retain", false, "publish: the router keeps the event for later subscribers that ask (-retained)")
	fs.BoolVar(&o.excludeMe, "exclude-me", true, "publish: false delivers the event to this session too")
	fs.StringVar(&o.kw, "kw", "", "publish, call: keyword arguments, a JSON `OBJECT`")
	fs.BoolVar(&o.str, "str", false, "publish, call: take every JSON_ARG as a string")
	fs.BoolVar(&o.retained, "retained", false, "subscribe: the topic's retained event first, if any")
	fs.StringVar(&o.match, "match", "exact", "subscribe, register: `POLICY` exact, prefix or wildcard")
	fs.BoolVar(&o.once, "once", false, "subscribe, register: exit when the session is lost instead of reconnecting")
	fs.DurationVar(&o.keepalive, "keepalive", 30*time.Second, "subscribe, register: check that the router answers after this much time, and count the session lost if it does not within as long again (0: never)")
	fs.StringVar(&o.exec, "exec", "", "register: answer each call with the output of `CMD`")
	fs.BoolVar(&o.json, "json", false, "discover: print a JSON list")
	o.login.defineFlags(fs)
	o.fs = fs
}

// run parses the command line and runs the command.
func (o *options) run(args []string) error {
	o.defineFlags()
	positional, err := parseInterspersed(o.fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return flagError(err)
	}
	if o.version {
		fmt.Fprintln(o.stdout, versionString())
		return nil
	}
	if len(positional) == 0 {
		return errBare
	}
	o.command, o.commandArgs = positional[0], positional[1:]
	if err := o.check(); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if o.command == "discover" {
		return discover(ctx, o.discoverTimeout(), o.json, o.stdout)
	}
	if o.clientCfg, err = o.login.config(o); err != nil {
		return err
	}
	if o.device, err = lockSerial(o.url); err != nil {
		return err
	}
	defer o.device.release()
	switch o.command {
	case "publish":
		return o.oneShot(ctx, o.publish)
	case "call":
		return o.oneShot(ctx, o.call)
	case "subscribe":
		return o.stay(ctx, o.subscriber())
	default: // register
		return o.stay(ctx, o.callee())
	}
}

// check finds what is wrong with the command line before connecting.
func (o *options) check() error {
	for _, check := range []func() error{o.checkArgs, o.checkFlags, o.checkPayload} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

// checkArgs: a known command, with its TOPIC or PROC and no more
// arguments than it takes.
func (o *options) checkArgs() error {
	switch o.command {
	case "discover":
		if len(o.commandArgs) > 0 {
			return usagef("discover: unexpected argument %q", o.commandArgs[0])
		}
		return nil
	case "publish", "call", "subscribe", "register":
	default:
		return usagef("unknown command %q", o.command)
	}
	if len(o.commandArgs) == 0 {
		return usagef("%s: missing %s", o.command, targetName(o.command))
	}
	o.target = o.commandArgs[0]
	if rest := o.commandArgs[1:]; len(rest) > 0 && (o.command == "subscribe" || o.command == "register") {
		return usagef("%s takes one %s; unexpected argument %q", o.command, targetName(o.command), rest[0])
	}
	return nil
}

// checkFlags: each flag given is for this command, and its value one
// wampcat knows.
func (o *options) checkFlags() error {
	var misplaced error
	o.fs.Visit(func(f *flag.Flag) {
		if cmds, ok := commandFlags[f.Name]; ok && !slices.Contains(cmds, o.command) && misplaced == nil {
			misplaced = usagef("-%s is for %s, not %s", f.Name, strings.Join(cmds, " and "), o.command)
		}
	})
	if misplaced != nil {
		return misplaced
	}
	switch o.ser {
	case "msgpack":
		o.serializer = codec.MsgPack
	case "json":
		o.serializer = codec.JSON
	default:
		return usagef("-ser %q: want msgpack or json", o.ser)
	}
	switch o.match {
	case "exact", "prefix", "wildcard":
		return nil
	}
	return usagef("-match %q: want exact, prefix or wildcard", o.match)
}

// checkPayload: publish's and call's arguments and -kw as a payload.
func (o *options) checkPayload() (err error) {
	if o.command == "publish" || o.command == "call" {
		o.payload, err = payload(o.commandArgs[1:], o.kw, o.str)
	}
	return err
}

// flagError words the flag package's errors as wampcat's others are.
func flagError(err error) error {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok {
		return usagef("unknown flag %s", name)
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: "); ok {
		return usagef("%s needs a value", name)
	}
	return &usageError{msg}
}

func targetName(command string) string {
	if command == "call" || command == "register" {
		return "PROC"
	}
	return "TOPIC"
}

// discoverTimeout is -timeout when given, else long enough for every
// router on a LAN to answer.
func (o *options) discoverTimeout() time.Duration {
	timeout := 3 * time.Second
	o.fs.Visit(func(f *flag.Flag) {
		if f.Name == "timeout" {
			timeout = o.timeout
		}
	})
	return timeout
}

func versionString() string {
	s := "wampcat " + version
	var about []string
	if commit != "" {
		about = append(about, "commit "+commit)
	}
	if board != "" {
		about = append(about, "board "+board)
	}
	if len(about) > 0 {
		s += " (" + strings.Join(about, ", ") + ")"
	}
	return s
}

// connect joins the realm, within -timeout.
func (o *options) connect(ctx context.Context) (*client.Client, error) {
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	o.device.discardInput()
	if isMDNS(o.url) {
		return dialMDNS(ctx, o.url, o.clientCfg)
	}
	return client.Dial(ctx, o.url, o.clientCfg)
}

// oneShot runs a command that needs one session, and one request on it.
func (o *options) oneShot(ctx context.Context, command func(context.Context, *client.Client) error) error {
	c, err := o.connect(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	return command(ctx, c)
}

// parseInterspersed lets flags stand anywhere: before the command or
// among its arguments. An argument that is a JSON number ("-1") is an
// argument, not a flag; "--" ends the flags.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for len(args) > 0 {
		a := args[0]
		if a == "--" {
			return append(positional, args[1:]...), nil
		}
		if strings.HasPrefix(a, "-") && len(a) > 1 && !looksLikeNumber(a) {
			// One flag at a time: fs.Parse would take a number that
			// follows the flag ("-timeout 2s -1") for a flag too.
			n := min(flagArgs(fs, a), len(args))
			if err := fs.Parse(args[:n]); err != nil {
				return nil, err
			}
			args = args[n:]
			continue
		}
		positional = append(positional, a)
		args = args[1:]
	}
	return positional, nil
}

// flagArgs is the number of arguments flag a takes up: 2 for "-name
// VALUE", 1 for "-name=VALUE", a bool flag, or one fs.Parse will reject.
func flagArgs(fs *flag.FlagSet, a string) int {
	name := strings.TrimLeft(a, "-")
	f := fs.Lookup(name)
	if f == nil || strings.Contains(name, "=") {
		return 1
	}
	if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
		return 1
	}
	return 2
}
