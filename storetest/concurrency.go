package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard"
)

// testConcurrentSends is the test of the promise that matters most: a
// message committed to one of my conversations is never missed, even with
// many concurrent senders. Writers send into shared conversations while
// readers resume from their last cursor over and over.
func testConcurrentSends(t *testing.T, s Store, rec *Recorder) {
	const writers, perWriter = 16, 50
	f := seed(t, s, rec)
	a := func(ext string) context.Context { return f.as(domA, ext) }
	convs := []*switchboard.Conversation{
		f.group(t, a("101"), "G1", "102", "103"),
		f.group(t, a("101"), "G2", "102", "104", "105"),
		f.direct(t, a("101"), "103"),
		f.group(t, a("102"), "G3", "103", "104"), // without 101
	}
	start := f.lastCursor(t)
	published := rec.Len()

	// Readers: 101 is in three of the conversations, 104 in two.
	readers := []string{"101", "104"}
	seen := make([]map[string]int, len(readers)) // message id → times seen
	done := make(chan struct{})
	var rwg sync.WaitGroup
	for i, ext := range readers {
		seen[i] = map[string]int{}
		rwg.Add(1)
		go func() {
			defer rwg.Done()
			ctx, cursor := a(ext), start
			for {
				// Read done before asking, so that the last empty answer comes
				// from a read that began after every write had returned.
				var finished bool
				select {
				case <-done:
					finished = true
				default:
				}
				events, err := s.EventsSince(ctx, cursor, 100)
				if err != nil {
					t.Errorf("reader %s: EventsSince(%d) = %v", ext, cursor, err)
					return
				}
				for _, e := range events {
					if e.Cursor <= cursor {
						t.Errorf("reader %s: cursor %d after %d, want strictly increasing", ext, e.Cursor, cursor)
						return
					}
					cursor = e.Cursor
					if e.Type == switchboard.EventMessageCreated {
						var m switchboard.Message
						if err := json.Unmarshal(e.Data, &m); err != nil {
							t.Errorf("reader %s: decode message.created data %s: %v", ext, e.Data, err)
							return
						}
						seen[i][m.ID]++
					}
				}
				if len(events) == 0 {
					if finished {
						return
					}
					time.Sleep(500 * time.Microsecond)
				}
			}
		}()
	}

	// Writers: each sends into the conversations in turn, as one of their
	// members.
	var mu sync.Mutex
	sent := map[string][]*switchboard.Message{} // conversation id → messages
	var wwg sync.WaitGroup
	for w := range writers {
		wwg.Add(1)
		go func() {
			defer wwg.Done()
			for i := range perWriter {
				c := convs[(w+i)%len(convs)]
				sender := c.Members[w%len(c.Members)]
				m := &switchboard.Message{ConversationID: c.ID, Body: fmt.Sprintf("w%d m%d", w, i)}
				if i%3 == 0 {
					m.ClientID = fmt.Sprintf("w%d-%d", w, i)
				}
				if _, err := s.SendMessage(a(sender), m); err != nil {
					t.Errorf("writer %d: SendMessage(%s) = %v", w, c.Name, err)
					return
				}
				mu.Lock()
				sent[c.ID] = append(sent[c.ID], m)
				mu.Unlock()
			}
		}()
	}
	wwg.Wait()
	close(done)
	rwg.Wait()
	if t.Failed() {
		return
	}

	// Every message of a reader's conversations was seen exactly once, and
	// no other.
	for i, ext := range readers {
		want := map[string]bool{}
		for _, c := range convs {
			if c.IsMember(ext) {
				for _, m := range sent[c.ID] {
					want[m.ID] = true
				}
			}
		}
		missed := 0
		for id := range want {
			if n := seen[i][id]; n != 1 {
				missed++
				if missed <= 5 {
					t.Errorf("reader %s saw message %s %d times, want once", ext, id, n)
				}
			}
		}
		for id := range seen[i] {
			if !want[id] {
				t.Errorf("reader %s saw message %s of a conversation it is not in", ext, id)
			}
		}
		if missed > 0 {
			t.Errorf("reader %s: %d of %d messages not seen exactly once", ext, missed, len(want))
		}
	}

	// The publisher got every event once, in cursor order.
	all := rec.Events()
	checkCursors(t, "published events", 0, all)
	created := map[string]int{}
	for _, e := range all[published:] {
		if e.Type == switchboard.EventMessageCreated {
			created[decodeMessage(t, e).ID]++
		}
	}
	total := 0
	for _, msgs := range sent {
		total += len(msgs)
		for _, m := range msgs {
			if created[m.ID] != 1 {
				t.Errorf("message %s published %d times, want once", m.ID, created[m.ID])
			}
		}
	}
	if total != writers*perWriter || len(created) != total {
		t.Errorf("sent %d messages, published %d message.created; want %d each", total, len(created), writers*perWriter)
	}
	if last := f.lastCursor(t); len(all) > 0 && last != all[len(all)-1].Cursor {
		t.Errorf("LastCursor() = %d, want the last published cursor %d", last, all[len(all)-1].Cursor)
	}

	// Each conversation holds seqs 1..N without gaps or duplicates, and
	// exactly the messages sent to it.
	for _, c := range convs {
		want := map[string]int64{}
		for _, m := range sent[c.ID] {
			want[m.ID] = m.Seq
		}
		var after int64
		var got []*switchboard.Message
		for {
			page, err := s.ListMessages(a(c.Members[0]), c.ID, switchboard.MessageQuery{Forward: true, After: after, Limit: switchboard.MaxMessagesLimit})
			if err != nil {
				t.Fatalf("ListMessages(%s, after %d) = %v", c.Name, after, err)
			} else if len(page) == 0 {
				break
			}
			got = append(got, page...)
			after = page[len(page)-1].Seq
		}
		if len(got) != len(want) {
			t.Errorf("%s holds %d messages, want %d", c.Name, len(got), len(want))
		}
		for i, m := range got {
			if m.Seq != int64(i+1) {
				t.Errorf("%s: message %d has seq %d, want %d", c.Name, i, m.Seq, i+1)
				break
			}
			if seq, ok := want[m.ID]; !ok || seq != m.Seq {
				t.Errorf("%s: stored message %s seq %d, SendMessage returned seq %d (sent: %v)", c.Name, m.ID, m.Seq, seq, ok)
			}
		}
	}
}

