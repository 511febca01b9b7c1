package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"testing"

	"github.com/switchboard-chat/switchboard"
	"github.com/switchboard-chat/switchboard/sqlite"
	"github.com/switchboard-chat/switchboard/storetest"
)

// TestSendFailingAfterItsInsert checks that a send that fails after its
// message was inserted (here the update of its conversation's row is
// refused, a real SQLite error raised by a trigger) leaves nothing behind:
// the writer's cached conversation forgets the message with the rest of
// the write, so the next send takes the seq the failed one did not get,
// the history has no gap, and only the stored messages are announced. It
// does so for a write alone in its transaction and for one beside others.
func TestSendFailingAfterItsInsert(t *testing.T) {
	bg := context.Background()
	path := filepath.Join(t.TempDir(), "db.sqlite")
	rec := &storetest.Recorder{}
	s := mustOpen(t, path, rec)
	conv := bulkFixture(t, s, 2)[0]
	ctx := switchboard.NewContextWithIdentity(bg, switchboard.Identity{Domain: "bulk.example", Extension: conv.Members[0]})
	send := func(body string) (*switchboard.Message, error) {
		m := &switchboard.Message{ConversationID: conv.ID, Body: body, ClientID: body}
		_, err := s.SendMessage(ctx, m)
		return m, err
	}
	if _, err := send("first"); err != nil {
		t.Fatalf("SendMessage(first) = %v", err)
	}
	refuseBoom(t, path)
	if _, err := send("boom"); err == nil {
		t.Fatalf("SendMessage(boom) = nil, want the trigger's error")
	}
	m, err := send("second")
	if err != nil {
		t.Fatalf("SendMessage(second) = %v", err)
	}
	if m.Seq != 2 {
		t.Errorf("SendMessage(second): seq %d, want 2", m.Seq)
	}
	// Beside others: the failing send shares a transaction.
	done := make(chan error, 3)
	for _, body := range []string{"third", "boom again", "fourth"} {
		go func() { _, err := send(body); done <- err }()
	}
	failed := 0
	for range 3 {
		if err := <-done; err != nil {
			failed++
		}
	}
	if failed != 1 {
		t.Errorf("%d of three concurrent sends failed, want 1", failed)
	}
	if _, err := send("fifth"); err != nil {
		t.Fatalf("SendMessage(fifth) = %v", err)
	}
	seqs, bodies := history(t, s, ctx, conv.ID)
	if want := []int64{1, 2, 3, 4, 5}; !slices.Equal(seqs, want) {
		t.Errorf("history seqs = %v (%q), want %v", seqs, bodies, want)
	}
	if n := created(rec); n != 5 {
		t.Errorf("%d message.created events published, want 5", n)
	}
}

// refuseBoom adds, from a connection of its own, a trigger that refuses
// the update of a conversation's row by a send whose body holds "boom": a
// real SQLite error, after the send's insert.
func refuseBoom(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TRIGGER refuse AFTER UPDATE ON conversations WHEN instr(NEW.last_message, 'boom') > 0 BEGIN SELECT RAISE(ABORT, 'refused'); END`); err != nil {
		t.Fatal(err)
	}
}

// history returns the seqs and bodies of the last 50 messages of convID.
func history(t *testing.T, s *sqlite.Store, ctx context.Context, convID string) ([]int64, []string) {
	t.Helper()
	page, err := s.ListMessages(ctx, convID, switchboard.MessageQuery{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	var seqs []int64
	var bodies []string
	for _, m := range page {
		seqs = append(seqs, m.Seq)
		bodies = append(bodies, m.Body)
	}
	return seqs, bodies
}

// created counts the message.created events rec received.
func created(rec *storetest.Recorder) int {
	n := 0
	for _, e := range rec.Events() {
		if e.Type == switchboard.EventMessageCreated {
			n++
		}
	}
	return n
}

// TestPackedLastMessage checks that the copy of the last message that a
// send packs on its conversation's row (migration 009) is byte for byte
// what the view message_packed makes of the stored message (the packing
// that edits, deletes and delivery statuses still use), for text with
// separators and characters of several bytes, for system messages with
// targets and a name, and for messages seeded by the bulk path.
func TestPackedLastMessage(t *testing.T) {
	bg := context.Background()
	path := filepath.Join(t.TempDir(), "db.sqlite")
	s := mustOpen(t, path, nil)
	convs := bulkFixture(t, s, 6)
	ctx := switchboard.NewContextWithIdentity(bg, switchboard.Identity{Domain: "bulk.example", Extension: "101"})
	for _, body := range []string{"hello", "12:34:5:", "ünïcödé — ✓ 🎉", "line one\nline two"} {
		if _, err := s.SendMessage(ctx, &switchboard.Message{ConversationID: convs[0].ID, Body: body, ClientID: body}); err != nil {
			t.Fatalf("SendMessage(%q) = %v", body, err)
		}
	}
	g := &switchboard.Conversation{Name: "Ops: night shift", Members: []string{"102", "103"}}
	if _, err := s.CreateConversation(ctx, g); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddMembers(ctx, g.ID, []string{"104", "105"}); err != nil {
		t.Fatal(err)
	}
	r := &switchboard.Conversation{Name: "Renamed: ✓", Members: []string{"102", "106"}}
	if _, err := s.CreateConversation(ctx, r); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RenameConversation(ctx, r.ID, "Renamed again: ✓✓"); err != nil {
		t.Fatal(err)
	}
	if err := s.BulkMessages(bg, []*switchboard.Message{{ConversationID: convs[1].ID, Sender: convs[1].Members[0], Body: "bulk: ✓"}}); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT c.id, c.last_message, p.packed FROM conversations c
		JOIN message_packed p ON p.conversation_id = c.id AND p.seq = c.last_seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var id, got, want string
		if err := rows.Scan(&id, &got, &want); err != nil {
			t.Fatal(err)
		}
		n++
		if got != want {
			t.Errorf("conversation %s: last_message = %q, want %q", id, got, want)
		}
	}
	if n != 4 {
		t.Errorf("%d conversations with messages, want 4", n)
	}
}
