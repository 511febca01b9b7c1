// Package presence derives each extension's presence (SPEC §1) from its
// live chat clients, its registered devices, its calls and the status the
// user set, and announces every change to the extension's domain as a
// presence.changed event.
package presence

import (
	"context"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/switchboard-chat/switchboard"
)

// DefaultGrace is how long a chat client that dropped still counts, so that
// a reconnect does not flicker.
const DefaultGrace = 15 * time.Second

// Service is an in-memory switchboard.PresenceService for one node; the
// statuses users set are kept in the directory store.
type Service struct {
	pub   switchboard.EventPublisher
	dir   switchboard.DirectoryStore
	grace time.Duration
	now   func() time.Time

	mu      sync.Mutex
	domains map[string]map[string]*entry // domain → extension → state
}

var _ switchboard.PresenceService = (*Service)(nil)

// expiry is a timer that, when it fires, acts only if it is still the one
// in place (compared by pointer under the service's lock).
type expiry struct{ timer *time.Timer }

func (x *expiry) stop() {
	if x != nil && x.timer != nil {
		x.timer.Stop()
	}
}

type entry struct {
	chatClients int
	devices     map[string]*expiry // device → its expiry (nil: none)
	calls       map[string]bool
	status      switchboard.PresenceStatus
	statusTimer *expiry
	last        switchboard.Presence // what was last announced
}

func (e *entry) presence(ext string) switchboard.Presence {
	color := switchboard.PresenceColor(switchboard.PresenceState{
		DND: e.status.DND, InCall: len(e.calls) > 0, Devices: len(e.devices), ChatClients: e.chatClients,
	})
	return switchboard.Presence{Extension: ext, Color: color, DND: e.status.DND, Message: e.status.Message, Until: e.status.Until}
}

func (e *entry) empty() bool {
	return e.chatClients == 0 && len(e.devices) == 0 && len(e.calls) == 0 && e.status == (switchboard.PresenceStatus{})
}

// New returns a service that publishes changes to pub and keeps statuses in
// dir, loading the stored ones. grace <= 0 means DefaultGrace.
func New(ctx context.Context, pub switchboard.EventPublisher, dir switchboard.DirectoryStore, grace time.Duration) (*Service, error) {
	if grace <= 0 {
		grace = DefaultGrace
	}
	s := &Service{pub: pub, dir: dir, grace: grace, now: time.Now, domains: map[string]map[string]*entry{}}
	if dir == nil {
		return s, nil
	}
	users, err := dir.ListStatuses(ctx)
	if err != nil {
		return nil, err
	}
	for _, u := range users {
		if u.Status.Until != nil && !u.Status.Until.After(s.now()) {
			continue
		}
		s.update(u.Domain, u.Extension, func(e *entry) { s.setStatusLocked(u.Domain, u.Extension, e, u.Status) })
	}
	return s, nil
}

// update applies fn to the state of ext and publishes its presence if it
// changed. fn runs with s.mu held.
func (s *Service) update(domain, ext string, fn func(*entry)) {
	s.mu.Lock()
	exts := s.domains[domain]
	if exts == nil {
		exts = map[string]*entry{}
		s.domains[domain] = exts
	}
	e := exts[ext]
	if e == nil {
		e = &entry{devices: map[string]*expiry{}, calls: map[string]bool{}, last: grayOf(ext)}
		exts[ext] = e
	}
	fn(e)
	p := e.presence(ext)
	changed := !samePresence(p, e.last)
	e.last = p
	if e.empty() {
		delete(exts, ext)
		if len(exts) == 0 {
			delete(s.domains, domain)
		}
	}
	s.mu.Unlock()
	if changed && s.pub != nil {
		if ev, err := switchboard.NewEvent(switchboard.EventPresenceChanged, domain, "", nil, p); err == nil {
			ev.Broadcast = true
			s.pub.Publish(ev)
		}
	}
}

func grayOf(ext string) switchboard.Presence {
	return switchboard.Presence{Extension: ext, Color: switchboard.Gray}
}

func samePresence(a, b switchboard.Presence) bool {
	if a.Color != b.Color || a.DND != b.DND || a.Message != b.Message || (a.Until == nil) != (b.Until == nil) {
		return false
	}
	return a.Until == nil || a.Until.Equal(*b.Until)
}

// Connect implements switchboard.PresenceService.
func (s *Service) Connect(ctx context.Context) func() {
	id, ok := switchboard.IdentityFromContext(ctx)
	if !ok {
		return func() {}
	}
	s.update(id.Domain, id.Extension, func(e *entry) { e.chatClients++ })
	var once sync.Once
	return func() {
		once.Do(func() {
			time.AfterFunc(s.grace, func() {
				s.update(id.Domain, id.Extension, func(e *entry) { e.chatClients-- })
			})
		})
	}
}

