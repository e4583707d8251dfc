package client

import (
	"fmt"

	"github.com/tinylib/msgp/msgp"
	"github.com/wampedge/wampedge/codec"
)

// Payload is a message's Arguments and ArgumentsKw as encoded
// MessagePack (a list and a dict; either may be nil). The client passes
// it through as it is; Args and ArgsKw build one from Go values, and
// Decode turns one back into Go values.
type Payload struct {
	Args   []byte
	Kwargs []byte
}

// Args encodes positional arguments. Values are what MessagePack can
// carry: nil, bool, integers, floats, string, []byte, []any,
// map[string]any. It panics on anything else, as a programming error.
func Args(args ...any) Payload { return ArgsKw(args, nil) }

// ArgsKw encodes positional and keyword arguments.
func ArgsKw(args []any, kwargs map[string]any) Payload {
	var p Payload
	var err error
	if len(args) > 0 {
		if p.Args, err = msgp.AppendIntf(nil, args); err != nil {
			panic(fmt.Sprintf("client: argument cannot be encoded: %v", err))
		}
	}
	if len(kwargs) > 0 {
		if p.Kwargs, err = msgp.AppendIntf(nil, kwargs); err != nil {
			panic(fmt.Sprintf("client: keyword argument cannot be encoded: %v", err))
		}
	}
	return p
}

// Decode returns the payload as Go values: integers come back as int64
// or uint64, binary as []byte, lists as []any and dicts as map[string]any.
func (p Payload) Decode() (args []any, kwargs map[string]any, err error) {
	if len(p.Args) > 0 {
		v, _, err := msgp.ReadIntfBytes(p.Args)
		if err != nil {
			return nil, nil, fmt.Errorf("client: decoding arguments: %w", err)
		}
		if list, ok := v.([]any); ok {
			args = list
		} else {
			args = []any{v} // a passthru payload
		}
	}
	if len(p.Kwargs) > 0 {
		v, _, err := msgp.ReadIntfBytes(p.Kwargs)
		if err != nil {
			return nil, nil, fmt.Errorf("client: decoding keyword arguments: %w", err)
		}
		kwargs, _ = v.(map[string]any)
	}
	return args, kwargs, nil
}

// JSON returns the payload as JSON texts: the arguments list and the
// keyword dict ("[]" and "{}" when absent).
func (p Payload) JSON() (args, kwargs string, err error) {
	a, k := []byte("[]"), []byte("{}")
	if len(p.Args) > 0 {
		if a, err = codec.ToJSON(nil, p.Args); err != nil {
			return "", "", err
		}
	}
	if len(p.Kwargs) > 0 {
		if k, err = codec.ToJSON(nil, p.Kwargs); err != nil {
			return "", "", err
		}
	}
	return string(a), string(k), nil
}

// clone copies a payload out of a read buffer.
func (p Payload) clone() Payload {
	return Payload{Args: append([]byte(nil), p.Args...), Kwargs: append([]byte(nil), p.Kwargs...)}
}

// Error is a WAMP error: an ERROR answering a request, with its URI and
// payload. A Register handler returns one to answer a call with that
// error.
type Error struct {
	URI string
	Payload
}

func (e *Error) Error() string {
	args, _, _ := e.Decode()
	if len(args) > 0 {
		if s, ok := args[0].(string); ok {
			return e.URI + ": " + s
		}
	}
	return e.URI
}

// AbortError is the router's refusal of a session (ABORT), or the reason
// it closed one.
type AbortError struct {
	Reason  string
	Message string
}

func (e *AbortError) Error() string {
	if e.Message != "" {
		return e.Reason + ": " + e.Message
	}
	return e.Reason
}
