package edge_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tinylib/msgp/msgp"
	"github.com/wampedge/wampedge/codec"
	"github.com/wampedge/wampedge/edge"
	"github.com/wampedge/wampedge/edge/client"
	"github.com/wampedge/wampedge/rawsocket"
)

// The bad-input table (issue 9): what a client can throw at the router —
// handshake bytes, frame headers and lengths, broken MessagePack and
// JSON, wrong element types and counts, unknown types, IDs out of range,
// bad and reserved URIs, messages in the wrong state, duplicate request
// IDs, oversize payloads, floods, clients that never read — each with
// the exact outcome: the RawSocket handshake error, the connection
// dropped, ABORT or ERROR with its URI, a reply, or nothing; and whether
// the session is kept. After each case the router is back to its two
// witness sessions, which still call and publish.
//
// Cases about bytes on the wire run once, over TCP; the others run over
// TCP with MessagePack and over a Unix socket with JSON, each message
// written as JSON text (converted for MessagePack). "$P" in a message
// is a URI prefix of the case's own, so that cases share no topic or
// procedure.

// badKind is what a case must lead to.
type badKind int

const (
	hsRefused  badKind = iota + 1 // the handshake error reply with code, then the connection closed
	hsDropped                     // the connection closed before or at the handshake, no reply at all
	dropped                       // after the handshake: closed with no further frame (no ABORT: framing is broken)
	aborted                       // ABORT with uri (and a message with words), then closed
	errored                       // ERROR uri for request req of type reqType; the session is kept
	replied                       // a message of type reply; the session is kept
	silent                        // nothing; the session is kept
	goodbyeOut                    // GOODBYE wamp.close.goodbye_and_out, then closed
	custom                        // the case's run checks it all
)

type badOutcome struct {
	kind    badKind
	code    byte   // hsRefused: the handshake error code
	uri     string // aborted, errored
	reqType codec.Type
	req     uint64
	reply   codec.Type
	words   []string // the ABORT or ERROR message mentions these
}

func refusedWith(code byte) badOutcome { return badOutcome{kind: hsRefused, code: code} }

func violationAbort(words ...string) badOutcome {
	return badOutcome{kind: aborted, uri: "wamp.error.protocol_violation", words: words}
}

func abortWith(uri string, words ...string) badOutcome {
	return badOutcome{kind: aborted, uri: uri, words: words}
}

func errorFor(typ codec.Type, req uint64, uri string, words ...string) badOutcome {
	return badOutcome{kind: errored, reqType: typ, req: req, uri: uri, words: words}
}

func replyOf(typ codec.Type) badOutcome { return badOutcome{kind: replied, reply: typ} }

var (
	outDropped   = badOutcome{kind: dropped}
	outHSDropped = badOutcome{kind: hsDropped}
	outSilent    = badOutcome{kind: silent}
	outGoodbye   = badOutcome{kind: goodbyeOut}
	outCustom    = badOutcome{kind: custom}
)

// badCase is one row of the table.
type badCase struct {
	name   string
	wire   bool             // about bytes on the wire: once, over TCP, to the strict listener
	only   codec.Serializer // the one serializer it applies to; 0: both
	joined bool             // sent after WELCOME
	setup  func(p *rawPeer, prefix string)
	hs     []byte   // wire: written instead of a handshake
	raw    []byte   // wire: written after the handshake (and HELLO, if joined), unframed
	msgs   []string // JSON text, "$P" the case's URI prefix; sent one frame each
	frame  []byte   // or this one frame, as it is
	want   badOutcome
	run    func(t *testing.T, bb *badBed, w wire, prefix string) // custom cases
}

// Byte strings the cases are made of.
var (
	bigID     = "9007199254740993"             // 2^53+1
	maxIDText = "9007199254740992"             // 2^53, the largest ID
	hsMsgpack = []byte{0x7f, 0xf2, 0x00, 0x00} // a good handshake
	bomb      = strings.Repeat("[", 10000) + strings.Repeat("]", 10000)
)

// mp builds a MessagePack message from parts: encoded values, each
// given by msgp's Append functions, in a list.
func mp(parts ...[]byte) []byte {
	b := msgp.AppendArrayHeader(nil, uint32(len(parts)))
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func mpUint(v uint64) []byte   { return msgp.AppendUint64(nil, v) }
func mpStr(s string) []byte    { return msgp.AppendString(nil, s) }
func mpMap() []byte            { return msgp.AppendMapHeader(nil, 0) }
func mpRaw(b ...byte) []byte   { return b }
func mpFloat(f float64) []byte { return msgp.AppendFloat64(nil, f) }

// frameOf frames a body with a header of first octet first.
func frameOf(first byte, body []byte) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(first)<<24|uint32(len(body))), body...)
}

