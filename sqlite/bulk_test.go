package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard"
	"github.com/switchboard-chat/switchboard/sqlite"
)

// bulkFixture loads a domain with users 101..(100+users), a session per
// user, and one direct conversation per pair (101,102), (103,104), ...
func bulkFixture(tb testing.TB, s *sqlite.Store, users int) []*switchboard.Conversation {
	tb.Helper()
	bg := context.Background()
	if err := s.BulkDomains(bg, []*switchboard.Domain{{Name: "bulk.example"}}); err != nil {
		tb.Fatalf("BulkDomains() = %v", err)
	}
	var us []*switchboard.User
	var sessions []*switchboard.Session
	for i := range users {
		ext := fmt.Sprint(101 + i)
		us = append(us, &switchboard.User{Domain: "bulk.example", Extension: ext, Name: "User " + ext, PasswordHash: "shared-hash"})
		sessions = append(sessions, &switchboard.Session{TokenHash: "t" + ext, Domain: "bulk.example", Extension: ext, ExpiresAt: time.Now().Add(time.Hour)})
	}
	if err := s.BulkUsers(bg, us); err != nil {
		tb.Fatalf("BulkUsers() = %v", err)
	}
	if err := s.BulkSessions(bg, sessions); err != nil {
		tb.Fatalf("BulkSessions() = %v", err)
	}
	var convs []*switchboard.Conversation
	for i := 0; i+1 < users; i += 2 {
		a, b := fmt.Sprint(101+i), fmt.Sprint(102+i)
		convs = append(convs, &switchboard.Conversation{Direct: true, CreatedBy: a, Members: []string{a, b}})
	}
	if err := s.BulkConversations(bg, "bulk.example", convs); err != nil {
		tb.Fatalf("BulkConversations() = %v", err)
	}
	return convs
}

// pairStore opens a store (closed when the test ends) with the fixture of
// two users and their conversation, and returns it with the conversation
// and the first user's context.
func pairStore(t *testing.T, pub switchboard.EventPublisher) (*sqlite.Store, *switchboard.Conversation, context.Context) {
	t.Helper()
	s := mustOpen(t, filepath.Join(t.TempDir(), "db.sqlite"), pub)
	conv := bulkFixture(t, s, 2)[0]
	return s, conv, switchboard.NewContextWithIdentity(context.Background(), switchboard.Identity{Domain: "bulk.example", Extension: conv.Members[0]})
}

// bulkHistory loads n earlier messages into convs, round the
// conversations, each with a random client_id as clients make them, 2,000
// to a write.
func bulkHistory(tb testing.TB, s *sqlite.Store, convs []*switchboard.Conversation, n int) {
	tb.Helper()
	var msgs []*switchboard.Message
	for i := range n {
		c := convs[i%len(convs)]
		msgs = append(msgs, &switchboard.Message{ConversationID: c.ID, Sender: c.Members[i%2], Body: "an earlier message of about the length of a line of chat",
			ClientID: switchboard.NewSecret()[:22]})
		if len(msgs) == 2000 || i == n-1 {
			if err := s.BulkMessages(context.Background(), msgs); err != nil {
				tb.Fatalf("BulkMessages() = %v", err)
			}
			msgs = msgs[:0]
		}
	}
}

// TestBulk checks that bulk-loaded fixtures read and grow like those made
// through the API.
func TestBulk(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "db.sqlite"), nil)
	convs := bulkFixture(t, s, 4)
	var msgs []*switchboard.Message
	for i := range 120 {
		c := convs[i%2]
		msgs = append(msgs, &switchboard.Message{ConversationID: c.ID, Sender: c.Members[i%4/2], Body: fmt.Sprint("m", i)})
	}
	if err := s.BulkMessages(context.Background(), msgs); err != nil {
		t.Fatalf("BulkMessages() = %v", err)
	}
	ctx := switchboard.NewContextWithIdentity(context.Background(), switchboard.Identity{Domain: "bulk.example", Extension: "101"})
	if sess, err := s.FindSession(ctx, "t101"); err != nil || sess.Extension != "101" {
		t.Fatalf("FindSession(t101) = %v, %v", sess, err)
	}
	list, err := s.ListConversations(ctx, 10)
	if err != nil || len(list) != 1 || list[0].LastSeq != 60 || list[0].LastMessage == nil || list[0].LastMessage.Body != "m118" {
		t.Fatalf("ListConversations() = %v, %v; want one conversation with last seq 60, last body m118", list, err)
	}
	page, err := s.ListMessages(ctx, convs[0].ID, switchboard.MessageQuery{})
	if err != nil || len(page) != 50 || page[0].Seq != 11 || page[49].Seq != 60 {
		t.Fatalf("ListMessages() = %d messages, %v; want seq 11..60", len(page), err)
	}
	m := &switchboard.Message{ConversationID: convs[0].ID, Body: "after", ClientID: "c1"}
	if _, err := s.SendMessage(ctx, m); err != nil || m.Seq != 61 {
		t.Fatalf("SendMessage() after bulk: seq %d, %v; want 61", m.Seq, err)
	}
	again := &switchboard.Conversation{Direct: true, Members: []string{"102"}}
	if created, err := s.CreateConversation(ctx, again); err != nil || created || again.ID != convs[0].ID {
		t.Fatalf("CreateConversation(102) = %v, %v, id %s; want the bulk conversation %s", created, err, again.ID, convs[0].ID)
	}
}

