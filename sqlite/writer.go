package sqlite

// The single writer: writes queue as ops, and the writer goroutine runs them
// in batches, each in a savepoint of one transaction that it holds open
// while the syncer is busy (or, while the transaction holds only writes that
// can run again, in none: see run), commits them together and hands the
// batch to the syncer (wal.go) or acknowledges it.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/switchboard-chat/switchboard"
)

// maxBatch bounds how many writes share one transaction.
const maxBatch = 512

// maxYields bounds how often the writer yields to let more writes join a
// batch, for yieldNap each time.
const (
	maxYields = 8
	// See Store.yield.
	slowYield = 10 * time.Millisecond
	busyFor   = time.Second
	yieldNap  = 20 * time.Microsecond
)

// op is one write: fn runs inside the batch transaction, within a savepoint
// unless it can run again (see run).
type op struct {
	fn func(w *wtx) error
	// again: fn can run again, from the start, after its transaction
	// rolled back (see writeAgain).
	again  bool
	events []*switchboard.Event
	err    error
	done   chan struct{}
}

// wtx is the writer's view of the current transaction.
type wtx struct {
	s   *Store
	ctx context.Context
	now time.Time
	// tick orders activity: a microsecond time that grows with every
	// write, even within one batch or one millisecond.
	tick int64
	op   *op
	// touched are the conversations whose cache entries the write filled
	// or moved, forgotten if it fails (convcache.go).
	touched []string
	// wrote: the write ran a statement through exec, which may have
	// changed the database.
	wrote bool
}

// nextEvent hands out the next event id.
func (w *wtx) nextEvent() int64 {
	w.s.lastEvent++
	return w.s.lastEvent
}

func (w *wtx) exec(query string, args ...any) (sql.Result, error) {
	w.wrote = true
	if st := w.stmt(query); st != nil {
		return st.ExecContext(w.ctx, args...)
	}
	return w.s.wconn.ExecContext(w.ctx, query, args...)
}

func (w *wtx) queryRow(query string, args ...any) *sql.Row {
	if st := w.stmt(query); st != nil {
		return st.QueryRowContext(w.ctx, args...)
	}
	return w.s.wconn.QueryRowContext(w.ctx, query, args...)
}

func (w *wtx) query(query string, args ...any) (*sql.Rows, error) {
	if st := w.stmt(query); st != nil {
		return st.QueryContext(w.ctx, args...)
	}
	return w.s.wconn.QueryContext(w.ctx, query, args...)
}

// write queues fn and waits until its batch has committed and its events
// are published. A write that was never started honours ctx; once started it
// runs to the end so that it is either wholly committed or not at all.
func (s *Store) write(ctx context.Context, fn func(w *wtx) error) error {
	return s.queue(ctx, &op{fn: fn, done: make(chan struct{})})
}

// writeAgain is write for a write whose fn can run again from the start
// after its transaction rolled back, with the same outcome as if it had run
// once: it changes the database only through exec, and of anything else
// only what it sets afresh each time it runs (its caller's values, its
// events, the conversation cache through wtx.touched). Such writes need no
// savepoint while a transaction holds only them (see run).
func (s *Store) writeAgain(ctx context.Context, fn func(w *wtx) error) error {
	return s.queue(ctx, &op{fn: fn, again: true, done: make(chan struct{})})
}

func (s *Store) queue(ctx context.Context, o *op) error {
	s.closeMu.RLock()
	if s.stopped {
		s.closeMu.RUnlock()
		return switchboard.Errorf(switchboard.EUNAVAILABLE, "The server is shutting down.")
	}
	if s.syncFailed.Load() {
		s.closeMu.RUnlock()
		return errSyncFailed
	}
	select {
	case s.ops <- o:
		s.closeMu.RUnlock()
	case <-ctx.Done():
		s.closeMu.RUnlock()
		return ctx.Err()
	}
	<-o.done
	return o.err
}

