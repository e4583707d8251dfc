package codec_test

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/wampedge/wampedge/codec"
)

func TestPublishOptionsExcludeMe(t *testing.T) {
	for _, tc := range []struct {
		dict []byte
		want codec.Flag
		or   bool // ExcludeMe.Or(true): whether the publisher is excluded
	}{
		{nil, codec.Unset, true},
		{js(`{}`), codec.Unset, true},
		{js(`{"acknowledge":true}`), codec.Unset, true},
		{js(`{"exclude_me":false}`), codec.False, false},
		{js(`{"exclude_me":true}`), codec.True, true},
	} {
		var o codec.PublishOptions
		o.ExcludeMe = codec.True // Decode resets it
		if err := o.Decode(tc.dict); err != nil {
			t.Fatal(err)
		}
		if o.ExcludeMe != tc.want || o.ExcludeMe.Or(true) != tc.or {
			t.Errorf("%s: ExcludeMe %d, Or(true) %v; want %d, %v", wireOf(tc.dict), o.ExcludeMe, o.ExcludeMe.Or(true), tc.want, tc.or)
		}
	}

	for _, tc := range []struct {
		o    codec.PublishOptions
		wire string
	}{
		{codec.PublishOptions{}, `{}`},
		{codec.PublishOptions{ExcludeMe: codec.False}, `{"exclude_me":false}`},
		{codec.PublishOptions{ExcludeMe: codec.True}, `{"exclude_me":true}`},
		{codec.PublishOptions{Acknowledge: true, ExcludeMe: codec.FlagOf(false)}, `{"acknowledge":true,"exclude_me":false}`},
	} {
		b, err := tc.o.MarshalMsg(nil)
		if err != nil || wireOf(b) != tc.wire {
			t.Errorf("MarshalMsg(%+v) = %s, %v; want %s", tc.o, wireOf(b), err, tc.wire)
		}
	}
	if zero, _ := (&codec.PublishOptions{}).MarshalMsg(nil); bytes.Contains(zero, []byte("exclude_me")) {
		t.Errorf("a zero PublishOptions encodes exclude_me: % x", zero)
	}
}

func TestFlag(t *testing.T) {
	if codec.FlagOf(true) != codec.True || codec.FlagOf(false) != codec.False {
		t.Error("FlagOf")
	}
	for _, tc := range []struct {
		f            codec.Flag
		zero, orTrue bool
		orFalse      bool
	}{
		{codec.Unset, true, true, false},
		{codec.False, false, false, false},
		{codec.True, false, true, true},
	} {
		if tc.f.IsZero() != tc.zero || tc.f.Or(true) != tc.orTrue || tc.f.Or(false) != tc.orFalse {
			t.Errorf("flag %d: IsZero %v, Or(true) %v, Or(false) %v", tc.f, tc.f.IsZero(), tc.f.Or(true), tc.f.Or(false))
		}
	}
	var f codec.Flag
	if _, err := f.UnmarshalMsg(js(`1`)); err == nil {
		t.Error("an int decodes as a flag")
	}
}

// wireOf is the JSON text of a MessagePack value, or the error.
func wireOf(b []byte) string {
	if b == nil {
		return "nil"
	}
	text, err := codec.ToJSON(nil, b)
	if err != nil {
		return err.Error()
	}
	return string(text)
}

