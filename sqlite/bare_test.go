package sqlite_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard"
	"github.com/switchboard-chat/switchboard/sqlite"
	"github.com/switchboard-chat/switchboard/storetest"
)

// TestSendsWithoutSavepoints checks the writer's bare transactions
// (writer.go, run): sends run without savepoints while a transaction holds
// only sends; a send that fails before it writes (an unknown conversation)
// costs the others nothing; one that fails after its insert (a trigger
// refuses its conversation's update) while its transaction holds sends of
// earlier rounds has the transaction rolled back and those sends run again,
// each in a savepoint, so that they are stored and announced once and the
// failed one is not at all; and a send whose second attachment is not found,
// after its first was marked attached, fails whole, also after running
// again, rather than going out without its attachments.
func TestSendsWithoutSavepoints(t *testing.T) {
	bg := context.Background()
	path := filepath.Join(t.TempDir(), "db.sqlite")
	rec := &storetest.Recorder{}
	s := mustOpen(t, path, rec)
	// Syncs slow enough that a transaction stays open across rounds.
	sqlite.SlowSyncs(s, 300*time.Millisecond)
	conv := bulkFixture(t, s, 2)[0]
	ctx := switchboard.NewContextWithIdentity(bg, switchboard.Identity{Domain: "bulk.example", Extension: conv.Members[0]})
	send := func(body string, atts ...string) error {
		m := &switchboard.Message{ConversationID: conv.ID, Body: body, ClientID: body}
		for _, id := range atts {
			m.Attachments = append(m.Attachments, &switchboard.Attachment{ID: id})
		}
		_, err := s.SendMessage(ctx, m)
		return err
	}
	concurrently := func(gap time.Duration, bodies ...string) map[string]error {
		type res struct {
			body string
			err  error
		}
		done := make(chan res, len(bodies))
		for _, body := range bodies {
			go func() { done <- res{body, send(body)} }()
			time.Sleep(gap)
		}
		errs := map[string]error{}
		for range bodies {
			r := <-done
			errs[r.body] = r.err
		}
		return errs
	}
	before := s.WriterStats()

	var bodies []string
	for i := range 20 {
		bodies = append(bodies, "m"+string(rune('a'+i)))
	}
	for body, err := range concurrently(0, bodies...) {
		if err != nil {
			t.Fatalf("SendMessage(%s) = %v", body, err)
		}
	}
	if _, err := s.SendMessage(ctx, &switchboard.Message{ConversationID: "c_nope", Body: "lost"}); switchboard.ErrorCode(err) != switchboard.ENOTFOUND {
		t.Fatalf("SendMessage to an unknown conversation = %v, want %s", err, switchboard.ENOTFOUND)
	}
	st := s.WriterStats()
	if n := st.Savepoints - before.Savepoints; n != 0 {
		t.Errorf("%d savepoints for 20 sends and a refused one, want none", n)
	}
	if st.Redone != before.Redone {
		t.Errorf("%d writes run again after sends that did not fail after writing, want none", st.Redone-before.Redone)
	}
	// A write that cannot run again has its savepoint.
	if err := s.MarkRead(ctx, conv.ID, 20); err != nil {
		t.Fatalf("MarkRead() = %v", err)
	}
	if n := s.WriterStats().Savepoints - st.Savepoints; n != 1 {
		t.Errorf("%d savepoints for a MarkRead, want 1", n)
	}

	refuseBoom(t, path)
	st = s.WriterStats()
	// "held" commits and is synced for 300 ms; "kept" runs meanwhile in a
	// new transaction that the writer holds open; "boom" joins it and fails.
	errs := concurrently(50*time.Millisecond, "held", "kept", "boom")
	if errs["held"] != nil || errs["kept"] != nil {
		t.Errorf("sends beside the failing one: %v", errs)
	}
	if errs["boom"] == nil {
		t.Errorf("SendMessage(boom) = nil, want the trigger's error")
	}
	if n := s.WriterStats().Redone - st.Redone; n < 2 {
		t.Errorf("%d writes run again, want at least 2 (kept and boom)", n)
	}

	// Attachments: the first is marked attached before the second is
	// found missing.
	a := &switchboard.StoredAttachment{Attachment: switchboard.Attachment{Name: "a.txt", ContentType: "text/plain", Size: 1}, BlobKey: "k"}
	if err := s.CreateAttachment(ctx, a); err != nil {
		t.Fatalf("CreateAttachment() = %v", err)
	}
	if err := send("with files", a.ID, "a_missing"); switchboard.ErrorCode(err) != switchboard.ENOTFOUND {
		t.Errorf("SendMessage with a missing attachment = %v, want %s", err, switchboard.ENOTFOUND)
	}
	if got, err := s.FindAttachment(ctx, a.ID); err != nil || got.Attached {
		t.Errorf("the found attachment after the failed send: %+v, %v; want it unattached", got, err)
	}

	seqs, stored := history(t, s, ctx, conv.ID)
	var want []int64
	for i := range 22 {
		want = append(want, int64(i+1))
	}
	if !slices.Equal(seqs, want) {
		t.Errorf("history seqs = %v (%q), want 1 to 22", seqs, stored)
	}
	for _, body := range []string{"held", "kept"} {
		if !slices.Contains(stored, body) {
			t.Errorf("%q not stored: %q", body, stored)
		}
	}
	if n := created(rec); n != 22 {
		t.Errorf("%d message.created events published, want 22", n)
	}
}
