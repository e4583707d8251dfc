package edge

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tinylib/msgp/msgp"
	"github.com/wampedge/wampedge/codec"
)

// FuzzRouterSession drives three sessions of one router in this process
// with message sequences built from the fuzz input, read as a stream of
// choices: which session acts, and what it sends — HELLO, PUBLISH,
// SUBSCRIBE, CALL, YIELD, CANCEL, meta calls, GOODBYE, ABORT, broken
// frames — with IDs, URIs, options and payloads drawn from small pools
// of good and bad values, so that requests meet each other; or it loses
// its connection, reconnects, or stops reading. Each session has the
// router's real reader and writer goroutines over an in-memory
// transport, and the test hands a session its next frame only when its
// reader has routed the last one, so a run is repeatable.
//
// It checks that nothing panics or deadlocks; that every message the
// router sends decodes, comes in an order the protocol allows (WELCOME
// first, nothing after ABORT or GOODBYE) and answers a request the
// session made, or concerns a subscription or registration it was
// given; that no call is answered twice; and that once every session
// is gone, every goroutine of theirs has ended and the router holds no
// session, subscription or registration.
func FuzzRouterSession(f *testing.F) {
	for _, seed := range fuzzSeeds() {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		runFuzzSessions(t, &fuzzInput{b: data})
	})
}

// fuzzInput is the fuzz input read as choices; past its end every
// choice is 0, the most ordinary one.
type fuzzInput struct{ b []byte }

func (in *fuzzInput) byte() byte {
	if len(in.b) == 0 {
		return 0
	}
	c := in.b[0]
	in.b = in.b[1:]
	return c
}

func (in *fuzzInput) n(k int) int { return int(in.byte()) % k }
func (in *fuzzInput) done() bool  { return len(in.b) == 0 }

// Pools the choices draw from; the first of each is the ordinary one.
var (
	fuzzURIs = []string{
		"com.a", "com.a.b", "com.b", "com.", "com..b", "com", "",
		"wamp.session.count", "wamp.session.list", "wamp.session.get", "wamp.session.kill",
		"wamp.session.kill_all", "wamp.session.add_testament", "wamp.session.flush_testaments",
		"wamp.registration.list", "wamp.registration.lookup", "wamp.registration.match",
		"wamp.registration.get", "wamp.registration.list_callees", "wamp.subscription.list",
		"wamp.subscription.lookup", "wamp.subscription.match", "wamp.subscription.get",
		"wamp.subscription.list_subscribers", "wamp.subscription.count_subscribers",
		"wamp.session.on_join", "wamp.session.on_leave", "wamp.subscription.on_create",
		"wamp.registration.on_register", "wamp", "wamp.x", "bad uri", "com.#", "realm1",
		"com.a\u00a0b", "com.\xff",
	}
	fuzzRealms = []string{"realm1", "realm2", "bad realm", "", "wamp.realm"}
	// fuzzValues are values for option keys and arguments, encoded.
	fuzzValues = [][]byte{
		msgp.AppendBool(nil, true), msgp.AppendBool(nil, false), msgp.AppendUint(nil, 1),
		msgp.AppendUint(nil, 5), msgp.AppendString(nil, "x"), msgp.AppendNil(nil),
		msgp.AppendInt(nil, -1), msgp.AppendFloat64(nil, math.NaN()), msgp.AppendUint64(nil, codec.MaxID+1),
		msgp.AppendMapHeader(nil, 0), msgp.AppendArrayHeader(nil, 0),
	}
	fuzzOptionKeys = []string{
		"acknowledge", "exclude_me", "match", "receive_progress", "progress", "disclose_me", "mode",
		"invoke", "timeout", "eligible", "exclude", "retain", "get_retained", "x_custom", "_custom",
		"eligible_authid", "exclude_authrole", "reason", "forward_for",
	}
	fuzzStrings = []string{"exact", "prefix", "wildcard", "bogus", "skip", "kill", "killnowait", "single", "roundrobin", "random", "first", "last", ""}
)

