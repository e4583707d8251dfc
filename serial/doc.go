// Package serial will run WAMP sessions over serial lines (UART, USB-CDC)
// for microcontrollers without a TCP stack: RawSocket framing over the
// line through go.bug.st/serial, resynchronisation on a broken frame, and
// reopening a device that was unplugged. It hands the router the same
// message transport as a TCP connection, so a device on a serial line is
// served exactly like any other session.
package serial