var badCases = []badCase{
	// --- The RawSocket handshake (WAMP.md §6.1) ---
	{name: "handshake: an HTTP request", wire: true, hs: []byte("GET / HTTP/1.1\r\nHost: edge\r\nUpgrade: websocket\r\n\r\n"), want: outHSDropped},
	{name: "handshake: a TLS ClientHello", wire: true, hs: []byte{0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03}, want: outHSDropped},
	{name: "handshake: magic 0x00", wire: true, hs: []byte{0x00, 0xf2, 0x00, 0x00}, want: outHSDropped},
	{name: "handshake: serializer 0 (illegal)", wire: true, hs: []byte{0x7f, 0xf0, 0x00, 0x00}, want: outHSDropped},
	{name: "handshake: serializer 3 (CBOR)", wire: true, hs: []byte{0x7f, 0xf3, 0x00, 0x00}, want: refusedWith(1)},
	{name: "handshake: serializer 5 (FlatBuffers)", wire: true, hs: []byte{0x7f, 0x25, 0x00, 0x00}, want: refusedWith(1)},
	{name: "handshake: serializer 15 (reserved)", wire: true, hs: []byte{0x7f, 0xff, 0x00, 0x00}, want: refusedWith(1)},
	{name: "handshake: reserved octet 2", wire: true, hs: []byte{0x7f, 0xf2, 0x01, 0x00}, want: refusedWith(3)},
	{name: "handshake: reserved octet 3", wire: true, hs: []byte{0x7f, 0xf2, 0x00, 0x80}, want: refusedWith(3)},
	{name: "handshake: reserved octet and bad serializer", wire: true, hs: []byte{0x7f, 0xf3, 0x00, 0x01}, want: refusedWith(3)},
	{name: "handshake: client limit 512 under min_peer_length", wire: true, hs: []byte{0x7f, 0x02, 0x00, 0x00}, want: refusedWith(2)},
	{name: "handshake: cut short, then EOF", wire: true, hs: []byte{0x7f, 0xf2}, want: outCustom, run: runHandshakeEOF},
	{name: "handshake: cut short, then silence", wire: true, hs: []byte{0x7f}, want: outHSDropped},
	{name: "handshake: nothing, then silence", wire: true, hs: []byte{}, want: outHSDropped},
	{name: "handshake: past max_conns", wire: true, want: outCustom, run: runMaxConns},
	{name: "handshake: octet by octet", wire: true, want: outCustom, run: runHandshakeDribble},
	{name: "handshake: sent twice", wire: true, raw: hsMsgpack, want: outDropped},

	// --- Frame headers and lengths (WAMP.md §6.2) ---
	{name: "frame: reserved bit 31", wire: true, joined: true, raw: frameOf(0x80, []byte{0x91, 0x01}), want: outDropped},
	{name: "frame: reserved bit 28", wire: true, raw: frameOf(0x10, nil), want: outDropped},
	{name: "frame: type 3", wire: true, joined: true, raw: frameOf(0x03, nil), want: outDropped},
	{name: "frame: type 7", wire: true, raw: frameOf(0x07, []byte{0}), want: outDropped},
	{name: "frame: X bit with length bits", wire: true, joined: true, raw: []byte{0x08, 0x00, 0x00, 0x01, 0x00}, want: outDropped},
	{name: "frame: X bit (2^24) over the limit", wire: true, raw: []byte{0x08, 0x00, 0x00, 0x00}, want: outDropped},
	{name: "frame: length limit+1", wire: true, joined: true, raw: binary.BigEndian.AppendUint32(nil, rawsocket.DefaultMaxLength+1), want: outDropped},
	{name: "frame: length 2^24-1", wire: true, raw: []byte{0x00, 0xff, 0xff, 0xff}, want: outDropped},
	{name: "frame: length exactly the limit", wire: true, joined: true, want: outCustom, run: runFrameAtLimit},
	{name: "frame: body cut short, then silence", wire: true, joined: true, raw: append([]byte{0x00, 0x00, 0x00, 100}, make([]byte, 10)...), want: outDropped},
	{name: "frame: header cut short, then silence", wire: true, joined: true, raw: []byte{0x00, 0x00}, want: outDropped},
	{name: "frame: empty message before HELLO", wire: true, raw: []byte{0, 0, 0, 0}, want: violationAbort("syntax error")},
	{name: "frame: PING before HELLO", wire: true, want: outCustom, run: runPingBeforeHello},
	{name: "frame: unsolicited PONG", wire: true, joined: true, raw: frameOf(0x02, []byte("pong")), want: outSilent},
	{name: "frame: PING over the client's limit", wire: true, want: outCustom, run: runBigPing},
	{name: "frame: good HELLO then a broken header, one write", wire: true, want: outCustom, run: runHelloThenBadHeader},
	{name: "frame: HELLO written octet by octet", wire: true, want: outCustom, run: runHelloDribble},

	// --- MessagePack that does not decode ---
	{name: "msgpack: array header cut short", only: codec.MsgPack, joined: true, frame: []byte{0xdc, 0x00}, want: violationAbort("truncated")},
	{name: "msgpack: str32 of 4 GiB", only: codec.MsgPack, joined: true, frame: mp(mpUint(32), mpUint(1), mpMap(), mpRaw(0xdb, 0xff, 0xff, 0xff, 0xff, 'x')), want: violationAbort("truncated")},
	{name: "msgpack: array32 of 2^32-1 elements", only: codec.MsgPack, joined: true, frame: []byte{0xdd, 0xff, 0xff, 0xff, 0xff, 0x10}, want: violationAbort("PUBLISH", "elements")},
	{name: "msgpack: map32 of 2^32-1 pairs as options", only: codec.MsgPack, joined: true, frame: mp(mpUint(32), mpUint(1), mpRaw(0xdf, 0xff, 0xff, 0xff, 0xff), mpStr("com.example.t")), want: violationAbort()},
	{name: "msgpack: arguments nested 10000 deep", only: codec.MsgPack, joined: true, frame: mp(mpUint(16), mpUint(1), mpMap(), mpStr("com.example.t"), append(bytes.Repeat([]byte{0x91}, 10000), 0xc0)), want: violationAbort("PUBLISH", "Arguments", "deeper")},
	{name: "msgpack: byte 0xc1 as options", only: codec.MsgPack, joined: true, frame: mp(mpUint(32), mpUint(1), mpRaw(0xc1), mpStr("com.example.t")), want: violationAbort("0xc1")},
	{name: "msgpack: ext as options", only: codec.MsgPack, joined: true, frame: mp(mpUint(32), mpUint(1), mpRaw(0xd4, 0x01, 0x00), mpStr("com.example.t")), want: violationAbort("SUBSCRIBE", "Options")},
	{name: "msgpack: bin as topic", only: codec.MsgPack, joined: true, frame: mp(mpUint(32), mpUint(1), mpMap(), msgp.AppendBytes(nil, []byte("com.example.t"))), want: violationAbort("SUBSCRIBE", "Topic")},
	{name: "msgpack: float as request ID", only: codec.MsgPack, joined: true, frame: mp(mpUint(32), mpFloat(1), mpMap(), mpStr("com.example.t")), want: violationAbort("SUBSCRIBE", "Request")},
	{name: "msgpack: negative int8 as request ID", only: codec.MsgPack, joined: true, frame: mp(mpUint(48), mpRaw(0xd0, 0xff), mpMap(), mpStr("com.example.p")), want: violationAbort("CALL", "Request", "negative")},
	{name: "msgpack: int key in options", only: codec.MsgPack, joined: true, frame: mp(mpUint(16), mpUint(1), mpRaw(0x81, 0x01, 0xc3), mpStr("com.example.t")), want: violationAbort("PUBLISH", "Options")},
	{name: "msgpack: invalid UTF-8 in a topic", only: codec.MsgPack, joined: true, frame: mp(mpUint(32), mpUint(7), mpMap(), mpStr("com.\xff\xfe")), want: errorFor(codec.TypeSubscribe, 7, "wamp.error.invalid_uri")},
	// A str that is not UTF-8 anywhere in a payload or options (issue 22):
	// a strict subscriber could not decode the EVENT it would become.
	{name: "msgpack: invalid UTF-8 in a PUBLISH argument", only: codec.MsgPack, joined: true, frame: mp(mpUint(16), mpUint(1), mpRaw(0x81, 0xab, 'a', 'c', 'k', 'n', 'o', 'w', 'l', 'e', 'd', 'g', 'e', 0xc3), mpStr("com.example.t"), mpRaw(0x91, 0xa1, 0x88)), want: violationAbort("PUBLISH", "UTF-8")},
	{name: "msgpack: invalid UTF-8 in a PUBLISH keyword argument's key", only: codec.MsgPack, joined: true, frame: mp(mpUint(16), mpUint(1), mpMap(), mpStr("com.example.t"), mpRaw(0x90), mpRaw(0x81, 0xa2, 'k', 0xff, 0x01)), want: violationAbort("PUBLISH", "UTF-8")},
	{name: "msgpack: invalid UTF-8 nested in a PUBLISH argument", only: codec.MsgPack, joined: true, frame: mp(mpUint(16), mpUint(1), mpMap(), mpStr("com.example.t"), mpRaw(0x92, 0x2a, 0x91, 0x81, 0xa1, 'k', 0xa3, 0xed, 0xa0, 0x80)), want: violationAbort("PUBLISH", "UTF-8")},
	{name: "msgpack: invalid UTF-8 (overlong) in a str8 CALL argument", only: codec.MsgPack, joined: true, frame: mp(mpUint(48), mpUint(1), mpMap(), mpStr("com.example.p"), append([]byte{0x91, 0xd9, 34}, append(bytes.Repeat([]byte("x"), 32), 0xc0, 0xaf)...)), want: violationAbort("CALL", "UTF-8")},
	{name: "msgpack: invalid UTF-8 in a YIELD argument", only: codec.MsgPack, joined: true, frame: mp(mpUint(70), mpUint(1), mpMap(), mpRaw(0x91, 0xa1, 0x88)), want: violationAbort("YIELD", "UTF-8")},
	{name: "msgpack: invalid UTF-8 in a SUBSCRIBE option", only: codec.MsgPack, joined: true, frame: mp(mpUint(32), mpUint(1), mpRaw(0x81, 0xa5, 'm', 'a', 't', 'c', 'h', 0xa1, 0xfe), mpStr("com.example.t")), want: violationAbort("SUBSCRIBE", "UTF-8")},
	{name: "msgpack: two messages in one frame", only: codec.MsgPack, joined: true, frame: append(mp(mpUint(34), mpUint(1), mpUint(1)), mp(mpUint(34), mpUint(2), mpUint(2))...), want: violationAbort("after the end")},

	// --- JSON that does not decode ---
	{name: "json: trailing comma", only: codec.JSON, joined: true, frame: []byte(`[32, 1, {}, "com.example.t",]`), want: violationAbort("json")},
	{name: "json: nested 10000 deep", only: codec.JSON, joined: true, frame: []byte(`[16, 1, {}, "com.example.t", ` + bomb + `]`), want: violationAbort("deeper")},
	{name: "json: number 1e400", only: codec.JSON, joined: true, frame: []byte(`[16, 1, {}, "com.example.t", [1e400]]`), want: violationAbort("range")},
	{name: "json: request ID 2^64", only: codec.JSON, joined: true, frame: []byte(`[16, 18446744073709551616, {}, "com.example.t"]`), want: violationAbort("PUBLISH", "Request")},
	{name: "json: topic in the binary convention", only: codec.JSON, joined: true, frame: []byte(`[32, 1, {}, "\u0000Y29tLng="]`), want: violationAbort("SUBSCRIBE", "Topic")},
	{name: "json: raw control character in a string", only: codec.JSON, joined: true, frame: []byte("[32, 1, {}, \"com.\x01x\"]"), want: violationAbort("json")},
	{name: "json: byte order mark", only: codec.JSON, frame: []byte("\xef\xbb\xbf[1, \"realm1\", {\"roles\": {\"caller\": {}}}]"), want: violationAbort("json")},
	{name: "json: invalid UTF-8 in a PUBLISH argument", only: codec.JSON, joined: true, frame: []byte("[16, 1, {}, \"com.example.t\", [\"\xa1\x88\"]]"), want: violationAbort("json", "UTF-8")},
	{name: "json: invalid UTF-8 in a PUBLISH keyword argument's key", only: codec.JSON, joined: true, frame: []byte("[16, 1, {}, \"com.example.t\", [], {\"k\xff\": 1}]"), want: violationAbort("json", "UTF-8")},
	{name: "json: invalid UTF-8 nested in a CALL argument", only: codec.JSON, joined: true, frame: []byte("[48, 1, {}, \"com.example.p\", [1, [{\"k\": \"\xed\xa0\x80\"}]]]"), want: violationAbort("json", "UTF-8")},
	{name: "json: invalid UTF-8 in a YIELD argument", only: codec.JSON, joined: true, frame: []byte("[70, 1, {}, [\"\xc0\xaf\"]]"), want: violationAbort("json", "UTF-8")},
	{name: "json: two messages in one frame", only: codec.JSON, joined: true, frame: []byte(`[34, 1, 1][34, 2, 2]`), want: violationAbort("json")},
	{name: "json: NaN literal", only: codec.JSON, joined: true, frame: []byte(`[16, 1, {}, "com.example.t", [NaN]]`), want: violationAbort("json")},

	// --- Element counts and types ---
	{name: "count: PUBLISH of 3", joined: true, msgs: []string{`[16, 1, {}]`}, want: violationAbort("PUBLISH", "3 elements")},
	{name: "count: REGISTER of 5", joined: true, msgs: []string{`[64, 1, {}, "$P.p", []]`}, want: violationAbort("REGISTER", "5 elements")},
	{name: "count: CANCEL of 4", joined: true, msgs: []string{`[49, 1, {}, {}]`}, want: violationAbort("CANCEL", "4 elements")},
	{name: "count: HELLO of 1", msgs: []string{`[1]`}, want: violationAbort("HELLO", "1 element")},
	{name: "type: GOODBYE details a string", joined: true, msgs: []string{`[6, "bye", "wamp.close.close_realm"]`}, want: violationAbort("GOODBYE", "Details")},
	{name: "type: UNREGISTER registration a string", joined: true, msgs: []string{`[66, 1, "1"]`}, want: violationAbort("UNREGISTER", "Registration")},
	{name: "type: YIELD options a list", joined: true, msgs: []string{`[70, 1, []]`}, want: violationAbort("YIELD", "Options")},
	{name: "type: ERROR URI an int", joined: true, msgs: []string{`[8, 68, 1, {}, 5]`}, want: violationAbort("ERROR", "Error")},
	{name: "type: CALL arguments a dict", joined: true, msgs: []string{`[48, 1, {}, "$P.p", {}]`}, want: violationAbort("CALL", "Arguments")},
	{name: "type: acknowledge an int", joined: true, msgs: []string{`[16, 1, {"acknowledge": 1}, "$P.t"]`}, want: violationAbort("acknowledge")},
	{name: "type: HELLO roles empty", msgs: []string{`[1, "realm1", {"roles": {}}]`}, want: violationAbort("roles")},
	{name: "type: HELLO unknown role", msgs: []string{`[1, "realm1", {"roles": {"dealer": {}}}]`}, want: violationAbort("role", "dealer")},

	// --- Message types ---
	{name: "type code 2^53+1", joined: true, msgs: []string{`[` + bigID + `, 1, {}]`}, want: violationAbort("type")},
	{name: "type code -1", joined: true, msgs: []string{`[-1, 1, {}]`}, want: violationAbort("type")},
	{name: "type code 16.0", joined: true, msgs: []string{`[16.0, 1, {}, "$P.t"]`}, want: violationAbort("type")},
	{name: "type code 337 (EVENT_RECEIVED)", joined: true, msgs: []string{`[337, 1, {}]`}, want: violationAbort("type 337")},
	{name: "type code 255", msgs: []string{`[255]`}, want: violationAbort("type 255")},

	// --- IDs 0 and past 2^53 (WAMP.md §3) ---
	{name: "id: PUBLISH request 0", joined: true, msgs: []string{`[16, 0, {"acknowledge": true}, "$P.t"]`}, want: violationAbort("PUBLISH", "Request")},
	{name: "id: CALL request 2^53+1", joined: true, msgs: []string{`[48, ` + bigID + `, {}, "$P.p"]`}, want: violationAbort("CALL", "Request")},
	{name: "id: CALL request 2^53 (the largest)", joined: true, msgs: []string{`[48, ` + maxIDText + `, {}, "$P.p"]`}, want: errorFor(codec.TypeCall, codec.MaxID, "wamp.error.no_such_procedure")},
	{name: "id: REGISTER request 0", joined: true, msgs: []string{`[64, 0, {}, "$P.p"]`}, want: violationAbort("REGISTER", "Request")},
	{name: "id: UNSUBSCRIBE subscription 2^53+1", joined: true, msgs: []string{`[34, 1, ` + bigID + `]`}, want: violationAbort("UNSUBSCRIBE", "Subscription")},
	{name: "id: UNSUBSCRIBE subscription 2^53, unknown", joined: true, msgs: []string{`[34, 9, ` + maxIDText + `]`}, want: errorFor(codec.TypeUnsubscribe, 9, "wamp.error.no_such_subscription")},
	{name: "id: UNREGISTER registration 0", joined: true, msgs: []string{`[66, 1, 0]`}, want: violationAbort("UNREGISTER", "Registration")},
	{name: "id: YIELD invocation 0", joined: true, msgs: []string{`[70, 0, {}]`}, want: violationAbort("YIELD", "Request")},
	{name: "id: CANCEL request 0", joined: true, msgs: []string{`[49, 0, {}]`}, want: violationAbort("CANCEL", "Request")},
	{name: "id: ERROR invocation 2^53+1", joined: true, msgs: []string{`[8, 68, ` + bigID + `, {}, "com.example.error"]`}, want: violationAbort("ERROR", "Request")},
	{name: "id: unknown HELLO.Details key holding 2^53+1", msgs: []string{`[1, "realm1", {"roles": {"caller": {}}, "session": ` + bigID + `}]`}, want: replyOf(codec.TypeWelcome)},

	// --- URIs (WAMP.md §4) ---
	{name: "uri: SUBSCRIBE empty component", joined: true, msgs: []string{`[32, 3, {}, "$P..t"]`}, want: errorFor(codec.TypeSubscribe, 3, "wamp.error.invalid_uri", "not a valid URI")},
	{name: "uri: SUBSCRIBE with #", joined: true, msgs: []string{`[32, 3, {}, "$P.#"]`}, want: errorFor(codec.TypeSubscribe, 3, "wamp.error.invalid_uri")},
	{name: "uri: SUBSCRIBE with a space", joined: true, msgs: []string{`[32, 3, {}, "$P.a b"]`}, want: errorFor(codec.TypeSubscribe, 3, "wamp.error.invalid_uri")},
	{name: "uri: SUBSCRIBE with U+00A0", joined: true, msgs: []string{`[32, 3, {}, "$P.a\u00a0b"]`}, want: errorFor(codec.TypeSubscribe, 3, "wamp.error.invalid_uri")},
	{name: "uri: SUBSCRIBE empty", joined: true, msgs: []string{`[32, 3, {}, ""]`}, want: errorFor(codec.TypeSubscribe, 3, "wamp.error.invalid_uri")},
	{name: "uri: SUBSCRIBE prefix with an empty component", joined: true, msgs: []string{`[32, 3, {"match": "prefix"}, "$P..t"]`}, want: errorFor(codec.TypeSubscribe, 3, "wamp.error.invalid_uri", "prefix")},
	{name: "uri: SUBSCRIBE wildcard with an empty component", joined: true, msgs: []string{`[32, 3, {"match": "wildcard"}, "$P..t"]`}, want: replyOf(codec.TypeSubscribed)},
	{name: "uri: SUBSCRIBE to a meta topic", joined: true, msgs: []string{`[32, 3, {}, "wamp.session.on_join"]`}, want: replyOf(codec.TypeSubscribed)},
	{name: "uri: SUBSCRIBE unknown match", joined: true, msgs: []string{`[32, 3, {"match": "fuzzy"}, "$P.t"]`}, want: violationAbort("match", "fuzzy")},
	{name: "uri: REGISTER wamp.*", joined: true, msgs: []string{`[64, 4, {}, "wamp.my.proc"]`}, want: errorFor(codec.TypeRegister, 4, "wamp.error.invalid_uri", "reserved")},
	{name: "uri: REGISTER wamp", joined: true, msgs: []string{`[64, 4, {}, "wamp"]`}, want: errorFor(codec.TypeRegister, 4, "wamp.error.invalid_uri", "reserved")},
	{name: "uri: REGISTER prefix wamp.", joined: true, msgs: []string{`[64, 4, {"match": "prefix"}, "wamp."]`}, want: errorFor(codec.TypeRegister, 4, "wamp.error.invalid_uri", "reserved")},
	{name: "uri: REGISTER unknown invoke policy", joined: true, msgs: []string{`[64, 4, {"invoke": "bogus"}, "$P.p"]`}, want: violationAbort("invoke", "bogus")},
	{name: "uri: PUBLISH acknowledged to wamp.*", joined: true, msgs: []string{`[16, 5, {"acknowledge": true}, "wamp.session.on_join", [1]]`}, want: errorFor(codec.TypePublish, 5, "wamp.error.invalid_uri", "reserved")},
	{name: "uri: PUBLISH unacknowledged to wamp.*", joined: true, msgs: []string{`[16, 5, {}, "wamp.session.on_join", [1]]`}, want: outSilent},
	{name: "uri: PUBLISH unacknowledged, empty component", joined: true, msgs: []string{`[16, 5, {}, "$P..t"]`}, want: outSilent},
	{name: "uri: PUBLISH acknowledged, trailing dot", joined: true, msgs: []string{`[16, 5, {"acknowledge": true}, "$P.t."]`}, want: errorFor(codec.TypePublish, 5, "wamp.error.invalid_uri")},
	{name: "uri: CALL empty component", joined: true, msgs: []string{`[48, 6, {}, "$P..p"]`}, want: errorFor(codec.TypeCall, 6, "wamp.error.invalid_uri")},
	{name: "uri: CALL unknown wamp.*", joined: true, msgs: []string{`[48, 6, {}, "wamp.nothing.here"]`}, want: errorFor(codec.TypeCall, 6, "wamp.error.no_such_procedure")},
	{name: "uri: CALL unknown", joined: true, msgs: []string{`[48, 6, {}, "$P.nobody"]`}, want: errorFor(codec.TypeCall, 6, "wamp.error.no_such_procedure")},
	{name: "uri: CALL wamp.session.get with a string", joined: true, msgs: []string{`[48, 6, {}, "wamp.session.get", ["x"]]`}, want: errorFor(codec.TypeCall, 6, "wamp.error.invalid_argument")},
	{name: "uri: CALL wamp.session.get unknown", joined: true, msgs: []string{`[48, 6, {}, "wamp.session.get", [` + maxIDText + `]]`}, want: errorFor(codec.TypeCall, 6, "wamp.error.no_such_session")},
	{name: "uri: HELLO realm with a space", msgs: []string{`[1, "bad realm", {"roles": {"caller": {}}}]`}, want: abortWith("wamp.error.invalid_uri", "bad realm")},
	{name: "uri: HELLO realm empty", msgs: []string{`[1, "", {"roles": {"caller": {}}}]`}, want: abortWith("wamp.error.invalid_uri")},
	{name: "uri: HELLO unknown realm", msgs: []string{`[1, "com.nosuch", {"roles": {"caller": {}}}]`}, want: abortWith("wamp.error.no_such_realm", "com.nosuch")},
	{name: "uri: HELLO realm of 100 KiB", msgs: []string{`[1, "` + strings.Repeat("r", 100<<10) + `", {"roles": {"caller": {}}}]`}, want: abortWith("wamp.error.no_such_realm")},

	// --- Messages in the wrong state (WAMP.md §2) ---
	{name: "state: YIELD before HELLO", msgs: []string{`[70, 1, {}]`}, want: violationAbort("HELLO", "YIELD")},
	{name: "state: CALL before HELLO", msgs: []string{`[48, 1, {}, "$P.p"]`}, want: violationAbort("HELLO", "CALL")},
	{name: "state: ABORT before HELLO", msgs: []string{`[3, {}, "wamp.close.normal"]`}, want: violationAbort("HELLO", "ABORT")},
	{name: "state: HELLO twice in one write", msgs: []string{`[1, "realm1", {"roles": {"caller": {}}}]`, `[1, "realm1", {"roles": {"caller": {}}}]`}, want: outCustom, run: runHelloTwice},
	{name: "state: PUBLISH after GOODBYE", joined: true, msgs: []string{`[6, {}, "wamp.close.close_realm"]`, `[16, 1, {"acknowledge": true}, "$P.t"]`}, want: outGoodbye},
	{name: "state: ABORT from the client", joined: true, msgs: []string{`[3, {}, "wamp.close.normal"]`}, want: outDropped},
	{name: "state: YIELD twice", joined: true, setup: selfInvocation, msgs: []string{`[70, 1, {}]`}, want: outSilent},
	{name: "state: ERROR after YIELD", joined: true, setup: selfInvocation, msgs: []string{`[8, 68, 1, {}, "com.example.late"]`}, want: outSilent},
	{name: "state: YIELD progress for a caller that did not ask", joined: true, setup: selfPending, msgs: []string{`[70, 1, {"progress": true}]`}, want: outSilent},
	{name: "state: UNSUBSCRIBE twice", want: outCustom, run: runUnsubscribeTwice},
	{name: "state: UNREGISTER another session's registration", want: outCustom, run: runUnregisterOthers},
	{name: "state: CANCEL for no call", joined: true, msgs: []string{`[49, 77, {"mode": "kill"}]`}, want: outSilent},
	{name: "state: CANCEL after the call ended", joined: true, setup: selfInvocation, msgs: []string{`[49, 30, {}]`}, want: outSilent},

	// --- Duplicate request IDs ---
	{name: "dup: CALL ID of a call in progress", joined: true, setup: selfPending, msgs: []string{`[48, 30, {}, "$P.self"]`}, want: violationAbort("CALL", "30", "in use")},
	{name: "dup: SUBSCRIBE twice", want: outCustom, run: runSubscribeTwice},
	{name: "dup: REGISTER twice", joined: true, setup: registerSelf, msgs: []string{`[64, 2, {}, "$P.self"]`}, want: errorFor(codec.TypeRegister, 2, "wamp.error.procedure_already_exists")},
	{name: "dup: PUBLISH request ID twice", want: outCustom, run: runPublishTwice},
	{name: "dup: CALL ID reused after its result", joined: true, setup: selfInvocation, msgs: []string{`[48, 30, {}, "$P.self"]`}, want: replyOf(codec.TypeInvocation)},

	// --- Oversize payloads ---
	{name: "size: client limit 512, less than a full WELCOME", want: outCustom, run: runSmallestClient},
	{name: "size: event over the subscriber's limit", want: outCustom, run: runEventTooLarge},
	{name: "size: invocation over the callee's limit", want: outCustom, run: runInvocationTooLarge},
	{name: "size: result over the caller's limit", want: outCustom, run: runResultTooLarge},
	{name: "payload: NaN for a JSON subscriber", wire: true, want: outCustom, run: runNaNToJSON},
	{name: "payload: ext for a JSON callee", wire: true, want: outCustom, run: runExtToJSON},

	// --- Floods and clients that never read ---
	{name: "flood: 20000 publishes in one write", want: outCustom, run: runPublishBurst},
	{name: "flood: acknowledged publishes, never reading", want: outCustom, run: runAckFloodNoRead},
	{name: "flood: subscriber that never reads", want: outCustom, run: runSubscriberNoRead},
	{name: "flood: callee that never reads", want: outCustom, run: runCalleeNoRead},
}