// fuzzID is a request, subscription, registration or invocation ID: a
// small one mostly, so that requests meet; 0 and past 2^53 sometimes.
func (in *fuzzInput) id() uint64 {
	switch b := in.byte(); b {
	case 8:
		return 0
	case 9:
		return codec.MaxID
	case 10:
		return codec.MaxID + 1
	default:
		return uint64(b%8) + 1
	}
}

func (in *fuzzInput) uri() []byte {
	if b := in.byte(); b < 250 {
		return []byte(fuzzURIs[int(b)%len(fuzzURIs)])
	}
	n := in.n(12)
	u := make([]byte, n)
	for i := range u {
		u[i] = in.byte()
	}
	return u
}

// value is an encoded option value: one of the pools, a list of IDs, or
// a string of the option strings.
func (in *fuzzInput) value() []byte {
	switch b := in.byte(); {
	case b < 100:
		return msgp.AppendString(nil, fuzzStrings[int(b)%len(fuzzStrings)])
	case b < 200:
		return fuzzValues[int(b)%len(fuzzValues)]
	default:
		n := in.n(3)
		v := msgp.AppendArrayHeader(nil, uint32(n))
		for range n {
			v = msgp.AppendUint64(v, in.id())
		}
		return v
	}
}

// dict is an Options or Details dict: k keys, each with a value.
func (in *fuzzInput) dict() []byte {
	k := in.n(4)
	d := msgp.AppendMapHeader(nil, uint32(k))
	for range k {
		d = msgp.AppendString(d, fuzzOptionKeys[in.n(len(fuzzOptionKeys))])
		d = append(d, in.value()...)
	}
	return d
}

// payload returns Arguments and ArgumentsKw, either possibly absent.
func (in *fuzzInput) payload() (args, kwargs []byte) {
	switch in.n(10) {
	case 0:
		return nil, nil
	case 1:
		return msgp.AppendString(msgp.AppendUint(msgp.AppendArrayHeader(nil, 2), 1), "x"), nil
	case 2:
		return msgp.AppendArrayHeader(nil, 0), msgp.AppendUint(msgp.AppendString(msgp.AppendMapHeader(nil, 1), "k"), 7)
	case 3:
		return msgp.AppendArrayHeader(nil, 0), nil
	case 4: // no JSON form
		return msgp.AppendFloat64(msgp.AppendArrayHeader(nil, 1), math.NaN()), nil
	case 5: // no JSON form
		return append(msgp.AppendArrayHeader(nil, 1), 0xd4, 0x05, 0x01), nil
	case 6: // over a small peer's limit
		return msgp.AppendBytes(msgp.AppendArrayHeader(nil, 1), make([]byte, 300+in.n(4)*300)), nil
	case 7: // a dict key that is not a string: no JSON form
		return msgp.AppendArrayHeader(nil, 0), msgp.AppendBool(msgp.AppendUint(msgp.AppendMapHeader(nil, 1), 1), true)
	case 8: // payload passthru: one bin in Arguments' place
		return msgp.AppendBytes(nil, []byte("opaque")), nil
	default:
		return msgp.AppendUint64(msgp.AppendArrayHeader(nil, 1), in.id()), nil
	}
}

// hello is a HELLO: roles with features, sometimes other auth methods.
func (in *fuzzInput) hello() []byte {
	realm := fuzzRealms[0]
	if b := in.byte(); b >= 200 {
		realm = fuzzRealms[int(b)%len(fuzzRealms)]
	}
	features := msgp.AppendMapHeader(nil, 3)
	for _, name := range []string{"call_canceling", "progressive_call_results", "progressive_call_invocations"} {
		features = msgp.AppendBool(msgp.AppendString(features, name), in.byte()%2 == 0)
	}
	roles := msgp.AppendMapHeader(nil, 4)
	for _, role := range []string{"publisher", "subscriber", "caller"} {
		roles = msgp.AppendMapHeader(msgp.AppendString(roles, role), 0)
	}
	roles = msgp.AppendString(roles, "callee")
	roles = append(msgp.AppendString(msgp.AppendMapHeader(roles, 1), "features"), features...)
	details := msgp.AppendMapHeader(nil, 2)
	details = append(msgp.AppendString(details, "roles"), roles...)
	details = msgp.AppendString(details, "authmethods")
	switch in.n(8) {
	case 6:
		details = msgp.AppendString(msgp.AppendArrayHeader(details, 1), "ticket")
	case 7:
		details = msgp.AppendString(details, "anonymous") // not a list
	default:
		details = msgp.AppendString(msgp.AppendArrayHeader(details, 1), "anonymous")
	}
	return fuzzMsg(fuzzU(uint64(codec.TypeHello)), msgp.AppendString(nil, realm), details)
}

