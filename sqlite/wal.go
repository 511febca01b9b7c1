package sqlite

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/switchboard-chat/switchboard"
)

// errSyncFailed refuses writes once a sync of the write-ahead log failed:
// after a failed fsync the kernel may have dropped the pages it could not
// write, and a later fsync that succeeds does not bring them back, so no
// further write could be promised durable. A restart recovers from what is
// on disk.
var errSyncFailed = switchboard.Errorf(switchboard.EUNAVAILABLE, "The database could not be written to disk; the server must be restarted.")

// slowSync is an fsync of the log long enough to be worth a warning: every
// write it covers waited for it.
const slowSync = 100 * time.Millisecond

// An fsync of the log counts as the disk's stall (WriterStats.Stalls) when
// it took syncStall (ten times its usual time here) and syncStallPerMB for
// each megabyte it carried (a disk writing 100 MB/s): a sync that carried
// the many megabytes of a server overloaded with writes takes long for
// what it carries, not for the disk's stall.
const (
	syncStall      = 10 * time.Millisecond
	syncStallPerMB = 10 * time.Millisecond
)

// syncer makes committed batches durable (SyncFull): it takes every batch
// the writer has committed since its last sync, fsyncs the write-ahead log
// once for all of them, and only then publishes their events and lets
// their writers go, in commit order. While it waits for the disk, the
// writer runs the next writes in a transaction it holds open and commits
// when the syncer is free (Store.hold); the more writes come in, the more
// share one commit and one fsync. A batch is never acknowledged before everything
// committed ahead of it is on disk, so nothing acknowledged can depend on
// a write that a crash could undo.
func (s *Store) syncer() {
	defer close(s.syncDone)
	var pending [][]*op
	for {
		b, ok := <-s.syncq
		if !ok {
			return
		}
		s.syncBusy.Store(true)
		pending = append(pending[:0], b)
		open := true
	more:
		for open {
			select {
			case b, open = <-s.syncq:
				if open {
					pending = append(pending, b)
				}
			default:
				break more
			}
		}
		// What this sync carries, as far as the package's log writes tell
		// (all of the process's logs; nothing without them).
		written := walw.written.Load()
		carried := written - s.syncedBytes
		s.syncedBytes = written
		began := time.Now()
		if s.beforeSync != nil {
			s.beforeSync()
		}
		err := s.wal.sync()
		if err == nil && walw.failed.Load() {
			// Frames of a commit could not be written out where no
			// caller could be told (walwrite.go).
			err = errors.New("a write to the write-ahead log failed")
		}
		took := time.Since(began)
		s.stats.syncs.Add(1)
		s.stats.syncNanos.Add(int64(took))
		if took >= syncStall+time.Duration(carried)*syncStallPerMB/(1<<20) {
			s.stats.stalls.Add(1)
			s.stats.stallNanos.Add(int64(took))
		}
		if took >= slowSync {
			s.stats.slowSyncs.Add(1)
			// Every write of these batches waited this long.
			s.logger.Warn("slow fsync of the write-ahead log", "took", took.Round(time.Millisecond), "batches", len(pending))
		}
		if err != nil && !s.syncFailed.Swap(true) {
			s.logger.Error("syncing the write-ahead log failed; refusing writes until restarted", "err", err)
		}
		writes := 0
		for _, batch := range pending {
			writes += len(batch)
			if err != nil {
				fail(batch, errSyncFailed)
			} else {
				s.acknowledge(batch)
			}
		}
		clear(pending)
		if !open {
			return
		}
		if d := s.linger.after(time.Now(), writes); d > 0 && len(s.syncq) == 0 {
			s.stats.lingers.Add(1)
			time.Sleep(d)
		}
		if len(s.syncq) == 0 {
			// Free: the writer commits the transaction it holds (hold).
			s.syncBusy.Store(false)
			select {
			case s.synced <- struct{}{}:
			default:
			}
		}
	}
}

// Under a load of writes the syncer lingers for lingerFor after each sync
// before it lets the writer commit the transaction it holds (Store.hold), so
// that one commit and one fsync carry more writes. A sync costs the server's
// core about 100 µs whatever it carries: the kernel's fdatasync, and the
// io_uring worker that runs it and wakes the syncer (fsync_linux.go); at
// 4,100 messages a second that was an eighth of the CPU of a message. The
// writes wait lingerFor more at most, which a load of lingerRate or more
// can afford (its target is a p99 of 50 ms) and the latency target at 1,000
// writes a second (p50 ≤ 2 ms) cannot: below lingerRate the syncer never
// lingers. Nor does it when its syncs carried fewer than lingerShare writes
// on average: then the writes do not come in together (one client sending
// one message after another, each after the last one's answer), and
// lingering would only slow them down. Both are measured over windows of
// at least lingerWindow, by the clock, so that the burst a stall of the
// disk leaves behind does not look like load.
const (
	lingerRate   = 2000 // writes a second
	lingerShare  = 2    // writes a sync
	lingerFor    = time.Millisecond
	lingerWindow = 50 * time.Millisecond
)

// lingerer measures the writes the syncer acknowledges and tells it when
// to linger.
type lingerer struct {
	start  time.Time // of the current window
	writes int       // acknowledged in the current window
	syncs  int       // in the current window
	loaded bool      // the last window was a load to linger under
}

// after counts a sync at now that acknowledged writes, and returns how long
// to linger after it.
func (l *lingerer) after(now time.Time, writes int) time.Duration {
	if l.start.IsZero() {
		l.start = now
	}
	l.writes += writes
	l.syncs++
	if took := now.Sub(l.start); took >= lingerWindow {
		l.loaded = float64(l.writes) >= lingerRate*took.Seconds() && l.writes >= lingerShare*l.syncs
		l.start, l.writes, l.syncs = now, 0, 0
	}
	if l.loaded {
		return lingerFor
	}
	return 0
}

// walFile is a handle of the syncer's own on the database's write-ahead
// log, which SQLite keeps open, and in place (a checkpoint truncates or
// rewinds it, never replaces it), for as long as any of the store's
// connections is open; fsync flushes a file's pages whichever descriptor
// it is called on.
type walFile struct {
	path string
	f    *os.File
	ring *uringSyncer // nil: fdatasync is called directly
	// noRing says why there is no ring (set up failed, or it failed).
	noRing error
	logger *slog.Logger
}

// ringError is a failure of the io_uring itself, not of the sync it
// carried: the syncer then gives the ring up and calls fdatasync.
type ringError struct{ err error }

func (e *ringError) Error() string { return e.err.Error() }
func (e *ringError) Unwrap() error { return e.err }

func (w *walFile) open(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	w.path, w.f = path, f
	w.ring, w.noRing = newUringSyncer()
	return nil
}

// sync flushes the log to disk with fdatasync, as SQLite does on Linux:
// the log's data and its size, not its timestamps.
func (w *walFile) sync() error {
	var err error
	if w.ring != nil {
		err = w.ring.fdatasync(int(w.f.Fd()))
		var re *ringError
		if errors.As(err, &re) {
			// The ring broke, not the disk: sync directly from now on.
			w.ring.close()
			w.ring, w.noRing = nil, err
			w.logger.Warn("io_uring failed; syncing the write-ahead log with fdatasync from now on", "err", err)
			err = datasync(w.f)
		}
	} else {
		err = datasync(w.f)
	}
	if err != nil {
		return fmt.Errorf("fdatasync %s: %w", w.path, err)
	}
	return nil
}

func (w *walFile) close() error {
	if w.ring != nil {
		w.ring.close()
		w.ring = nil
	}
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	return err
}
