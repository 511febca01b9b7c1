package storetest

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/switchboard-chat/switchboard"
)

func testDirectConversation(t *testing.T, s Store, rec *Recorder) {
	f := seed(t, s, rec)
	a101, a102, a103 := f.as(domA, "101"), f.as(domA, "102"), f.as(domA, "103")

	n := rec.Len()
	c := &switchboard.Conversation{Direct: true, Members: []string{"102"}}
	created, err := s.CreateConversation(a101, c)
	if err != nil || !created {
		t.Fatalf("CreateConversation(direct 101-102) = %v, %v; want true, nil", created, err)
	}
	if c.ID == "" {
		t.Fatalf("CreateConversation(direct 101-102): ID is empty")
	}
	now := time.Now()
	want := &switchboard.Conversation{
		ID: c.ID, Kind: switchboard.KindChat, Direct: true,
		Members: []string{"101", "102"}, Read: map[string]int64{"101": 0, "102": 0},
		CreatedBy: "101", CreatedAt: now, UpdatedAt: now,
	}
	if diff := cmp.Diff(want, c, cmpOpts); diff != "" {
		t.Errorf("CreateConversation(direct 101-102) mismatch (-want +got):\n%s", diff)
	}
	events := rec.Since(n)
	if diff := cmp.Diff([]ev{{switchboard.EventConversationUpdated, c.ID, []string{"101", "102"}}}, gist(events)); diff != "" {
		t.Errorf("CreateConversation events mismatch (-want +got):\n%s", diff)
	} else if diff := cmp.Diff(c.Shared(), decodeConversation(t, events[0]), cmpOpts, viewerFields); diff != "" {
		t.Errorf("conversation.updated data mismatch (-want +got):\n%s", diff)
	}

	// The pair has one direct conversation, whichever side asks.
	for _, tt := range []struct {
		who   string
		ctx   context.Context
		other string
	}{
		{"101 again", a101, "102"},
		{"102", a102, "101"},
	} {
		again := &switchboard.Conversation{Direct: true, Members: []string{tt.other}}
		created, err := s.CreateConversation(tt.ctx, again)
		if err != nil || created {
			t.Errorf("CreateConversation(direct, by %s) = %v, %v; want false, nil", tt.who, created, err)
		} else if diff := cmp.Diff(c, again, cmpOpts, viewerFields); diff != "" {
			t.Errorf("CreateConversation(direct, by %s) mismatch (-want +got):\n%s", tt.who, diff)
		}
	}
	if diff := cmp.Diff(c, f.find(t, a102, c.ID), cmpOpts, viewerFields); diff != "" {
		t.Errorf("FindConversation by 102 mismatch (-want +got):\n%s", diff)
	}

	for _, tt := range []struct {
		what string
		c    switchboard.Conversation
	}{
		{"direct with two others", switchboard.Conversation{Direct: true, Members: []string{"102", "103"}}},
		{"no members", switchboard.Conversation{Members: nil}},
		{"only the caller", switchboard.Conversation{Direct: true, Members: []string{"101"}}},
		{"not an extension", switchboard.Conversation{Direct: true, Members: []string{"bob"}}},
	} {
		c := tt.c
		_, err := s.CreateConversation(a101, &c)
		wantCode(t, "CreateConversation("+tt.what+")", err, switchboard.EINVALID)
	}

	_, err = s.FindConversation(a103, c.ID)
	wantCode(t, "FindConversation by non-member 103", err, switchboard.ENOTFOUND)
	_, err = s.FindConversation(a101, "c_unknown")
	wantCode(t, "FindConversation(unknown id)", err, switchboard.ENOTFOUND)
	if got := ids(f.list(t, a103)); len(got) != 0 {
		t.Errorf("ListConversations by 103 = %v, want none", got)
	}
}

