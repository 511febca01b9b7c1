package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// Two users chat: conversation, live delivery, unread, read receipts,
// typing, edit and delete.
func TestTwoUsersChat(t *testing.T) {
	s := startServer(t, newData(t))
	a, b := s.login("101@acme.example"), s.login("102@acme.example")
	sa, sb := a.connect(""), b.connect("")

	conv := a.conversation([]string{"102"}, "")
	if !conv.Direct || strings.Join(conv.Members, ",") != "101,102" {
		t.Fatalf("conversation = %+v, want direct between 101 and 102", conv)
	}
	// Starting it again, from either side, gives the same conversation.
	status, body := a.do("POST", "/api/v1/conversations", map[string]any{"members": []string{"102"}})
	if status != 200 || !strings.Contains(string(body), conv.ID) {
		t.Errorf("second create = %d %s, want 200 with %s", status, body, conv.ID)
	}
	if again := b.conversation([]string{"101"}, ""); again.ID != conv.ID {
		t.Errorf("create from 102 = %s, want %s", again.ID, conv.ID)
	}
	if f := sb.nextOf("conversation.updated", 5*time.Second); !strings.Contains(string(f.Data), conv.ID) {
		t.Errorf("conversation.updated = %s, want %s", f.Data, conv.ID)
	}

	sent := a.send(conv.ID, "c1", "Hello Blake\nsecond line")
	if sent.Seq != 1 || sent.Sender != "101" || sent.Body != "Hello Blake\nsecond line" {
		t.Errorf("sent = %+v", sent)
	}
	got := decodeMessage(t, sb.nextOf("message.created", 5*time.Second))
	if got.ID != sent.ID || got.Body != sent.Body {
		t.Errorf("102 received %+v, want %+v", got, sent)
	}
	// The sender's other clients see it too.
	if m := decodeMessage(t, sa.nextOf("message.created", 5*time.Second)); m.ID != sent.ID {
		t.Errorf("101 received %+v", m)
	}

	list := b.conversations()
	if len(list) != 1 || list[0].ID != conv.ID || list[0].Unread != 1 || list[0].LastMessage == nil || list[0].LastMessage.ID != sent.ID {
		t.Fatalf("102's list = %+v, want the conversation with 1 unread and the last message", list)
	}
	// Read receipt: 102 reads, 101 sees it.
	b.mustDo("POST", "/api/v1/conversations/"+conv.ID+"/read", map[string]int64{"seq": 1}, 204, nil)
	f := sa.nextOf("conversation.updated", 5*time.Second)
	var upd conversation
	json.Unmarshal(f.Data, &upd)
	if upd.Read["102"] != 1 {
		t.Errorf("101 sees read = %v, want 102 at 1", upd.Read)
	}
	var one conversation
	a.mustDo("GET", "/api/v1/conversations/"+conv.ID, nil, 200, &one)
	if one.Read["102"] != 1 {
		t.Errorf("GET conversation read = %v, want 102 at 1", one.Read)
	}
	if list := b.conversations(); list[0].Unread != 0 {
		t.Errorf("unread after read = %d, want 0", list[0].Unread)
	}

	// Typing reaches the other member only.
	if err := sb.conn.Write(t.Context(), 1, []byte(`{"type":"typing","data":{"conversation_id":"`+conv.ID+`"}}`)); err != nil {
		t.Fatal(err)
	}
	if f := sa.nextOf("typing", 5*time.Second); !strings.Contains(string(f.Data), `"extension":"102"`) {
		t.Errorf("typing = %s", f.Data)
	}
	// A bad client frame gets an error frame and the stream stays up.
	sb.conn.Write(t.Context(), 1, []byte(`{"type":"nonsense"}`))
	if f := sb.nextOf("error", 5*time.Second); !strings.Contains(string(f.Data), "invalid") {
		t.Errorf("error frame = %s", f.Data)
	}

	// Edit and delete my own message; not someone else's.
	var edited message
	a.mustDo("PATCH", "/api/v1/conversations/"+conv.ID+"/messages/"+sent.ID, map[string]string{"body": "Hello again"}, 200, &edited)
	if edited.Body != "Hello again" || edited.EditedAt == nil {
		t.Errorf("edited = %+v", edited)
	}
	if m := decodeMessage(t, sb.nextOf("message.updated", 5*time.Second)); m.Body != "Hello again" {
		t.Errorf("102 sees edit %+v", m)
	}
	status, body = b.do("PATCH", "/api/v1/conversations/"+conv.ID+"/messages/"+sent.ID, map[string]string{"body": "hijack"})
	if status != 403 || !strings.Contains(string(body), "forbidden") {
		t.Errorf("edit by other = %d %s, want 403 forbidden", status, body)
	}
	a.mustDo("DELETE", "/api/v1/conversations/"+conv.ID+"/messages/"+sent.ID, nil, 204, nil)
	if m := decodeMessage(t, sb.nextOf("message.updated", 5*time.Second)); !m.Deleted || m.Body != "" {
		t.Errorf("102 sees delete %+v", m)
	}
	if msgs := b.messages(conv.ID, ""); len(msgs) != 1 || !msgs[0].Deleted {
		t.Errorf("history after delete = %+v", msgs)
	}
	if !strings.Contains(s.stderr.String(), "serving") || strings.Contains(s.stderr.String(), "Hello") {
		t.Errorf("server log shows a message body or nothing at all:\n%s", s.stderr.String())
	}

	// The response to a send is the message exactly as its event carries
	// it (the store encodes it once for both).
	status, body = a.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]string{"client_id": "c2", "body": "<b>bold</b> & \"quoted\""})
	if f := sb.nextOf("message.created", 5*time.Second); status != 201 || string(body) != string(f.Data)+"\n" {
		t.Errorf("send = %d %s, want 201 with the event's data %s", status, body, f.Data)
	}
}