func fuzzU(v uint64) []byte { return msgp.AppendUint64(nil, v) }

// fuzzMsg is a MessagePack list of encoded elements; nil elements at the
// end are left out (absent payloads).
func fuzzMsg(elems ...[]byte) []byte {
	for len(elems) > 0 && elems[len(elems)-1] == nil {
		elems = elems[:len(elems)-1]
	}
	b := msgp.AppendArrayHeader(nil, uint32(len(elems)))
	for _, e := range elems {
		if e == nil {
			e = msgp.AppendNil(nil)
		}
		b = append(b, e...)
	}
	return b
}

// request is a client-to-router message of type t with fuzzed elements.
func (in *fuzzInput) request(t codec.Type) []byte {
	typ := fuzzU(uint64(t))
	switch t {
	case codec.TypePublish, codec.TypeCall:
		req, opts, uri := in.id(), in.dict(), in.uri()
		args, kwargs := in.payload()
		return fuzzMsg(typ, fuzzU(req), opts, msgp.AppendStringFromBytes(nil, uri), args, kwargs)
	case codec.TypeSubscribe, codec.TypeRegister:
		req, opts := in.id(), in.dict()
		return fuzzMsg(typ, fuzzU(req), opts, msgp.AppendStringFromBytes(nil, in.uri()))
	case codec.TypeUnsubscribe, codec.TypeUnregister:
		req := in.id()
		return fuzzMsg(typ, fuzzU(req), fuzzU(in.id()))
	case codec.TypeCancel:
		return fuzzMsg(typ, fuzzU(in.id()), in.dict())
	case codec.TypeYield:
		inv, opts := in.id(), in.dict()
		args, kwargs := in.payload()
		return fuzzMsg(typ, fuzzU(inv), opts, args, kwargs)
	case codec.TypeError:
		rt := uint64(codec.TypeInvocation)
		if in.byte() >= 240 {
			rt = uint64(codec.TypeCall)
		}
		inv, details, uri := in.id(), in.dict(), in.uri()
		args, kwargs := in.payload()
		return fuzzMsg(typ, fuzzU(rt), fuzzU(inv), details, msgp.AppendStringFromBytes(nil, uri), args, kwargs)
	case codec.TypeGoodbye, codec.TypeAbort:
		return fuzzMsg(typ, in.dict(), msgp.AppendString(nil, "wamp.close.close_realm"))
	case codec.TypeAuthenticate:
		return fuzzMsg(typ, msgp.AppendString(nil, "secret"), in.dict())
	}
	return fuzzMsg(typ, fuzzU(in.id()), in.dict())
}

// Actions of a step, by the step's second choice.
const (
	fuzzHello = iota
	fuzzPublish
	fuzzSubscribe
	fuzzUnsubscribe
	fuzzCall
	fuzzCancel
	fuzzRegister
	fuzzUnregister
	fuzzYield
	fuzzError
	fuzzGoodbye
	fuzzAbort
	fuzzOther // another type code, a router's message, or an unknown one
	fuzzGarbage
	fuzzDrop // the connection is lost
	fuzzReconnect
	fuzzStall // the peer stops (or resumes) reading
	fuzzActions
)

