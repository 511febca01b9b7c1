// Package sqlite implements Switchboard's storage on an embedded SQLite
// database (modernc.org/sqlite, pure Go) in WAL mode.
//
// All writes go through one writer goroutine that commits them in groups: a
// batch of concurrent writes shares one transaction and one fsync, each
// write isolated by a savepoint so that one failing write does not affect the
// others. Because there is exactly one writer, event ids are assigned in
// commit order, and the events of each commit are handed to the
// EventPublisher in that order before the writes are acknowledged. Reads use
// a separate pool of read-only connections and never wait for the writer.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-chat/switchboard"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Store is a SQLite-backed switchboard.DirectoryStore and ChatStore.
type Store struct {
	path   string
	logger *slog.Logger
	pub    switchboard.EventPublisher
	now    func() time.Time

	wdb    *sql.DB   // exactly one connection, used only by the writer goroutine
	wconn  *sql.Conn // that connection, held by the writer for good
	rdb    *sql.DB   // read-only pool
	cdb    *sql.DB   // two connections, used only by the checkpointer (ck)
	ck     ckpt
	ckptMu sync.Mutex // held by each checkpoint

	ops      chan *op
	closed   chan struct{}
	done     chan struct{}
	ckptDone chan struct{}
	authDone chan struct{}
	closeMu  sync.RWMutex // held shared while queueing a write
	stopped  bool
	tick     int64 // last activity tick; writer goroutine only
	// txOpen: the writer has a transaction open, holding the writes in
	// held (see hold). Writer goroutine only.
	txOpen bool
	held   []*op
	// bare: the open transaction holds only writes that can run again,
	// run without savepoints (see run). Writer goroutine only.
	bare bool
	// lastEvent is the last event id handed out, and seqEvent the log's
	// sequence as the open transaction began: a message.created has no
	// row of its own, so before a commit that handed out such ids the
	// writer moves the sequence past them (migration 010). dataVersion
	// tells whether another connection wrote since (see catchUp). Writer
	// goroutine only.
	lastEvent, seqEvent, dataVersion int64
	// busyUntil: the writer naps instead of yielding until then (see
	// yield); writer goroutine only.
	busyUntil time.Time

	stmtMu sync.Mutex
	rstmts map[string]*sql.Stmt

	auth authCache

	// wstmts are statements prepared on wconn, kept for good (BEGIN and
	// COMMIT among them). Writer goroutine only.
	wstmts map[string]*sql.Stmt

	// With SyncFull the writer commits without waiting for the disk and
	// hands each committed batch to the syncer (syncq), which fsyncs the
	// write-ahead log once for every batch committed meanwhile and only
	// then publishes their events and acknowledges their writes. Nil with
	// SyncProcess: the writer acknowledges at once.
	syncq    chan []*op
	syncDone chan struct{}
	wal      walFile // the syncer's handle on the write-ahead log

	syncFailed atomic.Bool // a sync of the log failed: no more writes
	// syncBusy: the syncer has batches it has not acknowledged yet; it
	// signals synced when it has none left.
	syncBusy atomic.Bool
	synced   chan struct{}
	// syncedBytes: walw.written as the syncer's last sync began (syncer
	// goroutine only).
	syncedBytes int64
	// linger paces the syncer under a load of writes (syncer goroutine
	// only).
	linger lingerer
	// beforeSync, if set (by tests), runs before each sync of the log, in
	// its time (as a slower disk).
	beforeSync func()

	stats writerStats

	// convs caches chat conversations for sends (convcache.go). Writer
	// goroutine only.
	convs map[string]*cachedConv
}

// writerStats count what the writer did, for WriterStats.
type writerStats struct {
	commits, writes, busyNanos, commitNanos, syncs, syncNanos atomic.Int64
	lingers, savepoints, redone                               atomic.Int64
	stalls, stallNanos, slowSyncs                             atomic.Int64
}

