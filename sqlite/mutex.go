package sqlite

import (
	"fmt"
	"sync/atomic"
	"unsafe"

	"modernc.org/libc"
	lib "modernc.org/sqlite/lib"
)

// SQLite's threading mode.
//
// modernc.org/sqlite opens every connection SQLITE_OPEN_FULLMUTEX
// ("serialized"): each connection has a recursive mutex that SQLite takes
// around every call into it, every column read of every row among them. On
// this driver a mutex is a call into its emulated pthreads, and the pair
// cost a fifth of the CPU of a conversation list (BenchmarkListConversations)
// and a tenth of a send's. database/sql already uses a connection from one
// goroutine at a time, which is all that SQLite's "multi-thread" mode asks
// (https://sqlite.org/threadsafe.html), and what SQLITE_OPEN_NOMUTEX would
// select if the driver let us pass it.
//
// So the package installs mutex methods (SQLITE_CONFIG_MUTEX) that are
// SQLite's own, except that a recursive mutex allocated once SQLite has been
// initialised, which is a connection's (the only other recursive mutex,
// sqlite3_initialize's own, is allocated before), is a no-op. The mutexes
// that guard what connections share (memory, the page cache, the open
// files and their locks) stay as they are. If the methods cannot be
// installed, SQLite keeps its defaults and noMutex says why.

// noMutex is nil when connections run without their own mutex, or why they
// do not.
var noMutex = installMutexMethods()

func init() {
	// Gathering log writes (walwrite.go) needs the mutex methods: their
	// entry to the unix VFS's mutex is where a commit about to be
	// published is written out, whatever else happened.
	if noMutex != nil {
		noWALWrites = fmt.Errorf("no mutex methods of our own: %w", noMutex)
		return
	}
	noWALWrites = installWALWrites()
}

var (
	// sqliteMutexes are SQLite's own methods, which ours delegate to, and
	// ourMutexes ours (package variables: SQLite is handed their
	// addresses, which must not move).
	sqliteMutexes, ourMutexes lib.Tsqlite3_mutex_methods
	// initialised is set once SQLite has been initialised with our methods:
	// from then on a recursive mutex is a connection's, and a no-op.
	initialised bool
	// connMutex is the address handed out for every connection's mutex;
	// SQLite only ever passes it back to the methods.
	connMutex     byte
	connMutexAddr = uintptr(unsafe.Pointer(&connMutex))
	// vfsMutex is the unix VFS's global mutex (SQLITE_MUTEX_STATIC_VFS1),
	// which its shared-memory barrier takes: see walwrite.go.
	vfsMutex atomic.Uintptr
)

func installMutexMethods() error {
	tls := libc.NewTLS()
	defer tls.Close()
	// SQLite fills in its default methods when it is initialised, and
	// takes new ones only while it is not: initialise, shut down, read
	// the defaults, install ours, initialise again. No connection is
	// open yet (this runs in the package's initialisation).
	if rc := lib.Xsqlite3_initialize(tls); rc != lib.SQLITE_OK {
		return fmt.Errorf("sqlite3_initialize: %d", rc)
	}
	if rc := lib.Xsqlite3_shutdown(tls); rc != lib.SQLITE_OK {
		return fmt.Errorf("sqlite3_shutdown: %d", rc)
	}
	args := libc.NewVaList(uintptr(unsafe.Pointer(&sqliteMutexes)))
	defer libc.Xfree(tls, args)
	if rc := lib.Xsqlite3_config(tls, lib.SQLITE_CONFIG_GETMUTEX, args); rc != lib.SQLITE_OK {
		return fmt.Errorf("SQLITE_CONFIG_GETMUTEX: %d", rc)
	}
	m := &ourMutexes
	*m = sqliteMutexes
	if m.FxMutexAlloc == 0 || m.FxMutexEnter == 0 || m.FxMutexLeave == 0 {
		lib.Xsqlite3_initialize(tls)
		return fmt.Errorf("SQLite has no mutex methods to wrap")
	}
	m.FxMutexAlloc = cptr(mutexAlloc)
	m.FxMutexFree = cptr(mutexFree)
	m.FxMutexEnter = cptr(mutexEnter)
	m.FxMutexTry = cptr(mutexTry)
	m.FxMutexLeave = cptr(mutexLeave)
	m.FxMutexHeld = cptr(mutexHeld)
	m.FxMutexNotheld = cptr(mutexNotheld)
	set := libc.NewVaList(uintptr(unsafe.Pointer(m)))
	defer libc.Xfree(tls, set)
	rc := lib.Xsqlite3_config(tls, lib.SQLITE_CONFIG_MUTEX, set)
	// The page cache's rekey method (pcache.go) is set while SQLite is
	// shut down too.
	noPcacheRekey = installPageCache(tls)
	if rc2 := lib.Xsqlite3_initialize(tls); rc2 != lib.SQLITE_OK {
		return fmt.Errorf("sqlite3_initialize: %d", rc2)
	}
	if rc != lib.SQLITE_OK {
		return fmt.Errorf("SQLITE_CONFIG_MUTEX: %d", rc)
	}
	initialised = true
	return nil
}