var fuzzActTypes = [fuzzActions]codec.Type{
	fuzzPublish: codec.TypePublish, fuzzSubscribe: codec.TypeSubscribe, fuzzUnsubscribe: codec.TypeUnsubscribe,
	fuzzCall: codec.TypeCall, fuzzCancel: codec.TypeCancel, fuzzRegister: codec.TypeRegister,
	fuzzUnregister: codec.TypeUnregister, fuzzYield: codec.TypeYield, fuzzError: codec.TypeError,
	fuzzGoodbye: codec.TypeGoodbye, fuzzAbort: codec.TypeAbort,
}

// fuzzPeers is how many sessions a run drives.
const fuzzPeers = 3

// runFuzzSessions runs one input; see FuzzRouterSession.
func runFuzzSessions(t *testing.T, in *fuzzInput) {
	conf := in.byte()
	cfg := &Config{
		Realms:         []string{"realm1", "realm2"},
		AutoRealms:     conf&0x01 != 0,
		StrictURIs:     conf&0x02 != 0,
		QueueBytes:     []int{64 << 10, 4 << 10, 1 << 10, 512}[conf>>2&0x03],
		GoodbyeTimeout: 20 * time.Millisecond,
	}
	if conf&0x10 != 0 {
		cfg.SlowConsumer = DropEvents
	}
	if timeout := in.n(20); conf&0x20 != 0 {
		cfg.CallTimeout = time.Duration(1+timeout) * time.Millisecond
	}
	r := New(cfg)
	var peers [fuzzPeers]*fuzzPeer
	var ended []*fuzzPeer // every peer of the run, for the final checks
	connect := func(i int) {
		p := newFuzzPeer(r, in)
		peers[i] = p
		ended = append(ended, p)
	}
	for i := range peers {
		connect(i)
	}
	last := 0
	for step := 0; step < 300 && !in.done(); step++ {
		i := in.n(fuzzPeers)
		// A reader told that more is buffered holds the broker's read
		// lock for the rest of its burst, as the Transport contract
		// allows (Buffered: ReadMsg returns at once), so the next step
		// is that peer's, as the next frame of a real burst would be.
		if peers[last].pipe.more.Load() && !peers[last].pipe.isClosed() {
			i = last
		}
		last = i
		p := peers[i]
		switch act := in.n(fuzzActions); act {
		case fuzzHello:
			p.send(t, in.hello(), in)
		case fuzzOther:
			typ := codec.Type([]uint64{2, 4, 7, 17, 33, 36, 50, 65, 68, 69, 99, 256, 5}[in.n(13)])
			p.send(t, in.request(typ), in)
		case fuzzGarbage:
			n := in.n(16)
			g := make([]byte, n)
			for k := range g {
				g[k] = in.byte()
			}
			p.send(t, g, in)
		case fuzzDrop:
			p.pipe.Close()
		case fuzzReconnect:
			// Once a lost connection's session has ended (which the
			// reader's end makes certain), a new one takes its place.
			if p.pipe.isClosed() {
				p.wait(t)
			}
			if p.ended() {
				connect(i)
			}
		case fuzzStall:
			p.pipe.stalled.Store(!p.pipe.stalled.Load())
		default:
			p.send(t, in.request(fuzzActTypes[act]), in)
		}
	}
	// A burst the input left open ends with its connection: its next
	// frame was never going to come, and a real one would be buffered.
	for _, p := range peers {
		if p.pipe.more.Load() {
			p.pipe.Close()
		}
	}
	// The end: the router shuts down, or every connection is lost.
	if conf&0x40 != 0 {
		ctx, cancel := context.WithTimeout(context.Background(), fuzzBound)
		r.Close(ctx)
		cancel()
	}
	for _, p := range ended {
		p.pipe.stalled.Store(false)
		p.pipe.Close()
	}
	for _, p := range ended {
		p.wait(t)
	}
	for k, p := range ended {
		if os.Getenv("WAMPEDGE_FUZZ_TRACE") != "" {
			t.Logf("session %d (%v) sent %v and received:\n%s", k, p.pipe.ser, p.sent, p.transcript())
		}
		if err := p.check(); err != nil {
			t.Fatalf("session %d (%v): %v\nit received:\n%s", k, p.pipe.ser, err, p.transcript())
		}
	}
	if err := fuzzRouterEmpty(r); err != nil {
		t.Fatal(err)
	}
}

