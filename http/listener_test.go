package http

import (
	"net"
	"runtime"
	"sync/atomic"
	"testing"
)

// readyListener accepts at once, as a listener does while the kernel
// holds connections.
type readyListener struct{ net.Listener }

func (readyListener) Accept() (net.Conn, error) { return nil, nil }

// TestYieldListenerTakesTurns checks that with one processor the accept
// loop, taking connections that are all ready, lets a goroutine that
// became runnable meanwhile run after a burst of acceptBurst or so, instead
// of after every connection the kernel holds.
func TestYieldListenerTakesTurns(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	l := &YieldListener{Listener: readyListener{}}
	var ran atomic.Bool
	done := make(chan int)
	go func() {
		// The accept loop, running, makes another goroutine runnable
		// (a live request, say), then takes connections; it counts
		// them until the other goroutine has run.
		go ran.Store(true)
		for i := 1; i <= 100*acceptBurst; i++ {
			l.Accept()
			if ran.Load() {
				done <- i
				return
			}
		}
		done <- 0
	}()
	// Within a burst or two: the scheduler may run something else of the
	// test binary's at the first yield (seen under -race with the other
	// packages' tests running beside it); a loop that never yields runs
	// all 100 bursts first.
	if n := <-done; n == 0 || n > 3*acceptBurst {
		t.Errorf("the other goroutine ran after %d accepts, want within %d", n, 3*acceptBurst)
	}
}
