//go:build !unix

package rawsocket

import (
	"errors"
	"io"
	"syscall"
)

var (
	errWouldBlock  = errors.New("would block")
	errInterrupted = errors.New("interrupted")
)

// rawConn: writes that do not wait are for Unix sockets only; elsewhere
// every write goes through the blocking path.
func rawConn(io.ReadWriter) syscall.RawConn { return nil }

func writeFD(uintptr, []byte) (int, error) { return 0, errWouldBlock }