// fuzzBound bounds every wait of a run: a reader that does not come
// back for its next frame within it is stuck.
const fuzzBound = 10 * time.Second

// fuzzRouterEmpty checks that a router all of whose sessions have ended
// holds none, and no subscription or registration.
func fuzzRouterEmpty(r *Router) error {
	if st := r.Stats(); st.Sessions != 0 {
		return fmt.Errorf("Stats.Sessions %d after every session ended", st.Sessions)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.sessions) != 0 || len(r.ids) != 0 {
		return fmt.Errorf("%d sessions and %d session IDs left", len(r.sessions), len(r.ids))
	}
	for name, rl := range r.realms {
		rl.broker.mu.RLock()
		subs := len(rl.broker.byID)
		rl.broker.mu.RUnlock()
		rl.dealer.mu.RLock()
		regs := len(rl.dealer.byID)
		rl.dealer.mu.RUnlock()
		if subs != 0 || regs != 0 {
			return fmt.Errorf("realm %s: %d subscriptions and %d registrations left", name, subs, regs)
		}
	}
	return nil
}

// fuzzPeer is one session of a run, and what it sent.
type fuzzPeer struct {
	pipe *fuzzPipe
	sent map[codec.Type]map[uint64]int // request IDs sent, by type
}

func newFuzzPeer(r *Router, in *fuzzInput) *fuzzPeer {
	ser := codec.MsgPack
	if in.byte()%3 == 2 {
		ser = codec.JSON
	}
	maxSend := 1 << 20
	if in.byte()%4 == 3 {
		maxSend = 512
	}
	p := &fuzzPeer{pipe: newFuzzPipe(ser, maxSend), sent: map[codec.Type]map[uint64]int{}}
	go func() {
		defer close(p.pipe.done)
		r.Serve(p.pipe)
	}()
	return p
}

// wait waits for the session to end.
func (p *fuzzPeer) wait(t *testing.T) {
	select {
	case <-p.pipe.done:
	case <-time.After(fuzzBound):
		t.Fatalf("a session's goroutines still run %v after its connection closed", fuzzBound)
	}
}

func (p *fuzzPeer) ended() bool {
	select {
	case <-p.pipe.done:
		return true
	default:
		return false
	}
}

// send hands msg (MessagePack) to the session's reader in the peer's
// serializer, now and then cut or with a byte changed, and waits until
// the reader has routed it. What the frame turned out to be, if it
// decodes, is recorded: a request whose answer may come.
func (p *fuzzPeer) send(t *testing.T, msg []byte, in *fuzzInput) {
	frame := msg
	if p.pipe.ser == codec.JSON {
		if j, err := codec.NewCodec(codec.JSON).Encode(nil, msg); err == nil {
			frame = j
		} // else: MessagePack on a JSON session, a syntax error
	}
	switch b := in.byte(); {
	case b == 255 && len(frame) > 0:
		frame = frame[:in.n(len(frame))]
	case b == 254 && len(frame) > 0:
		frame = bytes.Clone(frame)
		frame[in.n(len(frame))] ^= in.byte() | 1
	}
	if !p.pipe.deliver(t, frame, in.byte()%8 == 7) {
		return
	}
	m, err := fuzzDecode(p.pipe.ser, frame)
	if err != nil {
		return
	}
	typ, req := m.Type(), uint64(0)
	switch m := m.(type) {
	case *codec.Publish:
		req = m.Request
	case *codec.Subscribe:
		req = m.Request
	case *codec.Unsubscribe:
		req = m.Request
	case *codec.Call:
		req = m.Request
	case *codec.Register:
		req = m.Request
	case *codec.Unregister:
		req = m.Request
	}
	if p.sent[typ] == nil {
		p.sent[typ] = map[uint64]int{}
	}
	p.sent[typ][req]++
}