// badBed is the router the table runs against: the testbed's listeners,
// a strict TCP listener for the wire cases (short handshake and frame
// timeouts, a minimum client limit), a small queue per session, and the
// two witness sessions.
type badBed struct {
	*testbed
	wit       *witness
	strictURL string
}

const (
	badQueueBytes  = 64 << 10
	badWireTimeout = 300 * time.Millisecond
)

func newBadBed(t *testing.T) *badBed {
	tb := newTestbed(t, &edge.Config{QueueBytes: badQueueBytes})
	l, err := tb.Listen("tcp://127.0.0.1:0", rawsocket.ListenConfig{Config: rawsocket.Config{
		Timeout: badWireTimeout, FrameTimeout: badWireTimeout, MinPeerLength: 1024,
	}})
	if err != nil {
		t.Fatal(err)
	}
	return &badBed{testbed: tb, wit: newWitness(t, tb), strictURL: l.Endpoint().String()}
}

// witnesses is how many sessions the bed has between cases.
const witnesses = 2

func TestBadInput(t *testing.T) {
	runs := 0
	tcpMsgpack, unixJSON := wires[1], wires[2]
	for _, w := range []wire{tcpMsgpack, unixJSON} {
		t.Run(w.name, func(t *testing.T) {
			bb := newBadBed(t)
			for i, c := range badCases {
				if c.wire && w != tcpMsgpack || c.only != 0 && c.only != w.ser {
					continue
				}
				runs++
				t.Run(c.name, func(t *testing.T) {
					prefix := fmt.Sprintf("com.bad%d", i)
					before := bb.Stats()
					// After the case, once its connections are closed
					// (cleanups run last first): the router is back to
					// the witnesses, and they call and publish.
					t.Cleanup(func() {
						if t.Failed() {
							return
						}
						waitFor(t, "the router back to its witnesses", func() bool { return bb.Stats().Sessions == witnesses })
						wantViolations := before.ProtocolViolations
						if c.want.kind == aborted && c.want.uri == "wamp.error.protocol_violation" {
							wantViolations++
						}
						if got := bb.Stats().ProtocolViolations; got != wantViolations && c.want.kind != custom {
							t.Errorf("ProtocolViolations %d, want %d", got, wantViolations)
						}
						bb.wit.check(t)
					})
					bb.runCase(t, c, w, prefix)
				})
			}
		})
	}
	t.Logf("bad-input table: cases: %d (%d runs over tcp/msgpack and unix/json)", len(badCases), runs)
}

