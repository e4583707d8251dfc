package edge

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// A realm's policy: who may join it, how they prove it, and what each
// role may do there (WAMP.md §8.6). A realm without one is open: anyone
// joins as "anonymous" and may do anything.

// Actions a role is allowed or denied on a URI.
type Action string

const (
	ActionCall      Action = "call"
	ActionRegister  Action = "register"
	ActionPublish   Action = "publish"
	ActionSubscribe Action = "subscribe"
)

var actions = []Action{ActionCall, ActionRegister, ActionPublish, ActionSubscribe}

// RealmPolicy says who may join a realm and what they may do.
type RealmPolicy struct {
	// Anonymous, when nil, lets anyone join as role "anonymous" on every
	// listener. Set, it limits or turns off anonymous joins.
	Anonymous *AnonymousPolicy
	Users     []User
	// Roles hold the permissions. With none, every role may do
	// everything; with some, a role without rules may do nothing, and a
	// user's role must be one of them.
	Roles []Role
	// MaxSessions, if not zero, refuses joins past this many sessions.
	MaxSessions int
}

// AnonymousPolicy limits anonymous joins.
type AnonymousPolicy struct {
	Off  bool   // no anonymous joins at all
	Role string // the role anonymous sessions get ("anonymous")
	// Listeners, if not empty, are where anonymous joins are allowed: a
	// scheme ("unix", "serial", "tcp", "tls") or a listener's URL.
	Listeners []string
}

// User is someone who authenticates with ticket, WAMP-CRA or cryptosign.
type User struct {
	AuthID string
	Role   string
	// Ticket is checked against the ticket the client sends: a salted
	// hash made by HashTicket, or the ticket itself.
	Ticket string
	// CRA is the WAMP-CRA key: a secret, or a salted derived key.
	CRA *CRAKey
	// Keys are the Ed25519 public keys the user signs cryptosign
	// challenges with.
	Keys []ed25519.PublicKey
}

// CRAKey is a WAMP-CRA key. With Salt set, Key is the derived key (the
// base64 text Autobahn's derive_key returns): the router never holds
// the password.
type CRAKey struct {
	Key        string
	Salt       string
	Iterations int
	KeyLen     int
}

// Role is a named set of permission rules.
type Role struct {
	Name  string
	Rules []Rule
}

// Rule allows or denies actions on the URIs it matches. For each action
// the most specific rule that names it decides: an exact URI beats a
// prefix, a longer prefix a shorter one, a prefix a wildcard. No rule:
// denied.
type Rule struct {
	URI   string
	Match string // "exact" (default), "prefix" or "wildcard"
	Allow []Action
	Deny  []Action
	// Disclose makes the router disclose the caller or publisher of what
	// this rule allows, whether or not they ask.
	Disclose bool
}

// policy is a RealmPolicy prepared for lookups.
type policy struct {
	*RealmPolicy
	users  map[string]*User        // by authid
	byKey  map[string]*User        // by cryptosign public key
	roles  map[string]*permissions // nil: everything allowed
	anonOn bool
}

// permissions index a role's rules per action.
type permissions [4]ruleIndex // by action, in the order of actions

type ruleIndex struct {
	exact    map[string]*Rule
	patterns patterns[*Rule]
}

// decide returns whether the action on uri is allowed, and whether the
// deciding rule asks for disclosure.
func (p *permissions) decide(a Action, uri []byte) (allowed, disclose bool) {
	ix := &p[slices.Index(actions, a)]
	rule := ix.exact[string(uri)]
	if rule == nil && !ix.patterns.empty() {
		rule = ix.patterns.best(uri)
	}
	if rule == nil {
		return false, false
	}
	return !slices.Contains(rule.Deny, a), rule.Disclose
}