// check reads what the router sent the session and checks it against
// the protocol and what the session asked for.
func (p *fuzzPeer) check() error {
	p.pipe.mu.Lock()
	out := p.pipe.out
	p.pipe.mu.Unlock()
	subs := map[uint64]bool{}   // subscriptions it was given
	regs := map[uint64]bool{}   // registrations it was given
	invs := map[uint64]bool{}   // invocations it was sent
	answers := map[uint64]int{} // final answers, by CALL request ID
	var closedBy codec.Message  // the ABORT or GOODBYE that ended the session
	requests := func(t codec.Type, id uint64) bool { return p.sent[t][id] > 0 }
	for i, frame := range out {
		msg, err := fuzzDecode(p.pipe.ser, frame)
		if err != nil {
			return fmt.Errorf("message %d does not decode: %v", i, err)
		}
		if closedBy != nil {
			return fmt.Errorf("message %d, %v, after %v", i, msg.Type(), closedBy.Type())
		}
		if i == 0 {
			switch msg.Type() {
			case codec.TypeWelcome, codec.TypeAbort, codec.TypeChallenge:
			default:
				return fmt.Errorf("the first message is %v", msg.Type())
			}
		} else if msg.Type() == codec.TypeWelcome {
			return fmt.Errorf("message %d is a second WELCOME", i)
		}
		if msg.Type().Flow()&codec.FromRouter == 0 {
			return fmt.Errorf("message %d is a %v, which a router does not send", i, msg.Type())
		}
		var ok bool
		switch m := msg.(type) {
		case *codec.Welcome, *codec.Challenge:
			ok = true
		case *codec.Abort:
			closedBy, ok = m, true
		case *codec.Goodbye:
			closedBy, ok = m, true
		case *codec.Published:
			ok = requests(codec.TypePublish, m.Request)
		case *codec.Subscribed:
			ok = requests(codec.TypeSubscribe, m.Request)
			subs[m.Subscription] = true
		case *codec.Unsubscribed:
			ok = m.Request == 0 || requests(codec.TypeUnsubscribe, m.Request)
		case *codec.Registered:
			ok = requests(codec.TypeRegister, m.Request)
			regs[m.Registration] = true
		case *codec.Unregistered:
			ok = m.Request == 0 || requests(codec.TypeUnregister, m.Request)
		case *codec.Event:
			ok = subs[m.Subscription]
		case *codec.Invocation:
			ok = regs[m.Registration]
			invs[m.Request] = true
		case *codec.Interrupt:
			ok = invs[m.Request]
		case *codec.Result:
			ok = requests(codec.TypeCall, m.Request)
			var d codec.ResultDetails
			if d.Decode(m.Details); !d.Progress {
				answers[m.Request]++
			}
		case *codec.Error:
			ok = requests(m.RequestType, m.Request)
			if m.RequestType == codec.TypeCall {
				answers[m.Request]++
			}
		}
		if !ok {
			return fmt.Errorf("message %d, %s, answers nothing the session asked for", i, fuzzDescribe(msg))
		}
	}
	for req, n := range answers {
		if sent := p.sent[codec.TypeCall][req]; n > sent {
			return fmt.Errorf("CALL %d sent %d times, answered %d times", req, sent, n)
		}
	}
	return nil
}

func fuzzDecode(ser codec.Serializer, frame []byte) (codec.Message, error) {
	msg, err := codec.NewCodec(ser).Decode(nil, frame)
	if err != nil {
		return nil, err
	}
	return codec.Decode(bytes.Clone(msg))
}

func fuzzDescribe(m codec.Message) string {
	text, err := codec.ToJSON(nil, m.Append(nil))
	if err != nil {
		return m.Type().String()
	}
	return string(text)
}

// transcript is what the router sent the session, as JSON lines.
func (p *fuzzPeer) transcript() string {
	p.pipe.mu.Lock()
	defer p.pipe.mu.Unlock()
	var b bytes.Buffer
	for _, frame := range p.pipe.out {
		if m, err := fuzzDecode(p.pipe.ser, frame); err != nil {
			fmt.Fprintf(&b, "  %x (%v)\n", frame, err)
		} else {
			fmt.Fprintf(&b, "  %s\n", fuzzDescribe(m))
		}
	}
	return b.String()
}