func (bb *badBed) runCase(t *testing.T, c badCase, w wire, prefix string) {
	t.Helper()
	if c.run != nil {
		c.run(t, bb, w, prefix)
		return
	}
	if c.wire {
		ser := codec.MsgPack
		if c.hs != nil {
			bb.checkHandshake(t, c.hs, c.want)
			return
		}
		p := dialRaw(t, bb.strictURL, ser)
		if c.joined {
			p.join("realm1")
		}
		p.sendBytes(c.raw)
		c.want.check(t, p)
		return
	}
	p := bb.raw(t, w)
	if c.joined {
		p.join("realm1")
	}
	if c.setup != nil {
		c.setup(p, prefix)
	}
	if c.frame != nil {
		p.sendFrame(c.frame)
	}
	// The messages go in one write: a PUBLISH after GOODBYE reaches the
	// router with it, not after it closed the connection.
	var b []byte
	for _, m := range c.msgs {
		b = appendJSONFrame(t, b, p, strings.ReplaceAll(m, "$P", prefix))
	}
	if b != nil {
		p.sendBytes(b)
	}
	c.want.check(t, p)
}

// appendJSONFrame appends a frame of the message text, in p's
// serializer.
func appendJSONFrame(t *testing.T, b []byte, p *rawPeer, text string) []byte {
	t.Helper()
	body := []byte(text)
	if p.wire.Serializer() == codec.MsgPack {
		var err error
		if body, err = codec.FromJSON(nil, body); err != nil {
			t.Fatalf("test message %s is not JSON: %v", text, err)
		}
	}
	return append(binary.BigEndian.AppendUint32(b, uint32(len(body))), body...)
}

