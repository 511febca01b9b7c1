package storetest

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/switchboard-chat/switchboard"
)

func testRename(t *testing.T, s Store, rec *Recorder) {
	f := seed(t, s, rec)
	a101, a102, a104 := f.as(domA, "101"), f.as(domA, "102"), f.as(domA, "104")
	g := f.group(t, a101, "Old name", "102", "103")
	d := f.direct(t, a101, "102")

	n := rec.Len()
	got, err := s.RenameConversation(a102, g.ID, "New name")
	if err != nil {
		t.Fatalf("RenameConversation() = %v", err)
	}
	if got.Name != "New name" || got.ID != g.ID {
		t.Errorf("RenameConversation() = %s %q, want %s %q", got.ID, got.Name, g.ID, "New name")
	}
	all := []string{"101", "102", "103"}
	events := rec.Since(n)
	want := []ev{
		{switchboard.EventConversationUpdated, g.ID, all},
		{switchboard.EventMessageCreated, g.ID, all},
	}
	if diff := cmp.Diff(want, gist(events)); diff != "" {
		t.Errorf("RenameConversation events mismatch (-want +got):\n%s", diff)
	}
	msgs := f.messages(t, a101, g.ID)
	if len(msgs) != 1 {
		t.Fatalf("ListMessages after rename = %d messages, want 1 system message", len(msgs))
	}
	sys := msgs[0]
	if sys.Kind != switchboard.MessageRenamed || sys.Sender != "102" || sys.Name != "New name" || sys.Seq != 1 {
		t.Errorf("system message = kind %q sender %q name %q seq %d, want %q %q %q 1", sys.Kind, sys.Sender, sys.Name, sys.Seq, switchboard.MessageRenamed, "102", "New name")
	}
	for _, e := range events {
		switch e.Type {
		case switchboard.EventMessageCreated:
			if diff := cmp.Diff(sys, decodeMessage(t, e), cmpOpts); diff != "" {
				t.Errorf("message.created data mismatch (-want +got):\n%s", diff)
			}
		case switchboard.EventConversationUpdated:
			if c := decodeConversation(t, e); c.Name != "New name" || c.ID != g.ID {
				t.Errorf("conversation.updated data = %s %q, want %s %q", c.ID, c.Name, g.ID, "New name")
			}
		}
	}
	if c := f.find(t, f.as(domA, "103"), g.ID); c.Name != "New name" {
		t.Errorf("FindConversation by 103: Name = %q, want %q", c.Name, "New name")
	}

	_, err = s.RenameConversation(a101, d.ID, "Pair")
	wantCode(t, "RenameConversation(direct)", err, switchboard.EINVALID)
	_, err = s.RenameConversation(a101, g.ID, strings.Repeat("x", switchboard.MaxNameLength+1))
	wantCode(t, "RenameConversation(name too long)", err, switchboard.EINVALID)
	_, err = s.RenameConversation(a104, g.ID, "Mine now")
	wantCode(t, "RenameConversation by non-member", err, switchboard.ENOTFOUND)
	if c := f.find(t, a101, g.ID); c.Name != "New name" {
		t.Errorf("Name after failed renames = %q, want %q", c.Name, "New name")
	}
	if c := f.find(t, a101, d.ID); c.Name != "" {
		t.Errorf("direct conversation Name = %q, want empty", c.Name)
	}
}

