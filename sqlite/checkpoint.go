package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Checkpoints copy the pages of the write-ahead log back into the database
// file. SQLite runs them by default inside the commit that crosses 1000
// pages, on the writer, so every such commit (and every write of its batch)
// waits for a thousand page writes and an fsync of the database file. Here
// the writer never checkpoints (wal_autocheckpoint=0): a checkpointer
// goroutine on its own connection does, in PASSIVE mode, which runs
// alongside the writer and the readers without blocking them. A page written
// by many commits in between is copied once. Durability is unchanged: a
// commit is durable once it is in the WAL (see Sync).
//
// A checkpoint needs two fsyncs: of the log before its frames are copied
// (a page must not reach the database from a commit a power loss could
// still take back), and of the database before the log may start over
// (the copies must be on disk before the frames they came from are
// overwritten). SQLite makes them as blocking system calls, and a blocking
// call holds the goroutine's P until Go's monitor takes it back, which
// under load it does only after 10–20 ms (see fsync_linux.go): with
// GOMAXPROCS=1 every checkpoint stopped the whole server that long, once a
// second (change 35). So the checkpointing connection runs with
// synchronous=OFF, and the checkpointer makes both fsyncs itself, through
// an io_uring like the syncer's, parked while the disk works:
//
//  1. a second connection (hold) opens a read transaction, whose snapshot
//     bounds what the checkpoint may copy, and keeps it open: while any
//     reader is in the log, SQLite's writer cannot start the log over;
//  2. the log is synced, so everything the snapshot holds is on disk;
//  3. the passive checkpoint copies what it can (no further than the
//     snapshot) into the database, without syncing anything;
//  4. the database is written back a part at a time, then synced;
//  5. the read transaction ends, and the log may start over.
//
// If the files cannot be opened for syncing, the checkpointing connection
// keeps synchronous=FULL and SQLite syncs as it would.

const (
	// checkpointEvery is how often the checkpointer copies what the WAL
	// holds back into the database file.
	checkpointEvery = time.Second
	// restartPages is the WAL size from which it also waits for the writer
	// and the readers so that the log starts over from its beginning, which
	// bounds the file when passive checkpoints cannot catch up.
	restartPages = 64000
)

// ckpt is the checkpointer's state, used only by its goroutine (and by
// tests that call checkpoint directly, under ckptMu).
type ckpt struct {
	conn *sql.Conn // checkpoints; synchronous=OFF when syncs is set
	hold *sql.Conn // the read transaction that keeps the log from restarting
	// wal and db are the checkpointer's handles on the log and the
	// database, each with its own ring; syncs says they are open.
	wal, db walFile
	syncs   bool
	// logCalls is walw.calls when the log was last synced, and settled
	// says the checkpoint after that sync copied all the log held: while
	// both still hold, no log has been written since and there is nothing
	// to copy or sync (an idle store checkpoints without touching the disk).
	logCalls int64
	settled  bool
	// walSyncs and dbSyncs count the syncs the checkpointer made.
	walSyncs, dbSyncs int
	// failed: a sync of the database failed. The read transaction is
	// left open, so the log, the only durable copy of what was copied,
	// is never started over, and no checkpoint runs again; the store
	// refuses writes until restarted (syncFailed), as when the log's
	// sync fails.
	failed bool
	// afterCopy, if set (by tests), runs between the copy and the
	// database's sync.
	afterCopy func()
}

func (s *Store) checkpointer() {
	defer close(s.ckptDone)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-s.closed:
			return
		case <-t.C:
		}
		s.ckptMu.Lock()
		err := s.checkpoint(context.Background())
		s.ckptMu.Unlock()
		if err != nil {
			s.logger.Warn("checkpoint", "err", err)
		}
	}
}

// openCheckpointer sets up the checkpointer's connections and files.
func (s *Store) openCheckpointer(ctx context.Context) error {
	c := &s.ck
	var err error
	if c.conn, err = s.cdb.Conn(ctx); err != nil {
		return err
	}
	if c.hold, err = s.cdb.Conn(ctx); err != nil {
		return err
	}
	c.wal.logger, c.db.logger = s.logger, s.logger
	if err := c.wal.open(s.path + "-wal"); err != nil {
		s.logger.Warn("checkpoints sync through SQLite (blocking)", "err", err)
		return nil
	}
	if err := c.db.open(s.path); err != nil {
		c.wal.close()
		s.logger.Warn("checkpoints sync through SQLite (blocking)", "err", err)
		return nil
	}
	if _, err := c.conn.ExecContext(ctx, "PRAGMA synchronous=OFF"); err != nil {
		return err
	}
	c.syncs = true
	return nil
}