// check reads what the router answers p and compares it with o.
func (o badOutcome) check(t *testing.T, p *rawPeer) {
	t.Helper()
	switch o.kind {
	case dropped:
		p.expectClosed()
	case aborted:
		mustContain(t, "ABORT message", p.expectAbort(o.uri), o.words...)
		p.expectClosed()
	case errored:
		e := p.expectError(o.reqType, o.req, o.uri)
		mustContain(t, "ERROR message", errorMessage(e), o.words...)
		p.barrier()
	case replied:
		if m := p.recv(); m.Type() != o.reply {
			t.Fatalf("got %s, want a %v", describe(m), o.reply)
		}
		p.barrier()
	case silent:
		p.barrier()
	case goodbyeOut:
		if g := expect[*codec.Goodbye](p); string(g.Reason) != "wamp.close.goodbye_and_out" {
			t.Fatalf("got %s, want GOODBYE wamp.close.goodbye_and_out", describe(g))
		}
		p.expectClosed()
	default:
		t.Fatalf("outcome kind %d cannot be checked on a session", o.kind)
	}
}

// checkHandshake writes hs on a bare connection to the strict listener
// and checks that the router refuses it with the code, or closes the
// connection without a word.
func (bb *badBed) checkHandshake(t *testing.T, hs []byte, want badOutcome) {
	t.Helper()
	nc := bb.dialBare(t, bb.strictURL)
	if _, err := nc.Write(hs); err != nil {
		t.Fatal(err)
	}
	checkRefusal(t, nc, want)
}

