package sqlite

import (
	"fmt"
	"sync"
	"sync/atomic"
	"unsafe"

	"modernc.org/libc"
	lib "modernc.org/sqlite/lib"
)

// The page cache's highest page number after a b-tree balance.
//
// At the end of every write transaction SQLite drops the cached pages past
// the database's size (pager_end_transaction → sqlite3PcacheTruncate). Its
// page cache (pcache1) does that cheaply when its highest page number
// (iMaxKey) is near the size, and by walking its whole hash table, every
// page of the cache, otherwise. But when a b-tree balance puts its new
// pages in order, it swaps two of them through a temporary number, the
// lock-byte page (PENDING_BYTE/page size + 1, 262,145 for 4 KiB pages),
// and iMaxKey, which only ever grows, stays there: the next commit walks
// the whole cache (16,384 pages for the writer) and only then lowers it. A
// store inserting messages balances an index every few commits, and the
// walk was 4% of the server's CPU at 2,000 messages a second.
//
// So the package wraps the page cache's rekey method: when a page moves to
// the lock-byte page above the highest number the cache held, the number
// before is kept, and when the page moves away again (the next rekey but
// one, in the same loop of balance_nonroot) iMaxKey is put back to the
// higher of it and the page's new number. iMaxKey stays at or above every
// page number in the cache at all times but between those two calls,
// where SQLite neither fetches nor truncates. Everything else is SQLite's
// own pcache1.

var (
	// sqlitePcache are SQLite's page cache methods, ourPcache ours (package
	// variables: SQLite keeps their address).
	sqlitePcache, ourPcache lib.Tsqlite3_pcache_methods2
	// noPcacheRekey is nil when the rekey method is ours, or why not.
	noPcacheRekey = fmt.Errorf("not installed")

	// lockPageMax holds, per page cache whose page sits on the lock-byte
	// page, the cache's highest page number before it went there.
	lockPageMax = struct {
		sync.Mutex
		m map[uintptr]uint32
	}{m: map[uintptr]uint32{}}

	// pcacheLockRekeys counts moves of a page to the lock-byte page,
	// pcacheFullScans truncations that walk a whole cache (tests).
	pcacheLockRekeys, pcacheFullScans atomic.Int64
)

// pendingByte is SQLite's PENDING_BYTE: the lock-byte page holds it.
const pendingByte = 0x40000000

// installPageCache installs the rekey method; SQLite must be shut down
// (installMutexMethods calls it between its shutdown and initialise).
func installPageCache(tls *libc.TLS) error {
	get := libc.NewVaList(uintptr(unsafe.Pointer(&sqlitePcache)))
	defer libc.Xfree(tls, get)
	if rc := lib.Xsqlite3_config(tls, lib.SQLITE_CONFIG_GETPCACHE2, get); rc != lib.SQLITE_OK {
		return fmt.Errorf("SQLITE_CONFIG_GETPCACHE2: %d", rc)
	}
	if sqlitePcache.FxRekey == 0 || sqlitePcache.FxTruncate == 0 {
		return fmt.Errorf("SQLite has no page cache methods to wrap")
	}
	ourPcache = sqlitePcache
	ourPcache.FxRekey = cptr(pcacheRekey)
	ourPcache.FxTruncate = cptr(pcacheTruncate)
	set := libc.NewVaList(uintptr(unsafe.Pointer(&ourPcache)))
	defer libc.Xfree(tls, set)
	if rc := lib.Xsqlite3_config(tls, lib.SQLITE_CONFIG_PCACHE2, set); rc != lib.SQLITE_OK {
		return fmt.Errorf("SQLITE_CONFIG_PCACHE2: %d", rc)
	}
	return nil
}

func pcacheRekey(tls *libc.TLS, p, page uintptr, oldKey, newKey uint32) {
	c := (*lib.TPCache1)(cmem(p))
	before := c.FiMaxKey
	cfn[func(*libc.TLS, uintptr, uintptr, uint32, uint32)](sqlitePcache.FxRekey)(tls, p, page, oldKey, newKey)
	lock := uint32(pendingByte/c.FszPage) + 1
	switch {
	case newKey == lock && newKey > before:
		pcacheLockRekeys.Add(1)
		lockPageMax.Lock()
		lockPageMax.m[p] = before
		lockPageMax.Unlock()
	case oldKey == lock:
		lockPageMax.Lock()
		saved, ok := lockPageMax.m[p]
		delete(lockPageMax.m, p)
		lockPageMax.Unlock()
		// Only if nothing has raised it since (a page past the lock-byte
		// page, in a database over 1 GiB).
		if ok && c.FiMaxKey == lock {
			c.FiMaxKey = max(saved, newKey)
		}
	}
}

func pcacheTruncate(tls *libc.TLS, p uintptr, limit uint32) {
	c := (*lib.TPCache1)(cmem(p))
	if limit <= c.FiMaxKey && c.FiMaxKey-limit >= c.FnHash {
		pcacheFullScans.Add(1)
	}
	cfn[func(*libc.TLS, uintptr, uint32)](sqlitePcache.FxTruncate)(tls, p, limit)
}
