//go:build !nowebsocket

package client

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/wampedge/wampedge/codec"
	"github.com/wampedge/wampedge/rawsocket"
)

// webSocket is a Transport over WebSocket: one WAMP message per WebSocket
// message, under the subprotocol wamp.2.json (text) or wamp.2.msgpack
// (binary) (WAMP.md §6.3). It brings in net/http, about 1.2 MB of a
// linux/arm binary; build with -tags nowebsocket to leave it out.
type webSocket struct {
	conn *websocket.Conn
	ser  codec.Serializer
	kind websocket.MessageType
	buf  bytes.Buffer // the last message read

	// ctx bounds every read and write: cancelling it drops the
	// connection at once, which a close handshake alone does not do.
	ctx       context.Context
	cancel    context.CancelFunc
	closeOnce sync.Once
}

// wsCloseGrace is how long Close waits for the peer to answer the close
// handshake before it drops the connection.
const wsCloseGrace = time.Second

// dialWebSocket connects to a ws:// or wss:// URL; ctx bounds the opening
// handshake. wss:// uses cfg.TLS when set, the system's roots otherwise.
func dialWebSocket(ctx context.Context, url string, cfg Config) (*webSocket, error) {
	kind := websocket.MessageBinary
	switch cfg.Serializer {
	case codec.JSON:
		kind = websocket.MessageText
	case codec.MsgPack:
	default:
		return nil, fmt.Errorf("client: unsupported serializer %v", cfg.Serializer)
	}
	subprotocol := "wamp.2." + cfg.Serializer.String()
	opts := &websocket.DialOptions{Subprotocols: []string{subprotocol}}
	if strings.HasPrefix(url, "wss:") && cfg.TLS != nil {
		opts.HTTPClient = &http.Client{Transport: &http.Transport{
			Proxy:           http.ProxyFromEnvironment,
			TLSClientConfig: cfg.TLS.Clone(),
		}}
	}
	conn, _, err := websocket.Dial(ctx, url, opts)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	if got := conn.Subprotocol(); got != subprotocol {
		conn.CloseNow()
		return nil, fmt.Errorf("client: %s answered with subprotocol %q, not %s", url, got, subprotocol)
	}
	limit := cfg.MaxLength
	if limit <= 0 {
		limit = rawsocket.DefaultMaxLength
	}
	conn.SetReadLimit(int64(limit))
	w := &webSocket{conn: conn, ser: cfg.Serializer, kind: kind}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	return w, nil
}

func (w *webSocket) Serializer() codec.Serializer { return w.ser }

// ReadMsg returns the next message; it is valid until the next call. A
// message over the read limit ends the connection.
func (w *webSocket) ReadMsg() ([]byte, error) {
	_, r, err := w.conn.Reader(w.ctx)
	if err != nil {
		return nil, err
	}
	w.buf.Reset()
	if _, err := w.buf.ReadFrom(r); err != nil {
		return nil, err
	}
	return w.buf.Bytes(), nil
}

func (w *webSocket) WriteMsg(msg []byte) error { return w.conn.Write(w.ctx, w.kind, msg) }

// Close runs the WebSocket close handshake for up to wsCloseGrace. A peer
// that has not answered by then is dropped if a read or write is under
// way; otherwise the library ends the handshake on its own timer, in the
// background.
func (w *webSocket) Close() error {
	w.closeOnce.Do(func() {
		closed := make(chan struct{})
		go func() {
			w.conn.Close(websocket.StatusNormalClosure, "")
			close(closed)
		}()
		select {
		case <-closed:
		case <-time.After(wsCloseGrace):
		}
		w.cancel()
	})
	return nil
}