func (s *Store) writer() {
	defer close(s.done)
	if s.syncq != nil {
		defer close(s.syncq)
	}
	round := make([]*op, 0, maxBatch)
	last := 0 // writes in the last round
	for {
		var first *op
		// While a transaction is held open (see hold), the syncer's
		// wake-up commits it; the writes that come meanwhile join it.
		var synced <-chan struct{}
		if s.txOpen {
			synced = s.synced
		}
		select {
		case first = <-s.ops:
		case <-synced:
			s.commitHeld()
			continue
		case <-s.closed:
			// No write can be queued any more (see write): finish those
			// that were, then stop.
			select {
			case first = <-s.ops:
			default:
				s.commitHeld()
				return
			}
		}
		// Under a load of writes, let the goroutines that are ready to run
		// (requests on their way to a write) queue theirs before this round
		// runs: every write in a transaction shares its WAL pages and its
		// fsync, and with one CPU the write that woke the writer would
		// otherwise run alone (a woken goroutine runs next). The writer
		// yields as long as writes keep coming in, at most maxYields times.
		// It is skipped when the last round was a single write (then writes
		// are sparse) and while a transaction is held open (then the writer
		// is waiting for the syncer anyway).
		yields := maxYields
		if last <= 1 || s.txOpen {
			yields = 0
		}
		round = append(round[:0], first)
		for range yields {
			n := len(s.ops)
			s.yield()
			if len(s.ops) == n {
				break
			}
		}
	fill:
		for len(s.held)+len(round) < maxBatch {
			select {
			case o := <-s.ops:
				round = append(round, o)
			default:
				break fill
			}
		}
		last = len(round)
		began := time.Now()
		s.run(round, true)
		s.stats.busyNanos.Add(int64(time.Since(began)))
		if s.txOpen && !s.hold() {
			s.commitHeld()
		}
	}
}

// hold tells whether the open transaction should stay open to take in more
// writes: while the syncer is still syncing what was committed before, a
// commit now would only wait in its queue, and the writes that arrive
// meanwhile cost less in the same transaction (a page they share is written
// to the log once, and each commit has a cost of its own). It holds nothing
// without a syncer (SyncProcess), and at most maxBatch writes. Waiting costs
// the writes no latency: they are acknowledged after the syncer's next
// fsync either way. Writer goroutine only.
func (s *Store) hold() bool {
	if s.syncq == nil || len(s.held) >= maxBatch {
		return false
	}
	// A wake-up left from before would commit a held transaction at once.
	select {
	case <-s.synced:
	default:
	}
	return s.syncBusy.Load() || len(s.syncq) > 0
}

// yield lets the goroutines that are ready to run go first, briefly.
//
// runtime.Gosched puts the writer at the back of the global run queue:
// right when little else is runnable, but while thousands of goroutines
// are (a storm of reconnects) it waited there for seconds, with its batch
// and every sender behind it. So a yield that took longer than slowYield
// makes the writer nap on a timer instead, for busyFor: a goroutine woken
// by a timer runs next. (Napping is no good when the CPU is otherwise
// idle: then the timer fires at the poller's millisecond resolution.)
// Writer goroutine only.
func (s *Store) yield() {
	now := time.Now()
	if now.Before(s.busyUntil) {
		time.Sleep(yieldNap)
		return
	}
	runtime.Gosched()
	if time.Since(now) > slowYield {
		s.busyUntil = time.Now().Add(busyFor)
	}
}

// run runs a round of writes in the open transaction, beginning one if
// none is, each in a savepoint of its own: a write that fails is undone
// alone. They join s.held, to be committed together. If the transaction
// itself fails, every write it held fails with it.
//
// A transaction begun with bare runs the writes that can run again
// (writeAgain) without savepoints for as long as it holds only such writes:
// a savepoint costs two statements and a copy of every page the write
// changes, about 4% of the server's CPU for a 1:1 message. If one of them
// fails after it ran a statement that writes (rare: a send fails only
// before its insert, unless the disk or a trigger fails it), or with an
// error of the store's rather than the client's, the whole transaction is
// rolled back and its writes run again, each in a savepoint this time (see
// redo). A failure before any write (an unknown conversation) needs
// nothing undone.
func (s *Store) run(round []*op, bare bool) {
	ctx := context.Background()
	now := s.now().UTC().Truncate(time.Millisecond)
	bw := &wtx{s: s, ctx: ctx, now: now}
	if !s.txOpen {
		if _, err := bw.exec("BEGIN IMMEDIATE"); err != nil {
			fail(round, fmt.Errorf("begin: %w", err))
			return
		}
		if err := s.catchUp(bw); err != nil {
			bw.exec("ROLLBACK")
			fail(round, fmt.Errorf("begin: %w", err))
			return
		}
		s.txOpen, s.bare = true, bare
	}
	for i, o := range round {
		// abort rolls the transaction back and fails what it held, this
		// write and the rest of the round (the earlier ones are held).
		abort := func(err error) {
			bw.exec("ROLLBACK")
			clear(s.convs)
			s.txOpen = false
			fail(s.held, err)
			fail(round[i:], err)
			s.held = nil
		}
		s.tick = max(s.tick+1, now.UnixMicro())
		w := &wtx{s: s, ctx: ctx, now: now, tick: s.tick, op: o}
		// The first write that cannot run again takes a savepoint, and so
		// does every write after it in this transaction.
		s.bare = s.bare && o.again
		if !s.bare {
			if _, err := bw.exec("SAVEPOINT op"); err != nil {
				abort(fmt.Errorf("savepoint: %w", err))
				return
			}
			s.stats.savepoints.Add(1)
		}
		if o.err = o.fn(w); o.err != nil {
			o.events = nil
			for _, id := range w.touched {
				delete(s.convs, id)
			}
			if _, ok := errors.AsType[*switchboard.Error](o.err); s.bare && (w.wrote || !ok) {
				s.redo(round[i:])
				return
			} else if !s.bare {
				if _, err := bw.exec("ROLLBACK TO op"); err != nil {
					abort(fmt.Errorf("rollback to savepoint: %w", err))
					return
				}
			}
		}
		if !s.bare {
			if _, err := bw.exec("RELEASE op"); err != nil {
				abort(fmt.Errorf("release savepoint: %w", err))
				return
			}
		}
		s.held = append(s.held, o)
	}
}