func testAddMembers(t *testing.T, s Store, rec *Recorder) {
	f := seed(t, s, rec)
	a101, a103 := f.as(domA, "101"), f.as(domA, "103")
	g := f.group(t, a101, "Team", "102")
	f.send(t, a101, g.ID, "before 103")

	n := rec.Len()
	got, err := s.AddMembers(a101, g.ID, []string{"103", "102"})
	if err != nil {
		t.Fatalf("AddMembers(103, 102) = %v", err)
	}
	all := []string{"101", "102", "103"}
	if diff := cmp.Diff(all, got.Members, cmpOpts); diff != "" {
		t.Errorf("AddMembers: Members mismatch (-want +got):\n%s", diff)
	}
	if _, ok := got.Read["103"]; !ok {
		t.Errorf("AddMembers: Read = %v, want an entry for 103", got.Read)
	}
	events := rec.Since(n)
	want := []ev{
		{switchboard.EventConversationUpdated, g.ID, all},
		{switchboard.EventMessageCreated, g.ID, all},
	}
	if diff := cmp.Diff(want, gist(events)); diff != "" {
		t.Errorf("AddMembers events mismatch (-want +got):\n%s", diff)
	}
	var sys *switchboard.Message
	for _, e := range events {
		if e.Type == switchboard.EventMessageCreated {
			sys = decodeMessage(t, e)
		}
	}
	if sys == nil {
		t.Fatalf("AddMembers published no message.created")
	}
	if sys.Kind != switchboard.MessageMemberAdded || sys.Sender != "101" || !cmp.Equal(sys.Targets, []string{"103"}) || sys.Seq != 2 {
		t.Errorf("system message = kind %q sender %q targets %v seq %d, want %q 101 [103] 2", sys.Kind, sys.Sender, sys.Targets, sys.Seq, switchboard.MessageMemberAdded)
	}

	// The new member has the conversation and sees the system message.
	list := f.list(t, a103)
	if got, want := ids(list), []string{g.ID}; !cmp.Equal(got, want) {
		t.Fatalf("ListConversations by 103 = %v, want %v", got, want)
	}
	if diff := cmp.Diff(sys, list[0].LastMessage, cmpOpts); diff != "" {
		t.Errorf("LastMessage for 103 mismatch (-want +got):\n%s", diff)
	}
	msgs := f.messages(t, a103, g.ID)
	if len(msgs) == 0 {
		t.Fatalf("ListMessages by 103 = none, want the system message")
	} else if diff := cmp.Diff(sys, msgs[len(msgs)-1], cmpOpts); diff != "" {
		t.Errorf("ListMessages by 103: last message mismatch (-want +got):\n%s", diff)
	}
	if evs := f.since(t, a103, 0); len(evs) == 0 {
		t.Errorf("EventsSince(0) by 103 = none, want the events of being added")
	}
	// The new member can send, and its messages, like the others', reach
	// every member.
	for _, ctx := range []context.Context{a103, a101} {
		n := rec.Len()
		m := f.send(t, ctx, g.ID, "with 103")
		if diff := cmp.Diff([]ev{{switchboard.EventMessageCreated, g.ID, all}}, gist(rec.Since(n))); diff != "" {
			t.Errorf("SendMessage by %s after AddMembers events mismatch (-want +got):\n%s", m.Sender, diff)
		}
	}

	// Adding members again changes nothing.
	n = rec.Len()
	got, err = s.AddMembers(a101, g.ID, []string{"102", "103"})
	if err != nil {
		t.Fatalf("AddMembers(members already) = %v", err)
	}
	if diff := cmp.Diff(all, got.Members, cmpOpts); diff != "" {
		t.Errorf("AddMembers(members already): Members mismatch (-want +got):\n%s", diff)
	}
	if got := rec.Since(n); len(got) != 0 {
		t.Errorf("AddMembers(members already) published %v, want nothing", gist(got))
	}
	if got := seqs(f.messages(t, a101, g.ID)); !cmp.Equal(got, []int64{1, 2, 3, 4}) {
		t.Errorf("ListMessages after adding members again = %v, want [1 2 3 4]", got)
	}

	d := f.direct(t, a101, "102")
	for _, tt := range []struct {
		what string
		ctx  context.Context
		conv string
		exts []string
		want string
	}{
		{"unknown extension", a101, g.ID, []string{"104", "199"}, switchboard.ENOTFOUND},
		{"direct conversation", a101, d.ID, []string{"104"}, switchboard.EINVALID},
		{"by a non-member", f.as(domA, "104"), g.ID, []string{"105"}, switchboard.ENOTFOUND},
	} {
		_, err := s.AddMembers(tt.ctx, tt.conv, tt.exts)
		wantCode(t, "AddMembers("+tt.what+")", err, tt.want)
	}
	if got := f.find(t, a101, g.ID).Members; !cmp.Equal(sorted(got), all) {
		t.Errorf("Members after failed additions = %v, want %v", got, all)
	}
}

