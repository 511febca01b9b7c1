package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/switchboard-chat/switchboard"
)

func testEventsOfWrites(t *testing.T, s Store, rec *Recorder) {
	f := seed(t, s, rec)
	a := func(ext string) context.Context { return f.as(domA, ext) }
	if got := f.lastCursor(t); got != 0 {
		t.Errorf("LastCursor() of a store without events = %d, want 0", got)
	}
	if got := f.since(t, a("101"), 0); len(got) != 0 {
		t.Errorf("EventsSince(0) of a store without events = %v, want none", gist(got))
	}

	var g, d *switchboard.Conversation
	var m *switchboard.Message
	const (
		created = switchboard.EventMessageCreated
		updated = switchboard.EventMessageUpdated
		convUpd = switchboard.EventConversationUpdated
		convDel = switchboard.EventConversationDeleted
	)
	// Each step is one write and the events it must publish; want is called
	// after do, so that it can name what do created.
	steps := []struct {
		what string
		do   func() error
		want func() []ev
	}{
		{"create group", func() error {
			g = &switchboard.Conversation{Name: "G", Members: []string{"102", "103"}}
			_, err := s.CreateConversation(a("101"), g)
			return err
		}, func() []ev { return []ev{{convUpd, g.ID, []string{"101", "102", "103"}}} }},
		{"create direct", func() error {
			d = &switchboard.Conversation{Direct: true, Members: []string{"102"}}
			_, err := s.CreateConversation(a("101"), d)
			return err
		}, func() []ev { return []ev{{convUpd, d.ID, []string{"101", "102"}}} }},
		{"send to group", func() error {
			_, err := s.SendMessage(a("102"), &switchboard.Message{ConversationID: g.ID, Body: "hi all"})
			return err
		}, func() []ev { return []ev{{created, g.ID, []string{"101", "102", "103"}}} }},
		{"send to direct", func() error {
			m = &switchboard.Message{ConversationID: d.ID, Body: "hi bob"}
			_, err := s.SendMessage(a("101"), m)
			return err
		}, func() []ev { return []ev{{created, d.ID, []string{"101", "102"}}} }},
		{"edit", func() error { _, err := s.EditMessage(a("101"), d.ID, m.ID, "hi Bob"); return err },
			func() []ev { return []ev{{updated, d.ID, []string{"101", "102"}}} }},
		{"delete message", func() error { _, err := s.DeleteMessage(a("101"), d.ID, m.ID); return err },
			func() []ev { return []ev{{updated, d.ID, []string{"101", "102"}}} }},
		{"mark read", func() error { return s.MarkRead(a("103"), g.ID, 1) },
			func() []ev { return []ev{{convUpd, g.ID, []string{"101", "102", "103"}}} }},
		{"rename", func() error { _, err := s.RenameConversation(a("101"), g.ID, "Renamed"); return err },
			func() []ev {
				return []ev{{convUpd, g.ID, []string{"101", "102", "103"}}, {created, g.ID, []string{"101", "102", "103"}}}
			}},
		{"add member", func() error { _, err := s.AddMembers(a("101"), g.ID, []string{"104"}); return err },
			func() []ev {
				return []ev{{convUpd, g.ID, []string{"101", "102", "103", "104"}}, {created, g.ID, []string{"101", "102", "103", "104"}}}
			}},
		{"remove member", func() error { _, err := s.RemoveMember(a("101"), g.ID, "102"); return err },
			func() []ev {
				return []ev{{convDel, g.ID, []string{"102"}}, {convUpd, g.ID, []string{"101", "103", "104"}}, {created, g.ID, []string{"101", "103", "104"}}}
			}},
		{"leave", func() error { _, err := s.RemoveMember(a("103"), g.ID, "103"); return err },
			func() []ev {
				return []ev{{convDel, g.ID, []string{"103"}}, {convUpd, g.ID, []string{"101", "104"}}, {created, g.ID, []string{"101", "104"}}}
			}},
		{"delete for me", func() error { return s.DeleteConversation(a("104"), g.ID) },
			func() []ev { return []ev{{convDel, g.ID, []string{"104"}}} }},
		{"rejected message", func() error {
			_, err := s.SendMessage(a("101"), &switchboard.Message{ConversationID: g.ID, Body: ""})
			if switchboard.ErrorCode(err) == switchboard.EINVALID {
				return nil
			}
			return err
		}, func() []ev { return []ev{} }},
	}
	var prev int64
	for _, step := range steps {
		n := rec.Len()
		if err := step.do(); err != nil {
			t.Fatalf("%s: %v", step.what, err)
		}
		events := rec.Since(n)
		if diff := cmp.Diff(step.want(), gist(events), cmpOpts); diff != "" {
			t.Errorf("%s: events mismatch (-want +got):\n%s", step.what, diff)
		}
		checkCursors(t, step.what, prev, events)
		for _, e := range events {
			if e.Domain != domA || e.Broadcast {
				t.Errorf("%s: event %s has domain %q, broadcast %v; want %q, false", step.what, e.Type, e.Domain, e.Broadcast, domA)
			}
			prev = e.Cursor
		}
	}
	all := rec.Events()
	checkCursors(t, "all events", 0, all)
	if got := f.lastCursor(t); got != prev {
		t.Errorf("LastCursor() = %d, want the last published cursor %d", got, prev)
	}

	// Each extension resumes from 0 to exactly its events, a message's
	// message.created saying what the message is now.
	all = resumed(t, all)
	for _, tt := range []struct {
		domain, ext string
	}{
		{domA, "101"}, {domA, "102"}, {domA, "103"}, {domA, "104"}, {domA, "105"}, {domB, "101"},
	} {
		var want []*switchboard.Event
		if tt.domain == domA {
			for _, e := range all {
				if e.For(tt.ext) {
					want = append(want, e)
				}
			}
		}
		got := f.since(t, f.as(tt.domain, tt.ext), 0)
		if diff := cmp.Diff(eventKeys(t, want), eventKeys(t, got)); diff != "" {
			t.Errorf("EventsSince(0) by %s@%s mismatch (-want +got):\n%s", tt.ext, tt.domain, diff)
		}
	}
}