// prepare checks a policy and indexes it; errors name the field.
func (rp *RealmPolicy) prepare(strict bool) (*policy, error) {
	p := &policy{RealmPolicy: rp, users: map[string]*User{}, byKey: map[string]*User{}}
	p.anonOn = rp.Anonymous == nil || !rp.Anonymous.Off
	if len(rp.Roles) > 0 {
		p.roles = map[string]*permissions{}
	}
	for i, role := range rp.Roles {
		if role.Name == "" {
			return nil, fmt.Errorf("roles[%d].name: missing", i)
		}
		if p.roles[role.Name] != nil {
			return nil, fmt.Errorf("roles[%d].name: %q twice", i, role.Name)
		}
		perms := &permissions{}
		for j := range role.Rules {
			r := &rp.Roles[i].Rules[j]
			where := fmt.Sprintf("roles[%d].rules[%d]", i, j)
			if r.Match == "" {
				r.Match = matchExact
			}
			if _, ok := matchPolicy(r.Match); !ok {
				return nil, fmt.Errorf("%s.match: %q is not exact, prefix or wildcard", where, r.Match)
			}
			if !validPattern([]byte(r.URI), strict, r.Match) {
				return nil, fmt.Errorf("%s.uri: %q is not a valid URI for match %s", where, r.URI, r.Match)
			}
			for _, a := range slices.Concat(r.Allow, r.Deny) {
				k := slices.Index(actions, a)
				if k < 0 {
					return nil, fmt.Errorf("%s: action %q is not call, register, publish or subscribe", where, a)
				}
				ix := &perms[k]
				if r.Match == matchExact {
					if ix.exact == nil {
						ix.exact = map[string]*Rule{}
					}
					if ix.exact[r.URI] != nil && ix.exact[r.URI] != r {
						return nil, fmt.Errorf("%s: another rule of role %q already decides %s on %q", where, role.Name, a, r.URI)
					}
					ix.exact[r.URI] = r
				} else {
					if old := ix.patterns.get(r.URI, r.Match); old != nil && old != r {
						return nil, fmt.Errorf("%s: another rule of role %q already decides %s on %q (%s)", where, role.Name, a, r.URI, r.Match)
					}
					ix.patterns.add(r.URI, r.Match, r)
				}
			}
		}
		p.roles[role.Name] = perms
	}
	anonRole := p.anonymousRole()
	if p.anonOn && p.roles != nil && p.roles[anonRole] == nil {
		return nil, fmt.Errorf("anonymous.role: %q is not one of the roles", anonRole)
	}
	for i := range rp.Users {
		u := &rp.Users[i]
		where := fmt.Sprintf("users[%d]", i)
		if u.AuthID == "" {
			return nil, fmt.Errorf("%s.authid: missing", where)
		}
		if p.users[u.AuthID] != nil {
			return nil, fmt.Errorf("%s.authid: %q twice", where, u.AuthID)
		}
		if u.Role == "" {
			return nil, fmt.Errorf("%s.role: missing", where)
		}
		if p.roles != nil && p.roles[u.Role] == nil {
			return nil, fmt.Errorf("%s.role: %q is not one of the roles", where, u.Role)
		}
		if u.Ticket == "" && u.CRA == nil && len(u.Keys) == 0 {
			return nil, fmt.Errorf("%s: no ticket, wampcra key or cryptosign key", where)
		}
		if u.Ticket != "" {
			if err := checkTicketForm(u.Ticket); err != nil {
				return nil, fmt.Errorf("%s.ticket: %v", where, err)
			}
		}
		if u.CRA != nil && u.CRA.Key == "" {
			return nil, fmt.Errorf("%s.wampcra: no key", where)
		}
		for _, k := range u.Keys {
			if len(k) != ed25519.PublicKeySize {
				return nil, fmt.Errorf("%s.cryptosign: a public key has %d bytes, want %d", where, len(k), ed25519.PublicKeySize)
			}
			if other := p.byKey[string(k)]; other != nil {
				return nil, fmt.Errorf("%s.cryptosign: the key of %q too", where, other.AuthID)
			}
			p.byKey[string(k)] = u
		}
		p.users[u.AuthID] = u
	}
	if rp.MaxSessions < 0 {
		return nil, errors.New("max_sessions: must not be negative")
	}
	return p, nil
}

func (p *policy) anonymousRole() string {
	if p.Anonymous != nil && p.Anonymous.Role != "" {
		return p.Anonymous.Role
	}
	return "anonymous"
}

// anonymousOn reports whether anonymous joins are allowed on a listener.
func (p *policy) anonymousOn(listener string) bool {
	if !p.anonOn {
		return false
	}
	if p.Anonymous == nil || len(p.Anonymous.Listeners) == 0 {
		return true
	}
	scheme, _, _ := strings.Cut(listener, ":")
	for _, l := range p.Anonymous.Listeners {
		if l == listener || l == scheme {
			return true
		}
	}
	return false
}
