package storetest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/switchboard-chat/switchboard"
)

func testSendMessage(t *testing.T, s Store, rec *Recorder) {
	f := seed(t, s, rec)
	a101, a102, a104 := f.as(domA, "101"), f.as(domA, "102"), f.as(domA, "104")
	c := f.group(t, a101, "Team", "102", "103")
	other := f.direct(t, a101, "102")

	var sent []*switchboard.Message
	for i, tt := range []struct {
		ctx    context.Context
		sender string
		body   string
	}{
		{a101, "101", "hello"},
		{a102, "102", "hi\nthere"},
		{a101, "101", "  spaced  "},
	} {
		n := rec.Len()
		m := &switchboard.Message{ConversationID: c.ID, Body: tt.body}
		created, err := s.SendMessage(tt.ctx, m)
		if err != nil || !created {
			t.Fatalf("SendMessage(%q) = %v, %v; want true, nil", tt.body, created, err)
		}
		want := &switchboard.Message{
			ID: m.ID, ConversationID: c.ID, Seq: int64(i + 1), Sender: tt.sender, Body: tt.body,
			Kind: switchboard.MessageText, CreatedAt: time.Now(),
		}
		if m.ID == "" {
			t.Errorf("SendMessage(%q): ID is empty", tt.body)
		}
		if diff := cmp.Diff(want, m, cmpOpts); diff != "" {
			t.Errorf("SendMessage(%q) mismatch (-want +got):\n%s", tt.body, diff)
		}
		checkEncoded(t, fmt.Sprintf("SendMessage(%q)", tt.body), m)
		events := rec.Since(n)
		if diff := cmp.Diff([]ev{{switchboard.EventMessageCreated, c.ID, []string{"101", "102", "103"}}}, gist(events)); diff != "" {
			t.Errorf("SendMessage(%q) events mismatch (-want +got):\n%s", tt.body, diff)
		} else if diff := cmp.Diff(m, decodeMessage(t, events[0]), cmpOpts); diff != "" {
			t.Errorf("SendMessage(%q) event data mismatch (-want +got):\n%s", tt.body, diff)
		}
		sent = append(sent, m)
	}
	if diff := cmp.Diff(sent, f.messages(t, f.as(domA, "103"), c.ID), cmpOpts); diff != "" {
		t.Errorf("ListMessages mismatch (-want +got):\n%s", diff)
	}
	if got := f.find(t, a101, c.ID).LastSeq; got != 3 {
		t.Errorf("LastSeq = %d, want 3", got)
	}
	if got := f.send(t, a102, other.ID, "own sequence"); got.Seq != 1 {
		t.Errorf("first message of another conversation: Seq = %d, want 1", got.Seq)
	}
	ids := map[string]bool{}
	for _, m := range append(sent, f.messages(t, a101, other.ID)...) {
		if ids[m.ID] {
			t.Errorf("message id %s used twice", m.ID)
		}
		ids[m.ID] = true
	}

	_, err := s.SendMessage(a104, &switchboard.Message{ConversationID: c.ID, Body: "not a member"})
	wantCode(t, "SendMessage by a non-member", err, switchboard.ENOTFOUND)
	_, err = s.SendMessage(a101, &switchboard.Message{ConversationID: "c_unknown", Body: "nowhere"})
	wantCode(t, "SendMessage to an unknown conversation", err, switchboard.ENOTFOUND)
}