// fuzzPipe is an in-memory Transport. ReadMsg takes frames from the
// test one at a time, and tells it when the reader is back for the
// next; WriteMsgs keeps what the router sends, or blocks while the peer
// is stalled.
type fuzzPipe struct {
	ser      codec.Serializer
	maxSend  int
	in       chan []byte   // the next frame
	ready    chan struct{} // the reader is back for a frame
	waiting  bool          // the test took ready and owes a frame (test side only)
	more     atomic.Bool   // Buffered: the test has another frame at once
	stalled  atomic.Bool
	closed   chan struct{}
	closeMu  sync.Once
	done     chan struct{} // Serve returned
	mu       sync.Mutex
	out      [][]byte
	dropped  int // messages not kept, past fuzzKeep
	writeErr error
}

// fuzzKeep bounds the messages a pipe keeps.
const fuzzKeep = 20000

var errFuzzPipeClosed = errors.New("fuzz pipe closed")

func newFuzzPipe(ser codec.Serializer, maxSend int) *fuzzPipe {
	return &fuzzPipe{ser: ser, maxSend: maxSend, in: make(chan []byte), ready: make(chan struct{}),
		closed: make(chan struct{}), done: make(chan struct{})}
}

func (p *fuzzPipe) ReadMsg() ([]byte, error) {
	select {
	case p.ready <- struct{}{}:
	case <-p.closed:
		return nil, errFuzzPipeClosed
	}
	select {
	case f := <-p.in:
		return f, nil
	case <-p.closed:
		return nil, errFuzzPipeClosed
	}
}

func (p *fuzzPipe) Buffered() bool { return p.more.Load() }

