package main

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/wampedge/wampedge/codec"
	"github.com/wampedge/wampedge/edge"
	"github.com/wampedge/wampedge/edge/client"
	"github.com/wampedge/wampedge/internal/testutil"
	"github.com/wampedge/wampedge/rawsocket"
)

// -uplink URL -uplink-realm NAME -uplink-prefix P: the daemon bridges
// everything under P to a cloud router (here another wampedge), both ways.
func TestUplinkFlags(t *testing.T) {
	cloud := edge.New(&edge.Config{Realms: []string{"plant"}})
	t.Cleanup(func() { cloud.Close(context.Background()) })
	cl, err := cloud.Listen("tcp://127.0.0.1:0", rawsocket.ListenConfig{})
	if err != nil {
		t.Fatal(err)
	}
	cloudURL := "tcp://" + cl.Addr().String()
	tcpURL := "tcp://" + freeAddr(t)
	d := startDaemon(t, "-listen", tcpURL, "-mdns=false",
		"-uplink", cloudURL, "-uplink-realm", "plant", "-uplink-prefix", "site.")
	waitReady(t, d.started, d.exited, tcpURL)
	device := mustJoin(t, tcpURL, "realm1", codec.MsgPack)
	testutil.WaitFor(t, 10*time.Second, "the uplink to connect", func() bool {
		res, err := device.Call(ctxT(t), "wampedge.uplink.status", client.Payload{})
		return err == nil && res.Args[0].(map[string]any)["state"] == "connected"
	})
	operator := mustJoin(t, cloudURL, "plant", codec.MsgPack)
	got := make(chan *client.Event, 1)
	if _, err := operator.Subscribe(ctxT(t), "site.temp", func(e *client.Event) { got <- e }); err != nil {
		t.Fatal(err)
	}
	device.Publish(ctxT(t), "site.temp", client.Args(20.5), client.PublishOptions{})
	device.Publish(ctxT(t), "elsewhere.temp", client.Args(0), client.PublishOptions{}) // not under the prefix
	select {
	case e := <-got:
		if e.Args[0] != 20.5 {
			t.Errorf("cloud got %v", e.Args)
		}
	case <-time.After(waitTimeout):
		t.Fatal("the event did not reach the cloud")
	}
	if _, err := device.Register(ctxT(t), "site.ping", func(context.Context, *client.Invocation) (client.Payload, error) {
		return client.Args("pong"), nil
	}); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 10*time.Second, "a cloud call to the device", func() bool {
		res, err := operator.Call(ctxT(t), "site.ping", client.Payload{})
		return err == nil && res.Args[0] == "pong"
	})
	d.signal(t, syscall.SIGTERM)
	if code := d.wait(t); code != 0 {
		t.Fatalf("exit status %d", code)
	}
}