func TestDictDecode(t *testing.T) {
	var pub codec.PublishOptions
	err := pub.Decode(js(`{"acknowledge":true,"exclude":[1,2],"eligible_authrole":["a"],"retain":true,
		"forward_for":[{"session":3,"authid":"r"}],"x_custom":{"deep":[1]},"_impl":1}`))
	want := codec.PublishOptions{Acknowledge: true, Exclude: []uint64{1, 2}, EligibleAuthRole: []string{"a"}, Retain: true,
		ForwardFor: []codec.ForwardFor{{Session: 3, AuthID: "r"}}}
	if err != nil || !reflect.DeepEqual(pub, want) {
		t.Errorf("PublishOptions = %+v, %v", pub, err)
	}

	var hello codec.HelloDetails
	err = hello.Decode(js(`{"roles":{"caller":{"features":{"progressive_call_results":true}},"publisher":{}},"authmethods":["ticket"],"authid":"joe"}`))
	if err != nil || !hello.Roles["caller"].Features["progressive_call_results"] || len(hello.Roles) != 2 ||
		hello.AuthID != "joe" || len(hello.AuthMethods) != 1 {
		t.Errorf("HelloDetails = %+v, %v", hello, err)
	}

	var sub codec.SubscribeOptions
	for _, m := range []string{"exact", "prefix", "wildcard"} {
		if err := sub.Decode(js(`{"match":"` + m + `"}`)); err != nil || sub.Match != m {
			t.Errorf("match %s: %+v, %v", m, sub, err)
		}
	}

	var p codec.Passthru
	if err := p.Decode(codec.TypeCall, "Options", js(`{"ppt_scheme":"x","ppt_serializer":"cbor"}`)); err != nil || !p.Active() {
		t.Errorf("ppt_scheme: %+v, %v", p, err)
	}
	if err := p.Decode(codec.TypeEvent, "Details", js(`{"enc_algo":"cryptobox"}`)); err != nil || !p.Active() {
		t.Errorf("enc_algo: %+v, %v", p, err)
	}
	if err := p.Decode(codec.TypeEvent, "Details", js(`{"publisher":1}`)); err != nil || p.Active() {
		t.Errorf("no passthru: %+v, %v", p, err)
	}
}