func (c *ckpt) close() error {
	var errs []error
	for _, cn := range []*sql.Conn{c.conn, c.hold} {
		if cn != nil {
			errs = append(errs, cn.Close())
		}
	}
	errs = append(errs, c.wal.close(), c.db.close())
	return errors.Join(errs...)
}

// checkpoint runs one passive checkpoint, and a restarting one if the WAL
// has grown too much. The caller holds ckptMu.
func (s *Store) checkpoint(ctx context.Context) error {
	c := &s.ck
	if c.failed {
		return nil
	}
	var busy, log, done int
	if !c.syncs {
		if err := c.conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &log, &done); err != nil {
			return fmt.Errorf("passive checkpoint: %w", err)
		}
	} else if err := s.syncedCheckpoint(ctx, &log, &done); err != nil {
		return err
	}
	if log >= restartPages && done >= log {
		// On hold, synchronous=FULL: whatever this copies, SQLite syncs.
		if err := c.hold.QueryRowContext(ctx, "PRAGMA wal_checkpoint(RESTART)").Scan(&busy, &log, &done); err != nil {
			return fmt.Errorf("restart checkpoint: %w", err)
		}
	}
	return nil
}

// syncedCheckpoint is steps 1–5 above. It leaves log and done at 0 when
// nothing was written since the last one, which copied everything.
func (s *Store) syncedCheckpoint(ctx context.Context, log, done *int) (err error) {
	c := &s.ck
	// The counters of writes are those of the package's own pwrite; where
	// SQLite's is in place (noWALWrites), every checkpoint syncs.
	counted := noWALWrites == nil
	calls := walw.calls.Load()
	if counted && c.settled && calls == c.logCalls {
		return nil
	}
	if _, err := c.hold.ExecContext(ctx, "BEGIN"); err != nil {
		return fmt.Errorf("checkpoint: begin: %w", err)
	}
	defer func() {
		if c.failed {
			return
		}
		if _, rerr := c.hold.ExecContext(context.WithoutCancel(ctx), "ROLLBACK"); rerr != nil && err == nil {
			err = fmt.Errorf("checkpoint: end read: %w", rerr)
		}
	}()
	var one int
	if err := c.hold.QueryRowContext(ctx, "SELECT 1 FROM sqlite_schema LIMIT 1").Scan(&one); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("checkpoint: read: %w", err)
	}
	if err := c.wal.sync(); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	c.walSyncs++
	c.logCalls = calls
	dbWrites := walw.dbWrites.Load()
	var busy int
	if err := c.conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, log, done); err != nil {
		c.settled = false
		return fmt.Errorf("passive checkpoint: %w", err)
	}
	c.settled = *done >= *log
	if c.afterCopy != nil {
		c.afterCopy()
	}
	if counted && walw.dbWrites.Load() == dbWrites {
		return nil // no page was copied: nothing of the database to sync
	}
	_ = c.writeBack() // if it fails, the fsync writes what is left
	if err := c.db.sync(); err != nil {
		c.failed = true
		if !s.syncFailed.Swap(true) {
			s.logger.Error("syncing the database in a checkpoint failed; refusing writes until restarted", "err", err)
		}
		return nil
	}
	c.dbSyncs++
	return nil
}

// writeBack writes the database's dirty pages to disk a part of the file
// at a time, waiting for each part (sync_file_range through the ring),
// ahead of the fsync that makes them durable. In one fsync the pages of a
// second of checkpoints go to the disk at once, and the syncer's fsyncs of
// the log that are issued meanwhile wait behind them all; in parts, behind
// one part. The fsync that follows still syncs everything (and whatever
// the parts could not write, if one fails).
func (c *ckpt) writeBack() error {
	if c.db.ring == nil {
		return nil
	}
	st, err := c.db.f.Stat()
	if err != nil {
		return err
	}
	part := min(max(writeBackPart, st.Size()/writeBackParts+1), 1<<31)
	for off := int64(0); off < st.Size(); off += part {
		if err := c.db.ring.syncRange(int(c.db.f.Fd()), off, uint32(part)); err != nil {
			return err
		}
	}
	return nil
}

// The database is written back in parts of writeBackPart bytes, or in
// writeBackParts parts when it is larger than that many of them.
const (
	writeBackPart  = 16 << 20
	writeBackParts = 64
)
