package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// A client that reconnects with its cursor gets exactly what it missed, in
// order, then live events.
func TestResumeAfterDisconnect(t *testing.T) {
	s := startServer(t, newData(t))
	a, b := s.login("101@acme.example"), s.login("102@acme.example")
	conv := a.conversation([]string{"102"}, "")
	sb := b.connect("")
	cursor := sb.ready.Cursor
	sb.close()

	var sent []message
	for i := range 5 {
		sent = append(sent, a.send(conv.ID, fmt.Sprint(i), fmt.Sprintf("while away %d", i)))
	}
	sb = b.connect(cursor)
	if sb.ready.Cursor != cursor {
		t.Errorf("ready cursor on resume = %s, want %s", sb.ready.Cursor, cursor)
	}
	for i, want := range sent {
		f := sb.nextOf("message.created", 5*time.Second)
		if got := decodeMessage(t, f); got.ID != want.ID {
			t.Fatalf("missed message %d = %s, want %s", i, got.ID, want.ID)
		}
	}
	live := a.send(conv.ID, "live", "live one")
	if got := decodeMessage(t, sb.nextOf("message.created", 5*time.Second)); got.ID != live.ID {
		t.Errorf("live message = %s, want %s", got.ID, live.ID)
	}
	// A cursor the server never gave is a resync.
	st := b.connect("99999999")
	if f := st.next(5 * time.Second); f.Type != "resync" {
		t.Errorf("frame after a bogus cursor = %s, want resync", f.Type)
	}
	if status, body := b.do("GET", "/api/v1/events?since=abc", nil); status != 400 {
		t.Errorf("malformed cursor = %d %s, want 400", status, body)
	}
}

