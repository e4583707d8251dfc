package edge

import (
	"fmt"
	"slices"
	"time"

	"github.com/tinylib/msgp/msgp"
	"github.com/wampedge/wampedge/codec"
)

// The meta API (WAMP.md §8.4): events the router publishes in a realm
// about its sessions, subscriptions and registrations, and procedures
// that answer questions about them. None of it is on the routing path.
const (
	metaSessionOnJoin    = "wamp.session.on_join"
	metaSessionOnLeave   = "wamp.session.on_leave"
	metaSubOnCreate      = "wamp.subscription.on_create"
	metaSubOnSubscribe   = "wamp.subscription.on_subscribe"
	metaSubOnUnsubscribe = "wamp.subscription.on_unsubscribe"
	metaSubOnDelete      = "wamp.subscription.on_delete"
	metaRegOnCreate      = "wamp.registration.on_create"
	metaRegOnRegister    = "wamp.registration.on_register"
	metaRegOnUnregister  = "wamp.registration.on_unregister"
	metaRegOnDelete      = "wamp.registration.on_delete"
)

// metaEvent publishes a meta event in the session's realm: to every
// matching subscription, from the router (nobody is excluded).
func (s *session) metaEvent(topic string, args ...any) {
	b := &s.realm.broker
	b.mu.RLock()
	defer s.readUnlock(b)
	b.matches(&s.lastMatch, &s.matched, []byte(topic))
	if len(s.matched) == 0 {
		return
	}
	payload, err := msgp.AppendIntf(nil, args)
	if err != nil {
		s.logger().Error("meta event not encoded", "topic", topic, "err", err)
		return
	}
	publication := s.publicationID()
	for _, sub := range s.matched {
		ev := codec.Event{Subscription: sub.id, Publication: publication, Args: payload}
		if sub.match != matchExact {
			ev.Details = msgp.AppendString(msgp.AppendString(msgp.AppendMapHeader(nil, 1), "topic"), topic)
		}
		s.out.set(ev.Append(s.out.msg[:0]))
		for _, dest := range sub.subscribers {
			if err := s.deliver(dest, &s.out, true); err != nil {
				s.router.droppedEvents.Add(1)
			}
		}
	}
}

