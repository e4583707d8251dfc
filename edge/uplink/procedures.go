package uplink

import (
	"context"
	"fmt"
	"time"

	"github.com/wampedge/wampedge/edge/client"
)

// exporter keeps the local registrations that procedures_out rules cover
// registered in the cloud: it learns of them from the local router's
// registration meta API, and registers them again on every new cloud
// session. Its state changes in one goroutine, in order.
type exporter struct {
	u   *Uplink
	ops chan func()

	// Owned by the ops goroutine.
	exports map[uint64]*export // by local registration ID
	cloud   *client.Client
}

// export is one local registration and its cloud twin.
type export struct {
	rule       *Rule
	localURI   string
	match      string
	cloudURI   string
	cloudReg   *client.Registration // nil while not registered in the cloud
	registered bool
}

func newExporter(u *Uplink) *exporter {
	x := &exporter{u: u, ops: make(chan func(), 64), exports: make(map[uint64]*export)}
	go x.loop()
	return x
}

func (x *exporter) loop() {
	for {
		select {
		case op := <-x.ops:
			op()
		case <-x.u.local.Done():
			return
		}
	}
}

func (x *exporter) do(op func()) {
	select {
	case x.ops <- op:
	case <-x.u.local.Done():
	}
}

// watch follows the local registrations: subscribe to the meta events
// first, then list what exists, so that nothing falls between the two.
func (x *exporter) watch(ctx context.Context) error {
	local := x.u.local
	_, err := local.Subscribe(ctx, "wamp.registration.on_create", func(e *client.Event) {
		args, _, _ := e.Payload.Decode()
		if len(args) < 2 {
			return
		}
		details, _ := args[1].(map[string]any)
		session, id := asID(args[0]), asID(details["id"])
		uri, _ := details["uri"].(string)
		match, _ := details["match"].(string)
		x.do(func() { x.add(id, session, uri, match) })
	})
	if err != nil {
		return err
	}
	_, err = local.Subscribe(ctx, "wamp.registration.on_delete", func(e *client.Event) {
		args, _, _ := e.Payload.Decode()
		if len(args) < 2 {
			return
		}
		id := asID(args[1])
		x.do(func() { x.remove(id) })
	})
	if err != nil {
		return err
	}
	res, err := local.Call(ctx, "wamp.registration.list", client.Payload{})
	if err != nil {
		return fmt.Errorf("listing the local registrations: %w", err)
	}
	args, _, _ := res.Payload.Decode()
	if len(args) == 0 {
		return nil
	}
	lists, _ := args[0].(map[string]any)
	for _, list := range lists {
		ids, _ := list.([]any)
		for _, v := range ids {
			id := asID(v)
			get, err := local.Call(ctx, "wamp.registration.get", client.Args(id))
			if err != nil {
				continue // gone meanwhile
			}
			callees, err := local.Call(ctx, "wamp.registration.list_callees", client.Args(id))
			if err != nil {
				continue
			}
			g, _, _ := get.Payload.Decode()
			c, _, _ := callees.Payload.Decode()
			if len(g) == 0 || len(c) == 0 {
				continue
			}
			details, _ := g[0].(map[string]any)
			sessions, _ := c[0].([]any)
			if len(sessions) == 0 {
				continue
			}
			uri, _ := details["uri"].(string)
			match, _ := details["match"].(string)
			session := asID(sessions[0])
			x.do(func() { x.add(id, session, uri, match) })
		}
	}
	return nil
}

// asID reads an ID as MessagePack decodes it: int64 when it fits.
func asID(v any) uint64 {
	switch n := v.(type) {
	case uint64:
		return n
	case int64:
		return uint64(n)
	}
	return 0
}

// add exports a local registration if a rule covers it and it is not
// the bridge's own.
func (x *exporter) add(id, session uint64, uri, match string) {
	if session == x.u.local.ID() || x.exports[id] != nil {
		return
	}
	for i := range x.u.cfg.Rules {
		rule := &x.u.cfg.Rules[i]
		if rule.Direction != ProceduresOut {
			continue
		}
		if cloudURI, ok := rule.mapPattern(uri, match); ok {
			e := &export{rule: rule, localURI: uri, match: match, cloudURI: cloudURI}
			x.exports[id] = e
			x.register(e)
			return
		}
	}
}

func (x *exporter) remove(id uint64) {
	e := x.exports[id]
	if e == nil {
		return
	}
	delete(x.exports, id)
	if x.cloud != nil && e.cloudReg != nil {
		ctx, cancel := context.WithTimeout(x.u.ctx, 10*time.Second)
		defer cancel()
		x.cloud.Unregister(ctx, e.cloudReg)
	}
}

// register registers an export in the cloud, if connected. A refusal
// (another edge has the procedure) is logged; the next session tries
// again.
func (x *exporter) register(e *export) {
	if x.cloud == nil {
		return
	}
	ctx, cancel := context.WithTimeout(x.u.ctx, 10*time.Second)
	defer cancel()
	reg, err := x.cloud.RegisterWith(ctx, e.cloudURI, client.RegisterOptions{Match: e.match}, func(ctx context.Context, inv *client.Invocation) (client.Payload, error) {
		return x.u.callIn(ctx, e, inv)
	})
	if err != nil {
		x.u.log.Warn("uplink: cannot register in the cloud", "procedure", e.cloudURI, "err", err)
		return
	}
	e.cloudReg = reg
}

func (x *exporter) connected(cloud *client.Client) {
	done := make(chan struct{})
	x.do(func() {
		defer close(done)
		x.cloud = cloud
		for _, e := range x.exports {
			e.cloudReg = nil
			x.register(e)
		}
	})
	select {
	case <-done:
	case <-x.u.local.Done():
	}
}

func (x *exporter) disconnected() {
	x.do(func() {
		x.cloud = nil
		for _, e := range x.exports {
			e.cloudReg = nil
		}
	})
}

// callIn forwards a cloud call to the local callee (procedures_out).
func (u *Uplink) callIn(ctx context.Context, e *export, inv *client.Invocation) (client.Payload, error) {
	procedure := e.localURI
	if e.match != MatchExact && e.match != "" {
		var ok bool
		if procedure, ok = e.rule.toLocal(inv.Procedure); !ok {
			return client.Payload{}, &client.Error{URI: "wamp.error.no_such_procedure", Payload: client.Args("the uplink does not forward " + inv.Procedure)}
		}
	}
	u.callsIn.Add(1)
	return forwardCall(ctx, u.local, procedure, inv, u.cfg.CallTimeout, func() error {
		return &client.Error{URI: ErrUnavailable, Payload: client.Args("the edge router is shutting down")}
	})
}
