package sqlite

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"modernc.org/libc"
	"modernc.org/libc/errno"
	lib "modernc.org/sqlite/lib"
)

// Writes to the write-ahead log, one system call per commit.
//
// SQLite writes a commit to the log as frames, each with two pwrite calls
// (its 24-byte header, then the page), one frame per page the commit
// changed: about ten calls per 1:1 message, each several microseconds on a
// virtual machine, 10–13% of the server's CPU. Its unix VFS lets a program
// replace the system calls it makes (xSetSystemCall, made for testing), so
// the package puts its own pwrite in front of SQLite's: a write to a log
// that continues the one before it is kept in a buffer, and the buffer is
// written with one pwrite
//
//   - with the page of a commit frame (whose header carries the database's
//     new size), the last write of a commit: its error, if any, is the
//     commit's, and SQLite rolls the transaction back as it would have;
//   - before a write that does not continue it, before any read, truncation
//     or close of the log, and when it holds 4 MB (a transaction that
//     spills pages before its commit);
//   - and, in any case, before SQLite publishes a commit to readers: it does
//     so by writing the wal-index header twice with a memory barrier in
//     between, a reader (of any process) taking the header only when both
//     copies agree, and the unix VFS's barrier takes its global mutex,
//     whose entry (sqlite/mutex.go) writes out whatever is buffered.
//
// So no reader, checkpointer or other process can see a frame that is not
// in the file, a failed write fails its commit, and a crash loses only
// frames of a commit that never completed (SQLite's recovery discards
// them, as it discards any torn tail of the log). If the calls cannot be
// replaced, SQLite keeps its own and noWALWrites says why.

// noWALWrites is nil when log writes are gathered, or why they are not.
var noWALWrites error

// walFlushAt is how much a log buffer holds before it is written out
// ahead of its commit.
const walFlushAt = 4 << 20

// dbWritesPerYield: a checkpoint copies thousands of pages a second under
// load, each a read of the log and a write of the database, system calls
// short enough that Go never hands the P on during them, so its goroutine
// would keep the P for 10 ms at a time (until the runtime preempts it),
// and with GOMAXPROCS=1 nothing else would run meanwhile. It yields after
// this many writes (about 0.2 ms of copying) instead.
const dbWritesPerYield = 32

// walBuf is what is buffered for one open log file descriptor.
type walBuf struct {
	buf []byte
	off int64 // file offset of buf[0]
	// commitNext: the last write was the header of a commit frame, so the
	// next (its page) ends the commit.
	commitNext bool
}

var walw struct {
	mu  sync.Mutex
	fds map[int32]*walBuf // open write-ahead log descriptors
	// pending counts buffered bytes in all logs, for the quick check of
	// the flush points.
	pending atomic.Int64
	// gathered and calls count the log writes that were buffered and the
	// pwrite calls that wrote them out (WALWrites).
	gathered, calls atomic.Int64
	// failed is set by a write-out that had no caller to fail (the
	// barrier's): the syncer then fails the writes it would acknowledge.
	failed atomic.Bool
	// written counts the bytes written out to logs: how much each of the
	// syncer's fsyncs carried, and WriterStats.LogBytes.
	written atomic.Int64
	// dbWrites counts writes to other files than logs (the database's,
	// by checkpoints), for the checkpoint's yields.
	dbWrites atomic.Int64

	open      uintptr // SQLite's own system calls
	close     uintptr
	pread     uintptr
	pwrite    uintptr
	ftruncate uintptr
}

// WALWrites says how many writes to write-ahead logs this process gathered
// and in how many system calls it made them.
func WALWrites() (writes, calls int64) { return walw.gathered.Load(), walw.calls.Load() }

// installWALWrites puts the package's system calls in front of SQLite's
// unix VFS's (see above). It runs in the package's initialisation, after
// the mutex methods, before any file is opened.
func installWALWrites() error {
	tls := libc.NewTLS()
	defer tls.Close()
	vfs := lib.Xsqlite3_vfs_find(tls, 0)
	if vfs == 0 {
		return fmt.Errorf("no default VFS")
	}
	v := (*lib.Tsqlite3_vfs)(cmem(vfs))
	if v.FiVersion < 3 || v.FxSetSystemCall == 0 || v.FxGetSystemCall == 0 {
		return fmt.Errorf("the default VFS cannot replace its system calls")
	}
	get := cfn[func(*libc.TLS, uintptr, uintptr) uintptr](v.FxGetSystemCall)
	set := cfn[func(*libc.TLS, uintptr, uintptr, uintptr) int32](v.FxSetSystemCall)
	calls := []struct {
		name string
		orig *uintptr
		ours uintptr
	}{
		{"open", &walw.open, cptr(walOpen)},
		{"close", &walw.close, cptr(walClose)},
		{"pread", &walw.pread, cptr(walPread)},
		{"pwrite", &walw.pwrite, cptr(walPwrite)},
		{"ftruncate", &walw.ftruncate, cptr(walFtruncate)},
	}
	names := make([]uintptr, len(calls))
	for i, c := range calls {
		name, err := libc.CString(c.name)
		if err != nil {
			return err
		}
		defer libc.Xfree(tls, name)
		names[i] = name
		if *c.orig = get(tls, vfs, name); *c.orig == 0 {
			return fmt.Errorf("the default VFS has no system call %q", c.name)
		}
	}
	walw.fds = map[int32]*walBuf{}
	for i, c := range calls {
		if rc := set(tls, vfs, names[i], c.ours); rc != lib.SQLITE_OK {
			// Put back those already replaced.
			for j := range i {
				set(tls, vfs, names[j], *calls[j].orig)
			}
			return fmt.Errorf("replacing %q: %d", c.name, rc)
		}
	}
	return nil
}