// cptr makes Go function f a C function pointer for SQLite, as the driver
// does (its cFuncPointer): a pointer to the function value, which for a
// top-level function is static.
func cptr[T any](f T) uintptr { return *(*uintptr)(unsafe.Pointer(&struct{ f T }{f})) }

// cfn is the Go function that C function pointer p of SQLite's stands for.
func cfn[T any](p uintptr) T { return *(*T)(unsafe.Pointer(&struct{ uintptr }{p})) }

func mutexAlloc(tls *libc.TLS, typ int32) uintptr {
	if typ == lib.SQLITE_MUTEX_RECURSIVE && initialised {
		return connMutexAddr
	}
	p := cfn[func(*libc.TLS, int32) uintptr](sqliteMutexes.FxMutexAlloc)(tls, typ)
	if typ == lib.SQLITE_MUTEX_STATIC_VFS1 {
		vfsMutex.Store(p)
	}
	return p
}

func mutexFree(tls *libc.TLS, p uintptr) {
	if p != connMutexAddr {
		cfn[func(*libc.TLS, uintptr)](sqliteMutexes.FxMutexFree)(tls, p)
	}
}

func mutexEnter(tls *libc.TLS, p uintptr) {
	if p == connMutexAddr {
		return
	}
	if p == vfsMutex.Load() && walw.pending.Load() > 0 {
		// Before the unix VFS's barrier lets readers take a new
		// wal-index header (walwrite.go); taken before the mutex, as
		// walw.mu is never held while it is taken.
		walFlushAll(tls)
	}
	cfn[func(*libc.TLS, uintptr)](sqliteMutexes.FxMutexEnter)(tls, p)
}

func mutexTry(tls *libc.TLS, p uintptr) int32 {
	if p == connMutexAddr {
		return lib.SQLITE_OK
	}
	return cfn[func(*libc.TLS, uintptr) int32](sqliteMutexes.FxMutexTry)(tls, p)
}

func mutexLeave(tls *libc.TLS, p uintptr) {
	if p != connMutexAddr {
		cfn[func(*libc.TLS, uintptr)](sqliteMutexes.FxMutexLeave)(tls, p)
	}
}

// mutexHeld and mutexNotheld serve SQLite's assertions (not compiled into
// release builds); SQLite's own may be missing, which means "yes".
func mutexHeld(tls *libc.TLS, p uintptr) int32 {
	if p == connMutexAddr || sqliteMutexes.FxMutexHeld == 0 {
		return 1
	}
	return cfn[func(*libc.TLS, uintptr) int32](sqliteMutexes.FxMutexHeld)(tls, p)
}

func mutexNotheld(tls *libc.TLS, p uintptr) int32 {
	if p == connMutexAddr || sqliteMutexes.FxMutexNotheld == 0 {
		return 1
	}
	return cfn[func(*libc.TLS, uintptr) int32](sqliteMutexes.FxMutexNotheld)(tls, p)
}
