package edge_test

import (
	"context"
	"testing"
	"time"

	"github.com/wampedge/wampedge/codec"
	"github.com/wampedge/wampedge/edge"
	"github.com/wampedge/wampedge/edge/client"
	"github.com/wampedge/wampedge/rawsocket"
)

func TestSmoke(t *testing.T) {
	r := edge.New(nil)
	l, err := r.Listen("tcp://127.0.0.1:0", rawsocket.ListenConfig{})
	if err != nil {
		t.Fatal(err)
	}
	url := l.Endpoint().String()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, ser := range []codec.Serializer{codec.MsgPack, codec.JSON} {
		a, err := client.Dial(ctx, url, client.Config{Serializer: ser})
		if err != nil {
			t.Fatal(err)
		}
		b, err := client.Dial(ctx, url, client.Config{Serializer: codec.JSON})
		if err != nil {
			t.Fatal(err)
		}
		got := make(chan *client.Event, 1)
		if _, err := b.Subscribe(ctx, "com.x", func(e *client.Event) { got <- e }); err != nil {
			t.Fatal(err)
		}
		if err := a.Publish(ctx, "com.x", client.Args("hi", 1, []byte{1, 2}), client.PublishOptions{Acknowledge: true}); err != nil {
			t.Fatal(err)
		}
		ev := <-got
		t.Logf("%v event %v", ser, ev.Args)
		if _, err := b.Register(ctx, "com.add", func(ctx context.Context, inv *client.Invocation) (client.Payload, error) {
			return client.Args(inv.Args[0].(int64) + inv.Args[1].(int64)), nil
		}); err != nil {
			t.Fatal(err)
		}
		res, err := a.Call(ctx, "com.add", client.Args(2, 3))
		t.Logf("%v result %v %v", ser, res, err)
		_, err = a.Call(ctx, "com.nope", client.Args(2, 3))
		t.Logf("%v err %v", ser, err)
		a.Close()
		b.Close()
	}
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}
}