func testBodyLimits(t *testing.T, s Store, rec *Recorder) {
	f := seed(t, s, rec)
	a101 := f.as(domA, "101")
	c := f.direct(t, a101, "102")
	n := rec.Len()
	for _, tt := range []struct {
		what string
		body string
		want string
	}{
		{"empty", "", switchboard.EINVALID},
		{"blank", " \n\t ", switchboard.EINVALID},
		{"too long", strings.Repeat("a", switchboard.MaxBodyLength+1), switchboard.ETOOLARGE},
		{"too long in characters", strings.Repeat("é", switchboard.MaxBodyLength+1), switchboard.ETOOLARGE},
		{"not UTF-8", "bad \xff", switchboard.EINVALID},
	} {
		_, err := s.SendMessage(a101, &switchboard.Message{ConversationID: c.ID, Body: tt.body, ClientID: "x"})
		wantCode(t, "SendMessage("+tt.what+")", err, tt.want)
	}
	if got := f.messages(t, a101, c.ID); len(got) != 0 {
		t.Errorf("ListMessages after rejected messages = %d messages, want none", len(got))
	}
	if got := rec.Since(n); len(got) != 0 {
		t.Errorf("rejected messages published %v, want nothing", gist(got))
	}
	if got := f.find(t, f.as(domA, "102"), c.ID); got.LastSeq != 0 || got.Unread != 0 {
		t.Errorf("after rejected messages: LastSeq %d, Unread %d; want 0, 0", got.LastSeq, got.Unread)
	}

	// The limit counts characters, not bytes, and the rejected client id was
	// not taken.
	long := strings.Repeat("é", switchboard.MaxBodyLength)
	m := &switchboard.Message{ConversationID: c.ID, Body: long, ClientID: "x"}
	if created, err := s.SendMessage(a101, m); err != nil || !created {
		t.Fatalf("SendMessage(%d characters) = %v, %v; want true, nil", switchboard.MaxBodyLength, created, err)
	}
	if m.Seq != 1 {
		t.Errorf("Seq after rejected messages = %d, want 1", m.Seq)
	}
	if got := f.messages(t, a101, c.ID); len(got) != 1 || got[0].Body != long {
		t.Errorf("ListMessages = %d messages, want the long one intact", len(got))
	}
}

func testClientID(t *testing.T, s Store, rec *Recorder) {
	f := seed(t, s, rec)
	a101, a102 := f.as(domA, "101"), f.as(domA, "102")
	c := f.group(t, a101, "Team", "102", "103")
	other := f.direct(t, a101, "102")

	first := &switchboard.Message{ConversationID: c.ID, Body: "hello", ClientID: "c-1"}
	if created, err := s.SendMessage(a101, first); err != nil || !created {
		t.Fatalf("SendMessage(c-1) = %v, %v; want true, nil", created, err)
	}
	if first.ClientID != "c-1" {
		t.Errorf("SendMessage: ClientID = %q, want c-1", first.ClientID)
	}
	n := rec.Len()
	last := f.lastCursor(t)
	for _, body := range []string{"hello", "hello, edited before the retry"} {
		retry := &switchboard.Message{ConversationID: c.ID, Body: body, ClientID: "c-1"}
		created, err := s.SendMessage(a101, retry)
		if err != nil || created {
			t.Errorf("SendMessage(c-1 again, %q) = %v, %v; want false, nil", body, created, err)
		} else if diff := cmp.Diff(first, retry, cmpOpts); diff != "" {
			t.Errorf("SendMessage(c-1 again, %q) mismatch (-want +got):\n%s", body, diff)
		}
	}
	if got := rec.Since(n); len(got) != 0 {
		t.Errorf("retries published %v, want nothing", gist(got))
	}
	if got := f.lastCursor(t); got != last {
		t.Errorf("LastCursor after retries = %d, want %d", got, last)
	}
	if diff := cmp.Diff([]*switchboard.Message{first}, f.messages(t, a102, c.ID), cmpOpts); diff != "" {
		t.Errorf("ListMessages after retries mismatch (-want +got):\n%s", diff)
	}
	if got := f.find(t, a102, c.ID).Unread; got != 1 {
		t.Errorf("Unread for 102 after retries = %d, want 1", got)
	}

	// The same client id from someone else, or into another conversation, is
	// another message; so is every message without a client id.
	for _, tt := range []struct {
		what string
		ctx  context.Context
		conv string
		cid  string
	}{
		{"from another sender", a102, c.ID, "c-1"},
		{"into another conversation", a101, other.ID, "c-1"},
		{"without client id", a101, c.ID, ""},
		{"without client id again", a101, c.ID, ""},
	} {
		m := &switchboard.Message{ConversationID: tt.conv, Body: "hello", ClientID: tt.cid}
		created, err := s.SendMessage(tt.ctx, m)
		if err != nil || !created {
			t.Errorf("SendMessage(%s) = %v, %v; want true, nil", tt.what, created, err)
		} else if m.ID == first.ID {
			t.Errorf("SendMessage(%s) returned the first message %s", tt.what, first.ID)
		}
	}
	if got := seqs(f.messages(t, a101, c.ID)); !cmp.Equal(got, []int64{1, 2, 3, 4}) {
		t.Errorf("ListMessages seqs = %v, want [1 2 3 4]", got)
	}
}