// testConcurrentClientIDRetries sends the same message, by client id, from
// many goroutines at once: exactly one is created.
func testConcurrentClientIDRetries(t *testing.T, s Store, rec *Recorder) {
	const retries = 16
	f := seed(t, s, rec)
	a101 := f.as(domA, "101")
	c := f.direct(t, a101, "102")
	n := rec.Len()

	var wg sync.WaitGroup
	begin := make(chan struct{})
	results := make([]*switchboard.Message, retries)
	created := make([]bool, retries)
	for i := range retries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-begin
			m := &switchboard.Message{ConversationID: c.ID, Body: "only once", ClientID: "retry-1"}
			var err error
			if created[i], err = s.SendMessage(a101, m); err != nil {
				t.Errorf("SendMessage(retry %d) = %v", i, err)
			}
			results[i] = m
		}()
	}
	close(begin)
	wg.Wait()

	nCreated := 0
	for i, m := range results {
		if created[i] {
			nCreated++
		}
		if m.ID != results[0].ID || m.Seq != 1 {
			t.Errorf("retry %d returned message %s seq %d, want %s seq 1", i, m.ID, m.Seq, results[0].ID)
		}
	}
	if nCreated != 1 {
		t.Errorf("%d of %d concurrent retries created the message, want exactly 1", nCreated, retries)
	}
	if got := f.messages(t, a101, c.ID); len(got) != 1 {
		t.Errorf("ListMessages after concurrent retries = %d messages, want 1", len(got))
	}
	if got := gist(rec.Since(n)); len(got) != 1 || got[0].Type != switchboard.EventMessageCreated {
		t.Errorf("concurrent retries published %v, want one message.created", got)
	}
	if got := f.find(t, f.as(domA, "102"), c.ID).Unread; got != 1 {
		t.Errorf("Unread for 102 = %d, want 1", got)
	}
}

// testConcurrentDirectCreate starts the same direct conversation from both
// sides at once: there is one.
func testConcurrentDirectCreate(t *testing.T, s Store, rec *Recorder) {
	const perSide = 8
	f := seed(t, s, rec)
	n := rec.Len()
	var wg sync.WaitGroup
	begin := make(chan struct{})
	var mu sync.Mutex
	found := map[string]int{}
	nCreated := 0
	for i := range 2 * perSide {
		self, other := "101", "102"
		if i%2 == 1 {
			self, other = other, self
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-begin
			c := &switchboard.Conversation{Direct: true, Members: []string{other}}
			created, err := s.CreateConversation(f.as(domA, self), c)
			if err != nil {
				t.Errorf("CreateConversation(direct, by %s) = %v", self, err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			found[c.ID]++
			if created {
				nCreated++
			}
		}()
	}
	close(begin)
	wg.Wait()
	if len(found) != 1 || nCreated != 1 {
		t.Errorf("concurrent direct creations gave conversations %v, %d created; want one, created once", found, nCreated)
	}
	for _, ext := range []string{"101", "102"} {
		if got := f.list(t, f.as(domA, ext)); len(got) != 1 {
			t.Errorf("ListConversations by %s = %v, want one conversation", ext, ids(got))
		}
	}
	if got := gist(rec.Since(n)); len(got) != 1 || got[0].Type != switchboard.EventConversationUpdated {
		t.Errorf("concurrent direct creations published %v, want one conversation.updated", got)
	}
}
