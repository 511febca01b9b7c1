package presence_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard"
	"github.com/switchboard-chat/switchboard/presence"
	"github.com/switchboard-chat/switchboard/sqlite"
)

type recorder struct {
	mu     sync.Mutex
	events []*switchboard.Event
}

func (r *recorder) Publish(events ...*switchboard.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, events...)
}

// last returns the presences announced so far.
func (r *recorder) announced(t *testing.T) []switchboard.Presence {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []switchboard.Presence
	for _, e := range r.events {
		var p switchboard.Presence
		if err := json.Unmarshal(e.Data, &p); err != nil {
			t.Fatal(err)
		}
		if !e.Broadcast || e.Domain != "acme.example" || e.Type != switchboard.EventPresenceChanged {
			t.Errorf("event %+v not a presence broadcast to acme.example", e)
		}
		out = append(out, p)
	}
	return out
}

func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := t.Context()
	s.CreateDomain(ctx, &switchboard.Domain{Name: "acme.example"})
	s.CreateUser(ctx, &switchboard.User{Domain: "acme.example", Extension: "101", Name: "A", Level: switchboard.LevelBasic, PasswordHash: "x"})
	return s
}

func as(ctx context.Context) context.Context {
	return switchboard.NewContextWithIdentity(ctx, switchboard.Identity{Domain: "acme.example", Extension: "101"})
}

func waitColor(t *testing.T, svc *presence.Service, want switchboard.Color) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if svc.Get(t.Context(), "acme.example", "101").Color == want {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("colour = %s, want %s", svc.Get(t.Context(), "acme.example", "101").Color, want)
}

// The colour follows SPEC §1 through every source, and each change is
// announced once.
func TestColours(t *testing.T) {
	rec := &recorder{}
	svc, err := presence.New(t.Context(), rec, openStore(t), 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	ctx := as(t.Context())
	release := svc.Connect(ctx)
	waitColor(t, svc, switchboard.Blue)
	svc.DeviceUp("acme.example", "101", "sip:a", time.Time{})
	waitColor(t, svc, switchboard.Green)
	svc.DeviceUp("acme.example", "101", "pbx:b", time.Time{}) // a second device: no change
	svc.CallState("acme.example", "101", "call-1", true)
	waitColor(t, svc, switchboard.Red)
	svc.CallState("acme.example", "101", "call-1", false)
	svc.DeviceDown("acme.example", "101", "sip:a")
	waitColor(t, svc, switchboard.Green)
	svc.DeviceDown("acme.example", "101", "pbx:b")
	waitColor(t, svc, switchboard.Blue)
	release()
	release() // twice is once
	waitColor(t, svc, switchboard.Gray)
	var colors []switchboard.Color
	for _, p := range rec.announced(t) {
		colors = append(colors, p.Color)
	}
	want := []switchboard.Color{"blue", "green", "red", "green", "blue", "gray"}
	if len(colors) != len(want) {
		t.Fatalf("announced %v, want %v", colors, want)
	}
	for i := range want {
		if colors[i] != want[i] {
			t.Errorf("announced %v, want %v", colors, want)
			break
		}
	}
	if snap := svc.Snapshot(t.Context(), "acme.example"); len(snap) != 0 {
		t.Errorf("snapshot of an offline domain = %v", snap)
	}
}

// A device registered with an expiry goes away by itself; refreshing it
// keeps it.
func TestDeviceExpiry(t *testing.T) {
	svc, _ := presence.New(t.Context(), nil, nil, time.Millisecond)
	svc.DeviceUp("acme.example", "101", "sip:a", time.Now().Add(100*time.Millisecond))
	waitColor(t, svc, switchboard.Green)
	svc.DeviceUp("acme.example", "101", "sip:a", time.Now().Add(time.Hour))
	time.Sleep(200 * time.Millisecond)
	waitColor(t, svc, switchboard.Green)
	svc.DeviceUp("acme.example", "101", "sip:a", time.Now().Add(50*time.Millisecond))
	waitColor(t, svc, switchboard.Gray)
}

// Do-not-disturb is red whatever else holds, is stored, survives a
// restart, and ends by itself at its until.
func TestStatus(t *testing.T) {
	store := openStore(t)
	rec := &recorder{}
	svc, _ := presence.New(t.Context(), rec, store, time.Millisecond)
	ctx := as(t.Context())
	svc.DeviceUp("acme.example", "101", "sip:a", time.Time{})
	until := time.Now().Add(300 * time.Millisecond)
	p, err := svc.SetStatus(ctx, switchboard.PresenceStatus{DND: true, Message: "  In a meeting ", Until: &until})
	if err != nil || p.Color != switchboard.Red || p.Message != "In a meeting" || p.Until == nil {
		t.Fatalf("SetStatus = %+v, %v", p, err)
	}
	restarted, err := presence.New(t.Context(), nil, store, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if p := restarted.Get(t.Context(), "acme.example", "101"); !p.DND || p.Color != switchboard.Red || p.Message != "In a meeting" {
		t.Errorf("after restart = %+v", p)
	}
	waitColor(t, svc, switchboard.Green)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		u, _ := store.FindUser(t.Context(), "acme.example", "101")
		if !u.Status.DND && u.Status.Message == "" {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("expired status still stored: %+v", u.Status)
		}
	}
	for _, bad := range []switchboard.PresenceStatus{
		{Message: string(make([]byte, 101))},
		{DND: true, Until: &time.Time{}},
	} {
		if _, err := svc.SetStatus(ctx, bad); switchboard.ErrorCode(err) != switchboard.EINVALID {
			t.Errorf("SetStatus(%+v) = %v, want invalid", bad, err)
		}
	}
	if _, err := svc.SetStatus(t.Context(), switchboard.PresenceStatus{}); switchboard.ErrorCode(err) != switchboard.EUNAUTHORIZED {
		t.Errorf("SetStatus without identity = %v", err)
	}
}
