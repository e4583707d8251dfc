package codec_test

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/wampedge/wampedge/codec"
)

// js returns the MessagePack form of a JSON value, for readable tables.
func js(text string) []byte {
	b, err := codec.FromJSON(nil, []byte(text))
	if err != nil {
		panic(fmt.Sprintf("js(%s): %v", text, err))
	}
	return b
}

// wire returns the JSON text of an encoded message.
func wire(t *testing.T, msg []byte) string {
	t.Helper()
	text, err := codec.ToJSON(nil, msg)
	if err != nil {
		t.Fatalf("ToJSON(% x): %v", msg, err)
	}
	return string(text)
}

// roundTrips holds one message of each of the 24 types (and both forms of
// UNSUBSCRIBED and UNREGISTERED), every element set, with its wire form.
var roundTrips = []struct {
	m    codec.Message
	wire string
}{
	{&codec.Hello{Realm: []byte("realm1"), Details: js(`{"roles":{"publisher":{},"callee":{"features":{"progressive_call_results":true}}}}`)},
		`[1,"realm1",{"roles":{"publisher":{},"callee":{"features":{"progressive_call_results":true}}}}]`},
	{&codec.Welcome{Session: 9129137332, Details: js(`{"roles":{"broker":{}},"authid":"alice"}`)},
		`[2,9129137332,{"roles":{"broker":{}},"authid":"alice"}]`},
	{&codec.Abort{Details: js(`{"message":"no"}`), Reason: []byte("wamp.error.no_such_realm"), Args: js(`["x"]`), Kwargs: js(`{"k":1}`)},
		`[3,{"message":"no"},"wamp.error.no_such_realm",["x"],{"k":1}]`},
	{&codec.Challenge{AuthMethod: []byte("wampcra"), Extra: js(`{"challenge":"c","salt":"s","keylen":32,"iterations":1000}`)},
		`[4,"wampcra",{"challenge":"c","salt":"s","keylen":32,"iterations":1000}]`},
	{&codec.Authenticate{Signature: []byte("gir1mSx+deCDUV7FgLvsQNTi6n3W/Z/WcZ/OT9RwdZY="), Extra: js(`{"x_nonce":1}`)},
		`[5,"gir1mSx+deCDUV7FgLvsQNTi6n3W/Z/WcZ/OT9RwdZY=",{"x_nonce":1}]`},
	{&codec.Goodbye{Details: js(`{"message":"bye"}`), Reason: []byte("wamp.close.normal")},
		`[6,{"message":"bye"},"wamp.close.normal"]`},
	{&codec.Error{RequestType: codec.TypeCall, Request: 7814135, Details: js(`{"x":1}`), Error: []byte("com.myapp.error"), Args: js(`[1,"two"]`), Kwargs: js(`{"three":3.5}`)},
		`[8,48,7814135,{"x":1},"com.myapp.error",[1,"two"],{"three":3.5}]`},
	{&codec.Publish{Request: 239714735, Options: js(`{"acknowledge":true,"exclude_me":false}`), Topic: []byte("com.myapp.topic"), Args: js(`["Hello, world!",null]`), Kwargs: js(`{"bin":"\u0000AQID","n":-1}`)},
		`[16,239714735,{"acknowledge":true,"exclude_me":false},"com.myapp.topic",["Hello, world!",null],{"bin":"\u0000AQID","n":-1}]`},
	{&codec.Published{Request: 1, Publication: codec.MaxID},
		`[17,1,9007199254740992]`},
	{&codec.Subscribe{Request: 713845233, Options: js(`{"match":"prefix"}`), Topic: []byte("com.myapp")},
		`[32,713845233,{"match":"prefix"},"com.myapp"]`},
	{&codec.Subscribed{Request: 713845233, Subscription: 5512315355},
		`[33,713845233,5512315355]`},
	{&codec.Unsubscribe{Request: 85346237, Subscription: 5512315355},
		`[34,85346237,5512315355]`},
	{&codec.Unsubscribed{Request: 85346237},
		`[35,85346237]`},
	{&codec.Unsubscribed{Details: js(`{"subscription":5512315355,"reason":"wamp.subscription.revoked"}`)},
		`[35,0,{"subscription":5512315355,"reason":"wamp.subscription.revoked"}]`},
	{&codec.Event{Subscription: 5512315355, Publication: 4429313566, Details: js(`{"publisher":3}`), Args: js(`[[]]`), Kwargs: js(`{"a":{}}`)},
		`[36,5512315355,4429313566,{"publisher":3},[[]],{"a":{}}]`},
	{&codec.Call{Request: 7814135, Options: js(`{"timeout":1000,"receive_progress":true}`), Procedure: []byte("com.myapp.add2"), Args: js(`[23,7]`), Kwargs: js(`{"round":true}`)},
		`[48,7814135,{"timeout":1000,"receive_progress":true},"com.myapp.add2",[23,7],{"round":true}]`},
	{&codec.Cancel{Request: 7814135, Options: js(`{"mode":"kill"}`)},
		`[49,7814135,{"mode":"kill"}]`},
	{&codec.Result{Request: 7814135, Details: js(`{"progress":true}`), Args: js(`[30]`), Kwargs: js(`{"unit":"s"}`)},
		`[50,7814135,{"progress":true},[30],{"unit":"s"}]`},
	{&codec.Register{Request: 25349185, Options: js(`{"invoke":"roundrobin"}`), Procedure: []byte("com.myapp.add2")},
		`[64,25349185,{"invoke":"roundrobin"},"com.myapp.add2"]`},
	{&codec.Registered{Request: 25349185, Registration: 2103333224},
		`[65,25349185,2103333224]`},
	{&codec.Unregister{Request: 788923562, Registration: 2103333224},
		`[66,788923562,2103333224]`},
	{&codec.Unregistered{Request: 788923562},
		`[67,788923562]`},
	{&codec.Unregistered{Details: js(`{"registration":2103333224,"reason":"wamp.registration.revoked"}`)},
		`[67,0,{"registration":2103333224,"reason":"wamp.registration.revoked"}]`},
	{&codec.Invocation{Request: 6131533, Registration: 9823526, Details: js(`{"caller":4}`), Args: js(`[1]`), Kwargs: js(`{"b":[2]}`)},
		`[68,6131533,9823526,{"caller":4},[1],{"b":[2]}]`},
	{&codec.Interrupt{Request: 6131533, Options: js(`{"mode":"killnowait","reason":"wamp.error.canceled"}`)},
		`[69,6131533,{"mode":"killnowait","reason":"wamp.error.canceled"}]`},
	{&codec.Yield{Request: 6131533, Options: js(`{"progress":true}`), Args: js(`[{"x":null}]`), Kwargs: js(`{"y":false}`)},
		`[70,6131533,{"progress":true},[{"x":null}],{"y":false}]`},
	{&codec.Publish{Request: 1, Options: js(`{"ppt_scheme":"x"}`), Topic: []byte("t"), Args: pack([]byte{1, 2})},
		`[16,1,{"ppt_scheme":"x"},"t","\u0000AQI="]`},
}

