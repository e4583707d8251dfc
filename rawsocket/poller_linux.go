package rawsocket

import (
	"sync"
	"syscall"

	"github.com/wampedge/wampedge/internal/shrink"
)

// poller is the one epoll set that parked connections wait in, and the
// goroutine that waits on it. Go's own netpoller has the same sockets in
// its set; a descriptor may be in several.
var poller struct {
	once   sync.Once
	epfd   int
	err    error
	mu     sync.Mutex
	parked map[int32]*Conn // by descriptor
	peak   int             // of parked, for shrink.Delete
}

func pollerWorks() bool {
	poller.once.Do(startPoller)
	poller.mu.Lock()
	defer poller.mu.Unlock()
	return poller.err == nil
}

func startPoller() {
	poller.epfd, poller.err = syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if poller.err != nil {
		return
	}
	poller.parked = make(map[int32]*Conn)
	go pollLoop()
}

// park adds c to the set, to be woken once (EPOLLONESHOT) by bytes, a
// hang-up or an error; level-triggered, so bytes that came before count.
func park(c *Conn) bool {
	if !pollerWorks() {
		return false
	}
	fd := int32(-1)
	if c.raw.Control(func(d uintptr) { fd = int32(d) }) != nil || fd < 0 {
		return false
	}
	poller.mu.Lock()
	if poller.err != nil || c.closed.Load() { // Close ran first: it found nothing to wake
		poller.mu.Unlock()
		return false
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT, Fd: fd}
	if syscall.EpollCtl(poller.epfd, syscall.EPOLL_CTL_ADD, int(fd), &ev) != nil {
		poller.mu.Unlock()
		return false
	}
	c.parkedFD = fd
	poller.parked[fd] = c
	poller.mu.Unlock()
	return true
}

// unpark takes c out of the set, if it is there, and runs its readable
// in a new goroutine. Close calls it before it closes the descriptor,
// so that a descriptor number is never in the set for another socket.
func unpark(c *Conn) {
	poller.mu.Lock()
	fd := c.parkedFD
	if fd < 0 || poller.parked[fd] != c {
		poller.mu.Unlock()
		return
	}
	wake(fd, c)
	poller.mu.Unlock()
}

// wake removes a parked connection, under poller.mu.
func wake(fd int32, c *Conn) {
	shrink.Delete(&poller.parked, &poller.peak, fd)
	c.parkedFD = -1
	syscall.EpollCtl(poller.epfd, syscall.EPOLL_CTL_DEL, int(fd), nil)
	go c.readable()
}

func pollLoop() {
	events := make([]syscall.EpollEvent, 128)
	for {
		n, err := syscall.EpollWait(poller.epfd, events, -1)
		if err != nil {
			if err == syscall.EINTR {
				continue
			}
			// EBADF, EFAULT, EINVAL: not for a valid set. Nothing parks
			// any more, and what is parked goes back to reading.
			poller.mu.Lock()
			poller.err = err
			for fd, c := range poller.parked {
				wake(fd, c)
			}
			poller.mu.Unlock()
			return
		}
		poller.mu.Lock()
		for _, ev := range events[:n] {
			if c := poller.parked[ev.Fd]; c != nil {
				wake(ev.Fd, c)
			}
		}
		poller.mu.Unlock()
	}
}
