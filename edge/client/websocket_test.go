//go:build !nowebsocket

package client_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/coder/websocket"
	"github.com/wampedge/wampedge/codec"
	"github.com/wampedge/wampedge/edge/client"
)

// wsFake is the router's side of a WebSocket: it checks that every
// message comes in the frame type its subprotocol calls for.
type wsFake struct {
	conn *websocket.Conn
	kind websocket.MessageType
	bad  chan<- error
}

func (w wsFake) ReadMsg() ([]byte, error) {
	kind, msg, err := w.conn.Read(context.Background())
	if err == nil && kind != w.kind {
		w.bad <- errors.New("a " + kind.String() + " message under " + w.conn.Subprotocol())
	}
	return msg, err
}

func (w wsFake) WriteMsg(msg []byte) error { return w.conn.Write(context.Background(), w.kind, msg) }

// wsRouter is a fake router over WebSocket offering subprotocols, run by
// script; it returns the ws:// URL and where frame-type errors go.
func wsRouter(t *testing.T, subprotocols []string, script func(conn msgConn, wire codec.Codec)) (url string, bad <-chan error) {
	t.Helper()
	srv, bad := wsServer(t, subprotocols, script)
	srv.Start()
	return "ws" + strings.TrimPrefix(srv.URL, "http"), bad
}

// wsServer is wsRouter's server, not yet started.
func wsServer(t *testing.T, subprotocols []string, script func(conn msgConn, wire codec.Codec)) (*httptest.Server, <-chan error) {
	t.Helper()
	errs := make(chan error, 16)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: subprotocols})
		if err != nil {
			return
		}
		defer conn.CloseNow()
		ser, kind := codec.MsgPack, websocket.MessageBinary
		switch conn.Subprotocol() {
		case "wamp.2.json":
			ser, kind = codec.JSON, websocket.MessageText
		case "wamp.2.msgpack":
		default:
			conn.Close(websocket.StatusProtocolError, "no WAMP subprotocol")
			return
		}
		script(wsFake{conn, kind, errs}, codec.NewCodec(ser))
	}))
	t.Cleanup(srv.Close)
	return srv, errs
}

func TestWebSocket(t *testing.T) {
	both := []string{"wamp.2.json", "wamp.2.msgpack"}
	for _, ser := range []codec.Serializer{codec.JSON, codec.MsgPack} {
		t.Run(ser.String(), func(t *testing.T) {
			got := make(chan codec.Message, 16)
			url, bad := wsRouter(t, both, func(conn msgConn, wire codec.Codec) {
				serveFake(conn, wire, codec.WelcomeDetails{Roles: map[string]codec.Role{"dealer": {}}}, answerRequests(t), got)
			})
			c, err := client.Dial(opCtx(t), url, client.Config{Serializer: ser})
			if err != nil {
				t.Fatal(err)
			}
			res, err := c.Call(opCtx(t), "com.example.p", client.Args("é", []byte{0, 0xff}))
			if err != nil || res.Args[0] != "final" {
				t.Fatalf("Call: %v, %v", res, err)
			}
			next[*codec.Hello](t, got)
			call := next[*codec.Call](t, got)
			if args, _, err := (client.Payload{Args: call.Args}).Decode(); err != nil || args[0] != "é" {
				t.Errorf("the router got arguments %v, %v", args, err)
			}
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			next[*codec.Goodbye](t, got)
			select {
			case err := <-bad:
				t.Error(err)
			default:
			}
		})
	}

	t.Run("wss", func(t *testing.T) {
		got := make(chan codec.Message, 16)
		srv, _ := wsServer(t, both, func(conn msgConn, wire codec.Codec) {
			serveFake(conn, wire, codec.WelcomeDetails{Roles: map[string]codec.Role{"dealer": {}}}, answerRequests(t), got)
		})
		srv.StartTLS()
		url := "wss" + strings.TrimPrefix(srv.URL, "https")
		if _, err := client.Dial(opCtx(t), url, client.Config{}); err == nil {
			t.Fatal("Dial trusted a certificate of no known authority")
		}
		roots := x509.NewCertPool()
		roots.AddCert(srv.Certificate())
		c, err := client.Dial(opCtx(t), url, client.Config{TLS: &tls.Config{RootCAs: roots}})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if res, err := c.Call(opCtx(t), "com.example.p", client.Payload{}); err != nil || res.Args[0] != "final" {
			t.Errorf("Call over wss: %v, %v", res, err)
		}
	})

	t.Run("subprotocol refused", func(t *testing.T) {
		url, _ := wsRouter(t, []string{"wamp.2.cbor"}, nil)
		_, err := client.Dial(opCtx(t), url, client.Config{Serializer: codec.JSON})
		if err == nil || !strings.Contains(err.Error(), "wamp.2.json") {
			t.Errorf("Dial: %v, want an error naming the subprotocol", err)
		}
	})

	t.Run("message over MaxLength", func(t *testing.T) {
		url, _ := wsRouter(t, both, func(conn msgConn, wire codec.Codec) {
			if welcome(conn, wire) != nil {
				return
			}
			big := client.Args(strings.Repeat("x", 4096))
			fakeSend(conn, wire, &codec.Event{Subscription: 1, Publication: 1, Args: big.Args})
			fakeRead(conn, wire) // until the client goes
		})
		c, err := client.Dial(opCtx(t), url, client.Config{MaxLength: 1024})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		receive(t, c.Done(), "the session's end")
		if c.Err() == nil {
			t.Error("a message over MaxLength did not end the session")
		}
	})

	t.Run("cancelled", func(t *testing.T) {
		url, _ := wsRouter(t, both, nil)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := client.Dial(ctx, url, client.Config{}); !errors.Is(err, context.Canceled) {
			t.Errorf("Dial with a cancelled context: %v", err)
		}
	})
}
