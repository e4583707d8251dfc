// Package serial runs WAMP sessions over serial lines (UART, USB-CDC) for
// microcontrollers without a TCP stack, through go.bug.st/serial.
//
// A Listener owns one device and serves one session at a time: it waits
// for a RawSocket handshake on the line, hands the router a
// *rawsocket.Conn exactly like a TCP connection's, and when the session
// ends (GOODBYE, a broken frame, a codec error, a device silent in the
// middle of a frame) it drops bytes until the next valid handshake. The
// device stays open across sessions: a pump goroutine reads it, and a
// session only attaches to what the pump has read. When the device goes
// away (a USB unplug: a read error or end of file) the listener closes it and reopens it with
// backoff until it is back, logging each change of state.
//
//	l, err := serial.Listen("serial:///dev/ttyUSB0?baud=115200", serial.ListenConfig{})
//	router.ServeListener(l)
//
// With ?framing=cobs every handshake and frame travels as a COBS packet
// with a CRC-16, ended by 0x00: a corrupted packet is dropped alone and
// the session goes on. The README specifies both framings byte by byte
// for firmware authors. Dial is the client side, for wampcat on a laptop
// with a USB-serial adapter.
package serial
