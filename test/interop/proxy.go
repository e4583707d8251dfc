package interop

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/wampedge/wampedge/codec"
	"github.com/wampedge/wampedge/internal/testutil"
)

// proxy sits between one peer and the router: it passes bytes through
// unchanged, writes each WAMP message it sees into a frame log, and can
// drop its connections to kill an in-process peer.
type proxy struct {
	ln     net.Listener
	url    string
	target string // the router's address, in the same network
	label  string
	log    *testutil.SyncBuffer
	mu     sync.Mutex
	conns  []net.Conn
	n      int
}

// newProxy listens on a fresh TCP port or Unix socket in dir and forwards
// to the router's listener of the same kind.
func newProxy(network, dir, target, label string, log *testutil.SyncBuffer) (*proxy, error) {
	addr := "127.0.0.1:0"
	if network == "unix" {
		addr = filepath.Join(dir, fmt.Sprintf("%s-%d.sock", strings.ReplaceAll(label, "/", "-"), time.Now().UnixNano()%1e6))
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		return nil, err
	}
	p := &proxy{ln: ln, target: target, label: label, log: log}
	if network == "unix" {
		p.url = "unix://" + addr
	} else {
		p.url = "tcp://" + ln.Addr().String()
	}
	go p.serve(network)
	return p, nil
}

func (p *proxy) serve(network string) {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		r, err := net.Dial(network, p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.n++
		name := fmt.Sprintf("%s#%d", p.label, p.n)
		p.conns = append(p.conns, c, r)
		p.mu.Unlock()
		hs := make(chan byte, 1) // the serializer, from the client's handshake
		go p.pipe(c, r, name+" →", hs, true)
		go p.pipe(r, c, name+" ←", hs, false)
	}
}

// pipe copies src to dst and logs the frames that pass.
func (p *proxy) pipe(src, dst net.Conn, dir string, hs chan byte, fromClient bool) {
	defer dst.Close()
	var buf []byte
	serializer := byte(0)
	handshake := false
	chunk := make([]byte, 64<<10)
	for {
		n, err := src.Read(chunk)
		if n > 0 {
			if _, werr := dst.Write(chunk[:n]); werr != nil {
				return
			}
			buf = append(buf, chunk[:n]...)
			if !handshake && len(buf) >= 4 {
				handshake = true
				if fromClient {
					hs <- buf[1] & 0x0f
					serializer = buf[1] & 0x0f
				} else {
					serializer = <-hs
				}
				p.logf("%s handshake % x", dir, buf[:4])
				buf = buf[4:]
			}
			for handshake && len(buf) >= 4 {
				h := binary.BigEndian.Uint32(buf)
				size := int(h & 0xffffff)
				if h&(1<<27) != 0 {
					size = 1 << 24
				}
				if len(buf) < 4+size {
					break
				}
				p.logFrame(dir, byte(h>>24)&7, serializer, buf[4:4+size])
				buf = buf[4+size:]
			}
		}
		if err != nil {
			if err != io.EOF {
				p.logf("%s closed: %v", dir, err)
			} else {
				p.logf("%s closed", dir)
			}
			return
		}
	}
}

func (p *proxy) logFrame(dir string, typ, serializer byte, body []byte) {
	switch typ {
	case 1:
		p.logf("%s PING %d bytes", dir, len(body))
		return
	case 2:
		p.logf("%s PONG %d bytes", dir, len(body))
		return
	}
	text := string(body)
	if codec.Serializer(serializer) == codec.MsgPack {
		j, err := codec.ToJSON(nil, body)
		if err != nil {
			text = fmt.Sprintf("(undecodable MessagePack: %v) % x", err, body[:min(len(body), 64)])
		} else {
			text = string(j)
		}
	}
	p.logf("%s %s", dir, short(text))
}

func (p *proxy) logf(format string, args ...any) {
	fmt.Fprintf(p.log, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05.000")}, args...)...)
}

// drop closes every connection through the proxy, as a killed peer would.
func (p *proxy) drop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.logf("%s connections dropped (peer killed)", p.label)
}

func (p *proxy) close() {
	p.ln.Close()
	p.drop()
}
