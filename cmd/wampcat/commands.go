package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"

	"github.com/wampedge/wampedge/edge/client"
)

func (o *options) publish(ctx context.Context, c *client.Client) error {
	return c.Publish(ctx, o.target, o.payload, client.PublishOptions{Acknowledge: o.ack, Retain: o.retain, IncludeMe: !o.excludeMe})
}

func (o *options) call(ctx context.Context, c *client.Client) error {
	res, err := c.Call(ctx, o.target, o.payload)
	if err != nil {
		return err
	}
	args, kwargs, err := res.Payload.JSON()
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(o.stdout, `{"args":%s,"kwargs":%s}`+"\n", args, kwargs)
	return err
}

// subscriber prints each event as a JSON line, over every session it
// gets, until -count events are printed.
func (o *options) subscriber() staying {
	var mu sync.Mutex // a lost session's last handlers may overlap the next one's
	printed := 0
	finished := make(chan struct{})
	print := func(e *client.Event) {
		mu.Lock()
		defer mu.Unlock()
		if o.count > 0 && printed >= o.count {
			return
		}
		args, kwargs, err := e.Payload.JSON()
		if err != nil {
			fmt.Fprintf(o.stderr, "wampcat: event %d on %s: %v\n", e.Publication, e.Topic, err)
			return
		}
		fmt.Fprintf(o.stdout, `{"topic":%s,"publication":%d,"args":%s,"kwargs":%s}`+"\n", quoteJSON(e.Topic), e.Publication, args, kwargs)
		if printed++; printed == o.count {
			close(finished)
		}
	}
	opts := client.SubscribeOptions{Match: o.match, GetRetained: o.retained}
	return staying{
		finished: finished,
		setup: func(ctx context.Context, c *client.Client) error {
			_, err := c.SubscribeWith(ctx, o.target, opts, print)
			return err
		},
	}
}

// callee answers each call with its arguments, or with -exec's output.
func (o *options) callee() staying {
	handler := func(_ context.Context, inv *client.Invocation) (client.Payload, error) {
		return inv.Payload, nil // echo
	}
	if o.exec != "" {
		handler = func(ctx context.Context, inv *client.Invocation) (client.Payload, error) {
			return runExec(ctx, o.exec, inv)
		}
	}
	return staying{setup: func(ctx context.Context, c *client.Client) error {
		_, err := c.RegisterWith(ctx, o.target, client.RegisterOptions{Match: o.match}, handler)
		return err
	}}
}

// runExec answers a call with the output of a shell command.
func runExec(ctx context.Context, command string, inv *client.Invocation) (client.Payload, error) {
	args, kwargs, err := inv.Payload.JSON()
	if err != nil {
		return client.Payload{}, err
	}
	cmd := exec.CommandContext(ctx, "sh", "-c", command)
	cmd.Stdin = strings.NewReader(args)
	cmd.Env = append(os.Environ(), "WAMP_ARGS="+args, "WAMP_KWARGS="+kwargs, "WAMP_PROCEDURE="+inv.Procedure)
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
		return payload([]string{string(text)}, "", false)
	}
	return client.Args(string(text)), nil
}

func quoteJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