// cmem is the memory at C address p (SQLite's and the C library's memory,
// which is not Go's and does not move).
func cmem(p uintptr) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&p)) }

// isWAL reports whether the NUL-terminated path at p names a write-ahead
// log.
func isWAL(p uintptr) bool {
	name := libc.GoString(p)
	return len(name) > 4 && name[len(name)-4:] == "-wal"
}

func walOpen(tls *libc.TLS, path uintptr, flags, mode int32) int32 {
	fd := cfn[func(*libc.TLS, uintptr, int32, int32) int32](walw.open)(tls, path, flags, mode)
	if fd >= 0 && isWAL(path) {
		walw.mu.Lock()
		walw.fds[fd] = &walBuf{}
		walw.mu.Unlock()
	}
	return fd
}

func walClose(tls *libc.TLS, fd int32) int32 {
	walw.mu.Lock()
	if b := walw.fds[fd]; b != nil {
		walFlushLocked(tls, fd, b)
		delete(walw.fds, fd)
	}
	walw.mu.Unlock()
	return cfn[func(*libc.TLS, int32) int32](walw.close)(tls, fd)
}

func walPread(tls *libc.TLS, fd int32, buf uintptr, n lib.Tsize_t, off lib.Toff_t) lib.Tssize_t {
	if walw.pending.Load() > 0 {
		// A read of any log sees every write before it.
		walFlushAll(tls)
	}
	return cfn[func(*libc.TLS, int32, uintptr, lib.Tsize_t, lib.Toff_t) lib.Tssize_t](walw.pread)(tls, fd, buf, n, off)
}

func walFtruncate(tls *libc.TLS, fd int32, size lib.Toff_t) int32 {
	if walw.pending.Load() > 0 {
		walFlushAll(tls)
	}
	return cfn[func(*libc.TLS, int32, lib.Toff_t) int32](walw.ftruncate)(tls, fd, size)
}

func walPwrite(tls *libc.TLS, fd int32, p uintptr, n lib.Tsize_t, off lib.Toff_t) lib.Tssize_t {
	walw.mu.Lock()
	b := walw.fds[fd]
	if b == nil {
		walw.mu.Unlock()
		if walw.dbWrites.Add(1)%dbWritesPerYield == 0 {
			runtime.Gosched()
		}
		return cfn[func(*libc.TLS, int32, uintptr, lib.Tsize_t, lib.Toff_t) lib.Tssize_t](walw.pwrite)(tls, fd, p, n, off)
	}
	defer walw.mu.Unlock()
	if len(b.buf) > 0 && int64(off) != b.off+int64(len(b.buf)) {
		// Not a continuation (SQLite rewrites a frame of the open
		// transaction in place, or the log starts over).
		if !walFlushLocked(tls, fd, b) {
			return -1
		}
	}
	if len(b.buf) == 0 {
		b.off = int64(off)
	}
	data := unsafe.Slice((*byte)(cmem(p)), int(n))
	b.buf = append(b.buf, data...)
	walw.pending.Add(int64(n))
	walw.gathered.Add(1)
	ends := b.commitNext
	b.commitNext = n == 24 && binary.BigEndian.Uint32(data[4:8]) != 0
	if ends || len(b.buf) >= walFlushAt {
		if !walFlushLocked(tls, fd, b) {
			return -1
		}
	}
	return lib.Tssize_t(n)
}

// walFlushAll writes out every buffered log write.
func walFlushAll(tls *libc.TLS) {
	walw.mu.Lock()
	defer walw.mu.Unlock()
	for fd, b := range walw.fds {
		if len(b.buf) > 0 && !walFlushLocked(tls, fd, b) {
			// Nobody to tell but the syncer (see failed).
			walw.failed.Store(true)
		}
	}
}

// walFlushLocked writes out b, buffered for fd, with SQLite's own pwrite,
// and reports whether it could; if not, the caller's errno says why, and
// what was buffered is dropped. walw.mu is held.
func walFlushLocked(tls *libc.TLS, fd int32, b *walBuf) bool {
	pwrite := cfn[func(*libc.TLS, int32, uintptr, lib.Tsize_t, lib.Toff_t) lib.Tssize_t](walw.pwrite)
	buf, off := b.buf, b.off
	ok := true
	for len(buf) > 0 {
		walw.calls.Add(1)
		n := pwrite(tls, fd, uintptr(unsafe.Pointer(&buf[0])), lib.Tsize_t(len(buf)), lib.Toff_t(off))
		errnop := (*int32)(cmem(libc.X__errno_location(tls)))
		if n < 0 && *errnop == errno.EINTR {
			continue
		} else if n <= 0 {
			if n == 0 {
				*errnop = errno.EIO
			}
			ok = false
			break
		}
		buf, off = buf[n:], off+int64(n)
		walw.written.Add(int64(n))
	}
	walw.pending.Add(-int64(len(b.buf)))
	b.buf, b.commitNext = b.buf[:0], false
	return ok
}
