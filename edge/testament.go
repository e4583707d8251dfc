package edge

import (
	"fmt"

	"github.com/tinylib/msgp/msgp"
	"github.com/wampedge/wampedge/codec"
)

// Testaments (WAMP.md §8.4): events a session leaves with the router, to
// be published when it leaves or is lost — what MQTT users call the last
// will, used for "device went offline". And the session meta API's kill
// procedures.

// Testament scopes. Sessions cannot be resumed here, so a session that
// goes is both detached and destroyed: both are published, detached
// first.
const (
	scopeDestroyed = "destroyed"
	scopeDetached  = "detached"
)

// maxTestaments bounds what one session may leave behind.
const maxTestaments = 16

type testament struct {
	topic  []byte
	args   []byte
	kwargs []byte
	opts   codec.PublishOptions
}

func scopeArg(kwargs map[string]any) (string, error) {
	scope, _ := kwargs["scope"].(string)
	switch scope {
	case "":
		return scopeDestroyed, nil
	case scopeDestroyed, scopeDetached:
		return scope, nil
	}
	return "", badArgument("scope %q: want destroyed or detached", scope)
}

func scopeIndex(scope string) int {
	if scope == scopeDetached {
		return 0
	}
	return 1
}

// addTestament is wamp.session.add_testament(topic, args, kwargs;
// publish_options, scope).
func addTestament(_ *realm, s *session, args []any, kwargs map[string]any) (any, error) {
	if len(args) < 1 {
		return nil, badArgument("want the topic, args and kwargs of the testament")
	}
	topic, _ := args[0].(string)
	if problem := s.checkURI([]byte(topic), true); problem != "" {
		return nil, &metaError{errInvalidURI, problem}
	}
	if ok, _ := s.allowed(ActionPublish, []byte(topic)); !ok {
		return nil, &metaError{errNotAuthorized, notAuthorized(ActionPublish, []byte(topic), s.authrole)}
	}
	scope, err := scopeArg(kwargs)
	if err != nil {
		return nil, err
	}
	var t testament
	t.topic = []byte(topic)
	if len(args) > 1 && args[1] != nil {
		list, ok := args[1].([]any)
		if !ok {
			return nil, badArgument("the testament's args must be a list")
		}
		if len(list) > 0 {
			t.args, _ = msgp.AppendIntf(nil, list)
		}
	}
	if len(args) > 2 && args[2] != nil {
		dict, ok := args[2].(map[string]any)
		if !ok {
			return nil, badArgument("the testament's kwargs must be a dict")
		}
		if len(dict) > 0 {
			t.kwargs, _ = msgp.AppendIntf(nil, dict)
		}
	}
	if po, ok := kwargs["publish_options"].(map[string]any); ok {
		raw, err := msgp.AppendIntf(nil, po)
		if err != nil {
			return nil, badArgument("publish_options: %v", err)
		}
		if err := t.opts.Decode(raw); err != nil {
			return nil, badArgument("publish_options: %v", err)
		}
	}
	i := scopeIndex(scope)
	if len(s.testaments[i]) >= maxTestaments {
		return nil, &metaError{errInvalidArgument, fmt.Sprintf("a session may leave at most %d testaments per scope", maxTestaments)}
	}
	s.testaments[i] = append(s.testaments[i], t)
	return nil, nil
}

// flushTestaments is wamp.session.flush_testaments(scope): it forgets
// them and says how many.
func flushTestaments(_ *realm, s *session, _ []any, kwargs map[string]any) (any, error) {
	scope, err := scopeArg(kwargs)
	if err != nil {
		return nil, err
	}
	i := scopeIndex(scope)
	n := len(s.testaments[i])
	s.testaments[i] = nil
	return n, nil
}

// publishTestaments publishes what the leaving session left, in order,
// as if it published them itself.
func (s *session) publishTestaments() {
	if s.killedQuietly.Load() {
		return
	}
	for _, list := range s.testaments {
		for _, t := range list {
			s.popts = t.opts
			p := codec.Publish{Topic: t.topic, Args: t.args, Kwargs: t.kwargs}
			s.publish(&p, s.publicationID())
		}
	}
}

// killArgs reads the reason and message of the kill procedures.
func killArgs(kwargs map[string]any) (reason, message string, err error) {
	reason, _ = kwargs["reason"].(string)
	if reason == "" {
		reason = "wamp.close.killed"
	}
	if !validURI([]byte(reason), false) {
		return "", "", &metaError{errInvalidURI, fmt.Sprintf("reason %q is not a valid URI", reason)}
	}
	message, _ = kwargs["message"].(string)
	return reason, message, nil
}

// killWhere kills the realm's sessions that pick selects, the caller
// excepted, and returns their IDs.
func (rl *realm) killWhere(caller *session, kwargs map[string]any, quietly bool, pick func(*session) bool) ([]any, error) {
	reason, message, err := killArgs(kwargs)
	if err != nil {
		return nil, err
	}
	rl.mu.Lock()
	var victims []*session
	for _, s := range rl.sessions {
		if s != caller && s.state.Load() == stateEstablished && pick(s) {
			victims = append(victims, s)
		}
	}
	rl.mu.Unlock()
	for _, v := range victims {
		v.killedQuietly.Store(quietly)
		v.closeWith(reason, message) // GOODBYE, then the connection closes
	}
	return ids(victims), nil
}

func init() {
	metaProcedures["wamp.session.add_testament"] = addTestament
	metaProcedures["wamp.session.flush_testaments"] = flushTestaments
	metaProcedures["wamp.session.kill"] = func(rl *realm, caller *session, args []any, kwargs map[string]any) (any, error) {
		id, err := idArg(args)
		if err != nil {
			return nil, err
		}
		killed, err := rl.killWhere(caller, kwargs, false, func(s *session) bool { return s.id == id })
		if err == nil && len(killed) == 0 {
			err = &metaError{errNoSuchSession, fmt.Sprintf("no session %d in this realm (or it is the caller)", id)}
		}
		return nil, err
	}
	metaProcedures["wamp.session.kill_by_authid"] = func(rl *realm, caller *session, args []any, kwargs map[string]any) (any, error) {
		authid, _ := stringArg(args)
		return rl.killWhere(caller, kwargs, false, func(s *session) bool { return s.authid == authid })
	}
	metaProcedures["wamp.session.kill_by_authrole"] = func(rl *realm, caller *session, args []any, kwargs map[string]any) (any, error) {
		role, _ := stringArg(args)
		killed, err := rl.killWhere(caller, kwargs, false, func(s *session) bool { return s.authrole == role })
		return len(killed), err
	}
	metaProcedures["wamp.session.kill_all"] = func(rl *realm, caller *session, _ []any, kwargs map[string]any) (any, error) {
		killed, err := rl.killWhere(caller, kwargs, true, func(*session) bool { return true })
		return len(killed), err
	}
}

func stringArg(args []any) (string, error) {
	if len(args) > 0 {
		if s, ok := args[0].(string); ok {
			return s, nil
		}
	}
	return "", badArgument("want a string as the first argument")
}
