//go:build !linux

package rawsocket

// Parking needs epoll; elsewhere a connection keeps its reading
// goroutine.
func pollerWorks() bool { return false }
func park(c *Conn) bool { return false }
func unpark(c *Conn)    {}