func testHistory(t *testing.T, s Store, rec *Recorder) {
	f := seed(t, s, rec)
	a101 := f.as(domA, "101")
	c := f.direct(t, a101, "102")
	for i := 1; i <= 10; i++ {
		f.send(t, a101, c.ID, fmt.Sprintf("message %d", i))
	}
	for _, tt := range []struct {
		q    switchboard.MessageQuery
		want []int64
	}{
		{switchboard.MessageQuery{}, []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
		{switchboard.MessageQuery{Limit: 3}, []int64{8, 9, 10}},
		{switchboard.MessageQuery{Before: 8, Limit: 3}, []int64{5, 6, 7}},
		{switchboard.MessageQuery{Before: 3, Limit: 3}, []int64{1, 2}},
		{switchboard.MessageQuery{Before: 1, Limit: 3}, []int64{}},
		{switchboard.MessageQuery{Before: 100, Limit: 2}, []int64{9, 10}},
		{switchboard.MessageQuery{Forward: true, Limit: 3}, []int64{1, 2, 3}},
		{switchboard.MessageQuery{Forward: true}, []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
		{switchboard.MessageQuery{Forward: true, After: 7, Limit: 2}, []int64{8, 9}},
		{switchboard.MessageQuery{Forward: true, After: 2, Limit: 3}, []int64{3, 4, 5}},
		{switchboard.MessageQuery{Forward: true, After: 9}, []int64{10}},
		{switchboard.MessageQuery{Forward: true, After: 10}, []int64{}},
		{switchboard.MessageQuery{Forward: true, After: 100, Limit: 5}, []int64{}},
	} {
		msgs, err := s.ListMessages(a101, c.ID, tt.q)
		if err != nil {
			t.Errorf("ListMessages(%+v) = %v", tt.q, err)
			continue
		}
		if got := seqs(msgs); !cmp.Equal(got, tt.want) {
			t.Errorf("ListMessages(%+v) = %v, want %v", tt.q, got, tt.want)
		}
		for _, m := range msgs {
			if want := fmt.Sprintf("message %d", m.Seq); m.Body != want {
				t.Errorf("ListMessages(%+v): seq %d body %q, want %q", tt.q, m.Seq, m.Body, want)
			}
		}
	}
	// Paging forwards from the start, or backwards from the newest page,
	// visits every message once.
	var fwd []int64
	fq := switchboard.MessageQuery{Forward: true, Limit: 4}
	for range 10 {
		page, err := s.ListMessages(a101, c.ID, fq)
		if err != nil {
			t.Fatalf("ListMessages(%+v) = %v", fq, err)
		} else if len(page) == 0 {
			break
		}
		fwd = append(fwd, seqs(page)...)
		fq.After = page[len(page)-1].Seq
	}
	if want := []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}; !cmp.Equal(fwd, want) {
		t.Errorf("paging forwards by 4 = %v, want %v", fwd, want)
	}
	var all []int64
	q := switchboard.MessageQuery{Limit: 4}
	for range 10 {
		page, err := s.ListMessages(a101, c.ID, q)
		if err != nil {
			t.Fatalf("ListMessages(%+v) = %v", q, err)
		} else if len(page) == 0 {
			break
		}
		all = append(seqs(page), all...)
		q.Before = page[0].Seq
	}
	if want := []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}; !cmp.Equal(all, want) {
		t.Errorf("paging backwards by 4 = %v, want %v", all, want)
	}
}