// Delete-for-me hides a conversation from one member until a new message.
func TestDeleteConversationForMe(t *testing.T) {
	s := startServer(t, newData(t))
	a, b := s.login("101@acme.example"), s.login("102@acme.example")
	conv := a.conversation([]string{"102"}, "")
	a.send(conv.ID, "1", "old one")
	a.send(conv.ID, "2", "old two")
	sb := b.connect("")
	b.mustDo("DELETE", "/api/v1/conversations/"+conv.ID, nil, 204, nil)
	if f := sb.nextOf("conversation.deleted", 5*time.Second); !strings.Contains(string(f.Data), conv.ID) {
		t.Errorf("conversation.deleted = %s", f.Data)
	}
	if list := b.conversations(); len(list) != 0 {
		t.Errorf("102's list after delete = %+v, want empty", list)
	}
	if list := a.conversations(); len(list) != 1 {
		t.Errorf("101's list = %+v, want the conversation still", list)
	}
	a.send(conv.ID, "3", "new one")
	list := b.conversations()
	if len(list) != 1 || list[0].LastMessage == nil || list[0].LastMessage.Body != "new one" || list[0].Unread != 1 {
		t.Fatalf("102's list after a new message = %+v", list)
	}
	msgs := b.messages(conv.ID, "")
	if len(msgs) != 1 || msgs[0].Body != "new one" {
		t.Errorf("102's history = %+v, want only the new message", msgs)
	}
	if msgs := a.messages(conv.ID, ""); len(msgs) != 3 {
		t.Errorf("101's history has %d messages, want 3", len(msgs))
	}
}

