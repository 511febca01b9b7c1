package chat

import (
	"sync"
	"time"
)

// throttle limits failed sign-ins per key (an address, a client IP): after
// freeFailures failures within window, each further attempt must wait a
// lockout that doubles with every failure up to maxLockout.
type throttle struct {
	freeFailures int
	window       time.Duration
	baseLockout  time.Duration
	maxLockout   time.Duration
	now          func() time.Time

	mu      sync.Mutex
	entries map[string]*throttleEntry
	sweep   time.Time
}

type throttleEntry struct {
	failures    int
	first       time.Time
	lockedUntil time.Time
}

func newThrottle(freeFailures int, window time.Duration, now func() time.Time) *throttle {
	return &throttle{freeFailures: freeFailures, window: window, baseLockout: time.Second,
		maxLockout: 15 * time.Minute, now: now, entries: map[string]*throttleEntry{}}
}

// wait returns how long key must wait before its next attempt (0: allowed).
func (t *throttle) wait(key string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.entries[key]
	if e == nil {
		return 0
	}
	if d := e.lockedUntil.Sub(t.now()); d > 0 {
		return d
	}
	return 0
}

// fail records a failed attempt of key.
func (t *throttle) fail(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	t.sweepLocked(now)
	e := t.entries[key]
	if e == nil || now.Sub(e.first) > t.window && now.After(e.lockedUntil) {
		e = &throttleEntry{first: now}
		t.entries[key] = e
	}
	e.failures++
	if over := e.failures - t.freeFailures; over > 0 {
		lock := t.baseLockout << min(over-1, 20)
		e.lockedUntil = now.Add(min(lock, t.maxLockout))
	}
}

// succeed forgets the failures of key.
func (t *throttle) succeed(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.entries, key)
}

// sweepLocked drops stale entries once a minute so the map stays bounded by
// recent activity.
func (t *throttle) sweepLocked(now time.Time) {
	if now.Sub(t.sweep) < time.Minute {
		return
	}
	t.sweep = now
	for k, e := range t.entries {
		if now.Sub(e.first) > t.window && now.After(e.lockedUntil) {
			delete(t.entries, k)
		}
	}
}
