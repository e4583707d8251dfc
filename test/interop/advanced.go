package interop

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The Advanced Profile operations of a peer (peers/PROTOCOL.md,
// "Advanced Profile"). A library that cannot do what an option asks
// answers an error whose text starts with "unsupported: ": the scenario
// is then n/a for that library, with the reason, never a silent pass.

// SubOpts are SUBSCRIBE options.
type SubOpts struct {
	Match       string // "", "prefix" or "wildcard"
	GetRetained bool
}

// PubOpts are PUBLISH options.
type PubOpts struct {
	Acknowledge      bool
	ExcludeMe        *bool // nil: left out
	DiscloseMe       bool
	Retain           bool
	Exclude          []uint64
	Eligible         []uint64
	ExcludeAuthID    []string
	ExcludeAuthRole  []string
	EligibleAuthID   []string
	EligibleAuthRole []string
}

// RegOpts are REGISTER options and the callee's behavior.
type RegOpts struct {
	// Behavior: "echo", "error", "whoami", "progress" or "slow" (PROTOCOL.md).
	Behavior string
	Match    string // "", "prefix" or "wildcard"
	Invoke   string // "", "single", "roundrobin", "random", "first" or "last"
	Count    int    // "progress": how many progressive results (defaultProgress when 0)
}

// CallOpts are CALL options.
type CallOpts struct {
	ReceiveProgress bool
	Timeout         int // CALL.Options.timeout, in milliseconds; 0: none
	DiscloseMe      bool
	// Cancelable says the call will be cancelled (PendingCall.Cancel)
	// with CancelMode ("" for the library's default CANCEL). A peer that
	// cannot answers "unsupported" at once, without calling.
	Cancelable bool
	CancelMode string
}

// CallResult is a call's final result and the progressive results that
// came before it, in order.
type CallResult struct {
	Payload
	Progress []Payload `json:"progress"`
}

// PendingCall is a call in progress.
type PendingCall interface {
	// Cancel cancels the call (CallOpts.Cancelable).
	Cancel() error
	// Wait waits for the call's outcome.
	Wait() (CallResult, error)
	// Done is closed once the outcome is there.
	Done() <-chan struct{}
}

// Note is something a callee saw besides calls: "invoked" when a "slow"
// invocation starts, "interrupt" when the router interrupts it (Mode is
// the INTERRUPT's mode where the library tells it).
type Note struct {
	Kind      string `json:"kind"`
	Procedure string `json:"procedure"`
	Mode      string `json:"mode"`
}

// EventDetails are the EVENT.Details a library reports (zero values
// where it reports nothing).
type EventDetails struct {
	Topic     string `json:"topic"`
	Publisher uint64 `json:"publisher"`
	Retained  bool   `json:"retained"`
}

const (
	// defaultProgress is how many progressive results "progress" sends.
	defaultProgress = 3
	// slowLimit bounds how long a "slow" invocation waits for its
	// interrupt before it answers anyway.
	slowLimit = 10 * time.Second
	// errNoProgress is the error a "progress" callee answers when its
	// library offers it no way to send progressive results (the router
	// did not pass receive_progress, or the library does not support them).
	errNoProgress = "com.example.no_progress"
)

// unsupported is a library's refusal of an option it does not have.
func unsupported(format string, a ...any) error {
	return errors.New("unsupported: " + fmt.Sprintf(format, a...))
}

// unsupportedWhy returns the reason when err is such a refusal.
func unsupportedWhy(err error) (string, bool) {
	if err == nil || errorURI(err) != "" {
		return "", false
	}
	why, ok := strings.CutPrefix(err.Error(), "unsupported: ")
	return why, ok
}

// errCanceledLocally is what a library that gives up on a cancelled call
// itself, without reporting the router's answer, returns from Wait.
var errCanceledLocally = errors.New("the call was cancelled; the library gave up on it without reporting the router's answer")

// whoami is the answer of the "whoami" behavior: args [], kwargs
// {"procedure": the procedure the library reports, "caller": the disclosed
// caller or null, "callee": the callee's session}, as native Go values.
func whoami(procedure string, caller, callee uint64) map[string]any {
	var c any
	if caller != 0 {
		c = caller
	}
	return map[string]any{"procedure": procedure, "caller": c, "callee": callee}
}

// idValue reads a session, subscription or registration ID out of a
// control value; 0 when it is not one.
func idValue(v any) uint64 {
	switch x := v.(type) {
	case json.Number:
		if u, err := strconv.ParseUint(string(x), 10, 64); err == nil {
			return u
		}
		if f, err := x.Float64(); err == nil && f > 0 && f <= 1<<53 {
			return uint64(f)
		}
	case uint64:
		return x
	case int64:
		if x > 0 {
			return uint64(x)
		}
	case float64:
		if x > 0 && x <= 1<<53 {
			return uint64(x)
		}
	}
	return 0
}

// goCall runs a Go library's call in a goroutine of its own.
type goCall struct {
	cancel func() error
	done   chan struct{}
	res    CallResult
	err    error
}

func startGoCall(cancel func() error, call func() (CallResult, error)) *goCall {
	c := &goCall{cancel: cancel, done: make(chan struct{})}
	go func() {
		c.res, c.err = call()
		close(c.done)
	}()
	return c
}

func (c *goCall) Cancel() error         { return c.cancel() }
func (c *goCall) Done() <-chan struct{} { return c.done }
func (c *goCall) Wait() (CallResult, error) {
	<-c.done
	return c.res, c.err
}
