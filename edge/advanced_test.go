package edge

import (
	"slices"
	"testing"

	"github.com/tinylib/msgp/msgp"
	"github.com/wampedge/wampedge/codec"
)

// Tests of the Advanced Profile features, driving sessions in memory.

// joinCallee joins a session that announces the callee features given.
func joinCallee(t testing.TB, r *Router, features ...string) *testPeer {
	p := &testPeer{s: newSession(r, &memTransport{ser: codec.MsgPack})}
	f := map[string]bool{}
	for _, name := range features {
		f[name] = true
	}
	roles := map[string]codec.Role{"caller": {}, "callee": {Features: f}, "publisher": {}, "subscriber": {}}
	d, _ := (&codec.HelloDetails{Roles: roles, AuthID: "device-7"}).MarshalMsg(nil)
	p.send(t, &codec.Hello{Realm: []byte("realm1"), Details: d})
	if _, ok := p.next(t).(*codec.Welcome); !ok {
		t.Fatal("no WELCOME")
	}
	return p
}

// drain returns every message queued for the peer.
func (p *testPeer) drain(t testing.TB) []codec.Message {
	p.s.q.take(&p.b)
	var out []codec.Message
	for _, raw := range p.b.msgs {
		m, err := codec.Decode(append([]byte(nil), raw...))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// dict encodes a map as MessagePack, for options.
func dict(t testing.TB, m map[string]any) []byte {
	b, err := msgp.AppendIntf(nil, m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// asID reads an ID as MessagePack brings it back: int64 when it fits.
func asID(v any) uint64 {
	switch x := v.(type) {
	case uint64:
		return x
	case int64:
		return uint64(x)
	}
	return 0
}

// list encodes positional arguments.
func list(t testing.TB, a ...any) []byte {
	b, err := msgp.AppendIntf(nil, a)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func args(t testing.TB, raw []byte) []any {
	if len(raw) == 0 {
		return nil
	}
	v, _, err := msgp.ReadIntfBytes(raw)
	if err != nil {
		t.Fatal(err)
	}
	return v.([]any)
}

func TestPatternSubscriptions(t *testing.T) {
	r := New(nil)
	pub, sub := joinPeer(t, r, codec.MsgPack), joinPeer(t, r, codec.MsgPack)
	subscribeWith(t, sub, 1, "com.example.temp", "")
	subscribeWith(t, sub, 2, "com.example", matchPrefix)
	subscribeWith(t, sub, 3, "com..temp", matchWildcard)
	subscribeWith(t, sub, 4, "org.", matchPrefix)         // matches nothing here
	subscribeWith(t, sub, 5, "com.example.", matchPrefix) // trailing dot: Autobahn's form
	pub.send(t, &codec.Publish{Request: 9, Topic: []byte("com.example.temp"), Args: testArgs})
	pub.s.endBurst()
	events := sub.drain(t)
	if len(events) != 4 {
		t.Fatalf("%d events, want one per matching subscription (4): %v", len(events), events)
	}
	publication := events[0].(*codec.Event).Publication
	topics := map[string]bool{}
	for _, m := range events {
		ev := m.(*codec.Event)
		var d codec.EventDetails
		if err := d.Decode(ev.Details); err != nil {
			t.Fatal(err)
		}
		if ev.Publication != publication {
			t.Errorf("publication IDs differ: %d, %d", ev.Publication, publication)
		}
		topics[d.Topic] = true
		if d.Topic != "" && d.Topic != "com.example.temp" {
			t.Errorf("details.topic %q", d.Topic)
		}
	}
	if !topics[""] || !topics["com.example.temp"] {
		t.Errorf("want the exact event without details.topic and the pattern events with it: %v", topics)
	}
	// A wildcard matches only URIs of its own length.
	pub.send(t, &codec.Publish{Request: 10, Topic: []byte("com.example.temp.x")})
	pub.s.endBurst()
	if got := len(sub.drain(t)); got != 2 { // the two prefixes
		t.Errorf("com.example.temp.x: %d events, want 2", got)
	}
	// Bad patterns.
	for _, tc := range []struct{ topic, match string }{{"com..temp", ""}, {"com..temp", matchPrefix}, {"com.ex ample.", matchPrefix}} {
		sub.send(t, &codec.Subscribe{Request: 20, Options: dict(t, map[string]any{"match": tc.match}), Topic: []byte(tc.topic)})
		if e, ok := sub.next(t).(*codec.Error); !ok || string(e.Error) != errInvalidURI {
			t.Errorf("subscribe %q match %q: want invalid_uri", tc.topic, tc.match)
		}
	}
}

func TestPatternRegistrationPrecedence(t *testing.T) {
	r := New(nil)
	caller := joinPeer(t, r, codec.MsgPack)
	exact, prefix, longer, wild1, wild2 := joinPeer(t, r, codec.MsgPack), joinPeer(t, r, codec.MsgPack),
		joinPeer(t, r, codec.MsgPack), joinPeer(t, r, codec.MsgPack), joinPeer(t, r, codec.MsgPack)
	registerWith(t, exact, 1, "a1.b2.c33.d4.e5", "")
	registerWith(t, prefix, 1, "a1", matchPrefix)
	registerWith(t, longer, 1, "a1.b2", matchPrefix)
	registerWith(t, wild1, 1, "x1.b2.c33..e5", matchWildcard)
	registerWith(t, wild2, 1, "x1.b2..d4.e5", matchWildcard)
	for _, tc := range []struct {
		procedure string
		want      *testPeer
		pattern   bool
	}{
		{"a1.b2.c33.d4.e5", exact, false},
		{"a1.b2.c33.d4.e6", longer, true},
		{"a1.b3", prefix, true},
		{"x1.b2.c33.d4.e5", wild1, true}, // the literal run c33 beats the wildcard
		{"x1.b2.c34.d4.e5", wild2, true},
	} {
		caller.send(t, &codec.Call{Request: 5, Procedure: []byte(tc.procedure)})
		caller.s.endBurst()
		inv, ok := tc.want.next(t).(*codec.Invocation)
		if !ok {
			t.Fatalf("%s: not routed to the expected registration", tc.procedure)
		}
		var d codec.InvocationDetails
		d.Decode(inv.Details)
		if tc.pattern && d.Procedure != tc.procedure || !tc.pattern && d.Procedure != "" {
			t.Errorf("%s: details.procedure %q", tc.procedure, d.Procedure)
		}
		tc.want.send(t, &codec.Yield{Request: inv.Request})
		tc.want.s.endBurst()
		caller.next(t)
	}
	caller.send(t, &codec.Call{Request: 6, Procedure: []byte("z9")})
	if e, ok := caller.next(t).(*codec.Error); !ok || string(e.Error) != errNoSuchProcedure {
		t.Fatal("a call nothing matches: want no_such_procedure")
	}
	// The same pattern twice is refused; the same URI with another match is not.
	other := joinPeer(t, r, codec.MsgPack)
	other.send(t, &codec.Register{Request: 1, Options: dict(t, map[string]any{"match": "prefix"}), Procedure: []byte("a1.b2")})
	if e, ok := other.next(t).(*codec.Error); !ok || string(e.Error) != errProcedureExists {
		t.Fatal("a second prefix registration of a1.b2: want procedure_already_exists")
	}
	registerWith(t, other, 2, "a1.b2", "")
}

func TestDisclosure(t *testing.T) {
	r := New(nil)
	pub, sub := joinCallee(t, r), joinPeer(t, r, codec.MsgPack)
	subscribeWith(t, sub, 1, "com.example.temp", "")
	pub.send(t, &codec.Publish{Request: 2, Options: dict(t, map[string]any{"disclose_me": true}), Topic: []byte("com.example.temp")})
	pub.s.endBurst()
	var d codec.EventDetails
	d.Decode(sub.next(t).(*codec.Event).Details)
	if d.Publisher != pub.s.id || d.PublisherAuthID != "device-7" || d.PublisherAuthRole != "anonymous" {
		t.Errorf("disclosed publisher: %+v", d)
	}
	// forward_for counts only from the router's own bridge.
	hop := map[string]any{"session": uint64(99), "authid": "cloud-user", "authrole": "operator"}
	opts := dict(t, map[string]any{"disclose_me": true, "forward_for": []any{hop}})
	pub.send(t, &codec.Publish{Request: 3, Options: opts, Topic: []byte("com.example.temp")})
	pub.s.endBurst()
	d.Decode(sub.next(t).(*codec.Event).Details)
	if d.Publisher != pub.s.id || len(d.ForwardFor) != 0 {
		t.Errorf("forward_for from an ordinary client was believed: %+v", d)
	}
	pub.s.internal = true
	pub.send(t, &codec.Publish{Request: 4, Options: opts, Topic: []byte("com.example.temp")})
	pub.s.endBurst()
	d.Decode(sub.next(t).(*codec.Event).Details)
	if d.Publisher != 99 || d.PublisherAuthID != "cloud-user" || d.PublisherAuthRole != "operator" || len(d.ForwardFor) != 1 {
		t.Errorf("the bridge's forwarded publisher: %+v", d)
	}
	// Caller identification, asked by the caller or by the registration.
	callee := joinPeer(t, r, codec.MsgPack)
	callee.send(t, &codec.Register{Request: 1, Options: dict(t, map[string]any{"disclose_caller": true}), Procedure: []byte("com.example.who")})
	callee.next(t)
	caller := joinPeer(t, r, codec.MsgPack)
	caller.send(t, &codec.Call{Request: 1, Procedure: []byte("com.example.who")})
	caller.s.endBurst()
	var id codec.InvocationDetails
	id.Decode(callee.next(t).(*codec.Invocation).Details)
	if id.Caller != caller.s.id || id.CallerAuthRole != "anonymous" {
		t.Errorf("disclosed caller: %+v", id)
	}
}

func TestBlackWhiteListing(t *testing.T) {
	r := New(nil)
	pub := joinPeer(t, r, codec.MsgPack)
	a, b, c := joinPeer(t, r, codec.MsgPack), joinCallee(t, r), joinPeer(t, r, codec.MsgPack)
	for _, p := range []*testPeer{a, b, c} {
		subscribeWith(t, p, 1, "com.example.t", "")
	}
	for _, tc := range []struct {
		opts map[string]any
		want []*testPeer
	}{
		{map[string]any{"exclude": []any{a.s.id}}, []*testPeer{b, c}},
		{map[string]any{"eligible": []any{a.s.id, b.s.id}}, []*testPeer{a, b}},
		{map[string]any{"eligible": []any{a.s.id, b.s.id}, "exclude_authid": []any{"device-7"}}, []*testPeer{a}},
		{map[string]any{"eligible_authrole": []any{"nobody"}}, nil},
	} {
		pub.send(t, &codec.Publish{Request: 2, Options: dict(t, tc.opts), Topic: []byte("com.example.t")})
		pub.s.endBurst()
		for _, p := range []*testPeer{a, b, c} {
			got := len(p.drain(t)) == 1
			if got != slices.Contains(tc.want, p) {
				t.Errorf("%v: session %d got the event: %v", tc.opts, p.s.id, got)
			}
		}
	}
}

func TestProgressiveResults(t *testing.T) {
	r := New(nil)
	caller := joinPeer(t, r, codec.MsgPack)
	callee := joinCallee(t, r, "progressive_call_results", "call_canceling")
	registerWith(t, callee, 1, "com.example.count", "")
	caller.send(t, &codec.Call{Request: 3, Options: dict(t, map[string]any{"receive_progress": true}), Procedure: []byte("com.example.count")})
	caller.s.endBurst()
	inv := callee.next(t).(*codec.Invocation)
	var d codec.InvocationDetails
	d.Decode(inv.Details)
	if !d.ReceiveProgress {
		t.Fatal("INVOCATION lacks receive_progress")
	}
	progress := dict(t, map[string]any{"progress": true})
	for i := range 3 {
		callee.send(t, &codec.Yield{Request: inv.Request, Options: progress, Args: list(t, i)})
	}
	callee.send(t, &codec.Yield{Request: inv.Request, Args: list(t, "done")})
	callee.s.endBurst()
	results := caller.drain(t)
	if len(results) != 4 {
		t.Fatalf("%d results, want 3 progressive and a final one", len(results))
	}
	for i, m := range results {
		res := m.(*codec.Result)
		var rd codec.ResultDetails
		rd.Decode(res.Details)
		if rd.Progress != (i < 3) || res.Request != 3 {
			t.Errorf("result %d: progress %v request %d", i, rd.Progress, res.Request)
		}
	}
	// The call is over: its request ID is free again, a late YIELD is ignored.
	callee.send(t, &codec.Yield{Request: inv.Request, Options: progress})
	if got := len(caller.drain(t)); got != 0 {
		t.Errorf("a YIELD after the final one reached the caller")
	}

	// A callee that did not announce the feature is not asked, and its
	// progressive YIELDs are dropped.
	plain := joinPeer(t, r, codec.MsgPack)
	registerWith(t, plain, 1, "com.example.plain", "")
	caller.send(t, &codec.Call{Request: 4, Options: dict(t, map[string]any{"receive_progress": true}), Procedure: []byte("com.example.plain")})
	caller.s.endBurst()
	inv = plain.next(t).(*codec.Invocation)
	if len(inv.Details) > 1 {
		t.Errorf("INVOCATION details %x for a callee without progressive_call_results", inv.Details)
	}
	plain.send(t, &codec.Yield{Request: inv.Request, Options: progress})
	plain.send(t, &codec.Yield{Request: inv.Request})
	plain.s.endBurst()
	if got := caller.drain(t); len(got) != 1 {
		t.Errorf("%d results, want only the final one", len(got))
	}
}

func TestCancel(t *testing.T) {
	for _, tc := range []struct {
		mode            string
		calleeFeatures  []string
		interrupt       bool // the callee gets INTERRUPT
		canceledAtOnce  bool // the caller gets wamp.error.canceled at once
		calleeAnswerGot bool // the callee's later answer reaches the caller
	}{
		{"skip", []string{"call_canceling"}, false, true, false},
		{"killnowait", []string{"call_canceling"}, true, true, false},
		{"", []string{"call_canceling"}, true, true, false},
		{"kill", []string{"call_canceling"}, true, false, true},
		{"kill", nil, false, true, false}, // a callee without the feature: skip
	} {
		t.Run(tc.mode+"/"+slices.Concat(tc.calleeFeatures, []string{""})[0], func(t *testing.T) {
			r := New(nil)
			caller, callee := joinPeer(t, r, codec.MsgPack), joinCallee(t, r, tc.calleeFeatures...)
			registerWith(t, callee, 1, "com.example.slow", "")
			caller.send(t, &codec.Call{Request: 8, Procedure: []byte("com.example.slow")})
			caller.s.endBurst()
			inv := callee.next(t).(*codec.Invocation)
			var opts []byte
			if tc.mode != "" {
				opts = dict(t, map[string]any{"mode": tc.mode})
			}
			caller.send(t, &codec.Cancel{Request: 8, Options: opts})
			caller.s.endBurst()
			got := caller.drain(t)
			if tc.canceledAtOnce != (len(got) == 1) {
				t.Fatalf("caller got %v at once", got)
			}
			if tc.canceledAtOnce {
				if e := got[0].(*codec.Error); string(e.Error) != errCanceled || e.Request != 8 || e.RequestType != codec.TypeCall {
					t.Fatalf("caller got %+v", e)
				}
			}
			calleeGot := callee.drain(t)
			if tc.interrupt != (len(calleeGot) == 1) {
				t.Fatalf("callee got %v", calleeGot)
			}
			if tc.interrupt && calleeGot[0].(*codec.Interrupt).Request != inv.Request {
				t.Fatalf("INTERRUPT for the wrong invocation")
			}
			callee.send(t, &codec.Error{RequestType: codec.TypeInvocation, Request: inv.Request, Error: []byte(errCanceled)})
			callee.s.endBurst()
			if later := caller.drain(t); (len(later) == 1) != tc.calleeAnswerGot {
				t.Fatalf("caller got %v after the callee answered", later)
			}
			// The request ID is free again; a second CANCEL is ignored.
			caller.send(t, &codec.Cancel{Request: 8})
			caller.send(t, &codec.Call{Request: 8, Procedure: []byte("com.example.slow")})
			caller.s.endBurst()
			if _, ok := callee.next(t).(*codec.Invocation); !ok {
				t.Fatal("the request ID was not freed")
			}
		})
	}
	t.Run("duplicate request ID", func(t *testing.T) {
		r := New(nil)
		caller, callee := joinPeer(t, r, codec.MsgPack), joinCallee(t, r)
		registerWith(t, callee, 1, "com.example.slow", "")
		caller.send(t, &codec.Call{Request: 8, Procedure: []byte("com.example.slow")})
		if caller.s.handle((&codec.Call{Request: 8, Procedure: []byte("com.example.slow")}).Append(nil)) {
			t.Fatal("a second CALL with a request ID in use: want a protocol violation")
		}
	})
}

func TestMetaAPI(t *testing.T) {
	r := New(nil)
	watcher := joinPeer(t, r, codec.MsgPack)
	subscribeWith(t, watcher, 1, "wamp.registration.", matchPrefix)
	subscribeWith(t, watcher, 2, "wamp.session.on_", matchPrefix)
	callee := joinPeer(t, r, codec.MsgPack)
	if ev := watcher.next(t).(*codec.Event); asID(args(t, ev.Args)[0].(map[string]any)["session"]) != callee.s.id {
		t.Errorf("on_join: %v", args(t, ev.Args))
	}
	registerWith(t, callee, 1, "com.example.", matchPrefix)
	var regID uint64
	created := watcher.drain(t)
	if len(created) != 2 {
		t.Fatalf("%d meta events for a registration, want on_create and on_register", len(created))
	}
	for i, want := range []string{metaRegOnCreate, metaRegOnRegister} {
		ev := created[i].(*codec.Event)
		var d codec.EventDetails
		d.Decode(ev.Details)
		a := args(t, ev.Args)
		if d.Topic != want || asID(a[0]) != callee.s.id {
			t.Fatalf("meta event %d: %s %v, want %s", i, d.Topic, a, want)
		}
		if i == 0 {
			details := a[1].(map[string]any)
			regID = asID(details["id"])
			if details["uri"] != "com.example." || details["match"] != "prefix" {
				t.Errorf("on_create details %v", details)
			}
		}
	}
	call := func(procedure string, a ...any) any {
		t.Helper()
		watcher.send(t, &codec.Call{Request: 50, Procedure: []byte(procedure), Args: list(t, a...)})
		m := watcher.next(t)
		res, ok := m.(*codec.Result)
		if !ok {
			t.Fatalf("%s: %v", procedure, m)
		}
		return args(t, res.Args)[0]
	}
	if got := call("wamp.registration.list").(map[string]any); len(got["prefix"].([]any)) != 1 || asID(got["prefix"].([]any)[0]) != regID {
		t.Errorf("list: %v", got)
	}
	if got := call("wamp.registration.lookup", "com.example.", map[string]any{"match": "prefix"}); asID(got) != regID {
		t.Errorf("lookup: %v", got)
	}
	if got := call("wamp.registration.lookup", "com.example."); got != nil {
		t.Errorf("lookup of the exact URI: %v, want nil", got)
	}
	if got := call("wamp.registration.match", "com.example.add"); asID(got) != regID {
		t.Errorf("match: %v", got)
	}
	if got := call("wamp.registration.get", regID).(map[string]any); got["uri"] != "com.example." {
		t.Errorf("get: %v", got)
	}
	if got := call("wamp.registration.list_callees", regID).([]any); len(got) != 1 || asID(got[0]) != callee.s.id {
		t.Errorf("list_callees: %v", got)
	}
	if got := call("wamp.session.count"); asID(got) != 2 {
		t.Errorf("session.count: %v", got)
	}
	if got := call("wamp.subscription.match", "wamp.registration.on_create").([]any); len(got) != 1 {
		t.Errorf("subscription.match: %v", got)
	}
	watcher.send(t, &codec.Call{Request: 51, Procedure: []byte("wamp.registration.get"), Args: list(t, 12345)})
	if e, ok := watcher.next(t).(*codec.Error); !ok || string(e.Error) != errNoSuchRegistration {
		t.Errorf("get of an unknown registration: want no_such_registration")
	}
	// Leaving: unregister before delete, then on_leave.
	callee.s.leave()
	callee.s.endBurst()
	var order []string
	for _, m := range watcher.drain(t) {
		ev := m.(*codec.Event)
		var d codec.EventDetails
		d.Decode(ev.Details)
		order = append(order, d.Topic)
	}
	if !slices.Equal(order, []string{metaRegOnUnregister, metaRegOnDelete, metaSessionOnLeave}) {
		t.Errorf("events on leave: %v", order)
	}
}

func TestSharedRegistrations(t *testing.T) {
	r := New(nil)
	caller := joinPeer(t, r, codec.MsgPack)
	register := func(p *testPeer, invoke string) codec.Message {
		p.send(t, &codec.Register{Request: 1, Options: dict(t, map[string]any{"invoke": invoke}), Procedure: []byte("com.example.work")})
		return p.next(t)
	}
	callees := []*testPeer{joinPeer(t, r, codec.MsgPack), joinPeer(t, r, codec.MsgPack), joinPeer(t, r, codec.MsgPack)}
	for _, p := range callees {
		if _, ok := register(p, "roundrobin").(*codec.Registered); !ok {
			t.Fatal("a roundrobin callee was refused")
		}
	}
	// Mixing policies on one URI is refused.
	other := joinPeer(t, r, codec.MsgPack)
	if e, ok := register(other, "random").(*codec.Error); !ok || string(e.Error) != errProcedureExists {
		t.Fatal("invoke random on a roundrobin registration: want procedure_already_exists")
	}
	// callTo calls and returns the index of the callee that got it.
	callTo := func() int {
		t.Helper()
		caller.send(t, &codec.Call{Request: 9, Procedure: []byte("com.example.work")})
		caller.s.endBurst()
		for i, p := range callees {
			if p == nil {
				continue
			}
			if msgs := p.drain(t); len(msgs) == 1 {
				inv := msgs[0].(*codec.Invocation)
				p.send(t, &codec.Yield{Request: inv.Request})
				p.s.endBurst()
				caller.next(t)
				return i
			}
		}
		t.Fatal("no callee got the call")
		return -1
	}
	var order []int
	for range 4 {
		order = append(order, callTo())
	}
	if !slices.Equal(order, []int{0, 1, 2, 0}) {
		t.Errorf("roundrobin order %v", order)
	}
	// A callee leaving mid-rotation: the others go on taking turns.
	callees[1].s.leave()
	callees[1] = nil
	order = order[:0]
	for range 4 {
		order = append(order, callTo())
	}
	if slices.Contains(order, 1) || !slices.Contains(order, 0) || !slices.Contains(order, 2) {
		t.Errorf("after a callee left: %v", order)
	}
	// first and last; a single registration refuses a second callee.
	r2 := New(nil)
	a, b := joinPeer(t, r2, codec.MsgPack), joinPeer(t, r2, codec.MsgPack)
	for _, p := range []*testPeer{a, b} {
		p.send(t, &codec.Register{Request: 1, Options: dict(t, map[string]any{"invoke": "last"}), Procedure: []byte("p.last")})
		p.next(t)
	}
	c2 := joinPeer(t, r2, codec.MsgPack)
	c2.send(t, &codec.Call{Request: 1, Procedure: []byte("p.last")})
	c2.s.endBurst()
	if _, ok := b.next(t).(*codec.Invocation); !ok {
		t.Error("invoke last: the last callee did not get the call")
	}
	registerWith(t, a, 2, "p.single", "")
	b.send(t, &codec.Register{Request: 3, Procedure: []byte("p.single")})
	if e, ok := b.next(t).(*codec.Error); !ok || string(e.Error) != errProcedureExists {
		t.Error("a second callee of a single registration: want procedure_already_exists")
	}
}

func TestEventRetention(t *testing.T) {
	r := New(&Config{MaxRetained: 2})
	pub := joinPeer(t, r, codec.MsgPack)
	retain := dict(t, map[string]any{"retain": true, "disclose_me": true})
	for _, topic := range []string{"dev.a.state", "dev.b.state", "dev.c.state"} {
		pub.send(t, &codec.Publish{Request: 1, Options: retain, Topic: []byte(topic), Args: list(t, topic)})
	}
	pub.send(t, &codec.Publish{Request: 2, Options: retain, Topic: []byte("dev.c.state"), Args: list(t, "c again")})
	pub.send(t, &codec.Publish{Request: 3, Topic: []byte("dev.b.state"), Args: list(t, "not retained")})
	sub := joinPeer(t, r, codec.MsgPack)
	get := dict(t, map[string]any{"get_retained": true, "match": "prefix"})
	sub.send(t, &codec.Subscribe{Request: 4, Options: get, Topic: []byte("dev.")})
	msgs := sub.drain(t)
	if _, ok := msgs[0].(*codec.Subscribed); !ok || len(msgs) != 3 {
		t.Fatalf("got %v, want SUBSCRIBED then the 2 retained events (a was evicted: at most 2)", msgs)
	}
	got := map[string]any{}
	for _, m := range msgs[1:] {
		ev := m.(*codec.Event)
		var d codec.EventDetails
		d.Decode(ev.Details)
		if !d.Retained || d.Publisher != pub.s.id {
			t.Errorf("retained event details %+v", d)
		}
		got[d.Topic] = args(t, ev.Args)[0]
	}
	if got["dev.b.state"] != "dev.b.state" || got["dev.c.state"] != "c again" {
		t.Errorf("retained: %v", got)
	}
	// Without get_retained, nothing old comes.
	other := joinPeer(t, r, codec.MsgPack)
	subscribeWith(t, other, 5, "dev.c.state", "")
	if extra := other.drain(t); len(extra) != 0 {
		t.Errorf("a subscription without get_retained got %v", extra)
	}
}

func TestTestament(t *testing.T) {
	r := New(nil)
	device, watcher := joinPeer(t, r, codec.MsgPack), joinPeer(t, r, codec.MsgPack)
	subscribeWith(t, watcher, 1, "dev.7.status", "")
	device.send(t, &codec.Call{Request: 2, Procedure: []byte("wamp.session.add_testament"),
		Args: list(t, "dev.7.status", []any{"offline"}, map[string]any{"why": "lost"}), Kwargs: dict(t, map[string]any{"publish_options": map[string]any{"retain": true}})})
	if _, ok := device.next(t).(*codec.Result); !ok {
		t.Fatal("add_testament failed")
	}
	device.send(t, &codec.Call{Request: 3, Procedure: []byte("wamp.session.add_testament"), Args: list(t, "dev.7.other", []any{1}, map[string]any{})})
	device.next(t)
	device.send(t, &codec.Call{Request: 4, Procedure: []byte("wamp.session.add_testament"), Args: list(t, "wamp.evil", []any{}, map[string]any{})})
	if e, ok := device.next(t).(*codec.Error); !ok || string(e.Error) != errInvalidURI {
		t.Fatal("a testament on a wamp. topic: want invalid_uri")
	}
	device.s.leave() // lost, as to SIGKILL
	device.s.endBurst()
	ev, ok := watcher.next(t).(*codec.Event)
	if !ok || args(t, ev.Args)[0] != "offline" {
		t.Fatalf("the testament: %v", ev)
	}
	// Retained, so a dashboard that starts later sees the device offline.
	late := joinPeer(t, r, codec.MsgPack)
	late.send(t, &codec.Subscribe{Request: 1, Options: dict(t, map[string]any{"get_retained": true}), Topic: []byte("dev.7.status")})
	if msgs := late.drain(t); len(msgs) != 2 {
		t.Errorf("a late subscriber got %v, want SUBSCRIBED and the retained testament", msgs)
	}
	// flush_testaments forgets them.
	d2 := joinPeer(t, r, codec.MsgPack)
	d2.send(t, &codec.Call{Request: 1, Procedure: []byte("wamp.session.add_testament"), Args: list(t, "dev.7.status", []any{"x"}, map[string]any{})})
	d2.next(t)
	d2.send(t, &codec.Call{Request: 2, Procedure: []byte("wamp.session.flush_testaments")})
	if res := d2.next(t).(*codec.Result); asID(args(t, res.Args)[0]) != 1 {
		t.Errorf("flush_testaments: %v", args(t, res.Args))
	}
	d2.s.leave()
	d2.s.endBurst()
	if msgs := watcher.drain(t); len(msgs) != 0 {
		t.Errorf("a flushed testament was published: %v", msgs)
	}
}

func TestSessionKill(t *testing.T) {
	r := New(nil)
	admin, victim, bystander := joinPeer(t, r, codec.MsgPack), joinCallee(t, r), joinPeer(t, r, codec.MsgPack)
	admin.send(t, &codec.Call{Request: 1, Procedure: []byte("wamp.session.kill"), Args: list(t, victim.s.id),
		Kwargs: dict(t, map[string]any{"reason": "com.example.maintenance", "message": "bye"})})
	if _, ok := admin.next(t).(*codec.Result); !ok {
		t.Fatal("kill failed")
	}
	g, ok := victim.next(t).(*codec.Goodbye)
	var cd codec.CloseDetails
	cd.Decode(codec.TypeGoodbye, g.Details)
	if !ok || string(g.Reason) != "com.example.maintenance" || cd.Message != "bye" {
		t.Fatalf("the victim got %v", g)
	}
	admin.send(t, &codec.Call{Request: 2, Procedure: []byte("wamp.session.kill"), Args: list(t, admin.s.id)})
	if e, ok := admin.next(t).(*codec.Error); !ok || string(e.Error) != errNoSuchSession {
		t.Error("killing oneself: want no_such_session")
	}
	admin.send(t, &codec.Call{Request: 3, Procedure: []byte("wamp.session.kill_by_authid"), Args: list(t, "device-7")})
	if res, ok := admin.next(t).(*codec.Result); !ok || len(args(t, res.Args)[0].([]any)) != 0 {
		t.Errorf("kill_by_authid of a session already shutting down: %v", res)
	}
	admin.send(t, &codec.Call{Request: 4, Procedure: []byte("wamp.session.kill_all")})
	if res, ok := admin.next(t).(*codec.Result); !ok || asID(args(t, res.Args)[0]) != 1 { // the bystander; the victim is already leaving
		t.Errorf("kill_all: %v", res)
	}
	if _, ok := bystander.next(t).(*codec.Goodbye); !ok {
		t.Error("kill_all: the bystander got no GOODBYE")
	}
}

func TestProgressiveCallInvocations(t *testing.T) {
	r := New(nil)
	caller := joinPeer(t, r, codec.MsgPack)
	callee := joinCallee(t, r, "progressive_call_invocations", "call_canceling")
	registerWith(t, callee, 1, "com.example.upload", "")
	chunk := dict(t, map[string]any{"progress": true})
	for i := range 3 {
		opts := chunk
		if i == 2 {
			opts = nil // the last chunk
		}
		caller.send(t, &codec.Call{Request: 7, Options: opts, Procedure: []byte("com.example.upload"), Args: list(t, i)})
	}
	caller.s.endBurst()
	msgs := callee.drain(t)
	if len(msgs) != 3 {
		t.Fatalf("the callee got %d INVOCATIONs, want one per chunk", len(msgs))
	}
	inv0 := msgs[0].(*codec.Invocation).Request
	for i, m := range msgs {
		inv := m.(*codec.Invocation)
		var d codec.InvocationDetails
		d.Decode(inv.Details)
		if inv.Request != inv0 || d.Progress != (i < 2) || asID(args(t, inv.Args)[0]) != uint64(i) {
			t.Errorf("chunk %d: request %d progress %v args %v", i, inv.Request, d.Progress, args(t, inv.Args))
		}
	}
	callee.send(t, &codec.Yield{Request: inv0, Args: list(t, "stored")})
	callee.s.endBurst()
	if res, ok := caller.next(t).(*codec.Result); !ok || args(t, res.Args)[0] != "stored" {
		t.Fatal("no result after the last chunk")
	}
	// A callee without the feature: feature_not_supported.
	plain := joinCallee(t, r, "call_canceling")
	registerWith(t, plain, 1, "com.example.plain", "")
	caller.send(t, &codec.Call{Request: 8, Options: chunk, Procedure: []byte("com.example.plain")})
	if e, ok := caller.next(t).(*codec.Error); !ok || string(e.Error) != errFeatureNotSupported {
		t.Fatal("a progressive call to a callee without the feature: want feature_not_supported")
	}
}
