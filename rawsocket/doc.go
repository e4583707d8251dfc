// Package rawsocket is WAMP's RawSocket transport (WAMP.md §6): the
// four-octet handshake and the length-prefixed framing, over any
// io.ReadWriter — a TCP or Unix connection, a TLS stream, a serial line.
//
// Accept runs the router's side of the handshake and Connect the
// client's; both return a *Conn that reads and writes whole messages:
//
//	c, err := rawsocket.Accept(netConn, rawsocket.Config{MaxLength: 1 << 20})
//	msg, err := c.ReadMsg()   // aliases the read buffer until the next ReadMsg
//	err = c.WriteMsgs(batch)  // many frames, one write
//
// The read buffer starts at 4 KiB and grows only for a frame that needs
// it, up to the limit announced in the handshake, then shrinks back: the
// limit is a bound, not an allocation. One read takes in as many frames as
// arrived, and ReadMsg hands them out one by one without another read.
// PING is answered with PONG inside ReadMsg. A frame over the limit, or
// with reserved bits, is an error after which the connection must be
// closed: framing can no longer be trusted.
//
// Listen and Dial take transport URLs: tcp://HOST:PORT, tls://HOST:PORT
// and unix:///PATH. Listener.Serve runs each handshake in its own
// goroutine under a timeout, so a silent client holds up nobody.
//
// The package knows serializer ids but nothing of realms or sessions.
package rawsocket
