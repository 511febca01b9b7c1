// Package presence derives each extension's presence colour from its live
// chat clients (and, later, devices and calls) and announces every change
// to the extension's domain as a presence.changed event.
package presence

import (
	"context"
	"sync"
	"time"

	"github.com/switchboard-chat/switchboard"
)

// DefaultGrace is how long a chat client that dropped still counts, so that
// a reconnect does not flicker.
const DefaultGrace = 15 * time.Second

// Service is an in-memory switchboard.PresenceService for one node.
type Service struct {
	pub   switchboard.EventPublisher
	grace time.Duration

	mu    sync.Mutex
	state map[key]*entry
}

var _ switchboard.PresenceService = (*Service)(nil)

type key struct{ domain, ext string }

type entry struct {
	state   switchboard.PresenceState
	message string
	color   switchboard.Color
}

// New returns a service that publishes changes to pub. grace <= 0 means
// DefaultGrace.
func New(pub switchboard.EventPublisher, grace time.Duration) *Service {
	if grace <= 0 {
		grace = DefaultGrace
	}
	return &Service{pub: pub, grace: grace, state: map[key]*entry{}}
}

// Connect implements switchboard.PresenceService.
func (s *Service) Connect(ctx context.Context) func() {
	id, ok := switchboard.IdentityFromContext(ctx)
	if !ok {
		return func() {}
	}
	k := key{id.Domain, id.Extension}
	s.update(k, func(st *switchboard.PresenceState) { st.ChatClients++ })
	var once sync.Once
	return func() {
		once.Do(func() {
			time.AfterFunc(s.grace, func() {
				s.update(k, func(st *switchboard.PresenceState) { st.ChatClients-- })
			})
		})
	}
}

// update applies fn to the state of k and publishes the new presence if
// its colour changed.
func (s *Service) update(k key, fn func(*switchboard.PresenceState)) {
	s.mu.Lock()
	e := s.state[k]
	if e == nil {
		e = &entry{color: switchboard.Gray}
		s.state[k] = e
	}
	fn(&e.state)
	color := switchboard.PresenceColor(e.state)
	changed := color != e.color
	e.color = color
	p := e.presence(k.ext)
	if e.state == (switchboard.PresenceState{}) && e.message == "" {
		delete(s.state, k)
	}
	s.mu.Unlock()
	if changed && s.pub != nil {
		ev, err := switchboard.NewEvent(switchboard.EventPresenceChanged, k.domain, "", nil, p)
		if err == nil {
			ev.Broadcast = true
			s.pub.Publish(ev)
		}
	}
}

func (e *entry) presence(ext string) switchboard.Presence {
	return switchboard.Presence{Extension: ext, Color: e.color, DND: e.state.DND, Message: e.message}
}

// Snapshot implements switchboard.PresenceService.
func (s *Service) Snapshot(ctx context.Context, domain string) map[string]switchboard.Presence {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]switchboard.Presence{}
	for k, e := range s.state {
		if k.domain == domain {
			out[k.ext] = e.presence(k.ext)
		}
	}
	return out
}