// DeviceUp implements switchboard.PresenceService.
func (s *Service) DeviceUp(domain, ext, device string, expires time.Time) {
	s.update(domain, ext, func(e *entry) {
		e.devices[device].stop()
		var x *expiry
		if !expires.IsZero() {
			x = &expiry{}
			x.timer = time.AfterFunc(max(expires.Sub(s.now()), 0), func() { s.expireDevice(domain, ext, device, x) })
		}
		e.devices[device] = x
	})
}

// expireDevice removes a device whose registration ran out, unless it was
// refreshed in the meantime (then it has another expiry).
func (s *Service) expireDevice(domain, ext, device string, x *expiry) {
	s.update(domain, ext, func(e *entry) {
		if cur, ok := e.devices[device]; ok && cur == x {
			delete(e.devices, device)
		}
	})
}

// DeviceDown implements switchboard.PresenceService.
func (s *Service) DeviceDown(domain, ext, device string) {
	s.update(domain, ext, func(e *entry) {
		e.devices[device].stop()
		delete(e.devices, device)
	})
}

// CallState implements switchboard.PresenceService.
func (s *Service) CallState(domain, ext, call string, active bool) {
	s.update(domain, ext, func(e *entry) {
		if active {
			e.calls[call] = true
		} else {
			delete(e.calls, call)
		}
	})
}

// SetStatus implements switchboard.PresenceService.
func (s *Service) SetStatus(ctx context.Context, st switchboard.PresenceStatus) (switchboard.Presence, error) {
	id, ok := switchboard.IdentityFromContext(ctx)
	if !ok {
		return switchboard.Presence{}, switchboard.Errorf(switchboard.EUNAUTHORIZED, "Sign in first.")
	}
	st.Message = strings.TrimSpace(st.Message)
	if !utf8.ValidString(st.Message) || utf8.RuneCountInString(st.Message) > switchboard.MaxStatusMessage {
		return switchboard.Presence{}, switchboard.Errorf(switchboard.EINVALID, "A status message has at most %d characters.", switchboard.MaxStatusMessage)
	}
	if st.Until != nil {
		if !st.Until.After(s.now()) {
			return switchboard.Presence{}, switchboard.Errorf(switchboard.EINVALID, "until must be in the future.")
		}
		u := st.Until.UTC().Truncate(time.Millisecond)
		st.Until = &u
		if !st.DND && st.Message == "" {
			st.Until = nil
		}
	}
	if s.dir != nil {
		if _, err := s.dir.UpdateUser(ctx, id.Domain, id.Extension, switchboard.UserUpdate{Status: &st}); err != nil {
			return switchboard.Presence{}, err
		}
	}
	s.update(id.Domain, id.Extension, func(e *entry) { s.setStatusLocked(id.Domain, id.Extension, e, st) })
	return s.Get(ctx, id.Domain, id.Extension), nil
}

// setStatusLocked sets the status of e and arms its expiry.
func (s *Service) setStatusLocked(domain, ext string, e *entry, st switchboard.PresenceStatus) {
	e.statusTimer.stop()
	e.statusTimer = nil
	e.status = st
	if st.Until == nil {
		return
	}
	x := &expiry{}
	x.timer = time.AfterFunc(max(st.Until.Sub(s.now()), 0), func() { s.expireStatus(domain, ext, x) })
	e.statusTimer = x
}

// expireStatus clears a status whose time ran out, in memory and in the
// store, unless it was replaced in the meantime.
func (s *Service) expireStatus(domain, ext string, x *expiry) {
	expired := false
	s.update(domain, ext, func(e *entry) {
		if e.statusTimer == x {
			e.status, e.statusTimer, expired = switchboard.PresenceStatus{}, nil, true
		}
	})
	if expired && s.dir != nil {
		clear := switchboard.PresenceStatus{}
		// Best effort: a failure only leaves an expired status, which is
		// ignored when loaded.
		s.dir.UpdateUser(context.Background(), domain, ext, switchboard.UserUpdate{Status: &clear})
	}
}

// Get implements switchboard.PresenceService.
func (s *Service) Get(ctx context.Context, domain, ext string) switchboard.Presence {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.domains[domain][ext]; e != nil {
		return e.presence(ext)
	}
	return grayOf(ext)
}

// Snapshot implements switchboard.PresenceService.
func (s *Service) Snapshot(ctx context.Context, domain string) map[string]switchboard.Presence {
	s.mu.Lock()
	defer s.mu.Unlock()
	exts := s.domains[domain]
	out := make(map[string]switchboard.Presence, len(exts))
	for ext, e := range exts {
		out[ext] = e.presence(ext)
	}
	return out
}
