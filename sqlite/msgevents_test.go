package sqlite_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/switchboard-chat/switchboard"
	"github.com/switchboard-chat/switchboard/sqlite"
	"github.com/switchboard-chat/switchboard/storetest"
)

// resumeKey is what TestResumeReadsMessages compares of an event: what it
// is and which message or conversation it is about.
type resumeKey struct {
	Cursor int64
	Type   string
	Conv   string
	ID     string
}

func resumeKeys(t *testing.T, events []*switchboard.Event) []resumeKey {
	t.Helper()
	out := []resumeKey{}
	for _, e := range events {
		var v struct{ ID string }
		if err := json.Unmarshal(e.Data, &v); err != nil {
			t.Fatalf("decode %s event %d: %v", e.Type, e.Cursor, err)
		}
		out = append(out, resumeKey{e.Cursor, e.Type, e.ConversationID, v.ID})
	}
	return out
}

// TestResumeReadsMessages checks the resume of message.created from the
// messages themselves (migration 010) against what was published live: at
// every cursor, by pages of several sizes and with windows of the log
// smaller than the gaps, each extension gets exactly the events published
// to it after the cursor, in order. The traffic has a long direct
// conversation (hundreds of messages, so that the search for the first one
// after a cursor takes many steps), a group that 101 joins, leaves and
// joins again (its messages reach 101 only while it is a member), edits
// and deletes (message.updated, still in the log) and others' traffic in
// between. A resumed message.created says what the message is now.
func TestResumeReadsMessages(t *testing.T) {
	bg := context.Background()
	rec := &storetest.Recorder{}
	s := mustOpen(t, filepath.Join(t.TempDir(), "db.sqlite"), rec)
	if err := s.CreateDomain(bg, &switchboard.Domain{Name: "acme.example", DisplayName: "Acme"}); err != nil {
		t.Fatal(err)
	}
	exts := []string{"101", "102", "103", "104", "105"}
	for _, ext := range exts {
		if err := s.CreateUser(bg, &switchboard.User{Domain: "acme.example", Extension: ext, Name: "User " + ext, Level: switchboard.LevelBasic, PasswordHash: "h"}); err != nil {
			t.Fatal(err)
		}
	}
	as := func(ext string) context.Context {
		return switchboard.NewContextWithIdentity(bg, switchboard.Identity{Domain: "acme.example", Extension: ext, Level: switchboard.LevelBasic})
	}
	direct := &switchboard.Conversation{Direct: true, Members: []string{"102"}}
	others := &switchboard.Conversation{Direct: true, Members: []string{"104"}}
	group := &switchboard.Conversation{Name: "G", Members: []string{"104"}}
	for _, c := range []struct {
		ext  string
		conv *switchboard.Conversation
	}{{"101", direct}, {"103", others}, {"103", group}} {
		if _, err := s.CreateConversation(as(c.ext), c.conv); err != nil {
			t.Fatal(err)
		}
	}
	var sent []*switchboard.Message
	send := func(ext, conv string, n int) {
		t.Helper()
		for i := range n {
			m := &switchboard.Message{ConversationID: conv, Body: fmt.Sprint("m", i)}
			if _, err := s.SendMessage(as(ext), m); err != nil {
				t.Fatalf("SendMessage(%s) = %v", conv, err)
			}
			sent = append(sent, m)
		}
	}
	membership := func(add bool) {
		t.Helper()
		var err error
		if add {
			_, err = s.AddMembers(as("103"), group.ID, []string{"101"})
		} else {
			_, err = s.RemoveMember(as("103"), group.ID, "101")
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	send("101", direct.ID, 300)
	send("103", group.ID, 5)
	membership(true)
	send("104", group.ID, 20)
	for i := range 40 {
		send([]string{"101", "102"}[i%2], direct.ID, 3)
		send("103", others.ID, 2)
	}
	if _, err := s.EditMessage(as("101"), direct.ID, sent[10].ID, "edited"); err != nil {
		t.Fatal(err)
	}
	membership(false)
	send("103", group.ID, 7)
	if _, err := s.DeleteMessage(as("101"), direct.ID, sent[20].ID); err != nil {
		t.Fatal(err)
	}
	membership(true)
	send("104", group.ID, 3)
	send("102", direct.ID, 200)

	published := rec.Events()
	for _, ext := range exts {
		var mine []*switchboard.Event
		for _, e := range published {
			if e.For(ext) {
				mine = append(mine, e)
			}
		}
		restore := sqlite.SetEventWindow(50)
		for i := 0; i <= len(mine); i += 1 + i/8 {
			cursor := int64(0)
			if i > 0 {
				cursor = mine[i-1].Cursor
			}
			for _, limit := range []int{1, 7, 100, 2000} {
				got, err := s.EventsSince(as(ext), cursor, limit)
				if err != nil {
					t.Fatalf("EventsSince(%d, %d) by %s = %v", cursor, limit, ext, err)
				}
				want := mine[i:min(len(mine), i+limit)]
				if g, w := resumeKeys(t, got), resumeKeys(t, want); !slices.Equal(g, w) {
					t.Fatalf("EventsSince(%d, %d) by %s: %d events %v..., want %d %v...", cursor, limit, ext, len(g), g[:min(3, len(g))], len(w), w[:min(3, len(w))])
				}
			}
		}
		restore()
	}

	// What the resume says of the edited and the deleted message.
	all, err := s.EventsSince(as("102"), 0, 5000)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range all {
		if e.Type != switchboard.EventMessageCreated {
			continue
		}
		var m switchboard.Message
		if err := json.Unmarshal(e.Data, &m); err != nil {
			t.Fatal(err)
		}
		switch m.ID {
		case sent[10].ID:
			if m.Body != "edited" || m.EditedAt == nil {
				t.Errorf("resumed message.created of the edited message: body %q, edited_at %v; want the edit", m.Body, m.EditedAt)
			}
		case sent[20].ID:
			if !m.Deleted || m.Body != "" {
				t.Errorf("resumed message.created of the deleted message: deleted %v, body %q; want deleted without its body", m.Deleted, m.Body)
			}
		case sent[30].ID:
			if m.Body != sent[30].Body || m.Seq != sent[30].Seq || !m.CreatedAt.Equal(sent[30].CreatedAt) {
				t.Errorf("resumed message.created = %+v, want the message sent, %+v", m, sent[30])
			}
		}
	}
}

// TestEventIDsWithTwoWriters checks that event ids stay unique and in
// commit order when two stores write to one database in turn (the server
// and an admin command are two processes on one file): each takes the log's
// sequence as the other left it, although a message's event has no row of
// its own, and each resumes to every event of the other.
func TestEventIDsWithTwoWriters(t *testing.T) {
	bg := context.Background()
	path := filepath.Join(t.TempDir(), "db.sqlite")
	rec1, rec2 := &storetest.Recorder{}, &storetest.Recorder{}
	s1 := mustOpen(t, path, rec1)
	s2 := mustOpen(t, path, rec2)
	if err := s1.CreateDomain(bg, &switchboard.Domain{Name: "acme.example", DisplayName: "Acme"}); err != nil {
		t.Fatal(err)
	}
	for _, ext := range []string{"101", "102", "103"} {
		if err := s2.CreateUser(bg, &switchboard.User{Domain: "acme.example", Extension: ext, Name: "User " + ext, Level: switchboard.LevelBasic, PasswordHash: "h"}); err != nil {
			t.Fatal(err)
		}
	}
	as := func(ext string) context.Context {
		return switchboard.NewContextWithIdentity(bg, switchboard.Identity{Domain: "acme.example", Extension: ext, Level: switchboard.LevelBasic})
	}
	c := &switchboard.Conversation{Direct: true, Members: []string{"102"}}
	if _, err := s1.CreateConversation(as("101"), c); err != nil {
		t.Fatal(err)
	}
	// Commit order is the order of the calls: each write's event comes
	// after all that were published before it, by either store.
	published := rec1.Events()
	for i := range 6 {
		s, rec := s1, rec1
		if i%2 == 1 {
			s, rec = s2, rec2
		}
		for j := range 4 {
			n := rec.Len()
			var err error
			if j < 3 {
				_, err = s.SendMessage(as("101"), &switchboard.Message{ConversationID: c.ID, Body: "hi"})
			} else if i == 3 {
				_, err = s.CreateConversation(as("102"), &switchboard.Conversation{Name: "G", Members: []string{"101", "103"}})
			} else {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			events := rec.Since(n)
			if len(events) != 1 || events[0].Cursor <= published[len(published)-1].Cursor {
				t.Fatalf("write %d.%d published cursors %v, want one after %d", i, j, cursors(events), published[len(published)-1].Cursor)
			}
			published = append(published, events...)
		}
	}
	for _, s := range []*sqlite.Store{s1, s2} {
		got, err := s.EventsSince(as("101"), 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		if g, w := resumeKeys(t, got), resumeKeys(t, published); !slices.Equal(g, w) {
			t.Errorf("EventsSince(0) by 101 = %v, want %v", g, w)
		}
		if last, err := s.LastCursor(as("101")); err != nil || last != published[len(published)-1].Cursor {
			t.Errorf("LastCursor() = %d, %v; want %d", last, err, published[len(published)-1].Cursor)
		}
	}
}

// TestSendKeepsItsEncoding checks that a text message's send hands back
// the JSON of its message.created (Message.Encoded, which the HTTP
// response reuses) and that it is the message as sent, and that a retry
// with the same client_id, which returns the stored message, has none.
func TestSendKeepsItsEncoding(t *testing.T) {
	rec := &storetest.Recorder{}
	s := mustOpen(t, filepath.Join(t.TempDir(), "db.sqlite"), rec)
	conv := bulkFixture(t, s, 2)[0]
	ctx := switchboard.NewContextWithIdentity(context.Background(), switchboard.Identity{Domain: "bulk.example", Extension: conv.Members[0]})
	for range 2 { // the conversation is read, then cached
		m := &switchboard.Message{ConversationID: conv.ID, Body: "<b>hello</b> & more"}
		if _, err := s.SendMessage(ctx, m); err != nil {
			t.Fatal(err)
		}
		want, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if string(m.Encoded) != string(want) {
			t.Errorf("Encoded = %s, want %s", m.Encoded, want)
		}
		events := rec.Events()
		if got := events[len(events)-1].Data; string(got) != string(want) {
			t.Errorf("event data = %s, want %s", got, want)
		}
	}
	m := &switchboard.Message{ConversationID: conv.ID, Body: "once", ClientID: "k1"}
	for i := range 2 {
		m2 := &switchboard.Message{ConversationID: conv.ID, Body: "once", ClientID: "k1"}
		created, err := s.SendMessage(ctx, m2)
		if err != nil || created != (i == 0) {
			t.Fatalf("SendMessage(k1) #%d = %v, %v", i, created, err)
		}
		if i == 1 && (m2.Encoded != nil || m2.ID != m.ID) {
			t.Errorf("retried SendMessage: ID %s, Encoded %s; want %s and none", m2.ID, m2.Encoded, m.ID)
		}
		m = m2
	}
}
