package relay

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wampedge/wampedge/codec"
)

// Read buffer sizes: idle sessions hold a small buffer; one that fills
// it doubles it, up to maxBuffer: the read size of wampedge's streams, so
// that the relay makes the syscalls a router makes, not fewer.
const (
	startBuffer = 4 << 10
	maxBuffer   = 64 << 10
)

// The canned answers to the set-up messages.
var (
	welcome    = frame(&codec.Welcome{Session: 1, Details: welcomeDetails()})
	subscribed = frame(&codec.Subscribed{Request: 1, Subscription: 1})
	registered = frame(&codec.Registered{Request: 1, Registration: 1})
	goodbye    = frame(&codec.Goodbye{Reason: []byte("wamp.close.goodbye_and_out")})
)

func welcomeDetails() []byte {
	d, _ := (&codec.WelcomeDetails{Roles: map[string]codec.Role{"broker": {}, "dealer": {}}}).MarshalMsg(nil)
	return d
}

func frame(m codec.Message) []byte {
	b := m.Append(make([]byte, 4))
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	return b
}

// Server is a relay listening on TCP.
type Server struct {
	ln net.Listener

	mu          sync.Mutex // serialises changes to subscribers and conns
	subscribers atomic.Pointer[[]*peer]
	responder   atomic.Pointer[peer]
	caller      atomic.Pointer[peer]
	conns       map[net.Conn]struct{}
	closed      bool
}

// peer is one session; frames for it come from any session's reader,
// which copies each into out and writes out once it has no whole frame
// left to relay.
type peer struct {
	nc  net.Conn
	wmu sync.Mutex
	out []byte
}

// queue copies a frame into the peer's write buffer, and reports whether
// the buffer was empty: whether the caller has to flush it.
func (p *peer) queue(f []byte) (first bool) {
	p.wmu.Lock()
	first = len(p.out) == 0
	p.out = append(p.out, f...)
	p.wmu.Unlock()
	return first
}

// flush writes what is queued, in one write.
func (p *peer) flush() {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	if len(p.out) == 0 {
		return
	}
	if _, err := p.nc.Write(p.out); err != nil {
		p.nc.Close() // its reader sees it and takes it out
	}
	p.out = p.out[:0]
}

func (p *peer) write(b []byte) {
	p.queue(b)
	p.flush()
}

// Listen opens a relay on addr (HOST:PORT).
func Listen(addr string) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{ln: ln, conns: make(map[net.Conn]struct{})}
	s.subscribers.Store(&[]*peer{})
	return s, nil
}

// Addr is the address the relay listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Serve accepts sessions until Close.
func (s *Server) Serve() error {
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			time.Sleep(10 * time.Millisecond) // out of descriptors, say
			continue
		}
		if !s.track(nc) {
			nc.Close()
			return nil
		}
		go s.serve(nc)
	}
}

// Close stops the listener and closes every session.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	for nc := range s.conns {
		nc.Close()
	}
	s.mu.Unlock()
	return s.ln.Close()
}

func (s *Server) track(nc net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[nc] = struct{}{}
	return true
}

// Where a run of frames goes.
type route int

const (
	nowhere route = iota
	toSubscribers
	toResponder
	toCaller
)

func (s *Server) serve(nc net.Conn) {
	p := &peer{nc: nc}
	defer s.forget(p)
	if !handshake(nc) {
		return
	}
	buf := make([]byte, startBuffer)
	var r, w int
	var touched []*peer // the peers this reader queued frames for
	for {
		n, err := nc.Read(buf[w:])
		if err != nil {
			return
		}
		burst := w+n == len(buf) // the read took all the room there was
		w += n
		for w-r >= 4 {
			size := 4 + int(binary.BigEndian.Uint32(buf[r:])&0xffffff)
			if w-r < size {
				break
			}
			f := buf[r : r+size]
			r += size
			rt, answer := s.classify(p, f)
			if answer != nil {
				p.write(answer)
				if answer[5] == byte(codec.TypeGoodbye) {
					return
				}
				continue
			}
			touched = s.queue(rt, f, touched)
		}
		for i, d := range touched {
			d.flush()
			touched[i] = nil
		}
		touched = touched[:0]
		w = copy(buf, buf[r:w])
		r = 0
		// Grow for a frame larger than the buffer, and for bursts.
		if w == len(buf) || burst && len(buf) < maxBuffer {
			bigger := make([]byte, 2*len(buf))
			copy(bigger, buf[:w])
			buf = bigger
		}
	}
}

// classify says where a frame goes, or returns the answer to a set-up
// message.
func (s *Server) classify(p *peer, f []byte) (route, []byte) {
	if f[0] != 0 || len(f) < 6 || f[4]&0xf0 != 0x90 { // not a message frame with a short array
		return nowhere, nil
	}
	if s.responder.Load() == p {
		return toCaller, nil
	}
	switch codec.Type(f[5]) {
	case codec.TypePublish:
		return toSubscribers, nil
	case codec.TypeCall:
		if s.caller.Load() != p {
			s.caller.Store(p)
		}
		return toResponder, nil
	case codec.TypeHello:
		return nowhere, welcome
	case codec.TypeSubscribe:
		s.mu.Lock()
		subs := append(append([]*peer(nil), *s.subscribers.Load()...), p)
		s.subscribers.Store(&subs)
		s.mu.Unlock()
		return nowhere, subscribed
	case codec.TypeRegister:
		s.responder.Store(p)
		return nowhere, registered
	case codec.TypeGoodbye:
		return nowhere, goodbye
	}
	return nowhere, nil
}

// queue copies a frame to the write buffer of each session it goes to,
// and adds to touched those whose buffer it started.
func (s *Server) queue(rt route, f []byte, touched []*peer) []*peer {
	add := func(p *peer) {
		if p.queue(f) {
			touched = append(touched, p)
		}
	}
	switch rt {
	case toSubscribers:
		for _, sub := range *s.subscribers.Load() {
			add(sub)
		}
	case toResponder:
		if p := s.responder.Load(); p != nil {
			add(p)
		}
	case toCaller:
		if p := s.caller.Load(); p != nil {
			add(p)
		}
	}
	return touched
}

// forget takes a session out when its connection ends.
func (s *Server) forget(p *peer) {
	p.nc.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, p.nc)
	old := *s.subscribers.Load()
	subs := make([]*peer, 0, len(old))
	for _, sub := range old {
		if sub != p {
			subs = append(subs, sub)
		}
	}
	s.subscribers.Store(&subs)
	s.responder.CompareAndSwap(p, nil)
	s.caller.CompareAndSwap(p, nil)
}

// handshake answers a RawSocket handshake: the client's serializer, and
// 16 MiB as this side's limit.
func handshake(nc net.Conn) bool {
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	defer nc.SetDeadline(time.Time{})
	var hs [4]byte
	if _, err := io.ReadFull(nc, hs[:]); err != nil || hs[0] != 0x7f {
		return false
	}
	_, err := nc.Write([]byte{0x7f, 0xf0 | hs[1]&0x0f, 0, 0})
	return err == nil
}