// Many senders commit concurrently while the receiver keeps dropping and
// resuming its stream: every message reaches it exactly once. This is the
// test that catches a cursor handed out before an earlier commit is visible.
func TestResumeUnderConcurrentSenders(t *testing.T) {
	s := startServer(t, newData(t))
	recv := s.login("103@acme.example")
	senders := []*client{s.login("101@acme.example"), s.login("102@acme.example")}
	var convs []conversation
	for _, snd := range senders {
		convs = append(convs, snd.conversation([]string{"103"}, ""))
	}
	group := senders[0].conversation([]string{"102", "103"}, "All hands")

	// The stream is open before the first send: from its ready cursor on,
	// every message must arrive.
	st := recv.connect("")
	cursor := st.ready.Cursor
	const perWorker = 60
	const workers = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	want := map[string]bool{}
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			snd := senders[w%len(senders)]
			for i := range perWorker {
				convID := convs[w%len(senders)].ID
				if i%3 == 0 {
					convID = group.ID
				}
				m := snd.send(convID, fmt.Sprintf("w%d-%d", w, i), "load")
				mu.Lock()
				want[m.ID] = true
				mu.Unlock()
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	seen := map[string]int{}
	collect := func(st *stream, until time.Time) {
		for time.Now().Before(until) {
			select {
			case f, ok := <-st.frames:
				if !ok {
					return
				}
				if f.Type == "message.created" {
					seen[decodeMessage(t, f).ID]++
				}
				if f.Cursor != "" && f.Type != "ready" {
					cursor = f.Cursor
				}
			case <-time.After(time.Until(until)):
				return
			}
		}
	}
	for loading := true; loading; {
		select {
		case <-done:
			loading = false
		default:
		}
		collect(st, time.Now().Add(30*time.Millisecond))
		st.close()
		st = recv.connect(cursor)
	}
	collect(st, time.Now().Add(2*time.Second))
	for id := range want {
		if seen[id] != 1 {
			t.Errorf("message %s seen %d times, want once", id, seen[id])
		}
	}
	if len(want) != workers*perWorker {
		t.Errorf("sent %d messages, want %d", len(want), workers*perWorker)
	}
}

// Presence: a chat client makes its extension blue for the whole domain,
// gray after it leaves (past the grace period), and another domain sees
// nothing of it.
func TestPresenceOfChatClients(t *testing.T) {
	s := startServer(t, newData(t))
	a, b := s.login("101@acme.example"), s.login("102@acme.example")
	other := s.login("101@globex.example")
	sa := a.connect("")
	so := other.connect("")
	sb := b.connect("")
	f := sa.nextOf("presence.changed", 5*time.Second)
	if !strings.Contains(string(f.Data), `"extension":"102"`) || !strings.Contains(string(f.Data), `"color":"blue"`) {
		t.Errorf("presence = %s, want 102 blue", f.Data)
	}
	var contacts struct {
		Contacts []struct {
			Extension string `json:"extension"`
			Presence  struct {
				Color string `json:"color"`
			} `json:"presence"`
		} `json:"contacts"`
	}
	a.mustDo("GET", "/api/v1/contacts", nil, 200, &contacts)
	colors := map[string]string{}
	for _, c := range contacts.Contacts {
		colors[c.Extension] = c.Presence.Color
	}
	if colors["101"] != "blue" || colors["102"] != "blue" || colors["103"] != "gray" || len(colors) != 3 {
		t.Errorf("contacts colours = %v", colors)
	}
	sb.close()
	f = sa.nextOf("presence.changed", 5*time.Second)
	if !strings.Contains(string(f.Data), `"color":"gray"`) {
		t.Errorf("after leaving = %s, want gray", f.Data)
	}
	so.none("presence.changed", 300*time.Millisecond)
	// A client that connects now sees who is online in its ready frame.
	var ready struct {
		Presence []struct {
			Extension, Color string
		} `json:"presence"`
	}
	st := a.connect("")
	json.Unmarshal(st.ready.Data, &ready)
	if len(ready.Presence) != 1 || ready.Presence[0].Extension != "101" {
		t.Errorf("ready presence = %+v, want only 101", ready.Presence)
	}
}

// A client that stops reading while a burst of large messages comes in
// (more than the server queues for it, and more than the sockets buffer)
// still gets every one, once and in order, when it reads again: the server
// stops queueing for it and catches it up from the event log. Slow clients
// catching up keep no one else from connecting.
func TestSlowReaderCatchesUp(t *testing.T) {
	s := startServer(t, newData(t))
	a, b := s.login("101@acme.example"), s.login("102@acme.example")
	conv := a.conversation([]string{"102"}, "")
	hold := make(chan struct{})
	st := b.connectHeld("", hold)

	const senders, perSender = 8, 125 // 1,000 frames of about 9 KB: 9 MB
	body := strings.Repeat("All work and no play makes a slow reader. ", 210)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var want []string
	for w := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perSender {
				m := a.send(conv.ID, fmt.Sprintf("slow-%d-%d", w, i), body)
				mu.Lock()
				want = append(want, m.ID)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()

	// More slow clients than the server sets up at once, each with the
	// whole burst to catch up on: a new client still gets its ready frame
	// at once, since a set-up no longer waits for its client to read.
	for range 9 {
		b.connectHeld(st.ready.Cursor, hold)
	}
	began := time.Now()
	a.connect("").close()
	if waited := time.Since(began); waited > 5*time.Second {
		t.Errorf("a new client waited %v for its ready frame behind 9 slow ones", waited)
	}
	close(hold)

	seen := map[string]int{}
	var last int64
	deadline := time.Now().Add(60 * time.Second)
	for len(seen) < len(want) && time.Now().Before(deadline) {
		f := st.nextOf("message.created", time.Until(deadline))
		cursor, err := strconv.ParseInt(f.Cursor, 10, 64)
		if err != nil || cursor <= last {
			t.Errorf("cursor %s after %d: out of order", f.Cursor, last)
		}
		last = cursor
		seen[decodeMessage(t, f).ID]++
	}
	for _, id := range want {
		if seen[id] != 1 {
			t.Errorf("message %s seen %d times, want once", id, seen[id])
		}
	}
	if len(seen) != len(want) {
		t.Errorf("saw %d distinct messages, want %d", len(seen), len(want))
	}
}

// The ready frame's presence list, which the server keeps encoded per
// domain between changes, is never stale: each connect shows the domain as
// it is after the last change, and only its own domain.
func TestReadyFollowsPresence(t *testing.T) {
	s := startServer(t, newData(t))
	a, b := s.login("101@acme.example"), s.login("102@acme.example")
	other := s.login("101@globex.example")
	ready := func(c *client) map[string]string {
		t.Helper()
		var r struct {
			Presence []struct {
				Extension, Color, Message string
				DND                       bool
			} `json:"presence"`
		}
		st := c.connect("")
		defer st.close()
		if err := json.Unmarshal(st.ready.Data, &r); err != nil {
			t.Fatalf("ready data %s: %v", st.ready.Data, err)
		}
		got := map[string]string{}
		for _, p := range r.Presence {
			got[p.Extension] = fmt.Sprintf("%s dnd=%v %q", p.Color, p.DND, p.Message)
		}
		return got
	}
	check := func(what string, got map[string]string, want map[string]string) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: ready presence = %v, want %v", what, got, want)
		}
	}
	blue := `blue dnd=false ""`
	// 101 stays counted for the grace period after each of its streams.
	check("first connect", ready(a), map[string]string{"101": blue})
	check("second connect", ready(a), map[string]string{"101": blue})
	b.mustDo("PUT", "/api/v1/me/presence", `{"dnd":true,"message":"With a customer"}`, 200, nil)
	check("after 102 set do-not-disturb", ready(a), map[string]string{"101": blue, "102": `red dnd=true "With a customer"`})
	b.mustDo("PUT", "/api/v1/me/presence", `{"dnd":false,"message":""}`, 200, nil)
	check("after 102 cleared it", ready(a), map[string]string{"101": blue})
	check("another domain", ready(other), map[string]string{"101": blue})
	check("another domain again", ready(other), map[string]string{"101": blue})
}