func TestRoundTrip(t *testing.T) {
	seen := map[codec.Type]bool{}
	for _, tc := range roundTrips {
		typ := tc.m.Type()
		seen[typ] = true
		t.Run(tc.wire, func(t *testing.T) {
			b := tc.m.Append(nil)
			if got := wire(t, b); got != tc.wire {
				t.Errorf("Append = %s, want %s", got, tc.wire)
			}
			if want := js(tc.wire); !bytes.Equal(b, want) {
				t.Errorf("Append = % x, want % x", b, want)
			}
			if got := tc.m.Append([]byte("prefix")); string(got) != "prefix"+string(b) {
				t.Errorf("Append does not append")
			}
			if got, err := codec.TypeOf(b); got != typ || err != nil {
				t.Errorf("TypeOf = %v, %v; want %v", got, err, typ)
			}
			m := codec.New(typ)
			if err := m.Decode(b); err != nil || !reflect.DeepEqual(m, tc.m) {
				t.Errorf("Decode = %+v, %v; want %+v", m, err, tc.m)
			}
			if m, err := codec.Decode(b); err != nil || !reflect.DeepEqual(m, tc.m) {
				t.Errorf("codec.Decode = %+v, %v; want %+v", m, err, tc.m)
			}
			if err := codec.Validate(tc.m); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}
	if len(seen) != 24 {
		t.Errorf("round trips cover %d message types, want 24", len(seen))
	}
}

// TestDecodeInPlace: strings and dicts of a decoded message alias the frame.
func TestDecodeInPlace(t *testing.T) {
	frame := js(`[16,1,{"acknowledge":true},"com.myapp.topic",[1],{"a":1}]`)
	var pub codec.Publish
	if err := pub.Decode(frame); err != nil {
		t.Fatal(err)
	}
	for name, field := range map[string][]byte{"Options": pub.Options, "Topic": pub.Topic, "Args": pub.Args, "Kwargs": pub.Kwargs} {
		i := bytes.Index(frame, field)
		if i < 0 || &frame[i] != &field[0] {
			t.Errorf("%s does not alias the frame", name)
		}
		if cap(field) != len(field) {
			t.Errorf("%s has room to append over the frame (cap %d, len %d)", name, cap(field), len(field))
		}
	}
}

// TestDecodeResets: a reused struct keeps nothing of the previous message.
func TestDecodeResets(t *testing.T) {
	var pub codec.Publish
	for _, frame := range []string{`[16,1,{},"a",[1],{"k":1}]`, `[16,2,{},"b"]`} {
		if err := pub.Decode(js(frame)); err != nil {
			t.Fatal(err)
		}
	}
	if pub.Request != 2 || string(pub.Topic) != "b" || pub.Args != nil || pub.Kwargs != nil {
		t.Errorf("reused Publish = %+v", pub)
	}
	var u codec.Unsubscribed
	for _, frame := range []string{`[35,0,{"reason":"x"}]`, `[35,5]`} {
		if err := u.Decode(js(frame)); err != nil {
			t.Fatal(err)
		}
	}
	if u.Request != 5 || u.Details != nil {
		t.Errorf("reused Unsubscribed = %+v", u)
	}
	// Every type: decoders assign field by field, so each must set all
	// of its struct's fields.
	for _, tc := range roundTrips {
		m := codec.New(tc.m.Type())
		fillEveryField(reflect.ValueOf(m).Elem())
		if err := m.Decode(tc.m.Append(nil)); err != nil || !reflect.DeepEqual(m, tc.m) {
			t.Errorf("decoded over a used %T: %+v, %v; want %+v", m, m, err, tc.m)
		}
	}
}

// fillEveryField sets each field of struct v to a value no test message has.
func fillEveryField(v reflect.Value) {
	for i := range v.NumField() {
		switch f := v.Field(i); f.Kind() {
		case reflect.Uint64:
			f.SetUint(424242)
		case reflect.Slice:
			f.SetBytes([]byte("left over"))
		}
	}
}

// payloadMessages builds each message type that carries a payload, with
// nil Options or Details and the given Arguments and ArgumentsKw; head is
// its wire form up to the payload.
var payloadMessages = []struct {
	head string
	make func(args, kwargs []byte) codec.Message
}{
	{`[3,{},"r"`, func(a, k []byte) codec.Message { return &codec.Abort{Reason: []byte("r"), Args: a, Kwargs: k} }},
	{`[8,48,1,{},"e"`, func(a, k []byte) codec.Message {
		return &codec.Error{RequestType: codec.TypeCall, Request: 1, Error: []byte("e"), Args: a, Kwargs: k}
	}},
	{`[16,1,{},"t"`, func(a, k []byte) codec.Message {
		return &codec.Publish{Request: 1, Topic: []byte("t"), Args: a, Kwargs: k}
	}},
	{`[36,1,2,{}`, func(a, k []byte) codec.Message {
		return &codec.Event{Subscription: 1, Publication: 2, Args: a, Kwargs: k}
	}},
	{`[48,1,{},"p"`, func(a, k []byte) codec.Message {
		return &codec.Call{Request: 1, Procedure: []byte("p"), Args: a, Kwargs: k}
	}},
	{`[50,1,{}`, func(a, k []byte) codec.Message { return &codec.Result{Request: 1, Args: a, Kwargs: k} }},
	{`[68,1,2,{}`, func(a, k []byte) codec.Message {
		return &codec.Invocation{Request: 1, Registration: 2, Args: a, Kwargs: k}
	}},
	{`[70,1,{}`, func(a, k []byte) codec.Message { return &codec.Yield{Request: 1, Args: a, Kwargs: k} }},
}

// TestEmptyPayload checks WAMP.md §1.1: trailing empty Arguments and
// ArgumentsKw are dropped, [] stands in for Arguments before a non-empty
// ArgumentsKw, and nil Options or Details are written as {}.
func TestEmptyPayload(t *testing.T) {
	payloads := []struct {
		name         string
		args, kwargs []byte
		tail         string
	}{
		{"none", nil, nil, ``},
		{"empty args", js(`[]`), nil, ``},
		{"empty kwargs", nil, js(`{}`), ``},
		{"empty args and kwargs", js(`[]`), js(`{}`), ``},
		{"wide empty list and dict", raw{0xdc, 0, 0}, raw{0xdf, 0, 0, 0, 0}, ``},
		{"args only", js(`[1]`), nil, `,[1]`},
		{"args, empty kwargs", js(`[1]`), js(`{}`), `,[1]`},
		{"kwargs only", nil, js(`{"a":1}`), `,[],{"a":1}`},
		{"empty args, kwargs", js(`[]`), js(`{"a":1}`), `,[],{"a":1}`},
		{"args and kwargs", js(`[1]`), js(`{"a":1}`), `,[1],{"a":1}`},
		{"binary args (passthru)", pack([]byte{1}), nil, `,"\u0000AQ=="`},
	}
	for _, pm := range payloadMessages {
		for _, p := range payloads {
			t.Run(pm.head+"/"+p.name, func(t *testing.T) {
				want := pm.head + p.tail + "]"
				if got := wire(t, pm.make(p.args, p.kwargs).Append(nil)); got != want {
					t.Errorf("Append = %s, want %s", got, want)
				}
			})
		}
		t.Run(pm.head+"/empty payload on input", func(t *testing.T) {
			in := js(pm.head + `,[],{}]`)
			m, err := codec.Decode(in)
			if err != nil {
				t.Fatal(err)
			}
			v := reflect.ValueOf(m).Elem()
			if args, kwargs := v.FieldByName("Args").Bytes(), v.FieldByName("Kwargs").Bytes(); !bytes.Equal(args, js(`[]`)) || !bytes.Equal(kwargs, js(`{}`)) {
				t.Errorf("decoded Args % x, Kwargs % x", args, kwargs)
			}
			if got := wire(t, m.Append(nil)); got != pm.head+"]" {
				t.Errorf("re-encoded as %s, want %s]", got, pm.head)
			}
		})
	}
}

// TestNilDicts: nil Options, Details or Extra are written as {}, and read
// back as {} too.
func TestNilDicts(t *testing.T) {
	for _, tc := range []struct {
		m    codec.Message
		wire string
	}{
		{&codec.Hello{Realm: []byte("r")}, `[1,"r",{}]`},
		{&codec.Welcome{Session: 1}, `[2,1,{}]`},
		{&codec.Abort{Reason: []byte("r")}, `[3,{},"r"]`},
		{&codec.Challenge{AuthMethod: []byte("m")}, `[4,"m",{}]`},
		{&codec.Authenticate{Signature: []byte("s")}, `[5,"s",{}]`},
		{&codec.Goodbye{Reason: []byte("r")}, `[6,{},"r"]`},
		{&codec.Error{RequestType: codec.TypeSubscribe, Request: 1, Error: []byte("e")}, `[8,32,1,{},"e"]`},
		{&codec.Publish{Request: 1, Topic: []byte("t")}, `[16,1,{},"t"]`},
		{&codec.Subscribe{Request: 1, Topic: []byte("t")}, `[32,1,{},"t"]`},
		{&codec.Unsubscribed{}, `[35,0,{}]`},
		{&codec.Event{Subscription: 1, Publication: 2}, `[36,1,2,{}]`},
		{&codec.Call{Request: 1, Procedure: []byte("p")}, `[48,1,{},"p"]`},
		{&codec.Cancel{Request: 1}, `[49,1,{}]`},
		{&codec.Result{Request: 1}, `[50,1,{}]`},
		{&codec.Register{Request: 1, Procedure: []byte("p")}, `[64,1,{},"p"]`},
		{&codec.Unregistered{}, `[67,0,{}]`},
		{&codec.Invocation{Request: 1, Registration: 2}, `[68,1,2,{}]`},
		{&codec.Interrupt{Request: 1}, `[69,1,{}]`},
		{&codec.Yield{Request: 1}, `[70,1,{}]`},
	} {
		t.Run(tc.wire, func(t *testing.T) {
			b := tc.m.Append(nil)
			if got := wire(t, b); got != tc.wire {
				t.Errorf("Append = %s, want %s", got, tc.wire)
			}
			m, err := codec.Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			v := reflect.ValueOf(m).Elem()
			for _, name := range []string{"Options", "Details", "Extra"} {
				if f := v.FieldByName(name); f.IsValid() && !bytes.Equal(f.Bytes(), []byte{0x80}) {
					t.Errorf("decoded %s = % x, want {}", name, f.Bytes())
				}
			}
		})
	}
}

// checkError requires that err matches ErrInvalid and equals want: a
// *SyntaxError in its serializer and offset, any other error in full.
func checkError(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, codec.ErrInvalid) {
		t.Errorf("error %v does not match ErrInvalid", err)
	}
	if ws, ok := want.(*codec.SyntaxError); ok {
		var se *codec.SyntaxError
		if !errors.As(err, &se) || se.Serializer != ws.Serializer || se.Offset != ws.Offset {
			t.Errorf("got %v, want a %s SyntaxError at byte %d", err, ws.Serializer, ws.Offset)
		}
		return
	}
	if !reflect.DeepEqual(err, want) {
		t.Errorf("got %#v\nwant %#v", err, want)
	}
}

func TestRevocation(t *testing.T) {
	for _, typ := range []codec.Type{codec.TypeUnsubscribed, codec.TypeUnregistered} {
		c := int(typ)
		for _, tc := range []struct {
			name      string
			msg       list
			request   uint64
			details   []byte
			wantError error
		}{
			{"acknowledgement", list{c, 4}, 4, nil, nil},
			{"revocation", list{c, 0, dict{"reason", "x"}}, 0, js(`{"reason":"x"}`), nil},
			{"revocation, empty details", list{c, 0, dict{}}, 0, js(`{}`), nil},
			{"acknowledgement with details", list{c, 4, dict{}}, 0, nil,
				&codec.ElementError{Type: typ, Index: 1, Name: "Request", Want: "0 in the revocation form", Got: "an id"}},
			{"acknowledgement of request 0", list{c, 0}, 0, nil,
				&codec.ElementError{Type: typ, Index: 1, Name: "Request", Want: "id in [1, 2^53]", Got: "0"}},
			{"revocation details not a dict", list{c, 0, list{}}, 0, nil,
				&codec.ElementError{Type: typ, Index: 2, Name: "Details", Want: "dict", Got: "list"}},
			{"revocation request not an int", list{c, "0", dict{}}, 0, nil,
				&codec.ElementError{Type: typ, Index: 1, Name: "Request", Want: "int", Got: "str"}},
			{"too short", list{c}, 0, nil, &codec.CountError{Type: typ, Got: 1, Min: 2, Max: 3}},
			{"too long", list{c, 0, dict{}, 1}, 0, nil, &codec.CountError{Type: typ, Got: 4, Min: 2, Max: 3}},
		} {
			t.Run(typ.String()+"/"+tc.name, func(t *testing.T) {
				m, err := codec.Decode(pack(tc.msg))
				if tc.wantError != nil {
					checkError(t, err, tc.wantError)
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				v := reflect.ValueOf(m).Elem()
				if r, d := v.FieldByName("Request").Uint(), v.FieldByName("Details").Bytes(); r != tc.request || !bytes.Equal(d, tc.details) {
					t.Errorf("Request %d, Details % x; want %d, % x", r, d, tc.request, tc.details)
				}
				if got := m.Append(nil); !bytes.Equal(got, pack(tc.msg)) {
					t.Errorf("re-encoded as % x", got)
				}
			})
		}
	}
}

// TestIDRange: IDs lie in [1, 2^53] in every ID position, and any integer
// width carries them (WAMP.md §3, §7.3).
func TestIDRange(t *testing.T) {
	positions := []struct {
		typ   codec.Type
		name  string
		index int
		msg   func(id any) list
	}{
		{codec.TypeWelcome, "Session", 1, func(id any) list { return list{2, id, dict{}} }},
		{codec.TypeError, "REQUEST.Request", 2, func(id any) list { return list{8, 48, id, dict{}, "e"} }},
		{codec.TypePublish, "Request", 1, func(id any) list { return list{16, id, dict{}, "t"} }},
		{codec.TypePublished, "Publication", 2, func(id any) list { return list{17, 1, id} }},
		{codec.TypeEvent, "Subscription", 1, func(id any) list { return list{36, id, 1, dict{}} }},
		{codec.TypeEvent, "Publication", 2, func(id any) list { return list{36, 1, id, dict{}} }},
		{codec.TypeInvocation, "Registration", 2, func(id any) list { return list{68, 1, id, dict{}} }},
		{codec.TypeYield, "Request", 1, func(id any) list { return list{70, id, dict{}} }},
	}
	values := []struct {
		name     string
		id       any
		want     uint64 // the ID decoded
		rejected string // or the value the error reports
	}{
		{"0", 0, 0, "0"},
		{"1", 1, 1, ""},
		{"2^53", uint64(codec.MaxID), codec.MaxID, ""},
		{"2^53+1", uint64(codec.MaxID + 1), 0, "9007199254740993"},
		{"max uint64", uint64(math.MaxUint64), 0, "18446744073709551615"},
		{"uint8 5", raw{0xcc, 5}, 5, ""},
		{"int64 5", raw{0xd3, 0, 0, 0, 0, 0, 0, 0, 5}, 5, ""},
		{"int16 2^14", raw{0xd1, 0x40, 0}, 1 << 14, ""},
	}
	for _, p := range positions {
		for _, v := range values {
			t.Run(fmt.Sprintf("%v.%s=%s", p.typ, p.name, v.name), func(t *testing.T) {
				m, err := codec.Decode(pack(p.msg(v.id)))
				if v.rejected != "" {
					checkError(t, err, &codec.ElementError{Type: p.typ, Index: p.index, Name: p.name, Want: "id in [1, 2^53]", Got: v.rejected})
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if got := pack(p.msg(v.want)); !bytes.Equal(m.Append(nil), got) {
					t.Errorf("re-encoded as % x, want % x", m.Append(nil), got)
				}
			})
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	deepArgs := list{16, 1, dict{}, "t", nest(codec.MaxDepth, list{})}
	for _, tc := range []struct {
		name string
		msg  any
		want error
	}{
		{"empty input", raw{}, &codec.SyntaxError{Serializer: "msgpack"}},
		{"not a list", 16, &codec.ElementError{Name: "message", Want: "list", Got: "int"}},
		{"a dict", dict{}, &codec.ElementError{Name: "message", Want: "list", Got: "dict"}},
		{"empty list", list{}, &codec.UnknownTypeError{Got: "nothing"}},
		{"type code a string", list{"16"}, &codec.UnknownTypeError{Got: "str"}},
		{"type code a float", list{16.0}, &codec.UnknownTypeError{Got: "float"}},
		{"type code 0", list{0}, &codec.UnknownTypeError{Code: 0}},
		{"HEARTBEAT 7", list{7, 1, 1}, &codec.UnknownTypeError{Code: 7}},
		{"code 37", list{37, 1}, &codec.UnknownTypeError{Code: 37}},
		{"EVENT_RECEIVED 337", list{337, 1}, &codec.UnknownTypeError{Code: 337}},
		{"max uint64 code", list{uint64(math.MaxUint64)}, &codec.UnknownTypeError{Code: math.MaxUint64}},
		{"PUBLISH too short", list{16, 1, dict{}}, &codec.CountError{Type: codec.TypePublish, Got: 3, Min: 4, Max: 6}},
		{"PUBLISH too long", list{16, 1, dict{}, "t", list{}, dict{}, 1}, &codec.CountError{Type: codec.TypePublish, Got: 7, Min: 4, Max: 6}},
		{"HELLO too long", list{1, "r", dict{}, 1}, &codec.CountError{Type: codec.TypeHello, Got: 4, Min: 3, Max: 3}},
		{"ERROR too short", list{8, 48, 1, dict{}}, &codec.CountError{Type: codec.TypeError, Got: 4, Min: 5, Max: 7}},
		{"Request a string", list{16, "1", dict{}, "t"}, &codec.ElementError{Type: codec.TypePublish, Index: 1, Name: "Request", Want: "int", Got: "str"}},
		{"Options a string", list{16, 1, "x", "t"}, &codec.ElementError{Type: codec.TypePublish, Index: 2, Name: "Options", Want: "dict", Got: "str"}},
		{"Options nil", list{16, 1, nil, "t"}, &codec.ElementError{Type: codec.TypePublish, Index: 2, Name: "Options", Want: "dict", Got: "nil"}},
		{"Topic an int", list{16, 1, dict{}, 1}, &codec.ElementError{Type: codec.TypePublish, Index: 3, Name: "Topic", Want: "string", Got: "int"}},
		{"Topic binary", list{16, 1, dict{}, []byte("t")}, &codec.ElementError{Type: codec.TypePublish, Index: 3, Name: "Topic", Want: "string", Got: "bin"}},
		{"Arguments a dict", list{16, 1, dict{}, "t", dict{}}, &codec.ElementError{Type: codec.TypePublish, Index: 4, Name: "Arguments", Want: "list", Got: "dict"}},
		{"Arguments an int", list{16, 1, dict{}, "t", 1}, &codec.ElementError{Type: codec.TypePublish, Index: 4, Name: "Arguments", Want: "list", Got: "int"}},
		{"ArgumentsKw a list", list{16, 1, dict{}, "t", list{}, list{}}, &codec.ElementError{Type: codec.TypePublish, Index: 5, Name: "ArgumentsKw", Want: "dict", Got: "list"}},
		{"Arguments too deep", deepArgs, &codec.ElementError{Type: codec.TypePublish, Index: 4, Name: "Arguments", Want: "list",
			Got: fmt.Sprintf("lists and dicts nested deeper than %d", codec.MaxDepth)}},
		{"REQUEST.Type a string", list{8, "48", 1, dict{}, "e"}, &codec.ElementError{Type: codec.TypeError, Index: 1, Name: "REQUEST.Type", Want: "int", Got: "str"}},
		{"AuthMethod an int", list{4, 1, dict{}}, &codec.ElementError{Type: codec.TypeChallenge, Index: 1, Name: "AuthMethod", Want: "string", Got: "int"}},
		{"Extra a list", list{5, "s", list{}}, &codec.ElementError{Type: codec.TypeAuthenticate, Index: 2, Name: "Extra", Want: "dict", Got: "list"}},
		{"Reason nil", list{6, dict{}, nil}, &codec.ElementError{Type: codec.TypeGoodbye, Index: 2, Name: "Reason", Want: "string", Got: "nil"}},
		{"byte 0xc1 in Options", list{16, 1, dict{"a", raw{0xc1}}, "t"}, &codec.SyntaxError{Serializer: "msgpack", Offset: 3}},
		{"trailing bytes", raw(append(pack(list{17, 1, 2}), 0)), &codec.SyntaxError{Serializer: "msgpack", Offset: 4}},
		{"a second message", raw(append(pack(list{17, 1, 2}), pack(list{17, 1, 2})...)), &codec.SyntaxError{Serializer: "msgpack", Offset: 4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := codec.Decode(pack(tc.msg))
			checkError(t, err, tc.want)
		})
	}
}

// TestDecodeWrongType: a message struct decodes its own type only.
func TestDecodeWrongType(t *testing.T) {
	var pub codec.Publish
	err := pub.Decode(pack(list{48, 1, dict{}, "p"}))
	checkError(t, err, &codec.ElementError{Type: codec.TypePublish, Name: "MessageType", Want: "16", Got: "48"})
	err = pub.Decode(pack("x"))
	checkError(t, err, &codec.ElementError{Type: codec.TypePublish, Name: "message", Want: "list", Got: "str"})
}

// TestTruncated: every strict prefix of a message is a SyntaxError.
func TestTruncated(t *testing.T) {
	for _, tc := range roundTrips {
		b := tc.m.Append(nil)
		for n := range len(b) {
			if _, err := codec.Decode(b[:n]); !isSyntaxError(err, n) {
				t.Errorf("%s cut to %d bytes: %v, want a SyntaxError", tc.wire, n, err)
			}
			if err := codec.New(tc.m.Type()).Decode(b[:n]); !isSyntaxError(err, n) {
				t.Errorf("%v.Decode of %s cut to %d bytes: %v, want a SyntaxError", tc.m.Type(), tc.wire, n, err)
			}
		}
	}
}

func isSyntaxError(err error, size int) bool {
	var se *codec.SyntaxError
	return errors.As(err, &se) && se.Serializer == "msgpack" && se.Offset <= size && errors.Is(err, codec.ErrInvalid)
}

func TestDepth(t *testing.T) {
	// The message list is the first level: Arguments may hold MaxDepth-1.
	for _, inner := range []any{list{}, dict{}, list{1}, dict{"a", 1}} {
		ok := list{16, 1, dict{}, "t", nest(codec.MaxDepth-2, inner)}
		if _, err := codec.Decode(pack(ok)); err != nil {
			t.Errorf("%d levels around %v: %v", codec.MaxDepth, inner, err)
		}
		if _, err := codec.ToJSON(nil, pack(ok)); err != nil {
			t.Errorf("ToJSON of %d levels around %v: %v", codec.MaxDepth, inner, err)
		}
		deep := list{16, 1, dict{}, "t", nest(codec.MaxDepth-1, inner)}
		if _, err := codec.Decode(pack(deep)); !errors.Is(err, codec.ErrInvalid) {
			t.Errorf("%d levels around %v: %v", codec.MaxDepth+1, inner, err)
		}
	}
}

func TestErrorText(t *testing.T) {
	var pub codec.Publish
	for _, tc := range []struct {
		err  error
		want string
	}{
		{func() error { _, err := codec.Decode(pack(list{16, 1, dict{}})); return err }(),
			"codec: PUBLISH has 3 elements, want 4 to 6"},
		{func() error { _, err := codec.Decode(pack(list{32, 1, dict{}})); return err }(),
			"codec: SUBSCRIBE has 3 elements, want 4"},
		{func() error { _, err := codec.Decode(pack(list{16, 1, "x", "t"})); return err }(),
			"codec: PUBLISH element 2 (Options): want dict, got str"},
		{func() error { _, err := codec.Decode(pack(list{16, 0, dict{}, "t"})); return err }(),
			"codec: PUBLISH element 1 (Request): want id in [1, 2^53], got 0"},
		{func() error { _, err := codec.Decode(pack(list{16, -5, dict{}, "t"})); return err }(),
			"codec: PUBLISH element 1 (Request): want non-negative int, got negative int"},
		{func() error { _, err := codec.Decode(pack(list{337, 1})); return err }(),
			"codec: unknown message type 337"},
		{func() error { _, err := codec.Decode(pack(list{"x"})); return err }(),
			"codec: message type must be an integer, got str"},
		{func() error { _, err := codec.Decode(pack(raw(append(pack(list{17, 1, 2}), 0)))); return err }(),
			"codec: msgpack syntax error at byte 4: bytes after the end of the message"},
		{pub.Decode(pack(list{48, 1, dict{}, "p"})),
			"codec: PUBLISH element 0 (MessageType): want 16, got 48"},
		{func() error { var o codec.PublishOptions; return o.Decode(js(`{"acknowledge":"yes"}`)) }(),
			"codec: PUBLISH.Options.acknowledge: want bool, got str"},
	} {
		if tc.err == nil || tc.err.Error() != tc.want {
			t.Errorf("got %v\nwant %s", tc.err, tc.want)
		}
	}
}

func TestTypeOf(t *testing.T) {
	known := 0
	for code := range 1024 {
		typ := codec.Type(code)
		got, err := codec.TypeOf(pack(list{code}))
		if !typ.Known() {
			checkError(t, err, &codec.UnknownTypeError{Code: uint64(code)})
			if typ.String() != fmt.Sprintf("TYPE(%d)", code) || typ.Flow() != 0 || codec.New(typ) != nil {
				t.Errorf("unknown type %d: %q, flow %d, New %v", code, typ, typ.Flow(), codec.New(typ))
			}
			continue
		}
		known++
		if got != typ || err != nil {
			t.Errorf("TypeOf([%d]) = %v, %v", code, got, err)
		}
		if m := codec.New(typ); m == nil || m.Type() != typ {
			t.Errorf("New(%v) = %T", typ, m)
		}
		if name := strings.ToUpper(reflect.TypeOf(codec.New(typ)).Elem().Name()); name != typ.String() {
			t.Errorf("type %d is named %q, its struct %q", code, typ, name)
		}
	}
	if known != 24 {
		t.Errorf("%d known types, want 24", known)
	}
	for _, tc := range []struct {
		typ  codec.Type
		flow codec.Flow
	}{
		{codec.TypeHello, codec.FromClient},
		{codec.TypeWelcome, codec.FromRouter},
		{codec.TypePublish, codec.FromClient},
		{codec.TypeEvent, codec.FromRouter},
		{codec.TypeYield, codec.FromClient},
		{codec.TypeInterrupt, codec.FromRouter},
		{codec.TypeError, codec.FromClient | codec.FromRouter},
		{codec.TypeAbort, codec.FromClient | codec.FromRouter},
		{codec.TypeGoodbye, codec.FromClient | codec.FromRouter},
	} {
		if f := tc.typ.Flow(); f != tc.flow {
			t.Errorf("%v.Flow() = %d, want %d", tc.typ, f, tc.flow)
		}
	}
	for _, tc := range []struct {
		name string
		msg  any
		want error
	}{
		{"empty", raw{}, &codec.SyntaxError{Serializer: "msgpack"}},
		{"not a list", "x", &codec.ElementError{Name: "message", Want: "list", Got: "str"}},
		{"empty list", list{}, &codec.UnknownTypeError{Got: "nothing"}},
		{"code not an int", list{true}, &codec.UnknownTypeError{Got: "bool"}},
		{"truncated list header", raw{0xdc, 0}, &codec.SyntaxError{Serializer: "msgpack"}},
	} {
		_, err := codec.TypeOf(pack(tc.msg))
		checkError(t, err, tc.want)
	}
}

// TestNilPayloadIsAbsent checks that nil in the Arguments or ArgumentsKw
// position reads as absent, as some clients send it, and that the
// message re-encodes by the empty-payload rules.
func TestNilPayloadIsAbsent(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{`[16,1,{},"t",null,{"k":1}]`, `[16,1,{},"t",[],{"k":1}]`},
		{`[16,1,{},"t",["a"],null]`, `[16,1,{},"t",["a"]]`},
		{`[48,1,{},"p",null]`, `[48,1,{},"p"]`},
	} {
		var p codec.Message
		msg, err := codec.FromJSON(nil, []byte(tc.in))
		if err == nil {
			p, err = codec.Decode(msg)
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.in, err)
		}
		out, err := codec.ToJSON(nil, p.Append(nil))
		if err != nil || string(out) != tc.want {
			t.Errorf("%s re-encodes as %s (%v), want %s", tc.in, out, err, tc.want)
		}
	}
}
