// Command wampcat is a command-line WAMP client: publish, subscribe,
// call and register from a shell on the board.
//
//	wampcat [-url tcp://127.0.0.1:8080|unix:///PATH|mdns://] [-realm realm1] [-ser msgpack|json] COMMAND ...
//
//	publish TOPIC [JSON_ARG...]    publish an event (-ack waits for the router)
//	subscribe TOPIC [-count N]     print each event as a JSON line
//	call PROC [JSON_ARG...]        print the result as JSON; exit 1 with the error URI on error
//	register PROC [-exec CMD]      answer calls with their arguments, or with CMD's output
//	discover [-timeout 3s] [-json] list the routers that answer on the LAN by mDNS
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/wampedge/wampedge/codec"
	"github.com/wampedge/wampedge/edge/client"
)

const usage = `usage: wampcat [flags] COMMAND [ARGS]

commands:
  publish TOPIC [JSON_ARG...]   publish an event; -ack waits for the router's answer
  subscribe TOPIC               print each event as a JSON line, until interrupted or -count N
  call PROC [JSON_ARG...]       print the result as JSON; exit status 1 and the error URI on error
  register PROC                 answer each call with its arguments, or run -exec CMD
  discover                      list the routers found on the LAN by mDNS (-timeout, default 3s; -json)

JSON_ARG is any JSON value (a bare word that is not JSON is taken as a string).
-url mdns:// (or mdns://?realm=NAME) joins the first router found by mDNS that serves the realm.
-exec CMD runs through sh -c with the call's arguments as a JSON list on stdin and in
$WAMP_ARGS (keyword arguments in $WAMP_KWARGS); its output, as JSON if it parses, is the
result; a non-zero exit answers wamp.error.runtime_error with its stderr.

flags:
`

