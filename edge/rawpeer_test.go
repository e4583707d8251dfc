package edge_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wampedge/wampedge/codec"
	"github.com/wampedge/wampedge/edge/client"
	"github.com/wampedge/wampedge/rawsocket"
)

// ioTimeout guards every wait of a test: a bound on failure, never a
// measurement.
const ioTimeout = 10 * time.Second

// helloRoles is HELLO.Details announcing all four client roles.
const helloRoles = `{"roles":{"publisher":{},"subscriber":{},"caller":{},"callee":{}}}`

// rawPeer is a WAMP client written by hand over a RawSocket connection.
// It sends exactly what a test builds, well-formed or not, answers
// nothing by itself, and decodes what the router sends. It dials the
// socket itself and runs rawsocket.Connect on it (what rawsocket.Dial
// does) so that it keeps the net.Conn: reads get deadlines, and a test
// can write bytes that are not a valid frame.
type rawPeer struct {
	t    testing.TB
	nc   net.Conn
	conn *rawsocket.Conn
	wire codec.Codec
	req  uint64 // the last request ID sent
}

func dialRaw(t testing.TB, url string, ser codec.Serializer) *rawPeer {
	t.Helper()
	return dialRawMax(t, url, ser, 0)
}

// dialRawMax dials a raw peer that announces maxLength as the largest
// message it accepts (0: the default).
func dialRawMax(t testing.TB, url string, ser codec.Serializer, maxLength int) *rawPeer {
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
	conn, err := rawsocket.Connect(nc, ser, rawsocket.Config{MaxLength: maxLength, Timeout: ioTimeout})
	if err != nil {
		t.Fatalf("rawsocket handshake with %s: %v", url, err)
	}
	return &rawPeer{t: t, nc: nc, conn: conn, wire: codec.NewCodec(ser)}
}

// send encodes a message in the peer's serializer and sends it.
func (p *rawPeer) send(m codec.Message) {
	p.t.Helper()
	frame, err := p.wire.Encode(nil, m.Append(nil))
	if err != nil {
		p.t.Fatalf("encoding %v: %v", m.Type(), err)
	}
	p.sendFrame(frame)
}

// sendJSON sends a message written as JSON text, turned into MessagePack
// for a MessagePack peer: one spelling serves both serializers.
func (p *rawPeer) sendJSON(text string) {
	p.t.Helper()
	frame := []byte(text)
	if p.wire.Serializer() == codec.MsgPack {
		var err error
		if frame, err = codec.FromJSON(nil, frame); err != nil {
			p.t.Fatalf("test message %s is not JSON: %v", text, err)
		}
	}
	p.sendFrame(frame)
}

// sendFrame sends frame as one RawSocket message, whatever it holds.
func (p *rawPeer) sendFrame(frame []byte) {
	p.t.Helper()
	p.nc.SetWriteDeadline(time.Now().Add(ioTimeout))
	if err := p.conn.WriteMsg(frame); err != nil {
		p.t.Fatalf("sending a frame: %v", err)
	}
}

// sendBytes writes b to the socket past the framing.
func (p *rawPeer) sendBytes(b []byte) {
	p.t.Helper()
	p.nc.SetWriteDeadline(time.Now().Add(ioTimeout))
	if _, err := p.nc.Write(b); err != nil {
		p.t.Fatalf("writing to the socket: %v", err)
	}
}

// frameHeader is a RawSocket frame header (WAMP.md §6.2): reserved bits
// and type in the first octet, then 24 bits of length.
func frameHeader(first byte, length int) []byte {
	return binary.BigEndian.AppendUint32(nil, uint32(first)<<24|uint32(length)&0xffffff)
}

// next reads and decodes the next message. Errors are the transport's
// (the connection closed, or ioTimeout passed) or the decoder's. It may
// run outside the test goroutine.
func (p *rawPeer) next() (codec.Message, error) {
	p.nc.SetReadDeadline(time.Now().Add(ioTimeout))
	frame, err := p.conn.ReadMsg()
	if err != nil {
		return nil, err
	}
	msg, err := p.wire.Decode(nil, frame)
	if err != nil {
		return nil, fmt.Errorf("the router sent a frame that does not decode: %w", err)
	}
	return codec.Decode(bytes.Clone(msg))
}