// Groups: create with a name, rename, add, remove, leave.
func TestGroups(t *testing.T) {
	s := startServer(t, newData(t))
	a, b, c := s.login("101@acme.example"), s.login("102@acme.example"), s.login("103@acme.example")
	g := a.conversation([]string{"102"}, "Sales")
	if g.Direct || g.Name != "Sales" {
		t.Fatalf("group = %+v", g)
	}
	// A named conversation with the same person is a new group, not the 1:1.
	if d := a.conversation([]string{"102"}, ""); d.ID == g.ID {
		t.Errorf("1:1 is the group")
	}
	var upd conversation
	a.mustDo("PATCH", "/api/v1/conversations/"+g.ID, map[string]string{"name": "Sales team"}, 200, &upd)
	if upd.Name != "Sales team" {
		t.Errorf("renamed = %+v", upd)
	}
	status, _ := c.do("GET", "/api/v1/conversations/"+g.ID, nil)
	if status != 404 {
		t.Errorf("non-member GET = %d, want 404", status)
	}
	sc := c.connect("")
	a.mustDo("POST", "/api/v1/conversations/"+g.ID+"/members", map[string]any{"members": []string{"103"}}, 200, &upd)
	if strings.Join(upd.Members, ",") != "101,102,103" {
		t.Errorf("members = %v", upd.Members)
	}
	if m := decodeMessage(t, sc.nextOf("message.created", 5*time.Second)); m.Kind != "member_added" {
		t.Errorf("103 sees %+v, want member_added", m)
	}
	c.send(g.ID, "x", "hi all")
	b.mustDo("DELETE", "/api/v1/conversations/"+g.ID+"/members/103", nil, 204, nil)
	if f := sc.nextOf("conversation.deleted", 5*time.Second); !strings.Contains(string(f.Data), g.ID) {
		t.Errorf("removed member gets %s", f.Data)
	}
	if status, _ := c.do("GET", "/api/v1/conversations/"+g.ID+"/messages", nil); status != 404 {
		t.Errorf("removed member reads history: %d, want 404", status)
	}
	b.mustDo("DELETE", "/api/v1/conversations/"+g.ID+"/members/102", nil, 204, nil)
	msgs := a.messages(g.ID, "")
	var kinds []string
	for _, m := range msgs {
		kinds = append(kinds, m.Kind)
	}
	if got := strings.Join(kinds, ","); got != "renamed,member_added,text,member_removed,member_left" {
		t.Errorf("history kinds = %s", got)
	}
	a.mustDo("GET", "/api/v1/conversations/"+g.ID, nil, 200, &upd)
	if strings.Join(upd.Members, ",") != "101" {
		t.Errorf("members after leave = %v", upd.Members)
	}
}

// History pages both ways, and the list orders by newest activity.
func TestHistoryAndList(t *testing.T) {
	s := startServer(t, newData(t))
	a := s.login("101@acme.example")
	c1 := a.conversation([]string{"102"}, "")
	c2 := a.conversation([]string{"103"}, "")
	for i := 1; i <= 120; i++ {
		a.send(c1.ID, fmt.Sprint(i), fmt.Sprintf("message %d", i))
	}
	a.send(c2.ID, "x", "latest")
	if list := a.conversations(); len(list) != 2 || list[0].ID != c2.ID {
		t.Errorf("list order = %v, want %s first", list, c2.ID)
	}
	newest := a.messages(c1.ID, "")
	if len(newest) != 50 || newest[0].Seq != 71 || newest[49].Seq != 120 {
		t.Fatalf("newest page = %d messages from %d", len(newest), newest[0].Seq)
	}
	older := a.messages(c1.ID, "?before=71&limit=100")
	if len(older) != 70 || older[0].Seq != 1 || older[69].Seq != 70 {
		t.Errorf("older page = %d from %d", len(older), older[0].Seq)
	}
	after := a.messages(c1.ID, "?after=100&limit=5")
	if len(after) != 5 || after[0].Seq != 101 {
		t.Errorf("after page = %+v", after)
	}
	a.send(c1.ID, "y", "back on top")
	if list := a.conversations(); list[0].ID != c1.ID {
		t.Errorf("list after new message starts with %s, want %s", list[0].ID, c1.ID)
	}
}

// The same client_id never makes a second message, even when retried
// concurrently.
func TestIdempotentSend(t *testing.T) {
	s := startServer(t, newData(t))
	a, b := s.login("101@acme.example"), s.login("102@acme.example")
	conv := a.conversation([]string{"102"}, "")
	first := a.send(conv.ID, "retry-1", "once")
	var again message
	a.mustDo("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]string{"client_id": "retry-1", "body": "once"}, 200, &again)
	if again.ID != first.ID || again.Seq != first.Seq {
		t.Errorf("retry = %+v, want %+v", again, first)
	}
	// The other member using the same client_id sends their own message.
	other := b.send(conv.ID, "retry-1", "mine")
	if other.ID == first.ID {
		t.Errorf("102's message reused 101's")
	}
	var wg sync.WaitGroup
	ids := make(chan string, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, body := a.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]string{"client_id": "storm", "body": "storm"})
			var m message
			json.Unmarshal(body, &m)
			if status != 200 && status != 201 {
				t.Errorf("storm send = %d %s", status, body)
			}
			ids <- m.ID
		}()
	}
	wg.Wait()
	close(ids)
	seen := map[string]bool{}
	for id := range ids {
		seen[id] = true
	}
	if len(seen) != 1 {
		t.Errorf("20 concurrent retries made %d messages", len(seen))
	}
	if msgs := a.messages(conv.ID, ""); len(msgs) != 3 {
		t.Errorf("history has %d messages, want 3", len(msgs))
	}
}