// redo rolls back a bare transaction (see run) in which the first write of
// rest failed, and runs what it held and rest again in a new transaction,
// each in a savepoint of its own.
func (s *Store) redo(rest []*op) {
	bw := &wtx{s: s, ctx: context.Background()}
	bw.exec("ROLLBACK") // fails if the error took the transaction with it
	clear(s.convs)
	again := append(s.held, rest...)
	s.held, s.txOpen, s.bare = nil, false, false
	for _, o := range again {
		o.err, o.events = nil, nil
	}
	s.stats.redone.Add(int64(len(again)))
	s.run(again, false)
}

// catchUp catches up, in a transaction just begun, with what other
// connections committed since the writer's last transaction: the server and
// an admin command are two processes on one database. If anything was
// (PRAGMA data_version moved), the writer's cached conversations are
// forgotten and the last event id is read from the log's sequence again.
// Otherwise the sequence stands at the last id the writer handed out, or
// below after a rollback, and is moved at the next commit.
func (s *Store) catchUp(bw *wtx) error {
	var v int64
	if err := bw.queryRow(`PRAGMA data_version`).Scan(&v); err != nil {
		return fmt.Errorf("read data version: %w", err)
	}
	if v != s.dataVersion || s.lastEvent == 0 {
		s.dataVersion = v
		clear(s.convs)
		if err := bw.queryRow(`SELECT seq FROM sqlite_sequence WHERE name = 'events'`).Scan(&s.lastEvent); err != nil {
			return fmt.Errorf("read the event sequence: %w", err)
		}
	}
	s.seqEvent = s.lastEvent
	return nil
}

// fail lets the writes of ops go with err (those that failed on their own
// keep their error), publishing nothing.
func fail(ops []*op, err error) {
	for _, o := range ops {
		o.events = nil
		if o.err == nil {
			o.err = err
		}
		close(o.done)
	}
}

// commitHeld commits the open transaction, if any. With a syncer, its
// writes are acknowledged once the syncer has the log on disk, while the
// writer goes on; without one, at once.
func (s *Store) commitHeld() {
	if !s.txOpen {
		return
	}
	batch := s.held
	s.held, s.txOpen = nil, false
	bw := &wtx{s: s, ctx: context.Background()}
	committing := time.Now()
	var err error
	if s.lastEvent > s.seqEvent {
		// The event ids handed out to messages (nextEvent): explicit
		// inserts into the log have moved the sequence themselves.
		_, err = bw.exec(`UPDATE sqlite_sequence SET seq = ?1 WHERE name = 'events' AND seq < ?1`, s.lastEvent)
	}
	if err == nil {
		_, err = bw.exec("COMMIT")
	}
	took := time.Since(committing)
	s.stats.commitNanos.Add(int64(took))
	s.stats.busyNanos.Add(int64(took))
	s.stats.commits.Add(1)
	s.stats.writes.Add(int64(len(batch)))
	if err != nil {
		// A failed COMMIT can leave the transaction open.
		bw.exec("ROLLBACK")
		clear(s.convs)
		fail(batch, fmt.Errorf("commit: %w", err))
		return
	}
	if s.syncq != nil {
		s.syncq <- batch
		return
	}
	s.acknowledge(batch)
}

// acknowledge publishes the events of a committed batch, in commit order,
// and lets its writers go.
func (s *Store) acknowledge(batch []*op) {
	if s.pub != nil {
		var events []*switchboard.Event
		for _, o := range batch {
			events = append(events, o.events...)
		}
		if len(events) > 0 {
			s.pub.Publish(events...)
		}
	}
	for _, o := range batch {
		close(o.done)
	}
}

// stmt returns query prepared on the writer's connection, once, or nil if
// it cannot be prepared (the caller then runs the query directly, which
// reports the error).
func (w *wtx) stmt(query string) *sql.Stmt {
	if st, ok := w.s.wstmts[query]; ok {
		return st
	}
	st, err := w.s.wconn.PrepareContext(w.ctx, query)
	if err != nil {
		return nil
	}
	w.s.wstmts[query] = st
	return st
}