func testRemoveMember(t *testing.T, s Store, rec *Recorder) {
	f := seed(t, s, rec)
	a101, a102, a103, a104 := f.as(domA, "101"), f.as(domA, "102"), f.as(domA, "103"), f.as(domA, "104")
	g := f.group(t, a101, "Team", "102", "103", "104")
	m := f.send(t, a103, g.ID, "hello")

	n := rec.Len()
	got, err := s.RemoveMember(a101, g.ID, "103")
	if err != nil {
		t.Fatalf("RemoveMember(103) = %v", err)
	}
	rest := []string{"101", "102", "104"}
	if diff := cmp.Diff(rest, got.Members, cmpOpts); diff != "" {
		t.Errorf("RemoveMember(103): Members mismatch (-want +got):\n%s", diff)
	}
	events := rec.Since(n)
	want := []ev{
		{switchboard.EventConversationDeleted, g.ID, []string{"103"}},
		{switchboard.EventConversationUpdated, g.ID, rest},
		{switchboard.EventMessageCreated, g.ID, rest},
	}
	if diff := cmp.Diff(want, gist(events)); diff != "" {
		t.Errorf("RemoveMember(103) events mismatch (-want +got):\n%s", diff)
	}
	msgs := f.messages(t, a102, g.ID)
	if sys := msgs[len(msgs)-1]; sys.Kind != switchboard.MessageMemberRemoved || sys.Sender != "101" || !cmp.Equal(sys.Targets, []string{"103"}) {
		t.Errorf("system message = kind %q sender %q targets %v, want %q 101 [103]", sys.Kind, sys.Sender, sys.Targets, switchboard.MessageMemberRemoved)
	}
	checkGone(t, f, a103, "103", g.ID, m.ID)

	// Leaving.
	n = rec.Len()
	if _, err := s.RemoveMember(a102, g.ID, "102"); err != nil {
		t.Fatalf("RemoveMember(102) by 102 = %v", err)
	}
	rest = []string{"101", "104"}
	want = []ev{
		{switchboard.EventConversationDeleted, g.ID, []string{"102"}},
		{switchboard.EventConversationUpdated, g.ID, rest},
		{switchboard.EventMessageCreated, g.ID, rest},
	}
	if diff := cmp.Diff(want, gist(rec.Since(n))); diff != "" {
		t.Errorf("RemoveMember(102) by 102 events mismatch (-want +got):\n%s", diff)
	}
	msgs = f.messages(t, a104, g.ID)
	if sys := msgs[len(msgs)-1]; sys.Kind != switchboard.MessageMemberLeft || sys.Sender != "102" || !cmp.Equal(sys.Targets, []string{"102"}) {
		t.Errorf("system message = kind %q sender %q targets %v, want %q 102 [102]", sys.Kind, sys.Sender, sys.Targets, switchboard.MessageMemberLeft)
	}
	checkGone(t, f, a102, "102", g.ID, m.ID)
	if got := f.find(t, a101, g.ID).Members; !cmp.Equal(sorted(got), rest) {
		t.Errorf("Members seen by 101 = %v, want %v", got, rest)
	}

	// Later messages reach the remaining members only.
	n = rec.Len()
	f.send(t, a101, g.ID, "after")
	if diff := cmp.Diff([]ev{{switchboard.EventMessageCreated, g.ID, rest}}, gist(rec.Since(n))); diff != "" {
		t.Errorf("SendMessage after removals events mismatch (-want +got):\n%s", diff)
	}

	d := f.direct(t, a101, "102")
	for _, tt := range []struct {
		what string
		ctx  context.Context
		conv string
		ext  string
		want string
	}{
		{"not a member", a101, g.ID, "103", switchboard.ENOTFOUND},
		{"by a removed member", a103, g.ID, "101", switchboard.ENOTFOUND},
		{"from a direct conversation", a101, d.ID, "102", switchboard.EINVALID},
	} {
		_, err := s.RemoveMember(tt.ctx, tt.conv, tt.ext)
		wantCode(t, "RemoveMember("+tt.what+")", err, tt.want)
	}
}

// checkGone checks that ext, removed from conversation convID, can no
// longer reach it.
func checkGone(t *testing.T, f *fixture, ctx context.Context, ext, convID, msgID string) {
	t.Helper()
	s := f.s
	for _, tt := range []struct {
		what string
		err  error
	}{
		{"FindConversation", func() error { _, err := s.FindConversation(ctx, convID); return err }()},
		{"ListMessages", func() error { _, err := s.ListMessages(ctx, convID, switchboard.MessageQuery{}); return err }()},
		{"SendMessage", func() error {
			_, err := s.SendMessage(ctx, &switchboard.Message{ConversationID: convID, Body: "still here?"})
			return err
		}()},
		{"MarkRead", s.MarkRead(ctx, convID, 1)},
		{"DeleteMessage", func() error { _, err := s.DeleteMessage(ctx, convID, msgID); return err }()},
	} {
		wantCode(t, tt.what+" by removed "+ext, tt.err, switchboard.ENOTFOUND)
	}
	for _, c := range f.list(t, ctx) {
		if c.ID == convID {
			t.Errorf("ListConversations by removed %s still has %s", ext, convID)
		}
	}
}