// WriterStats say what the single writer has done since the store was
// opened: how many transactions it committed, how many writes they held
// (so Writes/Commits is the mean group-commit batch), and how long it was
// busy running them and, of that, in COMMIT (writing the WAL's frames; the
// fsync is the syncer's, in Syncs and Sync).
type WriterStats struct {
	Commits int64         `json:"commits"`
	Writes  int64         `json:"writes"`
	Busy    time.Duration `json:"busy_ns"`
	Commit  time.Duration `json:"commit_ns"`
	// Syncs of the write-ahead log by the syncer (SyncFull), each covering
	// every batch committed since the one before, and their time.
	Syncs int64         `json:"syncs"`
	Sync  time.Duration `json:"sync_ns"`
	// Of those, the disk's stalls (10 ms or more, and 10 ms more for each
	// megabyte the sync carried) and their time; and how many syncs took
	// slowSync (100 ms) or more (each also logged). Every write a stall
	// covers waited for it: on a shared host they, not the server, are
	// what fail a step's p99.
	Stalls    int64         `json:"stalls"`
	Stall     time.Duration `json:"stall_ns"`
	SlowSyncs int64         `json:"slow_syncs"`
	// Lingers counts the syncs after which the syncer waited lingerFor
	// for more writes, under a load of lingerRate or more (wal.go).
	Lingers int64 `json:"lingers"`
	// Savepoints counts the writes run in a savepoint of their own, and
	// Redone those run again after their transaction was rolled back
	// because a write without one failed (writer.go, run).
	Savepoints int64 `json:"savepoints"`
	Redone     int64 `json:"redone"`
	// LogBytes counts the bytes written to write-ahead logs (the pages
	// the commits changed, with their frame headers), whatever the disk's
	// speed: what the writes cost the log, the fsyncs and the checkpoints.
	// It counts every store of the process (the server has one).
	LogBytes int64 `json:"log_bytes"`
}

// WriterStats reads the writer's counters; safe for concurrent use.
func (s *Store) WriterStats() WriterStats {
	return WriterStats{Commits: s.stats.commits.Load(), Writes: s.stats.writes.Load(),
		Busy: time.Duration(s.stats.busyNanos.Load()), Commit: time.Duration(s.stats.commitNanos.Load()),
		Syncs: s.stats.syncs.Load(), Sync: time.Duration(s.stats.syncNanos.Load()),
		Stalls: s.stats.stalls.Load(), Stall: time.Duration(s.stats.stallNanos.Load()), SlowSyncs: s.stats.slowSyncs.Load(),
		Lingers: s.stats.lingers.Load(), Savepoints: s.stats.savepoints.Load(), Redone: s.stats.redone.Load(),
		LogBytes: walw.written.Load()}
}

// Options configure a Store.
type Options struct {
	// Publisher receives the events of every commit, in commit order. Nil
	// discards them.
	Publisher switchboard.EventPublisher
	Logger    *slog.Logger
	// Now replaces the clock in tests.
	Now func() time.Time
	// Sync is when a commit is durable before its writes are acknowledged:
	// SyncFull (the default) or SyncProcess; see those.
	Sync Sync
}

// Sync says how far a commit is on its way to the disk before the writes of
// its batch are acknowledged.
type Sync string

const (
	// SyncFull fsyncs the write-ahead log before any write of a commit is
	// acknowledged (the syncer's fdatasync, one for every commit made
	// while the last one ran): an acknowledged write survives a crash of
	// the process, of the operating system and a power loss.
	SyncFull Sync = "full"
	// SyncProcess writes every commit to the write-ahead log in the
	// operating system's cache and fsyncs it at checkpoints
	// (synchronous=NORMAL in WAL mode): an acknowledged write survives a
	// crash or kill -9 of the process, but an operating-system crash or
	// power loss may roll back the last commits (never corrupting the
	// database).
	SyncProcess Sync = "process"
)