// recv returns the next message; anything else fails the test.
func (p *rawPeer) recv() codec.Message {
	p.t.Helper()
	m, err := p.next()
	if err != nil {
		p.t.Fatalf("waiting for a message: %v", err)
	}
	return m
}

// expect returns the next message, which must be of type M.
func expect[M codec.Message](p *rawPeer) M {
	p.t.Helper()
	msg := p.recv()
	m, ok := msg.(M)
	if !ok {
		var want M
		p.t.Fatalf("got %s, want a %v", describe(msg), want.Type())
	}
	return m
}

// describe renders a message as JSON text for failure messages.
func describe(m codec.Message) string {
	text, err := codec.ToJSON(nil, m.Append(nil))
	if err != nil {
		return fmt.Sprintf("%v (%v)", m.Type(), err)
	}
	return string(text)
}

// expectClosed reads until the connection ends; any message or a read
// that times out fails the test.
func (p *rawPeer) expectClosed() {
	p.t.Helper()
	p.nc.SetReadDeadline(time.Now().Add(ioTimeout))
	frame, err := p.conn.ReadMsg()
	switch {
	case err == nil:
		if msg, derr := p.wire.Decode(nil, frame); derr == nil {
			if m, derr := codec.Decode(bytes.Clone(msg)); derr == nil {
				p.t.Fatalf("got %s, want the connection closed", describe(m))
			}
		}
		p.t.Fatalf("got a frame of %d bytes, want the connection closed", len(frame))
	case errors.Is(err, os.ErrDeadlineExceeded):
		p.t.Fatalf("the connection is still open after %v", ioTimeout)
	}
	// io.EOF or a reset: closed by the router.
}

// drainUntilClosed reads up to limit frames, undecoded, and reports
// whether the connection ended after them.
func (p *rawPeer) drainUntilClosed(limit int) bool {
	for range limit + 1 {
		p.nc.SetReadDeadline(time.Now().Add(ioTimeout))
		if _, err := p.conn.ReadMsg(); err != nil {
			return !errors.Is(err, os.ErrDeadlineExceeded)
		}
	}
	return false
}

// hello sends HELLO with the given Details (JSON text).
func (p *rawPeer) hello(realm, details string) {
	p.t.Helper()
	p.sendJSON(fmt.Sprintf(`[1, %q, %s]`, realm, details))
}

// join sends HELLO for realm and returns the WELCOME.
func (p *rawPeer) join(realm string) *codec.Welcome {
	p.t.Helper()
	p.hello(realm, helloRoles)
	return expect[*codec.Welcome](p)
}

func (p *rawPeer) nextRequest() uint64 {
	p.req++
	return p.req
}

// request sends the request of type typ (SUBSCRIBE, PUBLISH, REGISTER or
// CALL) for uri, with options (encoded, or nil) and a payload, and
// returns its request ID.
func (p *rawPeer) request(typ codec.Type, uri string, options []byte, pl client.Payload) uint64 {
	p.t.Helper()
	req := p.nextRequest()
	u := []byte(uri)
	var m codec.Message
	switch typ {
	case codec.TypeSubscribe:
		m = &codec.Subscribe{Request: req, Options: options, Topic: u}
	case codec.TypePublish:
		m = &codec.Publish{Request: req, Options: options, Topic: u, Args: pl.Args, Kwargs: pl.Kwargs}
	case codec.TypeRegister:
		m = &codec.Register{Request: req, Options: options, Procedure: u}
	case codec.TypeCall:
		m = &codec.Call{Request: req, Options: options, Procedure: u, Args: pl.Args, Kwargs: pl.Kwargs}
	default:
		p.t.Fatalf("request: %v is not a request with a URI", typ)
	}
	p.send(m)
	return req
}

// ackOptions are PUBLISH.Options asking for PUBLISHED.
func ackOptions(excludeMe codec.Flag) []byte {
	b, _ := (&codec.PublishOptions{Acknowledge: true, ExcludeMe: excludeMe}).MarshalMsg(nil)
	return b
}

