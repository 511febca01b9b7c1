package sqlite

import (
	"context"
	"database/sql"
	"log/slog"
	"time"
)

// SlowSyncs makes every sync of the write-ahead log take at least d longer,
// as on a slow disk. Call it right after Open, before any write.
func SlowSyncs(s *Store, d time.Duration) { s.beforeSync = func() { time.Sleep(d) } }

// MigrateTo creates the database at path with the migrations up to number
// n only, as a store of that version left it.
func MigrateTo(ctx context.Context, path string, n int) error {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)")
	if err != nil {
		return err
	}
	defer db.Close()
	s := &Store{wdb: db, logger: slog.New(slog.DiscardHandler)}
	return s.migrate(ctx, n)
}

// SetEventWindow sets how many event ids EventsSince reads at a time, and
// returns a function that restores it.
func SetEventWindow(n int64) func() {
	old := eventWindow
	eventWindow = n
	return func() { eventWindow = old }
}

// SetActivitySlack sets how far (µs) a member's list entry may lag its
// conversation, and returns a function that restores it.
func SetActivitySlack(us int64) func() {
	old := activitySlack
	activitySlack = us
	return func() { activitySlack = old }
}

// NoMutex says why connections keep their own mutex, nil if they do not.
func NoMutex() error { return noMutex }

// NoWALWrites says why write-ahead log writes are not gathered, nil if
// they are.
func NoWALWrites() error { return noWALWrites }

// NoPageCacheRekey says why the page cache's rekey method is SQLite's own,
// nil if it is the package's (pcache.go).
func NoPageCacheRekey() error { return noPcacheRekey }

// PageCacheCounts returns how many times, in this process, a page moved to
// the lock-byte page in a b-tree balance, and how many truncations of a
// page cache walked the whole cache.
func PageCacheCounts() (lockRekeys, fullScans int64) {
	return pcacheLockRekeys.Load(), pcacheFullScans.Load()
}

// HoldCheckpoints keeps the store's checkpoints from running until the
// returned function is called (before Close, which waits for them).
func HoldCheckpoints(s *Store) (release func()) {
	s.ckptMu.Lock()
	return s.ckptMu.Unlock
}
