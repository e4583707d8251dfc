package loadgen

import (
	"context"
	"sync"
)

// OpenIdle opens n sessions with open, at most parallel at a time, and
// returns those it opened with the first error. The sessions stay open,
// with no goroutine reading them, until the caller closes them.
func OpenIdle(ctx context.Context, n, parallel int, open func(ctx context.Context, i int) (*Conn, error)) ([]*Conn, error) {
	conns := make([]*Conn, n)
	errs := make([]error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				conns[i], errs[i] = open(ctx, i)
				if conns[i] != nil {
					conns[i].release()
				}
			}
		}()
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	var opened []*Conn
	var first error
	for i, c := range conns {
		if c != nil {
			opened = append(opened, c)
		} else if first == nil && errs[i] != nil {
			first = errs[i]
		}
	}
	if first == nil {
		first = ctx.Err()
	}
	return opened, first
}

// release drops the read buffer of a session nobody reads any more.
func (c *Conn) release() {
	if c.r == c.w {
		c.buf, c.r, c.w = nil, 0, 0
	}
}
