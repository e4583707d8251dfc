package rawsocket

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wampedge/wampedge/codec"
)

// Endpoint is a parsed transport URL: tcp://HOST:PORT, tls://HOST:PORT
// or unix:///PATH.
type Endpoint struct {
	Scheme  string // "tcp", "tls" or "unix"
	Network string // "tcp" or "unix"
	Address string // HOST:PORT, or the socket's path
}

// ParseURL parses a transport URL.
func ParseURL(s string) (Endpoint, error) {
	u, err := url.Parse(s)
	if err != nil {
		return Endpoint{}, fmt.Errorf("rawsocket: bad URL %q: %w", s, err)
	}
	switch u.Scheme {
	case "tcp", "tls":
		if u.Host == "" || u.Port() == "" {
			return Endpoint{}, fmt.Errorf("rawsocket: URL %q needs HOST:PORT", s)
		}
		return Endpoint{Scheme: u.Scheme, Network: "tcp", Address: u.Host}, nil
	case "unix":
		path := u.Path
		if u.Host != "" { // unix://relative/path
			path = u.Host + u.Path
		}
		if path == "" {
			return Endpoint{}, fmt.Errorf("rawsocket: URL %q needs a socket path", s)
		}
		return Endpoint{Scheme: "unix", Network: "unix", Address: path}, nil
	}
	return Endpoint{}, fmt.Errorf("rawsocket: URL %q: scheme must be tcp, tls or unix", s)
}

func (e Endpoint) String() string {
	if e.Scheme == "unix" {
		return "unix://" + e.Address
	}
	return e.Scheme + "://" + e.Address
}

// ListenConfig is a listener's Config plus what only listeners need.
type ListenConfig struct {
	Config
	// TLS is required for tls:// listeners.
	TLS *tls.Config
	// SocketMode, if not zero, is the file mode of a Unix socket.
	SocketMode fs.FileMode
	// SocketGroup, if set, is the group (a name or a number) that owns a
	// Unix socket: with mode 0660, who may connect.
	SocketGroup string
	// MaxConns, if not zero, refuses connections past this many at once
	// with the handshake error "maximum connection count reached".
	MaxConns int
	// Logger receives a line for each refused connection; nil: none.
	Logger *slog.Logger
}

// Listener accepts RawSocket connections on TCP, TLS or a Unix socket.
type Listener struct {
	ln     net.Listener
	ep     Endpoint
	cfg    ListenConfig
	active atomic.Int64
	wg     sync.WaitGroup
	closed atomic.Bool
}

// Listen opens a listener for a transport URL. A stale Unix socket file
// (one nobody answers on) is replaced; a live one is an error.
func Listen(rawURL string, cfg ListenConfig) (*Listener, error) {
	ep, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	if ep.Scheme == "tls" && cfg.TLS == nil {
		return nil, fmt.Errorf("rawsocket: %s needs a TLS certificate", ep)
	}
	if ep.Network == "unix" {
		if err := removeStaleSocket(ep.Address); err != nil {
			return nil, err
		}
	}
	ln, err := net.Listen(ep.Network, ep.Address)
	if err != nil {
		return nil, fmt.Errorf("rawsocket: %w", err)
	}
	if ep.Network == "unix" {
		if err := setSocketOwner(ep.Address, cfg.SocketMode, cfg.SocketGroup); err != nil {
			ln.Close()
			return nil, fmt.Errorf("rawsocket: %w", err)
		}
	}
	if ep.Scheme == "tls" {
		ln = tls.NewListener(ln, cfg.TLS)
	}
	if host, port, _ := net.SplitHostPort(ep.Address); ep.Network == "tcp" && port == "0" {
		// Report the port actually bound, under the host asked for.
		_, bound, _ := net.SplitHostPort(ln.Addr().String())
		ep.Address = net.JoinHostPort(host, bound)
	}
	return &Listener{ln: ln, ep: ep, cfg: cfg}, nil
}

// setSocketOwner applies a Unix socket's mode and group, when set.
func setSocketOwner(path string, mode fs.FileMode, group string) error {
	if group != "" {
		gid, err := groupID(group)
		if err != nil {
			return err
		}
		if err := os.Chown(path, -1, gid); err != nil {
			return err
		}
	}
	if mode != 0 {
		return os.Chmod(path, mode)
	}
	return nil
}

// groupID is a group's number: given, or looked up in /etc/group (a
// few lines instead of os/user, which the size budget feels).
func groupID(group string) (int, error) {
	if gid, err := strconv.Atoi(group); err == nil {
		return gid, nil
	}
	data, err := os.ReadFile("/etc/group")
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(data)) {
		// name:password:GID:members
		f := strings.Split(strings.TrimSpace(line), ":")
		if len(f) >= 3 && f[0] == group {
			return strconv.Atoi(f[2])
		}
	}
	return 0, fmt.Errorf("unknown group %q", group)
}