// Open opens (creating if needed) the database at path and applies pending
// migrations. The caller must Close it.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	s := &Store{
		path:     path,
		logger:   opts.Logger,
		pub:      opts.Publisher,
		now:      opts.Now,
		ops:      make(chan *op, 4096),
		closed:   make(chan struct{}),
		done:     make(chan struct{}),
		ckptDone: make(chan struct{}),
		authDone: make(chan struct{}),
		rstmts:   map[string]*sql.Stmt{},
		wstmts:   map[string]*sql.Stmt{},
		convs:    map[string]*cachedConv{},
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	// The writer commits with synchronous=NORMAL: a commit is written to
	// the write-ahead log, not synced. With SyncFull the syncer (wal.go)
	// then fsyncs the log before any write of the batch is acknowledged,
	// overlapping the disk's wait with the next batch; with SyncProcess
	// the writes are acknowledged at once. Checkpoints sync the log before
	// copying it into the database and the database after (checkpoint.go).
	// temp_store=memory keeps the savepoints' statement journals off the
	// disk (they are rebuilt per transaction anyway), and a 64 MB page
	// cache per connection keeps the hot pages of the indexes.
	//
	// The writer needs its 64 MB as much as the readers: a message's entry
	// in messages_client_id goes to a random place in its conversation's
	// range (clients make their ids), so that index's pages are all
	// written to, and with a long history they are more than a small cache
	// holds. With 8 MB (the writer's size until change 34), the load
	// benchmark's later 1:1 steps spent 7% of the server's CPU reading
	// pages back from the log and the database, and
	// BenchmarkSendMessageLongHistory 84 against 66 CPU-µs per message.
	// (What made a large cache costly, the end of every transaction that
	// split a page scanning the whole cache, was fixed by change 31.)
	switch opts.Sync {
	case "", SyncFull:
		s.syncq = make(chan []*op, 256)
		s.syncDone = make(chan struct{})
		s.synced = make(chan struct{}, 1)
	case SyncProcess:
	default:
		return nil, fmt.Errorf("sync %q: want %q or %q", opts.Sync, SyncFull, SyncProcess)
	}
	pragmas := "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)" +
		"&_pragma=temp_store(memory)"
	cache := "&_pragma=cache_size(-65536)"
	var err error
	// The writer never checkpoints; the checkpointer does (checkpoint.go).
	// On failure, what was opened so far is closed again (release).
	if s.wdb, err = sql.Open("sqlite", "file:"+path+"?"+pragmas+cache+"&_pragma=synchronous(NORMAL)&_pragma=wal_autocheckpoint(0)&_txlock=immediate"); err != nil {
		return nil, fmt.Errorf("open writer: %w", err)
	}
	s.wdb.SetMaxOpenConns(1)
	s.wdb.SetMaxIdleConns(1)
	s.wdb.SetConnMaxLifetime(0)
	if err := s.migrate(ctx, 0); err != nil {
		s.release()
		return nil, err
	}
	// The writer runs its transactions on the connection itself, with
	// statements prepared on it once, rather than through database/sql's
	// Tx, which re-binds every prepared statement to each transaction and
	// prepares BEGIN afresh each time (6% of the server's CPU at 1,000
	// messages a second).
	if s.wconn, err = s.wdb.Conn(ctx); err != nil {
		s.release()
		return nil, fmt.Errorf("open writer: %w", err)
	}
	if s.syncq != nil {
		// The migrations, if any, committed unsynced too.
		s.wal.logger = s.logger
		if err = s.wal.open(path + "-wal"); err == nil {
			err = s.wal.sync()
		}
		if err == nil && s.wal.ring == nil {
			s.logger.Info("io_uring unavailable; the write-ahead log is synced with fdatasync, which holds a CPU while the disk works", "err", s.wal.noRing)
		}
		if err != nil {
			s.release()
			return nil, fmt.Errorf("open write-ahead log: %w", err)
		}
	}
	if s.rdb, err = sql.Open("sqlite", "file:"+path+"?"+pragmas+cache+"&_pragma=synchronous(FULL)&_pragma=query_only(1)&_pragma=mmap_size(1073741824)"); err != nil {
		s.release()
		return nil, fmt.Errorf("open readers: %w", err)
	}
	s.rdb.SetMaxOpenConns(8)
	s.rdb.SetMaxIdleConns(8)
	s.rdb.SetConnMaxLifetime(0)
	if s.cdb, err = sql.Open("sqlite", "file:"+path+"?"+pragmas+cache+"&_pragma=synchronous(FULL)&_pragma=wal_autocheckpoint(0)"); err != nil {
		s.release()
		return nil, fmt.Errorf("open checkpointer: %w", err)
	}
	s.cdb.SetMaxOpenConns(2)
	s.cdb.SetMaxIdleConns(2)
	s.cdb.SetConnMaxLifetime(0)
	if err = s.openCheckpointer(ctx); err != nil {
		s.release()
		return nil, fmt.Errorf("open checkpointer: %w", err)
	}
	go s.writer()
	if s.syncq != nil {
		s.syncedBytes = walw.written.Load()
		go s.syncer()
	}
	go s.checkpointer()
	go s.watchAuth()
	return s, nil
}

