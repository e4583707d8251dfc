package uplink

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"testing"
	"time"

	"github.com/wampedge/wampedge/codec"
	"github.com/wampedge/wampedge/edge/client"
	"github.com/wampedge/wampedge/edge/uplink"
	"github.com/wampedge/wampedge/test/cloud"
)

// siteRules is a site's mapping: device topics and procedures up under
// site1., commands down, cloud services reachable under cloud.
var siteRules = []uplink.Rule{
	{Direction: uplink.TopicsOut, Local: "dev.", Cloud: "site1.dev."},
	{Direction: uplink.TopicsIn, Local: "cmd.", Cloud: "site1.cmd."},
	{Direction: uplink.ProceduresOut, Local: "dev.", Cloud: "site1.dev."},
	{Direction: uplink.ProceduresIn, Local: "cloud.", Cloud: "svc."},
}

// credentials of the cloud's users, one per method.
var (
	ticket        = "s3cret-ticket"
	craSecret     = "cra-secret"
	saltedCRA     = cloud.SaltedSecret{Password: "salted-pw", Salt: "salt123", Iterations: 100, KeyLen: 32}
	_, edgeKey, _ = ed25519.GenerateKey(nil)
)

func nexusWithUsers(t testing.TB, onStart func(*cloud.Nexus)) *cloud.Nexus {
	return cloud.StartNexus(t, cloud.NexusConfig{
		Realm:         "cloud",
		Anonymous:     true,
		Tickets:       map[string]string{"edge-ticket": ticket},
		Secrets:       map[string]string{"edge-cra": craSecret},
		SaltedSecrets: map[string]cloud.SaltedSecret{"edge-salted": saltedCRA},
		Keys:          map[string]ed25519.PublicKey{"edge-key": edgeKey.Public().(ed25519.PublicKey)},
		OnStart:       onStart,
	})
}

// Every transport and authentication method: the bridge joins the cloud
// and a device event arrives there.
func TestUplinkTransportsAndAuth(t *testing.T) {
	n := nexusWithUsers(t, nil)
	for _, tr := range []struct{ name, url string }{{"rawsocket", n.RawSocketURL}, {"websocket", n.WebSocketURL}} {
		for _, auth := range []struct {
			name string
			cfg  uplink.Config
			role string
		}{
			{"ticket", uplink.Config{AuthID: "edge-ticket", Ticket: ticket}, "ticket"},
			{"wampcra", uplink.Config{AuthID: "edge-cra", Secret: craSecret}, "wampcra"},
			{"wampcra-salted", uplink.Config{AuthID: "edge-salted", Secret: saltedCRA.Password}, "wampcra"},
			{"cryptosign", uplink.Config{AuthID: "edge-key", PrivateKey: edgeKey}, "cryptosign"},
			{"anonymous", uplink.Config{}, "anonymous"},
		} {
			for _, ser := range []codec.Serializer{codec.MsgPack, codec.JSON} {
				t.Run(tr.name+"/"+auth.name+"/"+ser.String(), func(t *testing.T) {
					e := startEdge(t)
					cfg := auth.cfg
					cfg.URL, cfg.Realm, cfg.Serializer = tr.url, "cloud", ser
					cfg.Rules = siteRules
					startUplink(t, e, cfg)
					device := join(t, e.url, "realm1", client.Config{})
					waitState(t, device, uplink.StateConnected)
					watcher := join(t, n.RawSocketURL, "cloud", client.Config{})
					got := subscribe(t, watcher, "site1.dev.", "prefix")
					payload := client.ArgsKw([]any{21.5, "°C"}, map[string]any{"room": "kitchen"})
					if err := device.Publish(ctxFor(t), "dev.temp", payload, client.PublishOptions{}); err != nil {
						t.Fatal(err)
					}
					waitFor(t, "the event in the cloud", func() bool { return got.len() == 1 })
					if ev := got.all()[0]; ev.Topic != "site1.dev.temp" || !samePayload(ev.Payload, payload) {
						t.Errorf("cloud got %s %x %x", ev.Topic, ev.Payload.Args, ev.Payload.Kwargs)
					}
				})
			}
		}
	}
}