func (p *fuzzPipe) WriteMsgs(msgs [][]byte) error {
	for p.stalled.Load() {
		select {
		case <-p.closed:
			return errFuzzPipeClosed
		case <-time.After(100 * time.Microsecond):
		}
	}
	select {
	case <-p.closed:
		return errFuzzPipeClosed
	default:
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range msgs {
		if len(m) > p.maxSend {
			p.writeErr = fmt.Errorf("the router wrote %d bytes to a peer that takes %d", len(m), p.maxSend)
			return p.writeErr
		}
		if len(p.out) < fuzzKeep {
			p.out = append(p.out, bytes.Clone(m))
		} else {
			p.dropped++
		}
	}
	return nil
}

func (p *fuzzPipe) MaxSend() int                 { return p.maxSend }
func (p *fuzzPipe) Serializer() codec.Serializer { return p.ser }

func (p *fuzzPipe) isClosed() bool {
	select {
	case <-p.closed:
		return true
	default:
		return false
	}
}

func (p *fuzzPipe) Close() error {
	p.closeMu.Do(func() { close(p.closed) })
	return nil
}

// deliver gives the reader one frame and waits until it has routed it
// (it is back for the next, or the session ended); more is what
// Buffered says meanwhile. It reports whether the reader took the frame.
func (p *fuzzPipe) deliver(t *testing.T, frame []byte, more bool) bool {
	if !p.waiting && !p.await(t) {
		return false
	}
	p.waiting = false
	p.more.Store(more)
	select {
	case p.in <- frame:
	case <-p.done:
		return false
	case <-time.After(fuzzBound):
		t.Fatalf("a session's reader took no frame for %v", fuzzBound)
	}
	p.waiting = p.await(t)
	return true
}

// await waits for the reader to be back for a frame; false if the
// session ended.
func (p *fuzzPipe) await(t *testing.T) bool {
	select {
	case <-p.ready:
		return true
	case <-p.done:
		return false
	case <-time.After(fuzzBound):
		t.Fatalf("a session's reader is stuck: not back for a frame after %v", fuzzBound)
		return false
	}
}

// --- Seeds ---

// fuzzOp spells out one step as the bytes runFuzzSessions reads: the
// session, the action, then the action's own choices (0: the ordinary
// one), then the frame's mutation byte and Buffered byte, both 0.
func fuzzOp(session, act byte, choices ...byte) []byte {
	b := append([]byte{session, act}, choices...)
	switch act {
	case fuzzDrop, fuzzReconnect, fuzzStall:
		return b
	}
	return append(b, 0, 0)
}

// fuzzSeeds are meaningful runs to start from.
func fuzzSeeds() [][]byte {
	// Each peer's serializer and limit choices come right after the
	// config byte: 0 0 is MessagePack with a large limit; 2 0 JSON.
	start := func(conf byte, peers ...byte) []byte { return append([]byte{conf, 0}, peers...) }
	hello := func(s byte) []byte { return fuzzOp(s, fuzzHello, 0, 0, 0, 0, 0) }
	// PUBLISH: id, dict (k), uri, payload.
	publish := func(s, req, k, uri, payload byte, kv ...byte) []byte {
		return fuzzOp(s, fuzzPublish, append(append([]byte{req, k}, kv...), uri, payload)...)
	}
	subscribe := func(s, req, uri byte) []byte { return fuzzOp(s, fuzzSubscribe, req, 0, uri) }
	register := func(s, req, uri byte) []byte { return fuzzOp(s, fuzzRegister, req, 0, uri) }
	call := func(s, req, uri, payload byte) []byte { return fuzzOp(s, fuzzCall, req, 0, uri, payload) }
	yield := func(s, inv, payload byte) []byte { return fuzzOp(s, fuzzYield, inv, 0, payload) }
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	return [][]byte{
		// Three sessions join; one subscribes, one publishes, one calls
		// a procedure the first registered, which yields.
		cat(start(0, 0, 0, 2, 0, 0, 0), hello(0), hello(1), hello(2),
			subscribe(0, 0, 0), publish(1, 0, 0, 0, 1), register(0, 1, 1),
			call(2, 0, 1, 1), yield(0, 0, 1), fuzzOp(1, fuzzGoodbye, 0)),
		// A callee loses its connection with a call pending.
		cat(start(0, 0, 0, 0, 0, 0, 0), hello(0), hello(1), register(0, 0, 0),
			call(1, 0, 0, 0), call(1, 1, 0, 2), fuzzOp(0, fuzzDrop), call(1, 2, 0, 0)),
		// A subscriber stops reading, with a tiny queue; the router shuts down.
		cat(start(0x4c, 0, 0, 0, 0, 0, 0), hello(0), hello(1), subscribe(0, 0, 0),
			fuzzOp(0, fuzzStall), publish(1, 0, 0, 0, 6), publish(1, 1, 0, 0, 6), publish(1, 2, 0, 0, 6)),
		// A caller cancels; the callee answers late; meta calls.
		cat([]byte{0x20, 2, 0, 0, 0, 0, 0, 3}, hello(0), hello(1), register(0, 0, 0),
			call(1, 0, 0, 0), fuzzOp(1, fuzzCancel, 0, 0), yield(0, 0, 0),
			call(1, 1, 7, 0), call(1, 2, 14, 0), call(1, 3, 19, 0)),
		// A JSON peer with a small limit gets a payload it cannot take.
		cat(start(0, 2, 3, 0, 0, 0, 0), hello(0), hello(1), subscribe(0, 0, 0),
			publish(1, 0, 0, 0, 6), publish(1, 1, 0, 0, 4), register(0, 1, 1), call(1, 2, 1, 5)),
		// Protocol violations, then a reconnection.
		cat(start(0, 0, 0, 0, 0, 0, 0), fuzzOp(0, fuzzPublish, 0, 0, 0, 0), hello(1),
			fuzzOp(1, fuzzOther, 10, 0, 0), fuzzOp(0, fuzzReconnect, 0, 0), hello(0), fuzzOp(0, fuzzGarbage, 3, 0x91, 0xc1, 0)),
	}
}
