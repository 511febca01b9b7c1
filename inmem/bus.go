// Package inmem fans events out to the clients connected to this node.
//
// Publish never blocks: each subscription has a bounded buffer, and a
// subscriber that falls behind is dropped (its channel closed, Overflowed
// true). A dropped WebSocket client resumes from the store with its last
// cursor, so nothing durable is lost and no sender waits for a slow reader.
package inmem

import (
	"sync"

	"github.com/switchboard-chat/switchboard"
)

// DefaultBuffer is the number of events a subscription may hold before its
// consumer is considered too slow. A live client writes each event as it
// comes, so it is rarely more than a few behind; one that is dropped catches
// up from the store. The buffer is allocated for every connection, idle or
// not, so it counts in the memory of each (docs/PERFORMANCE.md).
const DefaultBuffer = 64

// Bus is an in-process switchboard.EventBus.
type Bus struct {
	buffer int

	mu      sync.RWMutex
	domains map[string]map[string]map[*subscription]struct{} // domain → extension → subscriptions
}

var _ switchboard.EventBus = (*Bus)(nil)

// NewBus returns a bus whose subscriptions buffer up to buffer events
// (DefaultBuffer if buffer <= 0).
func NewBus(buffer int) *Bus {
	if buffer <= 0 {
		buffer = DefaultBuffer
	}
	return &Bus{buffer: buffer, domains: map[string]map[string]map[*subscription]struct{}{}}
}

// Publish implements switchboard.EventPublisher.
func (b *Bus) Publish(events ...*switchboard.Event) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	for _, e := range events {
		exts := b.domains[e.Domain]
		if exts == nil {
			continue
		}
		if e.Broadcast {
			for _, subs := range exts {
				for s := range subs {
					s.deliver(e)
				}
			}
			continue
		}
		for _, r := range e.Recipients {
			for s := range exts[r] {
				s.deliver(e)
			}
		}
	}
}

// Subscribe implements switchboard.EventBus.
func (b *Bus) Subscribe(domain, ext string) switchboard.Subscription {
	s := &subscription{bus: b, domain: domain, ext: ext, ch: make(chan *switchboard.Event, b.buffer)}
	b.mu.Lock()
	exts := b.domains[domain]
	if exts == nil {
		exts = map[string]map[*subscription]struct{}{}
		b.domains[domain] = exts
	}
	subs := exts[ext]
	if subs == nil {
		subs = map[*subscription]struct{}{}
		exts[ext] = subs
	}
	subs[s] = struct{}{}
	b.mu.Unlock()
	return s
}

// Subscribers returns the number of live subscriptions, for metrics.
func (b *Bus) Subscribers() int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	n := 0
	for _, exts := range b.domains {
		for _, subs := range exts {
			n += len(subs)
		}
	}
	return n
}

func (b *Bus) remove(s *subscription) {
	b.mu.Lock()
	defer b.mu.Unlock()
	exts := b.domains[s.domain]
	if exts == nil {
		return
	}
	delete(exts[s.ext], s)
	if len(exts[s.ext]) == 0 {
		delete(exts, s.ext)
	}
	if len(exts) == 0 {
		delete(b.domains, s.domain)
	}
}

type subscription struct {
	bus         *Bus
	domain, ext string
	ch          chan *switchboard.Event

	mu         sync.Mutex
	closed     bool
	overflowed bool
}

func (s *subscription) deliver(e *switchboard.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	select {
	case s.ch <- e:
	default:
		s.overflowed, s.closed = true, true
		close(s.ch)
	}
}

func (s *subscription) C() <-chan *switchboard.Event { return s.ch }

func (s *subscription) Overflowed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.overflowed
}

func (s *subscription) Close() {
	s.bus.remove(s)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		close(s.ch)
	}
}
