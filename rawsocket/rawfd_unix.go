//go:build unix

package rawsocket

import (
	"io"
	"net"
	"syscall"
)

var (
	errWouldBlock  error = syscall.EAGAIN
	errInterrupted error = syscall.EINTR
)

// rawConn is the socket under rw, for writes that do not wait; nil for
// anything else (TLS, a serial port, a pipe). Only network connections:
// their descriptors are non-blocking, which a file's need not be.
func rawConn(rw io.ReadWriter) syscall.RawConn {
	if _, ok := rw.(net.Conn); !ok {
		return nil
	}
	sc, ok := rw.(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return raw
}

// writeFD is one write(2) on a non-blocking descriptor.
func writeFD(fd uintptr, b []byte) (int, error) {
	n, err := syscall.Write(int(fd), b)
	if err != nil {
		return n, err // syscall.Errno: comparable with the errors above
	}
	return n, nil
}