type options struct {
	url, realm, ser, exec string
	timeout               time.Duration
	count                 int
	ack, json             bool
}

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	var o options
	fs := flag.NewFlagSet("wampcat", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.url, "url", "tcp://127.0.0.1:8080", "router `URL`: tcp://HOST:PORT, tls://HOST:PORT, unix:///PATH, serial:///DEVICE?baud=115200 or mdns://[?realm=NAME]")
	fs.StringVar(&o.realm, "realm", "realm1", "realm to join")
	fs.StringVar(&o.ser, "ser", "msgpack", "serializer: msgpack or json")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "time limit for connecting and for each request")
	fs.IntVar(&o.count, "count", 0, "subscribe: exit after `N` events")
	fs.BoolVar(&o.ack, "ack", false, "publish: ask the router to acknowledge")
	fs.StringVar(&o.exec, "exec", "", "register: answer each call with the output of `CMD`")
	fs.BoolVar(&o.json, "json", false, "discover: print a JSON list")
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	positional, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if len(positional) == 1 && positional[0] == "discover" {
		timeout := 3 * time.Second // long enough for every router on a LAN to answer
		fs.Visit(func(f *flag.Flag) {
			if f.Name == "timeout" {
				timeout = o.timeout
			}
		})
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
		defer stop()
		if err := discover(ctx, timeout, o.json, stdout); err != nil {
			fmt.Fprintln(stderr, "wampcat:", err)
			return 1
		}
		return 0
	}
	if len(positional) < 2 {
		fs.Usage()
		return 2
	}
	cmd, target, rest := positional[0], positional[1], positional[2:]
	ser := codec.MsgPack
	switch o.ser {
	case "msgpack":
	case "json":
		ser = codec.JSON
	default:
		fmt.Fprintf(stderr, "wampcat: -ser %q: want msgpack or json\n", o.ser)
		return 2
	}
	switch cmd {
	case "publish", "subscribe", "call", "register":
	default: // before connecting: a usage error, whether or not a router is up
		fmt.Fprintf(stderr, "wampcat: unknown command %q\n", cmd)
		return 2
	}
	payload, err := jsonArgs(rest)
	if err != nil {
		fmt.Fprintln(stderr, "wampcat:", err)
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	dctx, cancel := context.WithTimeout(ctx, o.timeout)
	cfg := client.Config{Realm: o.realm, Serializer: ser, Agent: "wampcat"}
	var c *client.Client
	if isMDNS(o.url) {
		c, err = dialMDNS(dctx, o.url, cfg)
	} else {
		c, err = client.Dial(dctx, o.url, cfg)
	}
	cancel()
	if err != nil {
		fmt.Fprintln(stderr, "wampcat:", err)
		return 1
	}
	defer c.Close()

	switch cmd {
	case "publish":
		err = publish(ctx, c, target, payload, o)
	case "subscribe":
		err = subscribe(ctx, c, target, o, stdout)
	case "call":
		err = call(ctx, c, target, payload, o, stdout)
	case "register":
		err = register(ctx, c, target, o)
	}
	if err != nil {
		var we *client.Error
		if errors.As(err, &we) {
			fmt.Fprintln(stderr, we.Error())
		} else {
			fmt.Fprintln(stderr, "wampcat:", err)
		}
		return 1
	}
	return 0
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
		if strings.HasPrefix(a, "-") && len(a) > 1 && !json.Valid([]byte(a)) {
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

// jsonArgs turns command-line arguments into a payload: each is JSON, or
// else a plain string.
func jsonArgs(args []string) (client.Payload, error) {
	if len(args) == 0 {
		return client.Payload{}, nil
	}
	list := []byte{'['}
	for i, a := range args {
		if i > 0 {
			list = append(list, ',')
		}
		if json.Valid([]byte(a)) {
			list = append(list, a...)
		} else {
			s, _ := json.Marshal(a)
			list = append(list, s...)
		}
	}
	list = append(list, ']')
	mp, err := codec.FromJSON(nil, list)
	if err != nil {
		return client.Payload{}, err
	}
	return client.Payload{Args: mp}, nil
}

func publish(ctx context.Context, c *client.Client, topic string, p client.Payload, o options) error {
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	return c.Publish(ctx, topic, p, client.PublishOptions{Acknowledge: o.ack})
}

func subscribe(ctx context.Context, c *client.Client, topic string, o options, stdout io.Writer) error {
	events := make(chan *client.Event, 64)
	sctx, cancel := context.WithTimeout(ctx, o.timeout)
	_, err := c.Subscribe(sctx, topic, func(e *client.Event) { events <- e })
	cancel()
	if err != nil {
		return err
	}
	for n := 0; o.count == 0 || n < o.count; n++ {
		select {
		case e := <-events:
			args, kwargs, err := e.Payload.JSON()
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, `{"topic":%s,"publication":%d,"args":%s,"kwargs":%s}`+"\n", quoteJSON(e.Topic), e.Publication, args, kwargs)
		case <-ctx.Done():
			return nil
		case <-c.Done():
			return c.Err()
		}
	}
	return nil
}

func call(ctx context.Context, c *client.Client, procedure string, p client.Payload, o options, stdout io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	res, err := c.Call(ctx, procedure, p)
	if err != nil {
		return err
	}
	args, kwargs, err := res.Payload.JSON()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, `{"args":%s,"kwargs":%s}`+"\n", args, kwargs)
	return nil
}

func register(ctx context.Context, c *client.Client, procedure string, o options) error {
	handler := func(_ context.Context, inv *client.Invocation) (client.Payload, error) {
		return inv.Payload, nil // echo
	}
	if o.exec != "" {
		handler = func(hctx context.Context, inv *client.Invocation) (client.Payload, error) {
			return runExec(hctx, o.exec, inv.Payload)
		}
	}
	rctx, cancel := context.WithTimeout(ctx, o.timeout)
	_, err := c.Register(rctx, procedure, handler)
	cancel()
	if err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		return nil
	case <-c.Done():
		return c.Err()
	}
}

// runExec answers a call with the output of a shell command.
func runExec(ctx context.Context, command string, p client.Payload) (client.Payload, error) {
	args, kwargs, err := p.JSON()
	if err != nil {
		return client.Payload{}, err
	}
	cmd := exec.CommandContext(ctx, "sh", "-c", command)
	cmd.Stdin = strings.NewReader(args)
	cmd.Env = append(os.Environ(), "WAMP_ARGS="+args, "WAMP_KWARGS="+kwargs)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(errOut.String())
		if msg == "" {
			msg = err.Error()
		}
		return client.Payload{}, &client.Error{URI: "wamp.error.runtime_error", Payload: client.Args(msg)}
	}
	text := bytes.TrimSpace(out.Bytes())
	if json.Valid(text) && len(text) > 0 {
		return jsonArgs([]string{string(text)})
	}
	return client.Args(string(text)), nil
}

func quoteJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