// Close stops the writer after the writes already queued and closes the
// database.
func (s *Store) Close() error {
	s.closeMu.Lock()
	if s.stopped {
		s.closeMu.Unlock()
		return nil
	}
	s.stopped = true
	close(s.closed)
	s.closeMu.Unlock()
	<-s.done
	if s.syncq != nil {
		<-s.syncDone
	}
	<-s.ckptDone
	<-s.authDone
	return s.release()
}

// release closes the connections and files of the store, those that are
// open: all of them after Close has stopped its goroutines, or what Open
// had opened when it failed.
func (s *Store) release() error {
	for _, st := range s.wstmts {
		st.Close()
	}
	errs := []error{s.ck.close()}
	if s.cdb != nil {
		errs = append(errs, s.cdb.Close())
	}
	if s.rdb != nil {
		errs = append(errs, s.rdb.Close())
	}
	if s.wconn != nil {
		errs = append(errs, s.wconn.Close())
	}
	if s.wdb != nil {
		errs = append(errs, s.wdb.Close())
	}
	return errors.Join(append(errs, s.wal.close())...)
}

// migrate applies the migrations the database does not have yet, up to
// number upTo (0: all of them; another number only for the tests, which
// build databases of older versions).
func (s *Store) migrate(ctx context.Context, upTo int) error {
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	var version int
	if err := s.wdb.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		n, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %s: bad name", name)
		} else if n <= version || (upTo > 0 && n > upTo) {
			continue
		}
		body, err := migrationFS.ReadFile(name)
		if err != nil {
			return err
		}
		tx, err := s.wdb.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %s: %w", base, err)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", n)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %s: %w", base, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migration %s: %w", base, err)
		}
		s.logger.Info("applied migration", "name", base)
	}
	return nil
}

// rstmt returns a statement prepared once on the read pool.
func (s *Store) rstmt(ctx context.Context, query string) (*sql.Stmt, error) {
	s.stmtMu.Lock()
	defer s.stmtMu.Unlock()
	if st, ok := s.rstmts[query]; ok {
		return st, nil
	}
	st, err := s.rdb.PrepareContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	s.rstmts[query] = st
	return st, nil
}

func (s *Store) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := s.rstmt(ctx, query)
	if err != nil {
		return s.rdb.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

func (s *Store) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := s.rstmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

func identity(ctx context.Context) (switchboard.Identity, error) {
	id, ok := switchboard.IdentityFromContext(ctx)
	if !ok {
		return id, switchboard.Errorf(switchboard.EUNAUTHORIZED, "Sign in first.")
	}
	return id, nil
}