// resumed returns events as a resume gives them, published in this order:
// the data of a message.created is the message as it is after them all,
// that is as its last message.updated says (edited, or deleted without its
// body), not as it was sent.
func resumed(t *testing.T, events []*switchboard.Event) []*switchboard.Event {
	t.Helper()
	now := map[string][]byte{}
	for _, e := range events {
		if e.Type == switchboard.EventMessageUpdated {
			now[decodeMessage(t, e).ID] = e.Data
		}
	}
	out := make([]*switchboard.Event, len(events))
	for i, e := range events {
		out[i] = e
		if e.Type != switchboard.EventMessageCreated {
			continue
		}
		if data, ok := now[decodeMessage(t, e).ID]; ok {
			out[i] = &switchboard.Event{Cursor: e.Cursor, Domain: e.Domain, Type: e.Type, ConversationID: e.ConversationID,
				Recipients: e.Recipients, Broadcast: e.Broadcast, Data: data}
		}
	}
	return out
}

// eventKey is what a resuming client learns of an event.
type eventKey struct {
	Cursor int64
	Type   string
	Conv   string
	Data   any
}

func eventKeys(t *testing.T, events []*switchboard.Event) []eventKey {
	t.Helper()
	out := []eventKey{}
	for _, e := range events {
		k := eventKey{Cursor: e.Cursor, Type: e.Type, Conv: e.ConversationID}
		if err := json.Unmarshal(e.Data, &k.Data); err != nil {
			t.Fatalf("decode %s event data %s: %v", e.Type, e.Data, err)
		}
		out = append(out, k)
	}
	return out
}

// traffic makes some events in domA: a direct conversation of 101 and 102
// with n messages, and a group of 102, 103 and 104 with one.
func traffic(t *testing.T, f *fixture, n int) *switchboard.Conversation {
	t.Helper()
	d := f.direct(t, f.as(domA, "101"), "102")
	for i := range n {
		ext := []string{"101", "102"}[i%2]
		f.send(t, f.as(domA, ext), d.ID, "ping")
	}
	g := f.group(t, f.as(domA, "102"), "G", "103", "104")
	f.send(t, f.as(domA, "103"), g.ID, "not for 101")
	return d
}

