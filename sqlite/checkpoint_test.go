package sqlite

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/switchboard-chat/switchboard"
)

// walHeader is the log's checkpoint sequence and salts (bytes 12–24 of its
// header), which change each time the log starts over from its beginning.
func walHeader(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 32 {
		t.Fatalf("log of %d bytes, want a header", len(b))
	}
	return b[12:24]
}

// quietStore opens a store whose background checkpoints wait until the
// test is done (the test runs its own, holding ckptMu), and its path.
func quietStore(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "db.sqlite")
	s, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	t.Cleanup(HoldCheckpoints(s)) // released before Close, which waits for the checkpointer
	return s, path
}

// addDomain writes a domain to s (one write to the log), or fails the test.
func addDomain(t *testing.T, s *Store, name string) {
	t.Helper()
	if err := s.CreateDomain(context.Background(), &switchboard.Domain{Name: name, DisplayName: name}); err != nil {
		t.Fatal(err)
	}
}

// TestCheckpointKeepsLogUntilDatabaseSynced: the checkpointer copies pages
// into the database without SQLite's blocking fsyncs and syncs the database
// itself; until it has, the log must not start over (its frames are the only
// durable copy of what was copied), so a write made between the copy and
// the database's sync goes after the log's frames, and once the checkpoint
// is done the log starts over as before.
func TestCheckpointKeepsLogUntilDatabaseSynced(t *testing.T) {
	ctx := context.Background()
	s, path := quietStore(t)
	if !s.ck.syncs {
		t.Fatal("the checkpointer syncs through SQLite; want its own files")
	}
	addDomain(t, s, "before.example")
	before := walHeader(t, path)

	during := false
	s.ck.afterCopy = func() {
		during = true
		addDomain(t, s, "during.example")
		if h := walHeader(t, path); !bytes.Equal(h, before) {
			t.Errorf("the log started over before the database was synced (header %x, was %x)", h, before)
		}
	}
	if err := s.checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	if !during {
		t.Fatal("the checkpoint did not reach the database's sync")
	}
	if err := s.ck.writeBack(); err != nil {
		t.Fatalf("writing the database back in parts: %v", err)
	}
	// Without the checkpointer's read transaction, a checkpoint that copies
	// everything lets the next write start the log over, unless one of the
	// store's readers (its auth watcher polls) is in the log just then.
	s.ck.afterCopy = nil
	restarted := false
	for i := 0; i < 50 && !restarted; i++ {
		if err := s.checkpoint(ctx); err != nil {
			t.Fatal(err)
		}
		addDomain(t, s, fmt.Sprintf("after%d.example", i))
		restarted = !bytes.Equal(walHeader(t, path), before)
	}
	if !restarted {
		t.Errorf("the log did not start over after 50 checkpoints, each followed by a write")
	}
	ds, err := s.ListDomains(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range ds {
		if !strings.HasPrefix(d.Name, "after") {
			names = append(names, d.Name)
		}
	}
	if want := []string{"before.example", "during.example"}; !slices.Equal(names, want) {
		t.Errorf("domains %v, want %v", names, want)
	}
}

// TestCheckpointTakesTurns: on one processor, a goroutine that is ready to
// run gets its turn within a few of the checkpoint's yields (one every
// dbWritesPerYield pages it copies), not only when the runtime preempts the
// checkpoint (after 10 ms: 1,000–2,400 pages here without the yields).
func TestCheckpointTakesTurns(t *testing.T) {
	ctx := context.Background()
	s, _ := quietStore(t)
	const pages = 4000
	if err := s.write(ctx, func(w *wtx) error {
		if _, err := w.exec(`CREATE TABLE filler (b BLOB)`); err != nil {
			return err
		}
		_, err := w.exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < ?)
			INSERT INTO filler SELECT zeroblob(3000) FROM n`, pages)
		return err
	}); err != nil {
		t.Fatal(err)
	}

	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	start := walw.dbWrites.Load()
	done := make(chan error, 1)
	go func() { done <- s.checkpoint(ctx) }()
	var last, gap int64 = start, 0
	for running := true; running; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			running = false
		default:
		}
		n := walw.dbWrites.Load()
		gap = max(gap, n-last)
		last = n
		runtime.Gosched()
	}
	if copied := last - start; copied < pages {
		t.Fatalf("the checkpoint wrote %d pages, want at least %d", copied, pages)
	}
	if gap > 4*dbWritesPerYield {
		t.Errorf("another goroutine waited for %d page writes of the checkpoint, want at most %d", gap, 4*dbWritesPerYield)
	}
}

// TestIdleCheckpointSyncsNothing: once a checkpoint has copied everything,
// the next ones, with nothing written since, sync neither the log nor the
// database; a write makes the next one sync both again.
func TestIdleCheckpointSyncsNothing(t *testing.T) {
	ctx := context.Background()
	s, _ := quietStore(t)
	addDomain(t, s, "one.example")
	// Until one checkpoint copies all there is (a reader of the store may
	// be in the log), and one more finds it so.
	for i := 0; i < 50 && !s.ck.settled; i++ {
		if err := s.checkpoint(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if !s.ck.settled {
		t.Fatal("no checkpoint copied all of the log in 50")
	}
	wal, db := s.ck.walSyncs, s.ck.dbSyncs
	for range 3 {
		if err := s.checkpoint(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if s.ck.walSyncs != wal || s.ck.dbSyncs != db {
		t.Errorf("idle checkpoints synced the log %d and the database %d times, want 0", s.ck.walSyncs-wal, s.ck.dbSyncs-db)
	}
	// After a write, the checkpoints sync the log and, once one copies
	// the write's pages (not while a reader of the store still uses an
	// earlier snapshot, which keeps them in the log), the database.
	addDomain(t, s, "two.example")
	if err := s.checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	if s.ck.walSyncs != wal+1 {
		t.Errorf("the checkpoint after a write synced the log %d times, want 1", s.ck.walSyncs-wal)
	}
	for i := 0; i < 50 && !s.ck.settled; i++ {
		if err := s.checkpoint(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if !s.ck.settled || s.ck.dbSyncs == db {
		t.Errorf("the checkpoints after a write copied all of the log: %v; synced the database %d times, want at least 1", s.ck.settled, s.ck.dbSyncs-db)
	}
}

// TestCheckpointSyncFailureRefusesWrites: if the database cannot be synced
// after a copy, the store refuses writes (the copies may be lost, and the
// log must stay as it is), and no checkpoint runs again.
func TestCheckpointSyncFailureRefusesWrites(t *testing.T) {
	ctx := context.Background()
	s, path := quietStore(t)
	addDomain(t, s, "before.example")
	before := walHeader(t, path)
	s.ck.db.f.Close() // the database's sync fails with EBADF
	if err := s.checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	if !s.ck.failed {
		t.Fatal("the failed sync of the database went unnoticed")
	}
	err := s.CreateDomain(ctx, &switchboard.Domain{Name: "after.example", DisplayName: "a"})
	if switchboard.ErrorCode(err) != switchboard.EUNAVAILABLE {
		t.Fatalf("CreateDomain after the database could not be synced = %v, want %s", err, switchboard.EUNAVAILABLE)
	}
	if h := walHeader(t, path); !bytes.Equal(h, before) {
		t.Errorf("the log started over (header %x, was %x)", h, before)
	}
	s.ck.db.f = nil // closed above
}
