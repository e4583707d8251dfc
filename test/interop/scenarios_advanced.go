package interop

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// The Advanced Profile scenarios: each feature that wampedge announces,
// exercised with every library that has it. Where a scenario needs a
// counterpart that does something the library under test is not being
// asked about (a callee that sends progressive results to the library's
// call, a subscriber that reports the publisher the library disclosed),
// the counterpart is wampedge's own client, with the row's serializer.

// counterpart starts wampedge's own client with the row's serializer.
func (e *env) counterpart(label string) Peer { return e.peerOf(edgeKind, e.ser, label) }

// call calls and waits for the outcome.
func (e *env) call(p Peer, procedure string, pl Payload, o CallOpts) (CallResult, error) {
	e.t.Helper()
	pc, err := p.StartCall(procedure, pl, o)
	if err != nil {
		return CallResult{}, err
	}
	return pc.Wait()
}

// whoamiOf reads the answer of a "whoami" callee.
func (e *env) whoamiOf(res Payload) (procedure string, caller, callee uint64) {
	e.t.Helper()
	procedure, _ = res.Kwargs["procedure"].(string)
	caller, callee = idValue(res.Kwargs["caller"]), idValue(res.Kwargs["callee"])
	if callee == 0 {
		e.t.Fatalf("not the answer of a whoami callee: %v", res)
	}
	return procedure, caller, callee
}

// expectNote waits for p's next note, which must be of that kind.
func (e *env) expectNote(p Peer, kind, what string) Note {
	e.t.Helper()
	select {
	case n := <-p.Notes():
		if n.Kind != kind {
			e.t.Fatalf("%s: got the note %+v, want %q", what, n, kind)
		}
		return n
	case <-time.After(opTimeout):
		e.t.Fatalf("%s: no %q note within %v", what, kind, opTimeout)
	}
	return Note{}
}

// sync waits until the router has handled everything p sent before: a
// call's answer comes after them.
func (e *env) sync(p Peer) {
	e.t.Helper()
	_, err := p.Call("wamp.session.count", Payload{})
	e.must(err, "a round trip (wamp.session.count)")
}

// eventWhere waits for an event of p that satisfies match, passing over
// others (meta events of the sessions of other rows, which run at the
// same time in the same realm).
func (e *env) eventWhere(p Peer, what string, match func(Event) bool) Event {
	e.t.Helper()
	deadline := time.After(opTimeout)
	for {
		select {
		case ev := <-p.Events():
			if match(ev) {
				return ev
			}
		case <-deadline:
			e.t.Fatalf("no event (%s) within %v", what, opTimeout)
		}
	}
}

// startInvoked starts a cancelable call of a "slow" callee and waits for
// the invocation to reach it. ok is false, after a note for the matrix,
// when the caller's library cannot cancel with that mode.
func (e *env) startInvoked(caller, callee Peer, procedure string, o CallOpts) (pc PendingCall, ok bool) {
	e.t.Helper()
	what := "a call to cancel with mode " + modeName(o.CancelMode)
	pc, err := caller.StartCall(procedure, Payload{Args: []any{what}}, o)
	if why, unsupported := unsupportedWhy(err); unsupported {
		return nil, e.skipMode(o.CancelMode, why)
	}
	e.must(err, what)
	select {
	case n := <-callee.Notes():
		if n.Kind != "invoked" {
			e.t.Fatalf("%s: got the note %+v, want the invocation", what, n)
		}
		return pc, true
	case <-pc.Done():
		_, err := pc.Wait()
		if why, unsupported := unsupportedWhy(err); unsupported {
			return nil, e.skipMode(o.CancelMode, why)
		}
		e.t.Fatalf("%s ended before it reached the callee: %v", what, err)
	case <-time.After(opTimeout):
		e.t.Fatalf("%s did not reach the callee within %v", what, opTimeout)
	}
	return nil, false
}

func (e *env) skipMode(mode, why string) bool {
	e.reduced(fmt.Sprintf("cancel mode %s: %s", modeName(mode), why))
	e.modesLacking = append(e.modesLacking, why)
	return false
}