func testEditDelete(t *testing.T, s Store, rec *Recorder) {
	f := seed(t, s, rec)
	a101, a102 := f.as(domA, "101"), f.as(domA, "102")
	c := f.group(t, a101, "Team", "102", "103")
	mine := f.send(t, a101, c.ID, "original")
	theirs := f.send(t, a102, c.ID, "not yours")
	all := []string{"101", "102", "103"}

	n := rec.Len()
	edited, err := s.EditMessage(a101, c.ID, mine.ID, "edited")
	if err != nil {
		t.Fatalf("EditMessage(own) = %v", err)
	}
	if edited.EditedAt == nil {
		t.Errorf("EditMessage(own): EditedAt is nil")
	} else if edited.EditedAt.Before(mine.CreatedAt) {
		t.Errorf("EditMessage(own): EditedAt %v before CreatedAt %v", edited.EditedAt, mine.CreatedAt)
	}
	want := *mine
	want.Body, want.EditedAt = "edited", edited.EditedAt
	if diff := cmp.Diff(&want, edited, cmpOpts); diff != "" {
		t.Errorf("EditMessage(own) mismatch (-want +got):\n%s", diff)
	}
	events := rec.Since(n)
	if diff := cmp.Diff([]ev{{switchboard.EventMessageUpdated, c.ID, all}}, gist(events)); diff != "" {
		t.Errorf("EditMessage events mismatch (-want +got):\n%s", diff)
	} else if diff := cmp.Diff(edited, decodeMessage(t, events[0]), cmpOpts); diff != "" {
		t.Errorf("message.updated data mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]*switchboard.Message{edited, theirs}, f.messages(t, a102, c.ID), cmpOpts); diff != "" {
		t.Errorf("ListMessages after edit mismatch (-want +got):\n%s", diff)
	}

	d := f.direct(t, a101, "102")
	n = rec.Len()
	for _, tt := range []struct {
		what string
		err  error
		want string
	}{
		{"EditMessage(another's)", func() error { _, err := s.EditMessage(a101, c.ID, theirs.ID, "mine now"); return err }(), switchboard.EFORBIDDEN},
		{"DeleteMessage(another's)", func() error { _, err := s.DeleteMessage(a101, c.ID, theirs.ID); return err }(), switchboard.EFORBIDDEN},
		{"EditMessage(empty body)", func() error { _, err := s.EditMessage(a101, c.ID, mine.ID, " "); return err }(), switchboard.EINVALID},
		{"EditMessage(too long)", func() error {
			_, err := s.EditMessage(a101, c.ID, mine.ID, strings.Repeat("a", switchboard.MaxBodyLength+1))
			return err
		}(), switchboard.ETOOLARGE},
		{"EditMessage(unknown id)", func() error { _, err := s.EditMessage(a101, c.ID, "m_unknown", "x"); return err }(), switchboard.ENOTFOUND},
		{"DeleteMessage(unknown id)", func() error { _, err := s.DeleteMessage(a101, c.ID, "m_unknown"); return err }(), switchboard.ENOTFOUND},
		{"EditMessage(in another conversation)", func() error { _, err := s.EditMessage(a101, d.ID, mine.ID, "x"); return err }(), switchboard.ENOTFOUND},
	} {
		wantCode(t, tt.what, tt.err, tt.want)
	}
	if diff := cmp.Diff([]*switchboard.Message{edited, theirs}, f.messages(t, a102, c.ID), cmpOpts); diff != "" {
		t.Errorf("ListMessages after failed changes mismatch (-want +got):\n%s", diff)
	}
	if got := rec.Since(n); len(got) != 0 {
		t.Errorf("failed changes published %v, want nothing", gist(got))
	}

	n = rec.Len()
	deleted, err := s.DeleteMessage(a101, c.ID, mine.ID)
	if err != nil {
		t.Fatalf("DeleteMessage(own) = %v", err)
	}
	if !deleted.Deleted || deleted.Body != "" || deleted.EditedAt == nil || deleted.ID != mine.ID || deleted.Seq != mine.Seq {
		t.Errorf("DeleteMessage(own) = %+v, want message %s deleted with an empty body and EditedAt set", deleted, mine.ID)
	}
	events = rec.Since(n)
	if diff := cmp.Diff([]ev{{switchboard.EventMessageUpdated, c.ID, all}}, gist(events)); diff != "" {
		t.Errorf("DeleteMessage events mismatch (-want +got):\n%s", diff)
	} else if diff := cmp.Diff(deleted, decodeMessage(t, events[0]), cmpOpts); diff != "" {
		t.Errorf("message.updated data mismatch (-want +got):\n%s", diff)
	}
	msgs := f.messages(t, f.as(domA, "103"), c.ID)
	if diff := cmp.Diff([]*switchboard.Message{deleted, theirs}, msgs, cmpOpts); diff != "" {
		t.Errorf("ListMessages after delete mismatch (-want +got):\n%s", diff)
	}
	_, err = s.EditMessage(a101, c.ID, mine.ID, "back")
	wantCode(t, "EditMessage(deleted)", err, switchboard.ENOTFOUND)
	_, err = s.DeleteMessage(a101, c.ID, mine.ID)
	wantCode(t, "DeleteMessage(deleted)", err, switchboard.ENOTFOUND)
}

func testMarkRead(t *testing.T, s Store, rec *Recorder) {
	f := seed(t, s, rec)
	a101, a102 := f.as(domA, "101"), f.as(domA, "102")
	c := f.direct(t, a101, "102")
	for i := 1; i <= 5; i++ {
		f.send(t, a102, c.ID, fmt.Sprintf("message %d", i))
	}
	check := func(what string, unread int, read101, read102 int64) {
		t.Helper()
		mine := f.find(t, a101, c.ID)
		if mine.Unread != unread || mine.LastReadSeq != read101 {
			t.Errorf("%s: 101 sees Unread %d, LastReadSeq %d; want %d, %d", what, mine.Unread, mine.LastReadSeq, unread, read101)
		}
		theirs := f.find(t, a102, c.ID)
		if want := map[string]int64{"101": read101, "102": read102}; !cmp.Equal(theirs.Read, want) {
			t.Errorf("%s: 102 sees Read %v, want %v", what, theirs.Read, want)
		}
		if theirs.Unread != 0 || theirs.LastReadSeq != read102 {
			t.Errorf("%s: 102 sees its own Unread %d, LastReadSeq %d; want 0, %d", what, theirs.Unread, theirs.LastReadSeq, read102)
		}
	}
	check("before reading", 5, 0, 5)

	for _, tt := range []struct {
		seq       int64
		unread    int
		read      int64
		wantEvent bool
	}{
		{3, 2, 3, true},
		{2, 2, 3, false},   // never backwards
		{3, 2, 3, false},   // unchanged
		{0, 2, 3, false},   // never backwards
		{99, 0, 5, true},   // clamped to the last seq
		{100, 0, 5, false}, // clamped, unchanged
	} {
		n := rec.Len()
		if err := s.MarkRead(a101, c.ID, tt.seq); err != nil {
			t.Fatalf("MarkRead(%d) = %v", tt.seq, err)
		}
		check(fmt.Sprintf("MarkRead(%d)", tt.seq), tt.unread, tt.read, 5)
		var want []ev
		if tt.wantEvent {
			want = []ev{{switchboard.EventConversationUpdated, c.ID, []string{"101", "102"}}}
		}
		events := rec.Since(n)
		if diff := cmp.Diff(want, gist(events), cmpOpts); diff != "" {
			t.Errorf("MarkRead(%d) events mismatch (-want +got):\n%s", tt.seq, diff)
		} else if len(events) == 1 {
			if got := decodeConversation(t, events[0]).Read["101"]; got != tt.read {
				t.Errorf("MarkRead(%d): event says 101 read %d, want %d", tt.seq, got, tt.read)
			}
		}
	}

	// New messages count again; the sender's own marker moves with its message.
	f.send(t, a102, c.ID, "message 6")
	check("after a new message", 1, 5, 6)
	f.send(t, a101, c.ID, "reply")
	mine := f.find(t, a101, c.ID)
	if mine.Unread != 0 || mine.LastReadSeq != 7 {
		t.Errorf("after replying: 101 sees Unread %d, LastReadSeq %d; want 0, 7", mine.Unread, mine.LastReadSeq)
	}
	if theirs := f.find(t, a102, c.ID); theirs.Unread != 1 || theirs.Read["101"] != 7 {
		t.Errorf("after 101 replied: 102 sees Unread %d, Read[101] %d; want 1, 7", theirs.Unread, theirs.Read["101"])
	}

	_, err := s.FindConversation(f.as(domA, "103"), c.ID)
	wantCode(t, "FindConversation by non-member", err, switchboard.ENOTFOUND)
	wantCode(t, "MarkRead by non-member", s.MarkRead(f.as(domA, "103"), c.ID, 1), switchboard.ENOTFOUND)
}
