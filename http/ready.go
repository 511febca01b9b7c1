package http

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/switchboard-chat/switchboard"
)

// presenceWatcher is the pseudo-extension under which the ready cache
// follows a domain's presence.changed broadcasts on the bus; it is no
// extension's name (those are digits).
const presenceWatcher = "http:ready"

// readyCache keeps, per domain, the data of the ready frame (the domain's
// presence list, encoded), which every stream sends first: during a storm
// of reconnects, encoding the same list for each of thousands of clients
// of a domain was most of the cost of setting a stream up. An entry is
// dropped by the domain's next presence.changed event; it is only cached
// while that event is being watched for (on a bus with SubscribeFunc).
type readyCache struct {
	mu      sync.Mutex
	domains map[string]*readyEntry
}

type readyEntry struct {
	watching bool   // the bus hands this domain's broadcasts to drop
	gen      uint64 // grows with every presence change of the domain
	data     []byte // the ready frame's data; nil: not cached
}

// drop forgets the entry's data after a presence change.
func (rc *readyCache) drop(e *readyEntry) {
	rc.mu.Lock()
	e.gen++
	e.data = nil
	rc.mu.Unlock()
}

// readyData returns the data of the ready frame for the caller's domain:
// the presence of every extension that is not gray, as chat.PresenceList
// has it. The result is shared: callers must not change it.
func (s *Server) readyData(ctx context.Context) []byte {
	id, _ := switchboard.IdentityFromContext(ctx)
	encode := func() []byte {
		b, _ := json.Marshal(map[string]any{"presence": s.chat.PresenceList(ctx)})
		return b
	}
	fb, ok := s.chat.Bus().(funcBus)
	if !ok {
		return encode()
	}
	rc := &s.ready
	rc.mu.Lock()
	if rc.domains == nil {
		rc.domains = map[string]*readyEntry{}
	}
	e := rc.domains[id.Domain]
	created := e == nil
	if created {
		e = &readyEntry{}
		rc.domains[id.Domain] = e
	}
	if e.data != nil {
		data := e.data
		rc.mu.Unlock()
		return data
	}
	watching, gen := e.watching, e.gen
	rc.mu.Unlock()

	if created {
		// Outside rc.mu: the bus calls the function with its own lock held.
		fb.SubscribeFunc(id.Domain, presenceWatcher, func(ev *switchboard.Event) {
			if ev.Type == switchboard.EventPresenceChanged {
				rc.drop(e)
			}
		})
		rc.mu.Lock()
		e.watching = true
		rc.mu.Unlock()
	}
	data := encode()
	// Cached only if no change was announced since gen was read, while
	// changes were being watched for: a list encoded before a change is
	// never kept after it.
	rc.mu.Lock()
	if watching && e.gen == gen {
		e.data = data
	}
	rc.mu.Unlock()
	return data
}
