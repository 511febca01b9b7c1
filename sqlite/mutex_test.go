package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/switchboard-chat/switchboard"
	"github.com/switchboard-chat/switchboard/sqlite"
)

// TestConnectionsWithoutMutex checks that the store's connections run in
// SQLite's multi-thread mode (no mutex of their own; sqlite/mutex.go), and
// that this holds up under what the store does at once: a writer, readers
// on the pool of eight, and the checkpointer, here 16 readers listing
// while 4 senders write, every message read back intact.
func TestConnectionsWithoutMutex(t *testing.T) {
	if err := sqlite.NoMutex(); err != nil {
		t.Fatalf("connections keep their mutex: %v", err)
	}
	s := mustOpen(t, filepath.Join(t.TempDir(), "db.sqlite"), nil)
	convs := bulkFixture(t, s, 8)
	as := func(ext string) context.Context {
		return switchboard.NewContextWithIdentity(context.Background(), switchboard.Identity{Domain: "bulk.example", Extension: ext})
	}
	const perSender = 60
	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan error, 32)
	for i, c := range convs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range perSender {
				body := fmt.Sprintf("message %d of %d", n, i)
				if _, err := s.SendMessage(as(c.Members[0]), &switchboard.Message{ConversationID: c.ID, Body: body}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	var readers sync.WaitGroup
	for r := range 16 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			c := convs[r%len(convs)]
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := s.ListConversations(as(c.Members[1]), 50); err != nil {
					errs <- err
					return
				}
				if _, err := s.ListMessages(as(c.Members[1]), c.ID, switchboard.MessageQuery{Limit: 50}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("under concurrent use: %v", err)
	}
	for i, c := range convs {
		page, err := s.ListMessages(as(c.Members[1]), c.ID, switchboard.MessageQuery{Limit: switchboard.MaxMessagesLimit})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) < min(perSender, switchboard.MaxMessagesLimit) {
			t.Fatalf("conversation %d: %d messages read back, want %d", i, len(page), perSender)
		}
		last := page[len(page)-1]
		if want := fmt.Sprintf("message %d of %d", perSender-1, i); last.Body != want || last.Seq != perSender {
			t.Errorf("conversation %d: last message %d %q, want %d %q", i, last.Seq, last.Body, perSender, want)
		}
	}
}