// BenchmarkSendMessage measures the store's append path (one message of a
// 1:1 conversation, committed and published) with concurrent senders
// sharing group commits, as the server runs it.
func BenchmarkSendMessage(b *testing.B) {
	s := openSendStore(b)
	benchmarkSend(b, s, bulkFixture(b, s, 200))
}

// BenchmarkSendMessageLongHistory is BenchmarkSendMessage on a store that
// already holds 200,000 messages in 500 conversations, each with a random
// client_id as clients make them: the index that keeps sends idempotent
// (messages_client_id) takes a new entry at a random place in its
// conversation's range, so its pages are all written to, and they are
// more than a small page cache holds (the writer's cache misses that the
// load benchmark's later 1:1 steps showed).
func BenchmarkSendMessageLongHistory(b *testing.B) {
	s := openSendStore(b)
	convs := bulkFixture(b, s, 1000)
	bulkHistory(b, s, convs, 200_000)
	benchmarkSend(b, s, convs)
}

// BenchmarkSendGroupMessage is BenchmarkSendMessage in groups of 10: one
// message, ten members' rows, nine recipients.
func BenchmarkSendGroupMessage(b *testing.B) {
	s := openSendStore(b)
	bulkFixture(b, s, 200)
	var groups []*switchboard.Conversation
	for i := 0; i < 200; i += 10 {
		var members []string
		for j := range 10 {
			members = append(members, fmt.Sprint(101+i+j))
		}
		groups = append(groups, &switchboard.Conversation{Name: fmt.Sprint("Group ", i/10), CreatedBy: members[0], Members: members})
	}
	if err := s.BulkConversations(context.Background(), "bulk.example", groups); err != nil {
		b.Fatalf("BulkConversations() = %v", err)
	}
	benchmarkSend(b, s, groups)
}

// openSendStore opens the send benchmarks' store, synced as BENCH_SYNC
// says (the default: full), closed when the benchmark ends.
func openSendStore(b *testing.B) *sqlite.Store {
	s, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "db.sqlite"), sqlite.Options{Publisher: discard{}, Sync: sqlite.Sync(os.Getenv("BENCH_SYNC"))})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func benchmarkSend(b *testing.B, s *sqlite.Store, convs []*switchboard.Conversation) {
	var n atomic.Int64
	b.SetParallelism(64)
	b.ReportAllocs()
	cpu0, log0 := cpuTime(), s.WriterStats().LogBytes
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			c := convs[int(i)%len(convs)]
			ctx := switchboard.NewContextWithIdentity(context.Background(), switchboard.Identity{Domain: "bulk.example", Extension: c.Members[0]})
			m := &switchboard.Message{ConversationID: c.ID, Body: "hello there", ClientID: fmt.Sprint("c", i)}
			if _, err := s.SendMessage(ctx, m); err != nil {
				b.Error(err)
				return
			}
		}
	})
	// CPU time, unlike wall time, hardly depends on what else the machine
	// runs (and group commit waits on fsync, not on the CPU).
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
	// The bytes each send wrote to the log (the pages it changed, shared
	// with the others of its group commit), whatever the host's speed.
	b.ReportMetric(float64(s.WriterStats().LogBytes-log0)/float64(b.N), "log-B/op")
}

// cpuTime is the process's user and system time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkListMessages measures the newest page of a conversation.
func BenchmarkListMessages(b *testing.B) {
	s, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "db.sqlite"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	convs := bulkFixture(b, s, 2)
	var msgs []*switchboard.Message
	for i := range 500 {
		msgs = append(msgs, &switchboard.Message{ConversationID: convs[0].ID, Sender: "101", Body: fmt.Sprint("message number ", i)})
	}
	if err := s.BulkMessages(context.Background(), msgs); err != nil {
		b.Fatal(err)
	}
	ctx := switchboard.NewContextWithIdentity(context.Background(), switchboard.Identity{Domain: "bulk.example", Extension: "102"})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.ListMessages(ctx, convs[0].ID, switchboard.MessageQuery{Limit: 50}); err != nil {
			b.Fatal(err)
		}
	}
}

// discard is a publisher that drops events.
type discard struct{}

func (discard) Publish(...*switchboard.Event) {}

// BenchmarkListConversations measures the list of 200 conversations of an
// extension that has 200, each with a last message.
func BenchmarkListConversations(b *testing.B) {
	s, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "db.sqlite"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	bulkFixture(b, s, 201)
	var convs []*switchboard.Conversation
	for i := 1; i <= 200; i++ {
		convs = append(convs, &switchboard.Conversation{CreatedBy: "101", Members: []string{"101", fmt.Sprint(101 + i)}, Name: fmt.Sprint("g", i)})
	}
	if err := s.BulkConversations(context.Background(), "bulk.example", convs); err != nil {
		b.Fatal(err)
	}
	var msgs []*switchboard.Message
	for _, c := range convs {
		for j := range 5 {
			msgs = append(msgs, &switchboard.Message{ConversationID: c.ID, Sender: c.Members[j%2], Body: "a line of chat"})
		}
	}
	if err := s.BulkMessages(context.Background(), msgs); err != nil {
		b.Fatal(err)
	}
	ctx := switchboard.NewContextWithIdentity(context.Background(), switchboard.Identity{Domain: "bulk.example", Extension: "101"})
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		list, err := s.ListConversations(ctx, 200)
		if err != nil || len(list) != 200 {
			b.Fatalf("ListConversations() = %d, %v", len(list), err)
		}
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
}
