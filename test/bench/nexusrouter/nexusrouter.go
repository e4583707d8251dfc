package nexusrouter

import (
	"io"
	"log"
	"net"

	nexus "github.com/gammazero/nexus/v3/router"
	"github.com/gammazero/nexus/v3/wamp"
)

// Router is a running nexus router.
type Router struct {
	r      nexus.Router
	ln     io.Closer
	addr   string
	closed bool
}

// Listen starts a router with a RawSocket listener on addr (HOST:PORT;
// port 0 picks one).
func Listen(addr string) (*Router, error) {
	r, err := nexus.NewRouter(&nexus.Config{
		RealmConfigs: []*nexus.RealmConfig{{URI: wamp.URI("realm1"), AnonymousAuth: true}},
	}, log.New(io.Discard, "", 0)) // a discarding log.Logger formats nothing
	if err != nil {
		return nil, err
	}
	if _, port, _ := net.SplitHostPort(addr); port == "0" {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			r.Close()
			return nil, err
		}
		addr = ln.Addr().String()
		ln.Close()
	}
	ln, err := nexus.NewRawSocketServer(r).ListenAndServe("tcp", addr)
	if err != nil {
		r.Close()
		return nil, err
	}
	return &Router{r: r, ln: ln, addr: addr}, nil
}

// Addr is the address the router listens on.
func (r *Router) Addr() string { return r.addr }

// Close stops the listener and the router.
func (r *Router) Close() {
	if r.closed {
		return
	}
	r.closed = true
	r.ln.Close()
	r.r.Close()
}