// TestDictErrors: a wrong dict value is an OptionError that names the
// message, the element and the key as it is spelled on the wire.
func TestDictErrors(t *testing.T) {
	many := dict{}
	for i := range 257 {
		many = append(many, fmt.Sprintf("k%d", i), 1)
	}
	decoders := map[string]func([]byte) error{
		"PublishOptions":    func(b []byte) error { var o codec.PublishOptions; return o.Decode(b) },
		"SubscribeOptions":  func(b []byte) error { var o codec.SubscribeOptions; return o.Decode(b) },
		"RegisterOptions":   func(b []byte) error { var o codec.RegisterOptions; return o.Decode(b) },
		"CallOptions":       func(b []byte) error { var o codec.CallOptions; return o.Decode(b) },
		"YieldOptions":      func(b []byte) error { var o codec.YieldOptions; return o.Decode(b) },
		"CANCEL":            func(b []byte) error { var o codec.CancelOptions; return o.Decode(codec.TypeCancel, b) },
		"INTERRUPT":         func(b []byte) error { var o codec.CancelOptions; return o.Decode(codec.TypeInterrupt, b) },
		"HelloDetails":      func(b []byte) error { var d codec.HelloDetails; return d.Decode(b) },
		"WelcomeDetails":    func(b []byte) error { var d codec.WelcomeDetails; return d.Decode(b) },
		"ABORT":             func(b []byte) error { var d codec.CloseDetails; return d.Decode(codec.TypeAbort, b) },
		"GOODBYE":           func(b []byte) error { var d codec.CloseDetails; return d.Decode(codec.TypeGoodbye, b) },
		"EventDetails":      func(b []byte) error { var d codec.EventDetails; return d.Decode(b) },
		"InvocationDetails": func(b []byte) error { var d codec.InvocationDetails; return d.Decode(b) },
		"ResultDetails":     func(b []byte) error { var d codec.ResultDetails; return d.Decode(b) },
		"ChallengeExtra":    func(b []byte) error { var x codec.ChallengeExtra; return x.Decode(b) },
		"CALL passthru":     func(b []byte) error { var p codec.Passthru; return p.Decode(codec.TypeCall, "Options", b) },
		"EVENT passthru":    func(b []byte) error { var p codec.Passthru; return p.Decode(codec.TypeEvent, "Details", b) },
	}
	for _, tc := range []struct {
		decoder string
		dict    []byte
		want    string
	}{
		{"PublishOptions", js(`{"acknowledge":"yes"}`), `PUBLISH.Options.acknowledge: want bool, got str`},
		{"PublishOptions", js(`{"acknowledge":1}`), `PUBLISH.Options.acknowledge: want bool, got int`},
		{"PublishOptions", js(`{"exclude_me":null}`), `PUBLISH.Options.exclude_me: want bool, got nil`},
		{"PublishOptions", js(`{"exclude":[1,"x"]}`), `PUBLISH.Options.exclude: want int, got str`},
		{"PublishOptions", js(`{"exclude_authid":"alice"}`), `PUBLISH.Options.exclude_authid: want list, got str`},
		{"PublishOptions", js(`{"forward_for":[{"session":"x"}]}`), `PUBLISH.Options.forward_for: want int, got str`},
		{"PublishOptions", js(`"x"`), `PUBLISH.Options: want dict, got str`},
		{"PublishOptions", append(js(`{}`), 0), `PUBLISH.Options: bytes after the end of the message`},
		{"PublishOptions", pack(many), `PUBLISH.Options: `},
		{"SubscribeOptions", js(`{"match":"regex"}`), `SUBSCRIBE.Options.match: unknown value "regex"`},
		{"SubscribeOptions", js(`{"get_retained":"x"}`), `SUBSCRIBE.Options.get_retained: want bool, got str`},
		{"RegisterOptions", js(`{"match":"fuzzy"}`), `REGISTER.Options.match: unknown value "fuzzy"`},
		{"RegisterOptions", js(`{"invoke":"all"}`), `REGISTER.Options.invoke: unknown value "all"`},
		{"CallOptions", js(`{"timeout":"1s"}`), `CALL.Options.timeout: want int, got str`},
		{"YieldOptions", js(`{"progress":1}`), `YIELD.Options.progress: want bool, got int`},
		{"CANCEL", js(`{"mode":"abort"}`), `CANCEL.Options.mode: unknown value "abort"`},
		{"INTERRUPT", js(`{"mode":"abort"}`), `INTERRUPT.Options.mode: unknown value "abort"`},
		{"HelloDetails", js(`{"roles":"caller"}`), `HELLO.Details.roles: want dict, got str`},
		{"HelloDetails", js(`{"roles":{"caller":{"features":{"x":1}}}}`), `HELLO.Details.roles: want bool, got int`},
		{"HelloDetails", js(`{"authmethods":"ticket"}`), `HELLO.Details.authmethods: want list, got str`},
		{"WelcomeDetails", js(`{"realm":1}`), `WELCOME.Details.realm: want str, got int`},
		{"ABORT", js(`{"message":1}`), `ABORT.Details.message: want str, got int`},
		{"GOODBYE", js(`{"message":[]}`), `GOODBYE.Details.message: want str, got list`},
		{"EventDetails", js(`{"publisher":"x"}`), `EVENT.Details.publisher: want int, got str`},
		{"InvocationDetails", js(`{"caller":true}`), `INVOCATION.Details.caller: want int, got bool`},
		{"ResultDetails", js(`{"progress":"x"}`), `RESULT.Details.progress: want bool, got str`},
		{"ChallengeExtra", js(`{"keylen":"32"}`), `CHALLENGE.Extra.keylen: want int, got str`},
		{"CALL passthru", js(`{"ppt_cipher":"rot13"}`), `CALL.Options.ppt_cipher: unknown value "rot13"`},
		{"EVENT passthru", js(`{"ppt_serializer":"xml"}`), `EVENT.Details.ppt_serializer: unknown value "xml"`},
		{"EVENT passthru", js(`{"enc_algo":"rot13"}`), `EVENT.Details.enc_algo: unknown value "rot13"`},
	} {
		t.Run(tc.want, func(t *testing.T) {
			err := decoders[tc.decoder](tc.dict)
			var oe *codec.OptionError
			if !errors.As(err, &oe) || !errors.Is(err, codec.ErrInvalid) {
				t.Fatalf("got %v (%T), want an OptionError", err, err)
			}
			if got, want := err.Error(), "codec: "+tc.want; len(got) < len(want) || got[:len(want)] != want {
				t.Errorf("got  %s\nwant %s", got, want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    codec.Message
		want string // "" for valid
	}{
		{"PUBLISH with binary payload, no passthru", &codec.Publish{Request: 1, Topic: []byte("t"), Args: pack([]byte{1})},
			"codec: PUBLISH element 4 (Arguments): want list (or passthru options), got bin"},
		{"PUBLISH with binary payload, ppt_scheme", &codec.Publish{Request: 1, Options: js(`{"ppt_scheme":"x"}`), Topic: []byte("t"), Args: pack([]byte{1})}, ""},
		{"EVENT with string payload, enc_algo", &codec.Event{Subscription: 1, Publication: 2, Details: js(`{"enc_algo":"cryptobox"}`), Args: pack("a1")}, ""},
		{"RESULT with string payload", &codec.Result{Request: 1, Args: pack("x")},
			"codec: RESULT element 3 (Arguments): want list (or passthru options), got str"},
		{"ERROR with bad passthru", &codec.Error{Request: 1, RequestType: codec.TypeCall, Details: js(`{"ppt_cipher":"x"}`), Error: []byte("e"), Args: pack([]byte{1})},
			`codec: ERROR.Details.ppt_cipher: unknown value "x"`},
		{"PUBLISH with bad options", &codec.Publish{Request: 1, Options: js(`{"retain":1}`), Topic: []byte("t")},
			"codec: PUBLISH.Options.retain: want bool, got int"},
		{"HELLO with bad roles", &codec.Hello{Realm: []byte("r"), Details: js(`{"roles":[]}`)},
			"codec: HELLO.Details.roles: want dict, got list"},
		{"SUBSCRIBE with bad match", &codec.Subscribe{Request: 1, Options: js(`{"match":"x"}`), Topic: []byte("t")},
			`codec: SUBSCRIBE.Options.match: unknown value "x"`},
		{"INTERRUPT with bad mode", &codec.Interrupt{Request: 1, Options: js(`{"mode":"x"}`)},
			`codec: INTERRUPT.Options.mode: unknown value "x"`},
		{"YIELD with bad options", &codec.Yield{Request: 1, Options: js(`{"progress":"x"}`)},
			"codec: YIELD.Options.progress: want bool, got str"},
		{"PUBLISHED has no dict", &codec.Published{Request: 1, Publication: 2}, ""},
		{"AUTHENTICATE Extra is free", &codec.Authenticate{Signature: []byte("s"), Extra: js(`{"x":"y"}`)}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := codec.Validate(tc.m)
			if tc.want == "" {
				if err != nil {
					t.Errorf("Validate: %v", err)
				}
				return
			}
			if err == nil || err.Error() != tc.want || !errors.Is(err, codec.ErrInvalid) {
				t.Errorf("Validate: %v\nwant %s", err, tc.want)
			}
		})
	}
}

func TestCheckPayload(t *testing.T) {
	bad := js(`{"ppt_cipher":"x"}`)
	if err := codec.CheckPayload(codec.TypePublish, "Options", bad, js(`[1]`)); err != nil {
		t.Errorf("a list payload: %v", err)
	}
	if err := codec.CheckPayload(codec.TypePublish, "Options", bad, nil); err != nil {
		t.Errorf("no payload: %v", err)
	}
	if err := codec.CheckPayload(codec.TypePublish, "Options", bad, pack([]byte{1})); !errors.Is(err, codec.ErrInvalid) {
		t.Errorf("a binary payload with a bad cipher: %v", err)
	}
	if err := codec.CheckPayload(codec.TypeCall, "Options", js(`{"ppt_scheme":"x"}`), pack([]byte{1})); err != nil {
		t.Errorf("a binary payload with passthru: %v", err)
	}
}
