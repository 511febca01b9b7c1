package sqlite_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard"
	"github.com/switchboard-chat/switchboard/sqlite"
	"github.com/switchboard-chat/switchboard/storetest"
)

// TestWritesShareCommitsWhileTheDiskIsBusy: on a slow disk, messages sent
// one after another while a sync is under way are committed together, each
// is acknowledged only once stored, and their events go out in the order
// of the conversation.
func TestWritesShareCommitsWhileTheDiskIsBusy(t *testing.T) {
	rec := &storetest.Recorder{}
	s, conv, _ := pairStore(t, rec)
	sqlite.SlowSyncs(s, 40*time.Millisecond)
	before := s.WriterStats()

	const n = 40
	ctx := switchboard.NewContextWithIdentity(context.Background(), switchboard.Identity{Domain: "bulk.example", Extension: conv.Members[0]})
	// One at a time, as a user types.
	errs := sendSpread(ctx, s, n, func(int) string { return conv.ID }, func(int) time.Duration { return time.Millisecond })
	for i, err := range errs {
		if err != nil {
			t.Fatalf("SendMessage(%d) = %v", i, err)
		}
	}
	st := s.WriterStats()
	commits, writes := st.Commits-before.Commits, st.Writes-before.Writes
	if writes != n {
		t.Fatalf("writer ran %d writes, want %d", writes, n)
	}
	// About 40 ms of sending over syncs of 40 ms or more: two or three
	// commits, not one per message (the margin holds while the sleeps of a
	// loaded machine stretch sending to 400 ms).
	t.Logf("%d messages, %d commits", n, commits)
	if commits > n/4 {
		t.Errorf("%d messages took %d commits; want those sent during a sync to share one", n, commits)
	}
	page, err := s.ListMessages(ctx, conv.ID, switchboard.MessageQuery{Limit: 100})
	if err != nil || len(page) != n {
		t.Fatalf("ListMessages() = %d messages, %v; want %d", len(page), err, n)
	}
	var seqs []int64
	for _, e := range rec.Events() {
		if e.Type == switchboard.EventMessageCreated {
			seqs = append(seqs, e.Cursor)
		}
	}
	if len(seqs) != n {
		t.Fatalf("%d message events published, want %d", len(seqs), n)
	}
	for i := 1; i < len(seqs); i++ {
		if seqs[i] <= seqs[i-1] {
			t.Fatalf("events published out of order: cursor %d after %d", seqs[i], seqs[i-1])
		}
	}
}

// TestSyncStallsCounted: the writer's counters tell the syncs of the log
// that stalled (10 ms or more) and their time apart from the others, so the
// benchmark can say when the disk, not the server, held a step's writes.
func TestSyncStallsCounted(t *testing.T) {
	s, conv, ctx := pairStore(t, nil)
	sqlite.SlowSyncs(s, 15*time.Millisecond)
	before := s.WriterStats()
	// One after another: a sync each.
	for i := range 3 {
		if _, err := s.SendMessage(ctx, &switchboard.Message{ConversationID: conv.ID, Body: "slow disk", ClientID: fmt.Sprint("slow", i)}); err != nil {
			t.Fatalf("SendMessage(%d) = %v", i, err)
		}
	}
	st := s.WriterStats()
	syncs, stalls, stall := st.Syncs-before.Syncs, st.Stalls-before.Stalls, st.Stall-before.Stall
	if syncs < 3 || stalls != syncs || stall < 45*time.Millisecond || stall > st.Sync-before.Sync {
		t.Errorf("three writes on a disk of 15 ms syncs: %d syncs, %d stalls of %v in all (syncs took %v); want every sync a stall, 45 ms or more in all",
			syncs, stalls, stall, st.Sync-before.Sync)
	}
	if slow := st.SlowSyncs - before.SlowSyncs; slow > 0 && st.Stall-before.Stall < 100*time.Millisecond*time.Duration(slow) {
		t.Errorf("%d syncs counted slow (100 ms or more) in stalls of %v in all", slow, st.Stall-before.Stall)
	}
}