func modeName(mode string) string { return cmpOr(mode, "(the library's default, no mode)") }

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// expectCanceled checks a cancelled call's outcome: the router's
// wamp.error.canceled, or, for a library that does not report the
// router's answer to a call it gave up on, its own word.
func (e *env) expectCanceled(err error, what string) {
	e.t.Helper()
	if err == errCanceledLocally {
		e.t.Logf("%s: %v", what, err)
		return
	}
	e.expectError(err, "wamp.error.canceled", what)
}

// sessionInfo is wamp.session.get of a session: its authid and authrole.
func (e *env) sessionInfo(asker Peer, session uint64) (authid, authrole string) {
	e.t.Helper()
	res, err := asker.Call("wamp.session.get", Payload{Args: []any{session}})
	e.must(err, "wamp.session.get")
	if len(res.Args) != 1 {
		e.t.Fatalf("wamp.session.get: got %v, want one dict", res)
	}
	d, _ := res.Args[0].(map[string]any)
	if idValue(d["session"]) != session {
		e.t.Fatalf("wamp.session.get(%d): got %v", session, d)
	}
	authid, _ = d["authid"].(string)
	authrole, _ = d["authrole"].(string)
	return authid, authrole
}

var advancedScenarios = []scenario{
	// Pattern-based subscriptions: EVENT.Details.topic names the topic
	// published to.
	{"pattern_sub", func(e *env) {
		a, b := e.peer("sub"), e.peer("pub")
		sp, err := a.SubscribeWith(e.uri("p"), SubOpts{Match: "prefix"})
		e.must(err, "subscribe with match prefix")
		sw, err := a.SubscribeWith(e.uri("w..z"), SubOpts{Match: "wildcard"})
		e.must(err, "subscribe with match wildcard")
		if sp == sw && sp != 0 {
			e.t.Fatalf("a prefix and a wildcard subscription share the ID %d", sp)
		}
		want := map[string]struct {
			topic string
			sub   uint64
		}{"prefix": {e.uri("p.x.y"), sp}, "wildcard": {e.uri("w.any.z"), sw}}
		// First what matches neither: the wildcard's component count
		// differs, and the prefix is not a prefix of it.
		e.must(b.Publish(e.uri("w.any.z.more"), Payload{Args: []any{"neither"}}, e.ack(), nil), "publish to a topic no pattern matches")
		for _, which := range []string{"prefix", "wildcard"} {
			e.must(b.Publish(want[which].topic, Payload{Args: []any{which}}, e.ack(), nil), "publish to a topic the "+which+" matches")
		}
		for range 2 {
			ev := e.nextEvent(a, "an event through a pattern")
			which, _ := ev.Args[0].(string)
			w, ok := want[which]
			if !ok {
				e.t.Fatalf("an event that no pattern matches was delivered: %v", ev.Payload)
			}
			delete(want, which)
			if ev.Details == nil || ev.Details.Topic != w.topic {
				e.t.Fatalf("the %s event: details %+v, want the topic %s", which, ev.Details, w.topic)
			}
			if _, lacks := e.kind.lacks["subscription_ids"]; !lacks && ev.Subscription != 0 && ev.Subscription != w.sub {
				e.t.Fatalf("the %s event came on subscription %d, want %d", which, ev.Subscription, w.sub)
			}
		}
		e.barrier(a, b, "after the pattern events")
	}},
	// Pattern-based registrations: exact beats the longest prefix, which
	// beats a shorter one; INVOCATION.Details.procedure names the
	// procedure called.
	{"pattern_reg", func(e *env) {
		callee, caller := e.peer("callee"), e.peer("caller")
		for _, r := range []struct {
			proc string
			o    RegOpts
		}{
			{e.uri("p"), RegOpts{Behavior: "whoami", Match: "prefix"}},
			{e.uri("p.long"), RegOpts{Behavior: "error", Match: "prefix"}},
			{e.uri("p.exact"), RegOpts{Behavior: "echo"}},
			{e.uri("w..z"), RegOpts{Behavior: "whoami", Match: "wildcard"}},
		} {
			_, err := callee.RegisterWith(r.proc, r.o)
			e.must(err, fmt.Sprintf("register %s (%s)", r.proc, cmpOr(r.o.Match, "exact")))
		}
		for _, proc := range []string{e.uri("p.x.y"), e.uri("w.any.z")} {
			res, err := caller.Call(proc, Payload{})
			e.must(err, "call "+proc)
			if got, _, _ := e.whoamiOf(res); got != proc {
				e.t.Fatalf("the callee was told the procedure %q, want %q", got, proc)
			}
		}
		res, err := caller.Call(e.uri("p.exact"), positional)
		e.must(err, "call the exact registration")
		if err := samePayload(positional, res); err != nil {
			e.t.Fatalf("the exact registration did not answer: %v", err)
		}
		_, err = caller.Call(e.uri("p.long.x"), both)
		e.expectError(err, "com.example.error", "call under the longer prefix")
		_, err = caller.Call(e.uri("q"), both)
		e.expectError(err, "wamp.error.no_such_procedure", "call that no pattern matches")
	}},
	// Shared registration: two callees of the library, roundrobin.
	{"shared_reg", func(e *env) {
		a1, a2, caller := e.peer("callee1"), e.peer("callee2"), e.peer("caller")
		proc := e.uri("shared")
		r1, err := a1.RegisterWith(proc, RegOpts{Behavior: "whoami", Invoke: "roundrobin"})
		e.must(err, "register roundrobin (first callee)")
		r2, err := a2.RegisterWith(proc, RegOpts{Behavior: "whoami", Invoke: "roundrobin"})
		e.must(err, "register roundrobin (second callee)")
		if _, lacks := e.kind.lacks["subscription_ids"]; !lacks && r1 != r2 {
			e.t.Fatalf("the callees of a shared registration got the IDs %d and %d", r1, r2)
		}
		_, err = caller.RegisterWith(proc, RegOpts{Behavior: "echo", Invoke: "first"})
		e.expectError(err, "wamp.error.procedure_already_exists", "register with another invoke policy")
		var got []uint64
		for range 4 {
			res, err := caller.Call(proc, Payload{})
			e.must(err, "call the shared procedure")
			_, _, callee := e.whoamiOf(res)
			got = append(got, callee)
		}
		ids := []uint64{a1.Session(), a2.Session()}
		if got[0] == got[1] || got[2] != got[0] || got[3] != got[1] || !slices.Contains(ids, got[0]) || !slices.Contains(ids, got[1]) {
			e.t.Fatalf("roundrobin between %v answered %v", ids, got)
		}
		// first and last: always the callee registered first, or last;
		// random: both, in 20 calls (all alike once in 500,000 runs).
		for _, c := range []struct {
			invoke string
			calls  int
			want   func(got []uint64) bool
		}{
			{"first", 3, func(got []uint64) bool {
				return !slices.ContainsFunc(got, func(id uint64) bool { return id != ids[0] })
			}},
			{"last", 3, func(got []uint64) bool {
				return !slices.ContainsFunc(got, func(id uint64) bool { return id != ids[1] })
			}},
			{"random", 20, func(got []uint64) bool { return slices.Contains(got, ids[0]) && slices.Contains(got, ids[1]) }},
		} {
			proc := e.uri(c.invoke)
			for _, a := range []Peer{a1, a2} {
				_, err := a.RegisterWith(proc, RegOpts{Behavior: "whoami", Invoke: c.invoke})
				e.must(err, "register "+c.invoke)
			}
			var got []uint64
			for range c.calls {
				res, err := caller.Call(proc, Payload{})
				e.must(err, "call a procedure shared "+c.invoke)
				_, _, callee := e.whoamiOf(res)
				got = append(got, callee)
			}
			if !c.want(got) {
				e.t.Fatalf("%s between %v (registered in that order) answered %v", c.invoke, ids, got)
			}
		}
	}},
	// Progressive call results, the library calling.
	{"progress_caller", func(e *env) {
		callee := e.counterpart("edge-callee")
		proc := e.uri("progress")
		_, err := callee.RegisterWith(proc, RegOpts{Behavior: "progress", Count: 3})
		e.must(err, "register (wampedge client)")
		res, err := e.call(e.peer("caller"), proc, both, CallOpts{ReceiveProgress: true})
		e.must(err, "call with receive_progress")
		e.expectProgress(res, 3)
	}},
	// Progressive call results, the library answering.
	{"progress_callee", func(e *env) {
		callee := e.peer("callee")
		proc := e.uri("progress")
		_, err := callee.RegisterWith(proc, RegOpts{Behavior: "progress", Count: 3})
		e.must(err, "register")
		res, err := e.call(e.counterpart("edge-caller"), proc, both, CallOpts{ReceiveProgress: true})
		if errorURI(err) == errNoProgress {
			e.lacks("progress_callee")
			e.t.Fatalf("the callee was not offered progressive results (%v)", err)
		}
		e.must(err, "call with receive_progress (wampedge client)")
		e.expectProgress(res, 3)
	}},
	// Call canceling, the library cancelling: each mode it has, against
	// a callee that reports the INTERRUPT.
	{"cancel_caller", func(e *env) {
		callee := e.counterpart("edge-callee")
		proc := e.uri("slow")
		_, err := callee.RegisterWith(proc, RegOpts{Behavior: "slow"})
		e.must(err, "register (wampedge client)")
		caller := e.peer("caller")
		tried := 0
		for _, mode := range []string{"skip", "kill", "killnowait", ""} {
			pc, ok := e.startInvoked(caller, callee, proc, CallOpts{Cancelable: true, CancelMode: mode})
			if !ok {
				continue
			}
			tried++
			what := fmt.Sprintf("cancel with mode %s", modeName(mode))
			e.must(pc.Cancel(), what)
			_, err := pc.Wait()
			e.expectCanceled(err, what)
			switch mode {
			case "kill", "killnowait":
				e.expectNote(callee, "interrupt", "the callee's INTERRUPT after "+what)
			case "":
				// wampedge takes no mode for killnowait; WAMP does not say.
				e.expectNote(callee, "interrupt", "the callee's INTERRUPT after "+what)
			}
		}
		if tried == 0 {
			e.na("cancel: " + strings.Join(slices.Compact(e.modesLacking), "; "))
		}
	}},
	// Call canceling, the library's callee interrupted: by a CANCEL
	// (killnowait, from wampedge's client) and by the router's timeout.
	{"cancel_callee", func(e *env) {
		callee := e.peer("callee")
		proc := e.uri("slow")
		_, err := callee.RegisterWith(proc, RegOpts{Behavior: "slow"})
		e.must(err, "register a slow procedure")
		caller := e.counterpart("edge-caller")
		pc, ok := e.startInvoked(caller, callee, proc, CallOpts{Cancelable: true, CancelMode: "killnowait"})
		if !ok {
			e.t.Fatal("the wampedge client cannot cancel")
		}
		e.must(pc.Cancel(), "cancel (killnowait)")
		_, err = pc.Wait()
		e.expectCanceled(err, "the cancelled call")
		if n := e.expectNote(callee, "interrupt", "the callee's INTERRUPT"); n.Mode != "" && n.Mode != "killnowait" {
			e.t.Fatalf("the INTERRUPT's mode is %q, want killnowait", n.Mode)
		}
		pc, err = caller.StartCall(proc, Payload{Args: []any{"timeout"}}, CallOpts{Timeout: 300})
		e.must(err, "call with a timeout (wampedge client)")
		e.expectNote(callee, "invoked", "the call with a timeout")
		_, err = pc.Wait()
		e.expectError(err, "wamp.error.timeout", "a call that timed out")
		e.expectNote(callee, "interrupt", "the callee's INTERRUPT at the timeout")
	}},
	// The router's call timeout (CALL.Options.timeout), asked for by the
	// library.
	{"call_timeout", func(e *env) {
		callee := e.counterpart("edge-callee")
		proc := e.uri("slow")
		_, err := callee.RegisterWith(proc, RegOpts{Behavior: "slow"})
		e.must(err, "register (wampedge client)")
		pc, err := e.peer("caller").StartCall(proc, Payload{Args: []any{"timeout"}}, CallOpts{Timeout: 300})
		e.must(err, "call with timeout 300 ms")
		start := time.Now()
		_, err = pc.Wait()
		e.expectError(err, "wamp.error.timeout", "a call that timed out")
		if d := time.Since(start); d > 5*time.Second {
			e.t.Fatalf("the timeout of 300 ms took %v", d)
		}
		e.expectNote(callee, "invoked", "the invocation")
		e.expectNote(callee, "interrupt", "the callee's INTERRUPT at the timeout")
	}},
	// Publisher and caller identification, the library disclosing itself.
	{"disclose_me", func(e *env) {
		a, w := e.peer("sender"), e.counterpart("edge-receiver")
		topic, proc := e.uri("t"), e.uri("whoami")
		_, err := w.Subscribe(topic)
		e.must(err, "subscribe (wampedge client)")
		_, err = w.RegisterWith(proc, RegOpts{Behavior: "whoami"})
		e.must(err, "register (wampedge client)")
		e.must(a.PublishWith(topic, positional, PubOpts{Acknowledge: e.ack(), DiscloseMe: true}), "publish with disclose_me")
		ev := e.nextEvent(w, "the disclosed event")
		if ev.Details == nil || ev.Details.Publisher != a.Session() {
			e.t.Fatalf("the event's details %+v, want the publisher %d", ev.Details, a.Session())
		}
		res, err := e.call(a, proc, Payload{}, CallOpts{DiscloseMe: true})
		e.must(err, "call with disclose_me")
		if _, caller, _ := e.whoamiOf(res.Payload); caller != a.Session() {
			e.t.Fatalf("the callee was told the caller %d, want %d", caller, a.Session())
		}
	}},
	// Publisher and caller identification, the library told who.
	{"disclosed", func(e *env) {
		a, w := e.peer("receiver"), e.counterpart("edge-sender")
		topic, proc := e.uri("t"), e.uri("whoami")
		_, err := a.Subscribe(topic)
		e.must(err, "subscribe")
		_, err = a.RegisterWith(proc, RegOpts{Behavior: "whoami"})
		e.must(err, "register whoami")
		e.must(w.PublishWith(topic, positional, PubOpts{Acknowledge: true, DiscloseMe: true}), "publish with disclose_me (wampedge client)")
		ev := e.nextEvent(a, "the disclosed event")
		if ev.Details == nil || ev.Details.Publisher != w.Session() {
			e.t.Fatalf("the event's details %+v, want the publisher %d", ev.Details, w.Session())
		}
		res, err := e.call(w, proc, Payload{}, CallOpts{DiscloseMe: true})
		e.must(err, "call with disclose_me (wampedge client)")
		if _, caller, _ := e.whoamiOf(res.Payload); caller != w.Session() {
			e.t.Fatalf("the callee was told the caller %d, want %d", caller, w.Session())
		}
	}},
	// Subscriber black- and whitelisting by session, authid and authrole.
	{"black_white", func(e *env) {
		p := e.peer("pub")
		s := []Peer{e.peer("s1"), e.peer("s2"), e.peer("s3")}
		topic := e.uri("t")
		for _, x := range s {
			_, err := x.Subscribe(topic)
			e.must(err, "subscribe")
		}
		id := func(i int) uint64 { return s[i].Session() }
		authid1, _ := e.sessionInfo(p, id(0))
		authid2, _ := e.sessionInfo(p, id(1))
		authid3, role := e.sessionInfo(p, id(2))
		if authid1 == authid2 || authid2 == authid3 || authid1 == authid3 {
			e.t.Fatalf("the subscribers' authids %q, %q, %q are not distinct: the scenario needs them to be", authid1, authid2, authid3)
		}
		ev := func(n int) Payload { return Payload{Args: []any{fmt.Sprintf("e%d", n)}} }
		for n, o := range []PubOpts{
			{Exclude: []uint64{id(0)}},                                          // s2 s3
			{Eligible: []uint64{id(0), id(1)}},                                  // s1 s2
			{Eligible: []uint64{id(0), id(1), id(2)}, Exclude: []uint64{id(1)}}, // s1 s3
			{ExcludeAuthID: []string{authid3}},                                  // s1 s2
			{EligibleAuthID: []string{authid2}},                                 // s2
			{EligibleAuthRole: []string{role}},                                  // all
			{ExcludeAuthRole: []string{role}},                                   // none
			{},                                                                  // all
		} {
			o.Acknowledge = e.ack()
			e.must(p.PublishWith(topic, ev(n+1), o), fmt.Sprintf("publish e%d", n+1))
		}
		e.expectEvents(s[0], "s1", ev(2), ev(3), ev(4), ev(6), ev(8))
		e.expectEvents(s[1], "s2", ev(1), ev(2), ev(4), ev(5), ev(6), ev(8))
		e.expectEvents(s[2], "s3", ev(1), ev(3), ev(6), ev(8))
		for i, x := range s {
			e.barrier(x, p, fmt.Sprintf("s%d after the filtered events", i+1))
		}
	}},
	// Event retention: a later subscriber that asks gets the retained
	// event, marked retained.
	{"retained", func(e *env) {
		e.lacks("retained_event")
		p := e.peer("pub")
		topic := e.uri("t")
		e.must(p.PublishWith(topic, both, PubOpts{Acknowledge: e.ack(), Retain: true}), "publish with retain")
		e.sync(p)
		late := e.peer("late")
		_, err := late.SubscribeWith(topic, SubOpts{GetRetained: true})
		e.must(err, "subscribe with get_retained")
		ev := e.nextEvent(late, "the retained event")
		if err := samePayload(both, ev.Payload); err != nil {
			e.t.Fatalf("the retained event: %v", err)
		}
		if ev.Details == nil || !ev.Details.Retained {
			e.t.Fatalf("the retained event's details %+v, want retained", ev.Details)
		}
		e.must(p.Publish(topic, positional, e.ack(), nil), "publish")
		ev = e.nextEvent(late, "a new event")
		if err := samePayload(positional, ev.Payload); err != nil {
			e.t.Fatalf("the new event: %v", err)
		}
		if ev.Details != nil && ev.Details.Retained {
			e.t.Fatal("a new event was marked retained")
		}
		plain := e.peer("plain")
		_, err = plain.Subscribe(topic)
		e.must(err, "subscribe without get_retained")
		e.barrier(plain, p, "no retained event without get_retained")
	}},
	// The session, registration and subscription meta API.
	{"meta_api", func(e *env) {
		a := e.peer("watcher")
		for _, topic := range []string{"wamp.session.on_join", "wamp.session.on_leave"} {
			_, err := a.Subscribe(topic)
			e.must(err, "subscribe to "+topic)
		}
		b := e.peer("joiner")
		e.eventWhere(a, "wamp.session.on_join of the new session", func(ev Event) bool {
			d, _ := firstArg(ev.Payload).(map[string]any)
			return idValue(d["session"]) == b.Session()
		})
		res, err := a.Call("wamp.session.count", Payload{})
		e.must(err, "wamp.session.count")
		if n := idValue(firstArg(res)); n < 2 {
			e.t.Fatalf("wamp.session.count: %v, want at least 2", res)
		}
		res, err = a.Call("wamp.session.list", Payload{})
		e.must(err, "wamp.session.list")
		list, _ := firstArg(res).([]any)
		if !slices.ContainsFunc(list, func(v any) bool { return idValue(v) == a.Session() }) ||
			!slices.ContainsFunc(list, func(v any) bool { return idValue(v) == b.Session() }) {
			e.t.Fatalf("wamp.session.list: %v lacks %d or %d", res, a.Session(), b.Session())
		}
		e.sessionInfo(a, b.Session())

		proc, topic := e.uri("echo"), e.uri("t")
		reg, err := b.Register(proc, "echo")
		e.must(err, "register")
		sub, err := b.Subscribe(topic)
		e.must(err, "subscribe")
		_, noIDs := e.kind.lacks["subscription_ids"]
		for _, m := range []struct {
			kind, uri, count, list string
			id                     uint64
		}{
			{"registration", proc, "count_callees", "list_callees", reg},
			{"subscription", topic, "count_subscribers", "list_subscribers", sub},
		} {
			res, err := a.Call("wamp."+m.kind+".lookup", Payload{Args: []any{m.uri}})
			e.must(err, "wamp."+m.kind+".lookup")
			id := idValue(firstArg(res))
			if id == 0 || (!noIDs && id != m.id) {
				e.t.Fatalf("wamp.%s.lookup(%s): %v, want %d", m.kind, m.uri, res, m.id)
			}
			if why, ok := e.router.lacks()[m.count]; ok {
				e.reduced(why)
			} else {
				res, err = a.Call("wamp."+m.kind+"."+m.count, Payload{Args: []any{id}})
				e.must(err, "wamp."+m.kind+"."+m.count)
				if n := idValue(firstArg(res)); n != 1 {
					e.t.Fatalf("wamp.%s.%s: %v, want 1", m.kind, m.count, res)
				}
			}
			res, err = a.Call("wamp."+m.kind+"."+m.list, Payload{Args: []any{id}})
			e.must(err, "wamp."+m.kind+"."+m.list)
			if l, _ := firstArg(res).([]any); len(l) != 1 || idValue(l[0]) != b.Session() {
				e.t.Fatalf("wamp.%s.%s: %v, want [%d]", m.kind, m.list, res, b.Session())
			}
		}
		e.must(b.Leave(), "leave")
		e.eventWhere(a, "wamp.session.on_leave of the session that left", func(ev Event) bool {
			return idValue(firstArg(ev.Payload)) == b.Session()
		})
	}},
	// Testaments: the events a session leaves are published when it is
	// killed; flushed ones are not.
	{"testament", func(e *env) {
		heir := e.peer("heir")
		topic := e.uri("will")
		_, err := heir.Subscribe(topic)
		e.must(err, "subscribe")
		mortal := e.peer("mortal")
		flushed := Payload{Args: []any{"flushed"}}
		will := Payload{Args: []any{"gone", mortal.Session()}, Kwargs: map[string]any{"why": "killed"}}
		_, err = mortal.Call("wamp.session.add_testament", Payload{Args: []any{topic, flushed.Args, map[string]any{}}})
		e.must(err, "wamp.session.add_testament")
		_, err = mortal.Call("wamp.session.flush_testaments", Payload{})
		e.must(err, "wamp.session.flush_testaments")
		_, err = mortal.Call("wamp.session.add_testament", Payload{Args: []any{topic, will.Args, will.Kwargs}})
		e.must(err, "wamp.session.add_testament")
		mortal.Kill()
		e.expectEvent(heir, will, "the testament of the killed session")
		e.barrier(heir, e.peer("witness"), "after the testament")
	}},
}

// expectProgress checks a call's n progressive results [1] .. [n], in
// order, and its final result, the call's own payload (both).
func (e *env) expectProgress(res CallResult, n int) {
	e.t.Helper()
	if len(res.Progress) != n {
		e.t.Fatalf("got %d progressive results %v, want %d", len(res.Progress), res.Progress, n)
	}
	for i, p := range res.Progress {
		if err := samePayload(Payload{Args: []any{num(int64(i + 1))}}, p); err != nil {
			e.t.Fatalf("progressive result %d: %v", i+1, err)
		}
	}
	if err := samePayload(both, res.Payload); err != nil {
		e.t.Fatalf("the final result: %v", err)
	}
}

func firstArg(p Payload) any {
	if len(p.Args) == 0 {
		return nil
	}
	return p.Args[0]
}