func removeStaleSocket(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("rawsocket: %w", err)
	}
	if fi.Mode()&fs.ModeSocket == 0 {
		return fmt.Errorf("rawsocket: %s exists and is not a socket", path)
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return fmt.Errorf("rawsocket: %s is in use by another process", path)
	}
	return os.Remove(path)
}

// String is the listener's URL, for logs.
func (l *Listener) String() string { return l.ep.String() }

// Endpoint is where the listener listens (with the bound port for TCP).
func (l *Listener) Endpoint() Endpoint { return l.ep }

// Config is the handshake configuration the listener offers.
func (l *Listener) Config() Config { return l.cfg.Config }

// Addr is the listener's network address.
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }

// Serve accepts connections until Close, runs the handshake of each in a
// goroutine of its own (a slow client delays nobody), and calls handle
// with each connection that completes it. The connection is closed when
// handle returns. Serve returns nil after Close, once every handle has
// returned.
func (l *Listener) Serve(handle func(*Conn)) error {
	defer l.wg.Wait()
	var backoff time.Duration
	for {
		nc, err := l.ln.Accept()
		if err != nil {
			if l.closed.Load() {
				return nil
			}
			// Out of file descriptors and the like: wait, don't spin.
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				time.Sleep(backoff)
				continue
			}
			return fmt.Errorf("rawsocket: accept on %s: %w", l.ep, err)
		}
		backoff = 0
		l.wg.Add(1)
		go l.serveConn(nc, handle)
	}
}

func isTemporary(err error) bool {
	t, ok := err.(interface{ Temporary() bool })
	return ok && t.Temporary()
}

func (l *Listener) serveConn(nc net.Conn, handle func(*Conn)) {
	defer l.wg.Done()
	if n := l.active.Add(1); l.cfg.MaxConns > 0 && n > int64(l.cfg.MaxConns) {
		defer nc.Close()
		l.active.Add(-1)
		l.logRefusal(nc, ErrMaxConnections)
		// Take the client's handshake first: closing with it unread would
		// reset the connection, and the refusal could be lost.
		nc.SetDeadline(time.Now().Add(l.cfg.timeout()))
		var hs [4]byte
		if _, err := io.ReadFull(nc, hs[:]); err == nil && hs[0] == Magic {
			Reject(nc, ErrMaxConnections)
		}
		return
	}
	c, err := Accept(nc, l.cfg.Config)
	if err != nil {
		l.logRefusal(nc, err) // before the close the peer sees
		l.active.Add(-1)
		nc.Close()
		return
	}
	// The connection counts until it closes, which for one that parked
	// is after handle returned.
	c.onClose = func() { l.active.Add(-1) }
	handle(c)
	if !c.kept.Load() {
		c.Close()
	}
}

func (l *Listener) logRefusal(nc net.Conn, err error) {
	if l.cfg.Logger != nil {
		l.cfg.Logger.Info("rawsocket handshake refused", "listener", l.ep.String(), "remote", nc.RemoteAddr().String(), "err", err)
	}
}

// Active is the number of connections the listener serves now.
func (l *Listener) Active() int { return int(l.active.Load()) }

// Close stops accepting; connections already handed to handle stay up
// (their owner closes them). A Unix socket file is removed.
func (l *Listener) Close() error {
	if l.closed.Swap(true) {
		return nil
	}
	return l.ln.Close()
}

// DialConfig is a client's Config plus what only dialers need.
type DialConfig struct {
	Config
	// TLS for tls:// URLs; nil means the system roots and the URL's host.
	TLS *tls.Config
}

// Dial connects to a router at a transport URL and runs the client's
// handshake for serializer s. ctx bounds the connection attempt.
func Dial(ctx context.Context, rawURL string, s codec.Serializer, cfg DialConfig) (*Conn, error) {
	ep, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, ep.Network, ep.Address)
	if err != nil {
		return nil, fmt.Errorf("rawsocket: %w", err)
	}
	if ep.Scheme == "tls" {
		tc := cfg.TLS.Clone()
		if tc == nil {
			tc = &tls.Config{}
		}
		if tc.ServerName == "" {
			tc.ServerName, _, _ = net.SplitHostPort(ep.Address)
		}
		tlsConn := tls.Client(nc, tc)
		if err := tlsConn.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, fmt.Errorf("rawsocket: TLS handshake with %s: %w", ep, err)
		}
		nc = tlsConn
	}
	if dl, ok := ctx.Deadline(); ok && (cfg.Timeout == 0 || time.Until(dl) < cfg.Timeout) {
		cfg.Timeout = max(time.Until(dl), time.Millisecond)
	}
	c, err := Connect(nc, s, cfg.Config)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}