func (bb *badBed) dialBare(t *testing.T, url string) net.Conn {
	t.Helper()
	ep, err := rawsocket.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := net.DialTimeout(ep.Network, ep.Address, ioTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return nc
}

// checkRefusal reads everything the router sends on nc until it closes
// the connection: the handshake error reply, or nothing.
func checkRefusal(t *testing.T, nc net.Conn, want badOutcome) {
	t.Helper()
	nc.SetReadDeadline(time.Now().Add(ioTimeout))
	got, err := io.ReadAll(nc)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the connection is still open after %v (read %x)", ioTimeout, got)
	}
	var wantBytes []byte
	if want.kind == hsRefused {
		wantBytes = []byte{rawsocket.Magic, want.code << 4, 0, 0}
	}
	if !bytes.Equal(got, wantBytes) {
		t.Fatalf("the router sent %x, then closed; want %x", got, wantBytes)
	}
}

// --- Setups: states a case starts from ---

// registerSelf registers $P.self (request 1).
func registerSelf(p *rawPeer, prefix string) {
	p.sendJSON(`[64, 1, {}, "` + prefix + `.self"]`)
	expect[*codec.Registered](p)
}

// selfPending registers $P.self and calls it (request 30) from the same
// session, which gets INVOCATION 1 and does not answer.
func selfPending(p *rawPeer, prefix string) {
	registerSelf(p, prefix)
	p.sendJSON(`[48, 30, {}, "` + prefix + `.self"]`)
	if inv := expect[*codec.Invocation](p); inv.Request != 1 {
		p.t.Fatalf("INVOCATION %d, want 1", inv.Request)
	}
}

// selfInvocation is selfPending, answered: RESULT for call 30.
func selfInvocation(p *rawPeer, prefix string) {
	selfPending(p, prefix)
	p.sendJSON(`[70, 1, {}, ["done"]]`)
	if r := expect[*codec.Result](p); r.Request != 30 {
		p.t.Fatalf("RESULT for %d, want 30", r.Request)
	}
}

// --- Custom cases ---

func runHandshakeEOF(t *testing.T, bb *badBed, _ wire, _ string) {
	nc := bb.dialBare(t, bb.strictURL)
	nc.Write([]byte{0x7f, 0xf2})
	nc.(interface{ CloseWrite() error }).CloseWrite()
	checkRefusal(t, nc, outHSDropped)
}