func testGroupConversation(t *testing.T, s Store, rec *Recorder) {
	f := seed(t, s, rec)
	a101, a102, a103 := f.as(domA, "101"), f.as(domA, "102"), f.as(domA, "103")

	n := rec.Len()
	g := &switchboard.Conversation{Name: "Launch", Members: []string{"103", "102"}}
	created, err := s.CreateConversation(a101, g)
	if err != nil || !created {
		t.Fatalf("CreateConversation(group) = %v, %v; want true, nil", created, err)
	}
	now := time.Now()
	want := &switchboard.Conversation{
		ID: g.ID, Kind: switchboard.KindChat, Name: "Launch",
		Members: []string{"101", "102", "103"}, Read: map[string]int64{"101": 0, "102": 0, "103": 0},
		CreatedBy: "101", CreatedAt: now, UpdatedAt: now,
	}
	if diff := cmp.Diff(want, g, cmpOpts); diff != "" {
		t.Errorf("CreateConversation(group) mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]ev{{switchboard.EventConversationUpdated, g.ID, []string{"101", "102", "103"}}}, gist(rec.Since(n))); diff != "" {
		t.Errorf("CreateConversation(group) events mismatch (-want +got):\n%s", diff)
	}
	for _, ctx := range []context.Context{a102, a103} {
		if diff := cmp.Diff(g, f.find(t, ctx, g.ID), cmpOpts, viewerFields); diff != "" {
			t.Errorf("FindConversation(group) by another member mismatch (-want +got):\n%s", diff)
		}
	}

	// Groups are not unique: the same members may have several.
	again := f.group(t, a101, "Launch", "102", "103")
	if again.ID == g.ID {
		t.Errorf("second group with the same members has the same id %s", g.ID)
	}
	// Nor is a conversation of two that is not direct the direct one.
	direct := f.direct(t, a101, "102")
	pair := f.create(t, a101, &switchboard.Conversation{Members: []string{"102"}})
	if pair.ID == direct.ID || pair.Direct {
		t.Errorf("non-direct conversation of 101 and 102 = %s (direct %v), want a new one apart from %s", pair.ID, pair.Direct, direct.ID)
	}

	_, err = s.CreateConversation(a101, &switchboard.Conversation{Name: strings.Repeat("x", switchboard.MaxNameLength+1), Members: []string{"102"}})
	wantCode(t, "CreateConversation(name too long)", err, switchboard.EINVALID)
}

func testMembersMustExist(t *testing.T, s Store, rec *Recorder) {
	f := seed(t, s, rec)
	a101, b101 := f.as(domA, "101"), f.as(domB, "101")
	n := rec.Len()
	for _, tt := range []struct {
		what string
		ctx  context.Context
		c    switchboard.Conversation
	}{
		{"direct with unknown 199", a101, switchboard.Conversation{Direct: true, Members: []string{"199"}}},
		{"group with unknown 199", a101, switchboard.Conversation{Name: "G", Members: []string{"102", "199"}}},
		// 104 exists in acme.example only.
		{"direct with 104 of another domain", b101, switchboard.Conversation{Direct: true, Members: []string{"104"}}},
		{"group with 104 of another domain", b101, switchboard.Conversation{Members: []string{"102", "104"}}},
	} {
		c := tt.c
		_, err := s.CreateConversation(tt.ctx, &c)
		wantCode(t, "CreateConversation("+tt.what+")", err, switchboard.ENOTFOUND)
	}
	if got := ids(f.list(t, a101)); len(got) != 0 {
		t.Errorf("ListConversations by 101@%s = %v, want none", domA, got)
	}
	if got := ids(f.list(t, b101)); len(got) != 0 {
		t.Errorf("ListConversations by 101@%s = %v, want none", domB, got)
	}
	if got := rec.Since(n); len(got) != 0 {
		t.Errorf("failed creations published %v, want nothing", gist(got))
	}
}

func testDomainIsolation(t *testing.T, s Store, rec *Recorder) {
	f := seed(t, s, rec)
	a101, a102 := f.as(domA, "101"), f.as(domA, "102")
	b101, b102 := f.as(domB, "101"), f.as(domB, "102")

	ca := f.direct(t, a101, "102")
	cb := f.direct(t, b101, "102")
	if ca.ID == cb.ID {
		t.Fatalf("101-102 of %s and of %s share conversation %s", domA, domB, ca.ID)
	}
	ma := f.send(t, a101, ca.ID, "hello from acme")
	mb := f.send(t, b101, cb.ID, "hello from globex")
	ga := f.group(t, a102, "Acme team", "101", "103")

	for _, tt := range []struct {
		who    string
		ctx    context.Context
		direct string // the caller's direct conversation
		conv   []string
		body   []string
	}{
		{"101@" + domA, a101, ca.ID, []string{ga.ID, ca.ID}, []string{"hello from acme"}},
		{"102@" + domA, a102, ca.ID, []string{ga.ID, ca.ID}, []string{"hello from acme"}},
		{"101@" + domB, b101, cb.ID, []string{cb.ID}, []string{"hello from globex"}},
		{"102@" + domB, b102, cb.ID, []string{cb.ID}, []string{"hello from globex"}},
	} {
		if got := sorted(ids(f.list(t, tt.ctx))); !cmp.Equal(got, sorted(tt.conv)) {
			t.Errorf("ListConversations by %s = %v, want %v", tt.who, got, sorted(tt.conv))
		}
		if got := bodies(f.messages(t, tt.ctx, tt.direct)); !cmp.Equal(got, tt.body) {
			t.Errorf("ListMessages by %s = %q, want %q", tt.who, got, tt.body)
		}
		for _, e := range f.since(t, tt.ctx, 0) {
			if !slices.Contains(tt.conv, e.ConversationID) {
				t.Errorf("EventsSince by %s: event %s of conversation %s, want only %v", tt.who, e.Type, e.ConversationID, tt.conv)
			}
		}
	}

	// Every method, called from globex.example with acme.example's ids,
	// finds nothing and changes nothing.
	n := rec.Len()
	last := f.lastCursor(t)
	for _, tt := range []struct {
		what string
		call func(ctx context.Context) error
	}{
		{"FindConversation", func(ctx context.Context) error { _, err := s.FindConversation(ctx, ca.ID); return err }},
		{"DeleteConversation", func(ctx context.Context) error { return s.DeleteConversation(ctx, ca.ID) }},
		{"RenameConversation", func(ctx context.Context) error { _, err := s.RenameConversation(ctx, ga.ID, "Hijacked"); return err }},
		{"AddMembers", func(ctx context.Context) error { _, err := s.AddMembers(ctx, ga.ID, []string{"103"}); return err }},
		{"RemoveMember", func(ctx context.Context) error { _, err := s.RemoveMember(ctx, ga.ID, "103"); return err }},
		{"MarkRead", func(ctx context.Context) error { return s.MarkRead(ctx, ca.ID, 1) }},
		{"SendMessage", func(ctx context.Context) error {
			_, err := s.SendMessage(ctx, &switchboard.Message{ConversationID: ca.ID, Body: "intruder"})
			return err
		}},
		{"ListMessages", func(ctx context.Context) error {
			_, err := s.ListMessages(ctx, ca.ID, switchboard.MessageQuery{})
			return err
		}},
		{"EditMessage", func(ctx context.Context) error { _, err := s.EditMessage(ctx, ca.ID, ma.ID, "changed"); return err }},
		{"DeleteMessage", func(ctx context.Context) error { _, err := s.DeleteMessage(ctx, ca.ID, ma.ID); return err }},
		{"EditMessage of a foreign message in an own conversation", func(ctx context.Context) error {
			_, err := s.EditMessage(ctx, cb.ID, ma.ID, "changed")
			return err
		}},
		{"DeleteMessage of a foreign message in an own conversation", func(ctx context.Context) error {
			_, err := s.DeleteMessage(ctx, cb.ID, ma.ID)
			return err
		}},
	} {
		for _, who := range []struct {
			name string
			ctx  context.Context
		}{{"101@" + domB, b101}, {"102@" + domB, b102}} {
			wantCode(t, tt.what+" by "+who.name, tt.call(who.ctx), switchboard.ENOTFOUND)
		}
	}
	if got := rec.Since(n); len(got) != 0 {
		t.Errorf("calls with foreign ids published %v, want nothing", gist(got))
	}
	if got := f.lastCursor(t); got != last {
		t.Errorf("LastCursor after calls with foreign ids = %d, want %d", got, last)
	}
	if diff := cmp.Diff([]*switchboard.Message{ma}, f.messages(t, a102, ca.ID), cmpOpts); diff != "" {
		t.Errorf("ListMessages(acme direct) after foreign calls mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]*switchboard.Message{mb}, f.messages(t, b102, cb.ID), cmpOpts); diff != "" {
		t.Errorf("ListMessages(globex direct) after foreign calls mismatch (-want +got):\n%s", diff)
	}
	if got := f.find(t, a101, ga.ID); got.Name != "Acme team" || len(got.Members) != 3 || got.LastSeq != 0 {
		t.Errorf("acme group after foreign calls: name %q, members %v, last seq %d; want unchanged", got.Name, got.Members, got.LastSeq)
	}
}

func testUnauthorized(t *testing.T, s Store, rec *Recorder) {
	f := seed(t, s, rec)
	a101 := f.as(domA, "101")
	c := f.direct(t, a101, "102")
	m := f.send(t, a101, c.ID, "hello")
	n := rec.Len()

	for _, ctx := range []struct {
		name string
		ctx  context.Context
	}{
		{"no identity", t.Context()},
		{"identity without extension", switchboard.NewContextWithIdentity(t.Context(), switchboard.Identity{Domain: domA})},
		{"identity without domain", switchboard.NewContextWithIdentity(t.Context(), switchboard.Identity{Extension: "101"})},
	} {
		for _, tt := range []struct {
			what string
			call func(ctx context.Context) error
		}{
			{"CreateConversation", func(ctx context.Context) error {
				_, err := s.CreateConversation(ctx, &switchboard.Conversation{Direct: true, Members: []string{"103"}})
				return err
			}},
			{"FindConversation", func(ctx context.Context) error { _, err := s.FindConversation(ctx, c.ID); return err }},
			{"ListConversations", func(ctx context.Context) error { _, err := s.ListConversations(ctx, 10); return err }},
			{"DeleteConversation", func(ctx context.Context) error { return s.DeleteConversation(ctx, c.ID) }},
			{"RenameConversation", func(ctx context.Context) error { _, err := s.RenameConversation(ctx, c.ID, "x"); return err }},
			{"AddMembers", func(ctx context.Context) error { _, err := s.AddMembers(ctx, c.ID, []string{"103"}); return err }},
			{"RemoveMember", func(ctx context.Context) error { _, err := s.RemoveMember(ctx, c.ID, "102"); return err }},
			{"MarkRead", func(ctx context.Context) error { return s.MarkRead(ctx, c.ID, 1) }},
			{"SendMessage", func(ctx context.Context) error {
				_, err := s.SendMessage(ctx, &switchboard.Message{ConversationID: c.ID, Body: "x"})
				return err
			}},
			{"ListMessages", func(ctx context.Context) error {
				_, err := s.ListMessages(ctx, c.ID, switchboard.MessageQuery{})
				return err
			}},
			{"EditMessage", func(ctx context.Context) error { _, err := s.EditMessage(ctx, c.ID, m.ID, "x"); return err }},
			{"DeleteMessage", func(ctx context.Context) error { _, err := s.DeleteMessage(ctx, c.ID, m.ID); return err }},
			{"EventsSince", func(ctx context.Context) error { _, err := s.EventsSince(ctx, 0, 10); return err }},
			{"LastCursor", func(ctx context.Context) error { _, err := s.LastCursor(ctx); return err }},
		} {
			wantCode(t, tt.what+" with "+ctx.name, tt.call(ctx.ctx), switchboard.EUNAUTHORIZED)
		}
	}
	if got := rec.Since(n); len(got) != 0 {
		t.Errorf("calls without identity published %v, want nothing", gist(got))
	}
	if diff := cmp.Diff([]*switchboard.Message{m}, f.messages(t, a101, c.ID), cmpOpts); diff != "" {
		t.Errorf("ListMessages after calls without identity mismatch (-want +got):\n%s", diff)
	}
}

func testListConversations(t *testing.T, s Store, rec *Recorder) {
	f := seed(t, s, rec)
	a101, a102, a103 := f.as(domA, "101"), f.as(domA, "102"), f.as(domA, "103")

	c1 := f.direct(t, a101, "102")
	pause()
	c2 := f.direct(t, a101, "103")
	pause()
	c3 := f.group(t, a101, "Team", "102", "103")
	pause()
	if got, want := ids(f.list(t, a101)), []string{c3.ID, c2.ID, c1.ID}; !cmp.Equal(got, want) {
		t.Errorf("ListConversations by 101 = %v, want %v (newest first)", got, want)
	}

	// A message into the oldest conversation moves it to the top.
	var sent []*switchboard.Message
	for _, body := range []string{"one", "two", "three"} {
		sent = append(sent, f.send(t, a102, c1.ID, body))
	}
	pause()
	if got, want := ids(f.list(t, a101)), []string{c1.ID, c3.ID, c2.ID}; !cmp.Equal(got, want) {
		t.Errorf("ListConversations by 101 after a message in the oldest = %v, want %v", got, want)
	}
	if got, want := ids(f.list(t, a102)), []string{c1.ID, c3.ID}; !cmp.Equal(got, want) {
		t.Errorf("ListConversations by 102 = %v, want %v", got, want)
	}
	if got, want := ids(f.list(t, a103)), []string{c3.ID, c2.ID}; !cmp.Equal(got, want) {
		t.Errorf("ListConversations by 103 = %v, want %v", got, want)
	}
	page, err := s.ListConversations(a101, 2)
	if err != nil {
		t.Fatalf("ListConversations(limit 2) = %v", err)
	} else if got, want := ids(page), []string{c1.ID, c3.ID}; !cmp.Equal(got, want) {
		t.Errorf("ListConversations(limit 2) = %v, want %v", got, want)
	}

	// Last message and unread count are per viewer.
	last := sent[len(sent)-1]
	for _, tt := range []struct {
		who        string
		ctx        context.Context
		conv       string
		wantLast   *switchboard.Message
		wantUnread int
		wantRead   int64
	}{
		{"101", a101, c1.ID, last, 3, 0},
		{"102", a102, c1.ID, last, 0, 3},
		{"101", a101, c2.ID, nil, 0, 0},
		{"103", a103, c3.ID, nil, 0, 0},
	} {
		var got *switchboard.Conversation
		for _, c := range f.list(t, tt.ctx) {
			if c.ID == tt.conv {
				got = c
			}
		}
		if got == nil {
			t.Errorf("ListConversations by %s lacks %s", tt.who, tt.conv)
			continue
		}
		if diff := cmp.Diff(tt.wantLast, got.LastMessage, cmpOpts); diff != "" {
			t.Errorf("ListConversations by %s: LastMessage of %s mismatch (-want +got):\n%s", tt.who, tt.conv, diff)
		}
		if got.Unread != tt.wantUnread || got.LastReadSeq != tt.wantRead {
			t.Errorf("ListConversations by %s: %s Unread, LastReadSeq = %d, %d; want %d, %d", tt.who, tt.conv, got.Unread, got.LastReadSeq, tt.wantUnread, tt.wantRead)
		}
		// FindConversation agrees with the list.
		if diff := cmp.Diff(got, f.find(t, tt.ctx, tt.conv), cmpOpts); diff != "" {
			t.Errorf("FindConversation by %s of %s differs from the list (-list +find):\n%s", tt.who, tt.conv, diff)
		}
	}
	if got := f.find(t, a101, c1.ID); got.LastSeq != 3 || got.UpdatedAt.Before(c1.UpdatedAt) {
		t.Errorf("FindConversation(c1): LastSeq %d, UpdatedAt %v; want 3, at or after %v", got.LastSeq, got.UpdatedAt, c1.UpdatedAt)
	}

	// A reply from 101 in the conversation created second brings it up.
	f.send(t, a101, c2.ID, "hi carol")
	if got, want := ids(f.list(t, a101)), []string{c2.ID, c1.ID, c3.ID}; !cmp.Equal(got, want) {
		t.Errorf("ListConversations by 101 after replying in c2 = %v, want %v", got, want)
	}
}

func testDeleteForMe(t *testing.T, s Store, rec *Recorder) {
	f := seed(t, s, rec)
	a101, a102 := f.as(domA, "101"), f.as(domA, "102")
	c := f.direct(t, a101, "102")
	m1 := f.send(t, a101, c.ID, "first")
	m2 := f.send(t, a102, c.ID, "second")

	n := rec.Len()
	if err := s.DeleteConversation(a101, c.ID); err != nil {
		t.Fatalf("DeleteConversation by 101 = %v", err)
	}
	if diff := cmp.Diff([]ev{{switchboard.EventConversationDeleted, c.ID, []string{"101"}}}, gist(rec.Since(n))); diff != "" {
		t.Errorf("DeleteConversation events mismatch (-want +got):\n%s", diff)
	}
	if got := ids(f.list(t, a101)); len(got) != 0 {
		t.Errorf("ListConversations by 101 after deleting = %v, want none", got)
	}
	if got := f.messages(t, a101, c.ID); len(got) != 0 {
		t.Errorf("ListMessages by 101 after deleting = %q, want none", bodies(got))
	}
	// The other member keeps everything.
	if got, want := ids(f.list(t, a102)), []string{c.ID}; !cmp.Equal(got, want) {
		t.Errorf("ListConversations by 102 = %v, want %v", got, want)
	}
	if diff := cmp.Diff([]*switchboard.Message{m1, m2}, f.messages(t, a102, c.ID), cmpOpts); diff != "" {
		t.Errorf("ListMessages by 102 mismatch (-want +got):\n%s", diff)
	}

	// A new message brings it back, with only the new messages.
	m3 := f.send(t, a102, c.ID, "third")
	list := f.list(t, a101)
	if got, want := ids(list), []string{c.ID}; !cmp.Equal(got, want) {
		t.Fatalf("ListConversations by 101 after a new message = %v, want %v", got, want)
	}
	if diff := cmp.Diff(m3, list[0].LastMessage, cmpOpts); diff != "" {
		t.Errorf("LastMessage for 101 mismatch (-want +got):\n%s", diff)
	}
	if list[0].Unread != 1 {
		t.Errorf("Unread for 101 = %d, want 1", list[0].Unread)
	}
	if diff := cmp.Diff([]*switchboard.Message{m3}, f.messages(t, a101, c.ID), cmpOpts); diff != "" {
		t.Errorf("ListMessages by 101 after the conversation came back mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]*switchboard.Message{m1, m2, m3}, f.messages(t, a102, c.ID), cmpOpts); diff != "" {
		t.Errorf("ListMessages by 102 mismatch (-want +got):\n%s", diff)
	}
	// Old history stays hidden from every page and cannot be changed.
	older, err := s.ListMessages(a101, c.ID, switchboard.MessageQuery{Before: m3.Seq})
	if err != nil {
		t.Fatalf("ListMessages(before %d) = %v", m3.Seq, err)
	} else if len(older) != 0 {
		t.Errorf("ListMessages(before %d) by 101 = %q, want none", m3.Seq, bodies(older))
	}
	after, err := s.ListMessages(a101, c.ID, switchboard.MessageQuery{Forward: true, After: 0, Limit: 10})
	if err != nil {
		t.Fatalf("ListMessages(after 0) = %v", err)
	} else if got := seqs(after); !cmp.Equal(got, []int64{m3.Seq}) {
		t.Errorf("ListMessages(after 0) by 101 = %v, want [%d]", got, m3.Seq)
	}
	after, err = s.ListMessages(a101, c.ID, switchboard.MessageQuery{Forward: true, After: 1, Limit: 10})
	if err != nil {
		t.Fatalf("ListMessages(after 1) = %v", err)
	} else if got := seqs(after); !cmp.Equal(got, []int64{m3.Seq}) {
		t.Errorf("ListMessages(after 1) by 101 = %v, want [%d]", got, m3.Seq)
	}
	_, err = s.EditMessage(a101, c.ID, m1.ID, "rewritten")
	wantCode(t, "EditMessage of a message deleted for the caller", err, switchboard.ENOTFOUND)

	// Deleting again and starting the direct conversation anew brings it back
	// empty.
	if err := s.DeleteConversation(a101, c.ID); err != nil {
		t.Fatalf("DeleteConversation by 101 again = %v", err)
	}
	again := &switchboard.Conversation{Direct: true, Members: []string{"102"}}
	if created, err := s.CreateConversation(a101, again); err != nil || created || again.ID != c.ID {
		t.Fatalf("CreateConversation(direct) after deleting = %v, %s, %v; want false, %s, nil", created, again.ID, err, c.ID)
	}
	list = f.list(t, a101)
	if got, want := ids(list), []string{c.ID}; !cmp.Equal(got, want) {
		t.Fatalf("ListConversations by 101 after starting again = %v, want %v", got, want)
	}
	if list[0].LastMessage != nil || list[0].Unread != 0 {
		t.Errorf("conversation started again: LastMessage %+v, Unread %d; want nil, 0", list[0].LastMessage, list[0].Unread)
	}
	if got := f.messages(t, a101, c.ID); len(got) != 0 {
		t.Errorf("ListMessages by 101 after starting again = %q, want none", bodies(got))
	}
	// The deleter's own message also brings it back.
	if err := s.DeleteConversation(a101, c.ID); err != nil {
		t.Fatalf("DeleteConversation by 101 a third time = %v", err)
	}
	m4 := f.send(t, a101, c.ID, "fourth")
	if got, want := ids(f.list(t, a101)), []string{c.ID}; !cmp.Equal(got, want) {
		t.Errorf("ListConversations by 101 after its own message = %v, want %v", got, want)
	}
	if diff := cmp.Diff([]*switchboard.Message{m4}, f.messages(t, a101, c.ID), cmpOpts); diff != "" {
		t.Errorf("ListMessages by 101 after its own message mismatch (-want +got):\n%s", diff)
	}
	if got := bodies(f.messages(t, a102, c.ID)); !cmp.Equal(got, []string{"first", "second", "third", "fourth"}) {
		t.Errorf("ListMessages by 102 = %q, want every message", got)
	}
}

// testLastMessageFollows checks that the list's last message is the
// conversation's newest message as it is now: after an edit and a delete,
// and with bodies that hold separators, digits and characters of several
// bytes (a store may keep a copy of the last message in its own format).
func testLastMessageFollows(t *testing.T, s Store, rec *Recorder) {
	f := seed(t, s, rec)
	a101, a102 := f.as(domA, "101"), f.as(domA, "102")
	c := f.direct(t, a101, "102")
	check := func(what string, want *switchboard.Message) {
		t.Helper()
		for _, ctx := range []context.Context{a101, a102} {
			list := f.list(t, ctx)
			if len(list) != 1 {
				t.Fatalf("%s: ListConversations = %d conversations, want 1", what, len(list))
			}
			if diff := cmp.Diff(want, list[0].LastMessage, cmpOpts); diff != "" {
				t.Errorf("%s: LastMessage mismatch (-want +got):\n%s", what, diff)
			}
			if diff := cmp.Diff(list[0], f.find(t, ctx, c.ID), cmpOpts); diff != "" {
				t.Errorf("%s: FindConversation differs from the list (-list +find):\n%s", what, diff)
			}
		}
	}
	f.send(t, a102, c.ID, "first")
	m := f.send(t, a101, c.ID, "12:30 at Café Zoë ☕ — 3:4, ok? 7:")
	check("after a send", m)
	edited, err := s.EditMessage(a101, c.ID, m.ID, "1:2:3 ünïcödé 🚀")
	if err != nil {
		t.Fatalf("EditMessage = %v", err)
	}
	check("after an edit", edited)
	deleted, err := s.DeleteMessage(a101, c.ID, m.ID)
	if err != nil {
		t.Fatalf("DeleteMessage = %v", err)
	}
	check("after a delete", deleted)
}