// TestLogBytesCounted: WriterStats.LogBytes grows by the pages each commit
// changed (a frame of a page and its 24-byte header each), and by nothing
// for a write that failed.
func TestLogBytesCounted(t *testing.T) {
	s, conv, ctx := pairStore(t, nil)
	before := s.WriterStats()
	for i := range 3 {
		if _, err := s.SendMessage(ctx, &switchboard.Message{ConversationID: conv.ID, Body: "counted", ClientID: fmt.Sprint("log", i)}); err != nil {
			t.Fatalf("SendMessage(%d) = %v", i, err)
		}
	}
	after := s.WriterStats()
	if commits, n := after.Commits-before.Commits, after.LogBytes-before.LogBytes; commits < 1 || n < 3*walFrame || n > commits*64*walFrame {
		t.Errorf("three sends in %d commits wrote %d bytes of log; want at least a page each, at most 64 pages a commit", commits, n)
	}
	if _, err := s.SendMessage(ctx, &switchboard.Message{ConversationID: "c_nonexistent", Body: "lost"}); switchboard.ErrorCode(err) != switchboard.ENOTFOUND {
		t.Fatalf("SendMessage(no conversation) = %v, want %s", err, switchboard.ENOTFOUND)
	}
	if n := s.WriterStats().LogBytes - after.LogBytes; n != 0 {
		t.Errorf("a failed send wrote %d bytes of log, want none", n)
	}
}

// TestFailedWritesLeaveTheOthers: writes that fail, whether first in their
// transaction or joining one, change nothing and fail alone; the writes
// around them are all stored.
func TestFailedWritesLeaveTheOthers(t *testing.T) {
	for _, slow := range []time.Duration{0, 10 * time.Millisecond} {
		t.Run(fmt.Sprint("sync+", slow), func(t *testing.T) {
			s, conv, ctx := pairStore(t, nil)
			if slow > 0 {
				sqlite.SlowSyncs(s, slow)
			}
			const n = 40
			errs := sendSpread(ctx, s, n, func(i int) string {
				if i%3 == 0 {
					return "c_nonexistent" // not found inside the write
				}
				return conv.ID
			}, func(i int) time.Duration {
				if i%4 == 0 {
					return 2 * time.Millisecond
				}
				return 0
			})
			want := 0
			for i, err := range errs {
				if i%3 == 0 {
					if switchboard.ErrorCode(err) != switchboard.ENOTFOUND {
						t.Errorf("SendMessage(%d) to no conversation = %v, want %s", i, err, switchboard.ENOTFOUND)
					}
					continue
				}
				want++
				if err != nil {
					t.Errorf("SendMessage(%d) = %v", i, err)
				}
			}
			page, err := s.ListMessages(ctx, conv.ID, switchboard.MessageQuery{Limit: 100})
			if err != nil || len(page) != want {
				t.Fatalf("ListMessages() = %d messages, %v; want %d", len(page), err, want)
			}
			for k, m := range page {
				if m.Seq != int64(k+1) && m.Seq != int64(len(page)-k) {
					t.Fatalf("message %d has seq %d: seqs are not 1..%d without gaps", k, m.Seq, len(page))
				}
			}
		})
	}
}

// sendSpread sends n messages as ctx's caller, each from a goroutine of its
// own, to the conversation to(i), waiting pause(i) after starting each, and
// returns their errors once all are done.
func sendSpread(ctx context.Context, s *sqlite.Store, n int, to func(int) string, pause func(int) time.Duration) []error {
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = s.SendMessage(ctx, &switchboard.Message{ConversationID: to(i), Body: fmt.Sprint("message ", i), ClientID: fmt.Sprint("c", i)})
		}()
		time.Sleep(pause(i))
	}
	wg.Wait()
	return errs
}