func runMaxConns(t *testing.T, bb *badBed, _ wire, _ string) {
	l, err := bb.Listen("tcp://127.0.0.1:0", rawsocket.ListenConfig{MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	url := l.Endpoint().String()
	first := dialRaw(t, url, codec.MsgPack)
	first.join("realm1")
	nc := bb.dialBare(t, url)
	nc.Write(hsMsgpack)
	checkRefusal(t, nc, refusedWith(4))
	first.barrier() // the first is served on
	first.goodbye()
}

func runHandshakeDribble(t *testing.T, bb *badBed, _ wire, _ string) {
	nc := bb.dialBare(t, bb.strictURL)
	for _, b := range hsMsgpack {
		nc.Write([]byte{b})
		time.Sleep(time.Millisecond)
	}
	nc.SetReadDeadline(time.Now().Add(ioTimeout))
	var reply [4]byte
	if _, err := io.ReadFull(nc, reply[:]); err != nil || reply[0] != rawsocket.Magic || reply[1]&0x0f != 2 {
		t.Fatalf("handshake reply %x, %v", reply, err)
	}
}

func runFrameAtLimit(t *testing.T, bb *badBed, _ wire, prefix string) {
	p := dialRaw(t, bb.strictURL, codec.MsgPack)
	p.join("realm1")
	limit := p.conn.MaxSend()
	m := &codec.Publish{Request: 1, Options: ackOptions(codec.Unset), Topic: []byte(prefix + ".t")}
	// Grow a bin argument until the message is exactly the limit.
	for n := limit - 64; ; n++ {
		m.Args = msgp.AppendBytes(msgp.AppendArrayHeader(nil, 1), make([]byte, n))
		if size := len(m.Append(nil)); size == limit {
			break
		} else if size > limit {
			t.Fatalf("no bin length makes a PUBLISH of exactly %d bytes", limit)
		}
	}
	p.send(m)
	expect[*codec.Published](p)
}

func runPingBeforeHello(t *testing.T, bb *badBed, _ wire, _ string) {
	p := dialRaw(t, bb.strictURL, codec.MsgPack)
	p.sendBytes(frameOf(0x01, []byte("are you there")))
	p.nc.SetReadDeadline(time.Now().Add(ioTimeout))
	want := frameOf(0x02, []byte("are you there"))
	got := make([]byte, len(want))
	if _, err := io.ReadFull(p.nc, got); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("got %x (%v), want the PONG %x", got, err, want)
	}
	p.join("realm1")
	p.barrier()
}

func runBigPing(t *testing.T, bb *badBed, _ wire, _ string) {
	p := dialRawMax(t, bb.urls["tcp"], codec.MsgPack, rawsocket.MinLength)
	p.join("realm1")
	// Its PONG would be over the 512 bytes p accepts: no PONG, and the
	// session goes on (a PONG over the limit would end p's ReadMsg).
	p.sendBytes(frameOf(0x01, make([]byte, 600)))
	p.barrier()
}

func runHelloThenBadHeader(t *testing.T, bb *badBed, _ wire, _ string) {
	p := dialRaw(t, bb.strictURL, codec.MsgPack)
	hello, _ := codec.FromJSON(nil, []byte(`[1, "realm1", `+helloRoles+`]`))
	p.sendBytes(append(frameOf(0, hello), 0x70, 0, 0, 0))
	expect[*codec.Welcome](p)
	p.expectClosed()
}

func runHelloDribble(t *testing.T, bb *badBed, _ wire, _ string) {
	p := dialRaw(t, bb.strictURL, codec.MsgPack)
	hello, _ := codec.FromJSON(nil, []byte(`[1, "realm1", `+helloRoles+`]`))
	for _, b := range frameOf(0, hello) {
		p.sendBytes([]byte{b})
	}
	expect[*codec.Welcome](p)
	p.barrier()
}

func runHelloTwice(t *testing.T, bb *badBed, w wire, _ string) {
	p := bb.raw(t, w)
	p.hello("realm1", helloRoles)
	p.hello("realm1", helloRoles)
	expect[*codec.Welcome](p)
	mustContain(t, "ABORT message", p.expectAbort("wamp.error.protocol_violation"), "HELLO")
	p.expectClosed()
}

func runUnsubscribeTwice(t *testing.T, bb *badBed, w wire, prefix string) {
	p := bb.raw(t, w)
	p.join("realm1")
	sub := p.subscribe(prefix + ".t")
	p.sendJSON(fmt.Sprintf(`[34, 21, %d]`, sub))
	expect[*codec.Unsubscribed](p)
	p.sendJSON(fmt.Sprintf(`[34, 22, %d]`, sub))
	p.expectError(codec.TypeUnsubscribe, 22, "wamp.error.no_such_subscription")
	p.barrier()
}

func runUnregisterOthers(t *testing.T, bb *badBed, w wire, prefix string) {
	owner := bb.raw(t, w)
	owner.join("realm1")
	reg := owner.register(prefix + ".owned")
	other := bb.raw(t, w)
	other.join("realm1")
	other.sendJSON(fmt.Sprintf(`[66, 5, %d]`, reg))
	other.expectError(codec.TypeUnregister, 5, "wamp.error.no_such_registration")
	other.barrier()
	owner.barrier() // still registered, nothing happened to the owner
	owner.sendJSON(fmt.Sprintf(`[66, 6, %d]`, reg))
	expect[*codec.Unregistered](owner)
}

func runSubscribeTwice(t *testing.T, bb *badBed, w wire, prefix string) {
	p := bb.raw(t, w)
	p.join("realm1")
	p.sendJSON(`[32, 1, {}, "` + prefix + `.t"]`)
	p.sendJSON(`[32, 1, {}, "` + prefix + `.t"]`)
	a, b := expect[*codec.Subscribed](p), expect[*codec.Subscribed](p)
	if a.Request != 1 || b.Request != 1 || a.Subscription != b.Subscription {
		t.Fatalf("SUBSCRIBED %+v then %+v, want the same subscription twice", a, b)
	}
	// Subscribed once: one event per publication.
	pub := bb.raw(t, w)
	pub.join("realm1")
	pub.publishAck(prefix+".t", client.Args(1))
	expect[*codec.Event](p)
	p.barrier()
}

func runPublishTwice(t *testing.T, bb *badBed, w wire, prefix string) {
	p := bb.raw(t, w)
	p.join("realm1")
	p.sendJSON(`[16, 4, {"acknowledge": true}, "` + prefix + `.t"]`)
	p.sendJSON(`[16, 4, {"acknowledge": true}, "` + prefix + `.t"]`)
	a, b := expect[*codec.Published](p), expect[*codec.Published](p)
	if a.Request != 4 || b.Request != 4 || a.Publication == b.Publication {
		t.Fatalf("PUBLISHED %+v then %+v, want two publications for request 4", a, b)
	}
}

// smallLimit is what a small client (a microcontroller) announces.
const smallLimit = 1024

// payloadOf is a payload of one bin argument of n bytes.
func payloadOf(n int) client.Payload {
	return client.Payload{Args: msgp.AppendBytes(msgp.AppendArrayHeader(nil, 1), bytes.Repeat([]byte{0x5a}, n))}
}

// runSmallestClient: a client that announces the smallest limit, 512
// bytes, joins (the WELCOME fits), and gets small events.
func runSmallestClient(t *testing.T, bb *badBed, w wire, prefix string) {
	p := dialRawMax(t, bb.urls[w.transport], w.ser, rawsocket.MinLength)
	p.join("realm1")
	p.subscribe(prefix + ".t")
	pub := bb.raw(t, w)
	pub.join("realm1")
	pub.publishAck(prefix+".t", payloadOf(100))
	expect[*codec.Event](p)
	p.barrier()
}

func runEventTooLarge(t *testing.T, bb *badBed, w wire, prefix string) {
	small := dialRawMax(t, bb.urls[w.transport], w.ser, smallLimit)
	small.join("realm1")
	small.subscribe(prefix + ".t")
	pub := bb.raw(t, w)
	pub.join("realm1")
	dropped := bb.Stats().DroppedEvents
	pub.publishAck(prefix+".t", payloadOf(2*smallLimit))
	small.barrier() // no EVENT before its PUBLISHED
	if got := bb.Stats().DroppedEvents; got != dropped+1 {
		t.Errorf("DroppedEvents %d, want %d", got, dropped+1)
	}
	pub.publishAck(prefix+".t", payloadOf(10))
	expect[*codec.Event](small) // small events still reach it
}

func runInvocationTooLarge(t *testing.T, bb *badBed, w wire, prefix string) {
	callee := dialRawMax(t, bb.urls[w.transport], w.ser, smallLimit)
	callee.join("realm1")
	callee.register(prefix + ".p")
	caller := bb.raw(t, w)
	caller.join("realm1")
	req := caller.call(prefix+".p", payloadOf(2*smallLimit))
	caller.expectError(codec.TypeCall, req, "wamp.error.payload_size_exceeded")
	callee.barrier() // no INVOCATION
	req = caller.call(prefix+".p", payloadOf(10))
	inv := expect[*codec.Invocation](callee)
	callee.send(&codec.Yield{Request: inv.Request})
	if r := expect[*codec.Result](caller); r.Request != req {
		t.Fatalf("RESULT for %d, want %d", r.Request, req)
	}
}

func runResultTooLarge(t *testing.T, bb *badBed, w wire, prefix string) {
	callee := bb.raw(t, w)
	callee.join("realm1")
	callee.register(prefix + ".p")
	caller := dialRawMax(t, bb.urls[w.transport], w.ser, smallLimit)
	caller.join("realm1")
	for _, answer := range []func(inv uint64){
		func(inv uint64) { callee.send(&codec.Yield{Request: inv, Args: payloadOf(2 * smallLimit).Args}) },
		func(inv uint64) {
			callee.send(&codec.Error{RequestType: codec.TypeInvocation, Request: inv, Error: []byte("com.example.error"), Args: payloadOf(2 * smallLimit).Args})
		},
	} {
		req := caller.call(prefix+".p", client.Payload{})
		answer(expect[*codec.Invocation](callee).Request)
		caller.expectError(codec.TypeCall, req, "wamp.error.payload_size_exceeded")
	}
	caller.barrier()
	callee.barrier()
}

func runNaNToJSON(t *testing.T, bb *badBed, _ wire, prefix string) {
	jsonSub := dialRaw(t, bb.urls["unix"], codec.JSON)
	jsonSub.join("realm1")
	jsonSub.subscribe(prefix + ".t")
	mpSub := dialRaw(t, bb.urls["unix"], codec.MsgPack)
	mpSub.join("realm1")
	mpSub.subscribe(prefix + ".t")
	pub := dialRaw(t, bb.urls["tcp"], codec.MsgPack)
	pub.join("realm1")
	dropped := bb.Stats().DroppedEvents
	pub.publishAck(prefix+".t", client.Payload{Args: mp(mpFloat(math.NaN()))})
	ev := expect[*codec.Event](mpSub)
	if !bytes.Equal(ev.Args, mp(mpFloat(math.NaN()))) {
		t.Errorf("EVENT arguments %x", ev.Args)
	}
	jsonSub.barrier() // JSON has no NaN: no EVENT
	if got := bb.Stats().DroppedEvents; got != dropped+1 {
		t.Errorf("DroppedEvents %d, want %d", got, dropped+1)
	}
}

func runExtToJSON(t *testing.T, bb *badBed, _ wire, prefix string) {
	callee := dialRaw(t, bb.urls["unix"], codec.JSON)
	callee.join("realm1")
	callee.register(prefix + ".p")
	caller := dialRaw(t, bb.urls["tcp"], codec.MsgPack)
	caller.join("realm1")
	req := caller.call(prefix+".p", client.Payload{Args: mp(mpRaw(0xd4, 0x05, 0x01))})
	caller.expectError(codec.TypeCall, req, "wamp.error.invalid_argument")
	callee.barrier()
	caller.barrier()
}

// --- Floods ---

// appendFrames appends n frames of the MessagePack message m, or of its
// JSON form for a JSON peer.
func appendFrames(t *testing.T, b []byte, p *rawPeer, m codec.Message, n int) []byte {
	t.Helper()
	body, err := p.wire.Encode(nil, m.Append(nil))
	if err != nil {
		t.Fatal(err)
	}
	for range n {
		b = binary.BigEndian.AppendUint32(b, uint32(len(body)))
		b = append(b, body...)
	}
	return b
}

func runPublishBurst(t *testing.T, bb *badBed, w wire, prefix string) {
	p := bb.raw(t, w)
	p.join("realm1")
	burst := appendFrames(t, nil, p, &codec.Publish{Request: 1, Topic: []byte(prefix + ".nobody"), Args: client.Args(1, "x").Args}, 20000)
	p.sendBytes(burst)
	p.barrier()
}

// unixPeer dials the testbed's Unix socket, whose small buffers make a
// peer that does not read fill the router's queue soon.
func (bb *badBed) unixPeer(t *testing.T, w wire) *rawPeer {
	return dialRaw(t, bb.urls["unix"], w.ser)
}

func runAckFloodNoRead(t *testing.T, bb *badBed, w wire, prefix string) {
	p := bb.unixPeer(t, w)
	p.join("realm1")
	kills := bb.Stats().SlowConsumerKills
	batch := appendFrames(t, nil, p, &codec.Publish{Request: 1, Options: ackOptions(codec.Unset), Topic: []byte(prefix + ".t")}, 1000)
	const maxBatches = 1000 // a million publications: far past the queue and the socket buffers
	for i := 0; bb.Stats().SlowConsumerKills == kills; i++ {
		if i == maxBatches {
			t.Fatalf("not disconnected after %d acknowledged publications", i*1000)
		}
		p.nc.SetWriteDeadline(time.Now().Add(ioTimeout))
		if _, err := p.nc.Write(batch); err != nil {
			break // closed by the router
		}
	}
	waitFor(t, "the slow consumer's disconnection", func() bool { return bb.Stats().SlowConsumerKills == kills+1 })
	if !p.drainUntilClosed(maxBatches * 1000) {
		t.Fatal("the flooder is still connected")
	}
}

func runSubscriberNoRead(t *testing.T, bb *badBed, w wire, prefix string) {
	slow := bb.unixPeer(t, w)
	slow.join("realm1")
	slow.subscribe(prefix + ".t")
	fast := bb.raw(t, w)
	fast.join("realm1")
	fast.subscribe(prefix + ".t")
	pub := bb.raw(t, wire{"tcp/msgpack", "tcp", codec.MsgPack})
	pub.join("realm1")
	kills := bb.Stats().SlowConsumerKills
	event := payloadOf(8 << 10)
	for i := 0; bb.Stats().SlowConsumerKills == kills; i++ {
		if i == 2000 { // 16 MiB: far past the queue and the socket buffers
			t.Fatalf("the subscriber that never reads is still connected after %d events", i)
		}
		pub.publishAck(prefix+".t", event)
		expect[*codec.Event](fast) // fast reads each: it is never behind
	}
	if !slow.drainUntilClosed(2000) {
		t.Fatal("the subscriber that never reads is still connected")
	}
	pub.publishAck(prefix+".t", event)
	expect[*codec.Event](fast)
	fast.barrier()
}

func runCalleeNoRead(t *testing.T, bb *badBed, w wire, prefix string) {
	callee := bb.unixPeer(t, w)
	callee.join("realm1")
	callee.register(prefix + ".p")
	caller := bb.raw(t, w)
	caller.join("realm1")
	kills := bb.Stats().SlowConsumerKills
	// The caller's answers are read as they come, so that the caller is
	// never the slow one.
	type answer struct {
		req uint64
		uri string
	}
	answers := make(chan answer, 4096)
	readErr := make(chan error, 1)
	go func() {
		for {
			m, err := caller.next()
			if err != nil {
				readErr <- err
				return
			}
			e, ok := m.(*codec.Error)
			if !ok {
				readErr <- fmt.Errorf("got %s, want an ERROR", describe(m))
				return
			}
			answers <- answer{e.Request, string(e.Error)}
		}
	}()
	args := payloadOf(8 << 10)
	calls := 0
	for bb.Stats().SlowConsumerKills == kills {
		if calls == 2000 {
			t.Fatalf("the callee that never reads is still connected after %d calls", calls)
		}
		calls++
		caller.send(&codec.Call{Request: uint64(calls), Procedure: []byte(prefix + ".p"), Args: args.Args})
		time.Sleep(100 * time.Microsecond) // let the router read
	}
	// Every call is answered exactly once: those the callee took are
	// canceled when it goes, the one that found its queue full failed,
	// and those after it found no procedure.
	seen := map[uint64]string{}
	canceled := 0
	for len(seen) < calls {
		select {
		case a := <-answers:
			if prev, dup := seen[a.req]; dup {
				t.Fatalf("call %d answered twice: %s, then %s", a.req, prev, a.uri)
			}
			switch a.uri {
			case "wamp.error.canceled":
				canceled++
			case "wamp.error.network_failure", "wamp.error.no_such_procedure":
			default:
				t.Fatalf("call %d: %s", a.req, a.uri)
			}
			seen[a.req] = a.uri
		case err := <-readErr:
			t.Fatalf("caller: %v after %d of %d answers", err, len(seen), calls)
		case <-time.After(ioTimeout):
			t.Fatalf("%d of %d calls answered", len(seen), calls)
		}
	}
	if canceled == 0 {
		t.Error("no call was canceled: the callee's pending calls were lost")
	}
	if !callee.drainUntilClosed(calls) {
		t.Fatal("the callee that never reads is still connected")
	}
	t.Logf("%d calls: %d canceled when the callee was disconnected", calls, canceled)
	caller.close() // ends the reader
	<-readErr
}