func iso8601(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func subscriptionDetails(sub *subscription) map[string]any {
	return map[string]any{"id": sub.id, "created": iso8601(sub.created), "uri": sub.topic, "match": sub.match}
}

func registrationDetails(reg *registration) map[string]any {
	return map[string]any{"id": reg.id, "created": iso8601(reg.created), "uri": reg.procedure, "match": reg.match, "invoke": reg.invoke}
}

func (s *session) sessionDetails() map[string]any {
	return map[string]any{"session": s.id, "authid": s.authid, "authrole": s.authrole, "authmethod": s.authmethod, "authprovider": "static"}
}

// metaError is a meta procedure's error answer.
type metaError struct{ uri, message string }

func (e *metaError) Error() string { return e.message }

func badArgument(format string, a ...any) error {
	return &metaError{errInvalidArgument, fmt.Sprintf(format, a...)}
}

// metaCall answers a CALL to a wamp. procedure, or to wampedge.stats.
func (s *session) metaCall(c *codec.Call) {
	var args []any
	var kwargs map[string]any
	if len(c.Args) > 0 {
		v, _, err := msgp.ReadIntfBytes(c.Args)
		if err != nil {
			s.replyError(codec.TypeCall, c.Request, errInvalidArgument, "arguments: "+err.Error())
			return
		}
		args, _ = v.([]any)
	}
	if len(c.Kwargs) > 0 {
		v, _, err := msgp.ReadIntfBytes(c.Kwargs)
		if err != nil {
			s.replyError(codec.TypeCall, c.Request, errInvalidArgument, "keyword arguments: "+err.Error())
			return
		}
		kwargs, _ = v.(map[string]any)
	}
	handler := metaProcedures[string(c.Procedure)]
	if handler == nil {
		s.replyError(codec.TypeCall, c.Request, errNoSuchProcedure, fmt.Sprintf("the router has no procedure %q", c.Procedure))
		return
	}
	result, err := handler(s.realm, s, args, kwargs)
	if err != nil {
		uri := errInvalidArgument
		if me, ok := err.(*metaError); ok {
			uri = me.uri
		}
		s.replyError(codec.TypeCall, c.Request, uri, err.Error())
		return
	}
	payload, err := msgp.AppendIntf(nil, []any{result})
	if err != nil {
		s.replyError(codec.TypeCall, c.Request, errInvalidArgument, err.Error())
		return
	}
	s.reply(&codec.Result{Request: c.Request, Args: payload})
}

type metaProcedure func(rl *realm, caller *session, args []any, kwargs map[string]any) (any, error)

var metaProcedures = map[string]metaProcedure{
	StatsProcedure: func(_ *realm, caller *session, _ []any, _ map[string]any) (any, error) {
		caller.showCounts() // the calls of this burst so far, this one included
		return caller.router.statsResult(), nil
	},
	"wamp.session.count": func(rl *realm, _ *session, args []any, kwargs map[string]any) (any, error) {
		return len(rl.sessionsWith(args)), nil
	},
	"wamp.session.list": func(rl *realm, _ *session, args []any, kwargs map[string]any) (any, error) {
		return ids(rl.sessionsWith(args)), nil
	},
	"wamp.session.get": func(rl *realm, _ *session, args []any, kwargs map[string]any) (any, error) {
		id, err := idArg(args)
		if err != nil {
			return nil, err
		}
		rl.mu.Lock()
		s := rl.sessions[id]
		rl.mu.Unlock()
		if s == nil {
			return nil, &metaError{errNoSuchSession, fmt.Sprintf("no session %d in this realm", id)}
		}
		return s.sessionDetails(), nil
	},
	"wamp.registration.list": func(rl *realm, _ *session, _ []any, kwargs map[string]any) (any, error) {
		d := &rl.dealer
		d.mu.RLock()
		defer d.mu.RUnlock()
		out := map[string]any{matchExact: []any{}, matchPrefix: []any{}, matchWildcard: []any{}}
		for _, reg := range d.byID {
			out[reg.match] = append(out[reg.match].([]any), reg.id)
		}
		return out, nil
	},
	"wamp.registration.lookup": func(rl *realm, _ *session, args []any, kwargs map[string]any) (any, error) {
		uri, match, err := uriArgs(args)
		if err != nil {
			return nil, err
		}
		d := &rl.dealer
		d.mu.RLock()
		defer d.mu.RUnlock()
		if reg := d.find(uri, match); reg != nil {
			return reg.id, nil
		}
		return nil, nil
	},
	"wamp.registration.match": func(rl *realm, _ *session, args []any, kwargs map[string]any) (any, error) {
		uri, _, err := uriArgs(args)
		if err != nil {
			return nil, err
		}
		if reg, _ := rl.dealer.lookup([]byte(uri)); reg != nil {
			return reg.id, nil
		}
		return nil, nil
	},
	"wamp.registration.get": func(rl *realm, _ *session, args []any, kwargs map[string]any) (any, error) {
		reg, err := rl.registration(args)
		if err != nil {
			return nil, err
		}
		return registrationDetails(reg), nil
	},
	"wamp.registration.list_callees": func(rl *realm, _ *session, args []any, kwargs map[string]any) (any, error) {
		reg, err := rl.registration(args)
		if err != nil {
			return nil, err
		}
		return rl.dealer.calleeIDs(reg), nil
	},
	"wamp.registration.count_callees": func(rl *realm, _ *session, args []any, kwargs map[string]any) (any, error) {
		reg, err := rl.registration(args)
		if err != nil {
			return nil, err
		}
		return len(rl.dealer.calleeIDs(reg)), nil
	},
	"wamp.subscription.list": func(rl *realm, _ *session, _ []any, kwargs map[string]any) (any, error) {
		b := &rl.broker
		b.mu.RLock()
		defer b.mu.RUnlock()
		out := map[string]any{matchExact: []any{}, matchPrefix: []any{}, matchWildcard: []any{}}
		for _, sub := range b.byID {
			out[sub.match] = append(out[sub.match].([]any), sub.id)
		}
		return out, nil
	},
	"wamp.subscription.lookup": func(rl *realm, _ *session, args []any, kwargs map[string]any) (any, error) {
		uri, match, err := uriArgs(args)
		if err != nil {
			return nil, err
		}
		b := &rl.broker
		b.mu.RLock()
		defer b.mu.RUnlock()
		if sub := b.find(uri, match); sub != nil {
			return sub.id, nil
		}
		return nil, nil
	},
	"wamp.subscription.match": func(rl *realm, _ *session, args []any, kwargs map[string]any) (any, error) {
		uri, _, err := uriArgs(args)
		if err != nil {
			return nil, err
		}
		b := &rl.broker
		b.mu.RLock()
		defer b.mu.RUnlock()
		var out []any
		for _, sub := range b.appendMatches(nil, []byte(uri)) {
			out = append(out, sub.id)
		}
		if out == nil {
			return nil, nil
		}
		return out, nil
	},
	"wamp.subscription.get": func(rl *realm, _ *session, args []any, kwargs map[string]any) (any, error) {
		sub, err := rl.subscription(args)
		if err != nil {
			return nil, err
		}
		return subscriptionDetails(sub), nil
	},
	"wamp.subscription.list_subscribers": func(rl *realm, _ *session, args []any, kwargs map[string]any) (any, error) {
		sub, err := rl.subscription(args)
		if err != nil {
			return nil, err
		}
		rl.broker.mu.RLock()
		defer rl.broker.mu.RUnlock()
		return ids(sub.subscribers), nil
	},
	"wamp.subscription.count_subscribers": func(rl *realm, _ *session, args []any, kwargs map[string]any) (any, error) {
		sub, err := rl.subscription(args)
		if err != nil {
			return nil, err
		}
		rl.broker.mu.RLock()
		defer rl.broker.mu.RUnlock()
		return len(sub.subscribers), nil
	},
}

// sessionsWith returns the realm's sessions, or those with one of the
// authroles of the optional filter_authroles argument.
func (rl *realm) sessionsWith(args []any) []*session {
	var roles []any
	if len(args) > 0 {
		roles, _ = args[0].([]any)
	}
	rl.mu.Lock()
	defer rl.mu.Unlock()
	var out []*session
	for _, s := range rl.sessions {
		if roles == nil || slices.Contains(roles, any(s.authrole)) {
			out = append(out, s)
		}
	}
	return out
}

func ids(sessions []*session) []any {
	out := make([]any, len(sessions))
	for i, s := range sessions {
		out[i] = s.id
	}
	return out
}

func idArg(args []any) (uint64, error) {
	if len(args) > 0 {
		switch v := args[0].(type) {
		case uint64:
			return v, nil
		case int64:
			if v > 0 {
				return uint64(v), nil
			}
		}
	}
	return 0, badArgument("want an ID as the first argument")
}

// uriArgs reads (uri, {match}) arguments.
func uriArgs(args []any) (uri, match string, err error) {
	if len(args) > 0 {
		uri, _ = args[0].(string)
	}
	if uri == "" && (len(args) == 0 || args[0] == nil) {
		return "", "", badArgument("want a URI as the first argument")
	}
	match = matchExact
	if len(args) > 1 {
		if opts, ok := args[1].(map[string]any); ok {
			if m, ok := opts["match"].(string); ok {
				if match, ok = matchPolicy(m); !ok {
					return "", "", badArgument("match %q: want exact, prefix or wildcard", m)
				}
			}
		}
	}
	return uri, match, nil
}

func (rl *realm) registration(args []any) (*registration, error) {
	id, err := idArg(args)
	if err != nil {
		return nil, err
	}
	rl.dealer.mu.RLock()
	reg := rl.dealer.byID[id]
	rl.dealer.mu.RUnlock()
	if reg == nil {
		return nil, &metaError{errNoSuchRegistration, fmt.Sprintf("no registration %d in this realm", id)}
	}
	return reg, nil
}

func (rl *realm) subscription(args []any) (*subscription, error) {
	id, err := idArg(args)
	if err != nil {
		return nil, err
	}
	rl.broker.mu.RLock()
	sub := rl.broker.byID[id]
	rl.broker.mu.RUnlock()
	if sub == nil {
		return nil, &metaError{errNoSuchSubscription, fmt.Sprintf("no subscription %d in this realm", id)}
	}
	return sub, nil
}