func testEventsSince(t *testing.T, s Store, rec *Recorder) {
	f := seed(t, s, rec)
	a101 := f.as(domA, "101")
	traffic(t, f, 6)
	last := f.lastCursor(t)

	all := f.since(t, a101, 0)
	if len(all) != 7 { // the direct conversation and its messages
		t.Fatalf("EventsSince(0) by 101 = %d events, want 7", len(all))
	}
	checkCursors(t, "EventsSince(0)", 0, all)
	for i, e := range all {
		if !e.For("101") || e.Domain != domA {
			t.Errorf("EventsSince(0) by 101: event %d is for %v of %s", i, e.Recipients, e.Domain)
		}
	}

	// Paging by any limit visits every event once.
	for _, limit := range []int{1, 2, 3, 7, 100} {
		var got []*switchboard.Event
		cursor := int64(0)
		for range 20 {
			page, err := s.EventsSince(a101, cursor, limit)
			if err != nil {
				t.Fatalf("EventsSince(%d, %d) = %v", cursor, limit, err)
			} else if len(page) > limit {
				t.Errorf("EventsSince(%d, %d) = %d events, more than the limit", cursor, limit, len(page))
			} else if len(page) == 0 {
				break
			}
			got = append(got, page...)
			cursor = page[len(page)-1].Cursor
		}
		if diff := cmp.Diff(eventKeys(t, all), eventKeys(t, got)); diff != "" {
			t.Errorf("paging EventsSince by %d mismatch (-want +got):\n%s", limit, diff)
		}
	}
	// Resuming in the middle gives exactly the rest.
	mid := all[2].Cursor
	if diff := cmp.Diff(eventKeys(t, all[3:]), eventKeys(t, f.since(t, a101, mid))); diff != "" {
		t.Errorf("EventsSince(%d) mismatch (-want +got):\n%s", mid, diff)
	}
	if got := f.since(t, a101, last); len(got) != 0 {
		t.Errorf("EventsSince(LastCursor) = %v, want none", gist(got))
	}
	for _, c := range []int64{last + 1, last + 1000} {
		if _, err := s.EventsSince(a101, c, 10); !errors.Is(err, switchboard.ErrCursorExpired) {
			t.Errorf("EventsSince(%d) beyond LastCursor %d = %v, want ErrCursorExpired", c, last, err)
		}
	}
	if got := f.since(t, f.as(domA, "105"), 0); len(got) != 0 {
		t.Errorf("EventsSince(0) by a non-member = %v, want none", gist(got))
	}
	if got := f.since(t, f.as(domB, "101"), 0); len(got) != 0 {
		t.Errorf("EventsSince(0) by 101 of another domain = %v, want none", gist(got))
	}
}

func testPruneEvents(t *testing.T, s Store, rec *Recorder) {
	f := seed(t, s, rec)
	a101 := f.as(domA, "101")
	d := traffic(t, f, 4)
	all := f.since(t, a101, 0)
	last := f.lastCursor(t)

	// Pruning what is older than everything keeps everything. It needs no
	// identity.
	if err := s.PruneEvents(context.Background(), time.Now().Add(-time.Hour)); err != nil {
		t.Fatalf("PruneEvents(an hour ago) = %v", err)
	}
	if diff := cmp.Diff(eventKeys(t, all), eventKeys(t, f.since(t, a101, 0))); diff != "" {
		t.Errorf("EventsSince(0) after pruning nothing mismatch (-want +got):\n%s", diff)
	}

	if err := s.PruneEvents(context.Background(), time.Now().Add(time.Second)); err != nil {
		t.Fatalf("PruneEvents(now+1s) = %v", err)
	}
	for _, c := range []int64{0, all[0].Cursor, all[len(all)-2].Cursor} {
		if _, err := s.EventsSince(a101, c, 10); !errors.Is(err, switchboard.ErrCursorExpired) {
			t.Errorf("EventsSince(%d) after pruning = %v, want ErrCursorExpired", c, err)
		}
	}
	if got := f.lastCursor(t); got != last {
		t.Errorf("LastCursor() after pruning = %d, want %d", got, last)
	}
	// A client that had everything carries on.
	if got := f.since(t, a101, last); len(got) != 0 {
		t.Errorf("EventsSince(LastCursor) after pruning = %v, want none", gist(got))
	}
	n := rec.Len()
	m := f.send(t, a101, d.ID, "after pruning")
	published := rec.Since(n)
	if len(published) != 1 || published[0].Cursor <= last {
		t.Fatalf("SendMessage after pruning published %v, want one event after cursor %d", gist(published), last)
	}
	got := f.since(t, a101, last)
	if diff := cmp.Diff(eventKeys(t, published), eventKeys(t, got)); diff != "" {
		t.Errorf("EventsSince(%d) after pruning mismatch (-want +got):\n%s", last, diff)
	} else if id := decodeMessage(t, got[0]).ID; id != m.ID {
		t.Errorf("EventsSince(%d) after pruning: message %s, want %s", last, id, m.ID)
	}
	if c := f.lastCursor(t); c != published[0].Cursor {
		t.Errorf("LastCursor() = %d, want %d", c, published[0].Cursor)
	}
	// Pruning leaves conversations and messages alone.
	if got := bodies(f.messages(t, a101, d.ID)); len(got) != 5 {
		t.Errorf("ListMessages after pruning = %d messages, want 5", len(got))
	}
}
