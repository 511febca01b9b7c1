// Package inmem fans events out to the clients connected to this node.
//
// Publish never blocks. A consumer either reads a Subscription's channel,
// whose bounded buffer drops a subscriber that falls behind (its channel
// closed, Overflowed true), or takes events from a function it registers
// with SubscribeFunc and bounds its own queue. A dropped WebSocket client
// resumes from the store with its last cursor, so nothing durable is lost
// and no sender waits for a slow reader.
package inmem

import (
	"sync"

	"github.com/switchboard-chat/switchboard"
)

// DefaultBuffer is the number of events a channel subscription may hold
// before its consumer is considered too slow. A live client writes each
// event as it comes, so it is rarely more than a few behind; one that is
// dropped catches up from the store.
const DefaultBuffer = 64

// Bus is an in-process switchboard.EventBus.
type Bus struct {
	buffer int

	mu sync.RWMutex
	// domain → extension → receivers. Most extensions have one or two
	// clients, so a slice costs less than a set and is as quick to scan.
	domains map[string]map[string][]*receiver
}

var _ switchboard.EventBus = (*Bus)(nil)

// receiver is one registration: deliver takes each event addressed to ext.
type receiver struct {
	domain, ext string
	deliver     func(*switchboard.Event)
}

// NewBus returns a bus whose channel subscriptions buffer up to buffer
// events (DefaultBuffer if buffer <= 0).
func NewBus(buffer int) *Bus {
	if buffer <= 0 {
		buffer = DefaultBuffer
	}
	return &Bus{buffer: buffer, domains: map[string]map[string][]*receiver{}}
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
			for _, rs := range exts {
				for _, r := range rs {
					r.deliver(e)
				}
			}
			continue
		}
		for _, ext := range e.Recipients {
			for _, r := range exts[ext] {
				r.deliver(e)
			}
		}
	}
}

// Subscribe implements switchboard.EventBus.
func (b *Bus) Subscribe(domain, ext string) switchboard.Subscription {
	s := &subscription{ch: make(chan *switchboard.Event, b.buffer)}
	s.bus, s.r = b, b.add(domain, ext, s.deliver)
	return s
}

// SubscribeFunc registers deliver to be called with every event addressed
// to ext in domain (broadcasts included) until cancel is called; after
// cancel returns it is not called again. It is the channel-less form of
// Subscribe, for a consumer that should hold no goroutine while nothing
// happens (an idle WebSocket stream): deliver runs on the publisher's
// goroutine, so it must not block or call back into the bus; it queues the
// event and returns. The events of one Publish call arrive in order;
// concurrent publishers may call it concurrently. The bus buffers nothing
// for it: the consumer bounds its own queue and, when it falls too far
// behind, catches up from the store.
func (b *Bus) SubscribeFunc(domain, ext string, deliver func(*switchboard.Event)) (cancel func()) {
	r := b.add(domain, ext, deliver)
	return func() { b.remove(r) }
}

// Subscribers returns the number of live subscriptions, for metrics.
func (b *Bus) Subscribers() int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	n := 0
	for _, exts := range b.domains {
		for _, rs := range exts {
			n += len(rs)
		}
	}
	return n
}

func (b *Bus) add(domain, ext string, deliver func(*switchboard.Event)) *receiver {
	r := &receiver{domain: domain, ext: ext, deliver: deliver}
	b.mu.Lock()
	defer b.mu.Unlock()
	exts := b.domains[domain]
	if exts == nil {
		exts = map[string][]*receiver{}
		b.domains[domain] = exts
	}
	exts[ext] = append(exts[ext], r)
	return r
}

// remove unregisters r; it waits for the deliveries in progress (Publish
// holds the read lock while it delivers). Removing r twice is harmless.
func (b *Bus) remove(r *receiver) {
	b.mu.Lock()
	defer b.mu.Unlock()
	exts := b.domains[r.domain]
	rs := exts[r.ext]
	for i, x := range rs {
		if x != r {
			continue
		}
		last := len(rs) - 1
		rs[i], rs[last] = rs[last], nil
		if last == 0 {
			delete(exts, r.ext)
		} else {
			exts[r.ext] = rs[:last]
		}
		break
	}
	if exts != nil && len(exts) == 0 {
		delete(b.domains, r.domain)
	}
}

type subscription struct {
	bus *Bus
	r   *receiver
	ch  chan *switchboard.Event

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
	s.bus.remove(s.r)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		close(s.ch)
	}
}
