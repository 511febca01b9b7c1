package sqlite

import (
	"testing"
	"time"
)

// syncs feeds l a sync every gap from start for d, each acknowledging
// writes, and returns how many of them it lingered after, and the time
// after the last.
func syncs(l *lingerer, start time.Time, d, gap time.Duration, writes int) (lingered, of int, end time.Time) {
	now := start
	for ; now.Sub(start) < d; now = now.Add(gap) {
		of++
		if l.after(now, writes) > 0 {
			lingered++
		}
	}
	return lingered, of, now
}

// TestSyncerLingersUnderLoadOnly: the syncer waits for more writes after a
// sync only while writes come in together at 2,000 a second or more: never
// at the latency target's 1,000 a second, nor for one client sending as
// fast as its answers come, nor for the backlog of a stalled disk, and it
// stops soon after the load does.
func TestSyncerLingersUnderLoadOnly(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	ms := time.Millisecond

	var l lingerer
	if n, of, _ := syncs(&l, t0, 10*time.Second, ms, 1); n != 0 {
		t.Errorf("1,000 writes/s, one a sync: lingered after %d of %d syncs", n, of)
	}

	l = lingerer{}
	if n, of, _ := syncs(&l, t0, 10*time.Second, 200*time.Microsecond, 1); n != 0 {
		t.Errorf("one client, 5,000 writes/s one after another: lingered after %d of %d syncs", n, of)
	}

	l = lingerer{}
	n, of, end := syncs(&l, t0, 10*time.Second, ms, 5)
	// The first window measures; every sync after it lingers.
	if first := int(lingerWindow / ms); n < of-first-1 {
		t.Errorf("5,000 writes/s, five a sync: lingered after %d of %d syncs, want all but the first window's %d", n, of, first)
	}
	// Then 500 writes a second, one a sync.
	n, of, end = syncs(&l, end, 10*time.Second, 2*ms, 1)
	if max := int(2*lingerWindow/(2*ms)) + 1; n > max {
		t.Errorf("after the load fell to 500 writes/s: lingered after %d of %d syncs, want at most %d (two windows)", n, of, max)
	}
	if l.after(end, 1) > 0 {
		t.Errorf("still lingering at 500 writes/s")
	}

	// 1,000 writes a second with a stall of 200 ms: the sync after it
	// carries 200 writes at once.
	l = lingerer{}
	_, _, end = syncs(&l, t0, time.Second, ms, 1)
	end = end.Add(200 * ms)
	lingered := 0
	if l.after(end, 200) > 0 {
		lingered++
	}
	n, _, _ = syncs(&l, end.Add(ms), time.Second, ms, 1)
	if lingered+n != 0 {
		t.Errorf("1,000 writes/s with a stall of 200 ms: lingered after %d syncs", lingered+n)
	}

	// An hour without writes, then a burst: the first window decides.
	l = lingerer{}
	syncs(&l, t0, time.Second, ms, 5)
	if d := l.after(t0.Add(time.Hour), 1); d != 0 {
		t.Errorf("first sync after an idle hour lingers %v", d)
	}
}