// Every rule direction, end to end, with payloads as they were.
func TestUplinkRules(t *testing.T) {
	n := nexusWithUsers(t, nil)
	for _, tr := range []struct{ name, url string }{{"rawsocket", n.RawSocketURL}, {"websocket", n.WebSocketURL}} {
		t.Run(tr.name, func(t *testing.T) {
			e := startEdge(t)
			startUplink(t, e, uplink.Config{URL: tr.url, Realm: "cloud", AuthID: "edge-ticket", Ticket: ticket, Rules: siteRules})
			device := join(t, e.url, "realm1", client.Config{})
			operator := join(t, n.RawSocketURL, "cloud", client.Config{})
			waitState(t, device, uplink.StateConnected)
			ctx := ctxFor(t)

			// topics in: a cloud command reaches a device, publisher disclosed.
			commands := subscribe(t, device, "cmd.valve", "")
			cmd := client.ArgsKw([]any{"open", 3}, map[string]any{"ttl": 1.5})
			if err := operator.Publish(ctx, "site1.cmd.valve", cmd, client.PublishOptions{DiscloseMe: true}); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the command at the device", func() bool { return commands.len() == 1 })
			if ev := commands.all()[0]; !samePayload(ev.Payload, cmd) || ev.Publisher != operator.ID() {
				t.Errorf("device got %x %x from %d, want the operator %d", ev.Payload.Args, ev.Payload.Kwargs, ev.Publisher, operator.ID())
			}

			// procedures out: the cloud calls device procedures, with
			// progressive results and errors as the device sent them.
			_, err := device.Register(ctx, "dev.add", func(_ context.Context, inv *client.Invocation) (client.Payload, error) {
				a, _, _ := inv.Payload.Decode()
				return client.Args(a[0].(int64) + a[1].(int64)), nil
			})
			if err != nil {
				t.Fatal(err)
			}
			_, err = device.Register(ctx, "dev.count", func(ctx context.Context, inv *client.Invocation) (client.Payload, error) {
				for i := range 3 {
					if err := inv.Progress(ctx, client.Args(i)); err != nil {
						return client.Payload{}, err
					}
				}
				return client.Args("done"), nil
			})
			if err != nil {
				t.Fatal(err)
			}
			failure := client.ArgsKw([]any{"valve stuck"}, map[string]any{"code": 17})
			_, err = device.Register(ctx, "dev.fail", func(context.Context, *client.Invocation) (client.Payload, error) {
				return client.Payload{}, &client.Error{URI: "com.example.error.stuck", Payload: failure}
			})
			if err != nil {
				t.Fatal(err)
			}
			var res *client.Result
			waitFor(t, "dev.add registered in the cloud", func() bool {
				res, err = operator.Call(ctx, "site1.dev.add", client.Args(2, 3))
				return err == nil
			})
			if res.Args[0] != int64(5) {
				t.Errorf("site1.dev.add: %v", res.Args)
			}
			var progress []any
			waitFor(t, "dev.count registered in the cloud", func() bool {
				progress = nil
				res, err = operator.CallWith(ctx, "site1.dev.count", client.Payload{}, client.CallOptions{
					Progress: func(r *client.Result) { progress = append(progress, r.Args[0]) },
				})
				return err == nil
			})
			if len(progress) != 3 || progress[2] != int64(2) || res.Args[0] != "done" {
				t.Errorf("progressive results %v, final %v", progress, res.Args)
			}
			var werr error
			waitFor(t, "dev.fail registered in the cloud", func() bool {
				_, werr = operator.Call(ctx, "site1.dev.fail", client.Payload{})
				var e *client.Error
				return errorsAs(werr, &e) && e.URI != "wamp.error.no_such_procedure"
			})
			if e := wampError(t, werr, "com.example.error.stuck"); !samePayload(e.Payload, failure) {
				t.Errorf("error payload %x %x", e.Payload.Args, e.Payload.Kwargs)
			}

			// procedures in: a device calls a cloud service.
			_, err = operator.Register(ctx, "svc.echo", func(_ context.Context, inv *client.Invocation) (client.Payload, error) {
				return inv.Payload, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			arg := client.ArgsKw([]any{"hello", []byte{0, 1, 2}}, map[string]any{"n": uint64(1) << 60})
			res, err = device.Call(ctx, "cloud.echo", arg)
			if err != nil || !samePayload(res.Payload, arg) {
				t.Fatalf("cloud.echo: %v %+v", err, res)
			}

			// A callee that leaves is unregistered in the cloud too.
			device.Close()
			waitFor(t, "site1.dev.add unregistered in the cloud", func() bool {
				_, err := operator.Call(ctx, "site1.dev.add", client.Args(1, 1))
				var e *client.Error
				return errorsAs(err, &e) && e.URI == "wamp.error.no_such_procedure"
			})
		})
	}
}

// Another wampedge as the cloud: the same rules, both ways.
func TestUplinkToWampedge(t *testing.T) {
	cloudRouter := startEdgeRealm(t, "cloud")
	e := startEdge(t)
	startUplink(t, e, uplink.Config{URL: cloudRouter.url, Realm: "cloud", Rules: siteRules})
	device := join(t, e.url, "realm1", client.Config{})
	operator := join(t, cloudRouter.url, "cloud", client.Config{})
	waitState(t, device, uplink.StateConnected)
	ctx := ctxFor(t)

	up := subscribe(t, operator, "site1.dev.", "prefix")
	down := subscribe(t, device, "cmd.", "prefix")
	device.Publish(ctx, "dev.temp", client.Args(1.5), client.PublishOptions{DiscloseMe: true})
	operator.Publish(ctx, "site1.cmd.fan", client.Args("on"), client.PublishOptions{DiscloseMe: true})
	waitFor(t, "events both ways", func() bool { return up.len() == 1 && down.len() == 1 })
	if ev := up.all()[0]; ev.Topic != "site1.dev.temp" || ev.Args[0] != 1.5 {
		t.Errorf("cloud got %s %v", ev.Topic, ev.Args)
	}
	if ev := down.all()[0]; ev.Topic != "cmd.fan" || ev.Publisher != operator.ID() {
		t.Errorf("device got %s from %d, want from the operator %d", ev.Topic, ev.Publisher, operator.ID())
	}
	device.Register(ctx, "dev.count", func(ctx context.Context, inv *client.Invocation) (client.Payload, error) {
		for i := range 2 {
			inv.Progress(ctx, client.Args(i))
		}
		return client.Args(fmt.Sprint("caller ", inv.Caller)), nil
	})
	var progress int
	var res *client.Result
	waitFor(t, "dev.count through the uplink", func() bool {
		progress = 0
		var err error
		res, err = operator.CallWith(ctx, "site1.dev.count", client.Payload{}, client.CallOptions{
			DiscloseMe: true,
			Progress:   func(*client.Result) { progress++ },
		})
		return err == nil
	})
	if progress != 2 || res.Args[0] != fmt.Sprint("caller ", operator.ID()) {
		t.Errorf("%d progressive results; final %v (the operator is %d)", progress, res.Args, operator.ID())
	}
	operator.Register(ctx, "svc.time", func(context.Context, *client.Invocation) (client.Payload, error) {
		return client.Args("noon"), nil
	})
	if res, err := device.Call(ctx, "cloud.time", client.Payload{}); err != nil || res.Args[0] != "noon" {
		t.Errorf("cloud.time: %v %v", res, err)
	}
	_ = time.Second
}