func (p *rawPeer) subscribe(topic string) uint64 {
	p.t.Helper()
	req := p.request(codec.TypeSubscribe, topic, nil, client.Payload{})
	m := expect[*codec.Subscribed](p)
	if m.Request != req {
		p.t.Fatalf("SUBSCRIBED for request %d, want %d", m.Request, req)
	}
	return m.Subscription
}

func (p *rawPeer) register(procedure string) uint64 {
	p.t.Helper()
	req := p.request(codec.TypeRegister, procedure, nil, client.Payload{})
	m := expect[*codec.Registered](p)
	if m.Request != req {
		p.t.Fatalf("REGISTERED for request %d, want %d", m.Request, req)
	}
	return m.Registration
}

// publishAck publishes with acknowledge and returns the publication ID
// of the PUBLISHED that must come next.
func (p *rawPeer) publishAck(topic string, pl client.Payload) uint64 {
	p.t.Helper()
	req := p.request(codec.TypePublish, topic, ackOptions(codec.Unset), pl)
	m := expect[*codec.Published](p)
	if m.Request != req {
		p.t.Fatalf("PUBLISHED for request %d, want %d", m.Request, req)
	}
	checkID(p.t, "publication", m.Publication)
	return m.Publication
}

// barrier proves that nothing is queued for this peer: the router
// queues to a session in order, so the PUBLISHED answering a publish
// sent now comes after anything queued before, and must come first.
func (p *rawPeer) barrier() {
	p.t.Helper()
	p.publishAck("com.test.barrier", client.Payload{})
}

// expectError reads an ERROR, which must answer request req of type
// typ with uri, and returns it.
func (p *rawPeer) expectError(typ codec.Type, req uint64, uri string) *codec.Error {
	p.t.Helper()
	e := expect[*codec.Error](p)
	if e.RequestType != typ || e.Request != req || string(e.Error) != uri {
		p.t.Fatalf("got %s, want ERROR %s for %v request %d", describe(e), uri, typ, req)
	}
	return e
}

// expectAbort reads an ABORT with reason and returns its
// Details.message, which must be there.
func (p *rawPeer) expectAbort(reason string) string {
	p.t.Helper()
	a := expect[*codec.Abort](p)
	var d codec.CloseDetails
	if err := d.Decode(codec.TypeAbort, a.Details); err != nil {
		p.t.Fatalf("ABORT.Details: %v", err)
	}
	if string(a.Reason) != reason || d.Message == "" {
		p.t.Fatalf("got %s, want ABORT %s with a message", describe(a), reason)
	}
	return d.Message
}

// goodbye leaves with GOODBYE, expects the router's GOODBYE
// wamp.close.goodbye_and_out, and the connection closed after it.
func (p *rawPeer) goodbye() {
	p.t.Helper()
	p.sendJSON(`[6, {}, "wamp.close.close_realm"]`)
	g := expect[*codec.Goodbye](p)
	if string(g.Reason) != "wamp.close.goodbye_and_out" {
		p.t.Fatalf("got %s, want GOODBYE wamp.close.goodbye_and_out", describe(g))
	}
	p.expectClosed()
}

// close drops the connection without a word.
func (p *rawPeer) close() { p.nc.Close() }

// checkID fails unless id is a valid WAMP ID, in [1, 2^53].
func checkID(t testing.TB, what string, id uint64) {
	t.Helper()
	if id < 1 || id > codec.MaxID {
		t.Fatalf("%s ID %d is not in [1, 2^53]", what, id)
	}
}

// errorMessage is the readable message the router puts as the first
// argument of its ERRORs.
func errorMessage(e *codec.Error) string {
	args, _, _ := client.Payload{Args: e.Args}.Decode()
	if len(args) == 0 {
		return ""
	}
	s, _ := args[0].(string)
	return s
}

// mustContain fails unless s contains every one of words.
func mustContain(t testing.TB, what, s string, words ...string) {
	t.Helper()
	for _, w := range words {
		if !strings.Contains(s, w) {
			t.Errorf("%s %q does not mention %q", what, s, w)
		}
	}
}
