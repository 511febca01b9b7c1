package http

import (
	"net"
	"runtime"
)

// acceptBurst is how many connections the accept loop takes in a row
// before it yields (see YieldListener).
const acceptBurst = 8

// YieldListener has the server's accept loop yield the processor after
// every acceptBurst connections it accepts.
//
// net/http's accept loop takes every connection the kernel holds, starting
// a goroutine for each, in one run; the new goroutines go to the head of
// the processor's own run queue, which the scheduler serves before the
// global queue where the network poller puts a live request, or the store's
// syncer coming back from an fsync. In a storm of reconnects (every client
// of a node coming back after a network blip) the live traffic therefore
// waited behind every connection of the storm at each of those steps: an
// execution trace of 10,000 reconnects had new connections waiting p50 86
// ms to run, and the live messages' p99 at 0.4–0.9 s. Yielding puts the
// loop itself at the global queue's tail, behind what was already waiting,
// so that the storm and the live traffic take turns (live p99 0.18–0.27 s,
// docs/PERFORMANCE.md, change 33). Ordinary traffic, on kept-alive
// connections, never notices.
type YieldListener struct {
	net.Listener
	accepted int // only the accept loop calls Accept
}

// Accept implements net.Listener.
func (l *YieldListener) Accept() (net.Conn, error) {
	l.accepted++
	if l.accepted%acceptBurst == 0 {
		runtime.Gosched()
	}
	return l.Listener.Accept()
}
