package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboard-chat/switchboard"
	"github.com/switchboard-chat/switchboard/sqlite"
)

// TestPageCacheAfterBalance checks the page cache's rekey method
// (sqlite/pcache.go): the store's sends balance its indexes, and no commit
// after them walks the whole page cache (27 of 1,500 sends did without
// it); and a database that grows through balances, in transactions and
// savepoints committed and rolled back, holds exactly what was committed,
// through the same connection's cache and from the file.
func TestPageCacheAfterBalance(t *testing.T) {
	if err := sqlite.NoPageCacheRekey(); err != nil {
		t.Fatalf("the page cache's rekey method is SQLite's: %v", err)
	}
	t.Run("sends", func(t *testing.T) {
		s := mustOpen(t, filepath.Join(t.TempDir(), "db.sqlite"), nil)
		convs := bulkFixture(t, s, 8)
		rekeys0, scans0 := sqlite.PageCacheCounts()
		for n := range 1500 {
			c := convs[n%len(convs)]
			ctx := switchboard.NewContextWithIdentity(context.Background(), switchboard.Identity{Domain: "bulk.example", Extension: c.Members[n%2]})
			if _, err := s.SendMessage(ctx, &switchboard.Message{ConversationID: c.ID, Body: fmt.Sprintf("message %d", n)}); err != nil {
				t.Fatal(err)
			}
		}
		rekeys, scans := sqlite.PageCacheCounts()
		if rekeys == rekeys0 {
			t.Fatalf("1,500 sends balanced no b-tree through the lock-byte page; the test does not test")
		}
		if scans != scans0 {
			t.Errorf("%d commits walked the whole page cache after %d balances", scans-scans0, rekeys-rekeys0)
		}
	})
	t.Run("rollbacks", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "db.sqlite")
		db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=cache_size(-8192)")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		db.SetMaxOpenConns(1)
		exec := func(q string, args ...any) {
			t.Helper()
			if _, err := db.Exec(q, args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		exec("CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT NOT NULL UNIQUE, v TEXT NOT NULL)")
		rng := rand.New(rand.NewPCG(3, 4))
		want := map[string]string{}
		insert := func(n int, keep bool) {
			t.Helper()
			for range n {
				k := fmt.Sprintf("%016x", rng.Uint64())
				v := strings.Repeat(k, 1+rng.IntN(12))
				exec("INSERT INTO t (k, v) VALUES (?, ?)", k, v)
				if keep {
					want[k] = v
				}
			}
		}
		rekeys0, _ := sqlite.PageCacheCounts()
		for round := range 90 {
			exec("BEGIN")
			switch round % 3 {
			case 0: // grows, commits
				insert(60, true)
				exec("COMMIT")
			case 1: // grows, rolls back a savepoint's growth, commits
				insert(20, true)
				exec("SAVEPOINT s")
				insert(80, false)
				exec("ROLLBACK TO s")
				exec("RELEASE s")
				insert(20, true)
				exec("COMMIT")
			case 2: // grows, rolls back
				insert(100, false)
				exec("ROLLBACK")
			}
		}
		if rekeys, _ := sqlite.PageCacheCounts(); rekeys == rekeys0 {
			t.Fatalf("no b-tree was balanced through the lock-byte page; the test does not test")
		}
		check := func(db *sql.DB) {
			t.Helper()
			var ok string
			if err := db.QueryRow("PRAGMA integrity_check").Scan(&ok); err != nil || ok != "ok" {
				t.Fatalf("integrity_check = %q, %v", ok, err)
			}
			rows, err := db.Query("SELECT k, v FROM t")
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			got := 0
			for rows.Next() {
				var k, v string
				if err := rows.Scan(&k, &v); err != nil {
					t.Fatal(err)
				}
				if want[k] != v {
					t.Fatalf("row %s holds %q, want %q", k, v, want[k])
				}
				got++
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			if got != len(want) {
				t.Fatalf("%d rows, want %d", got, len(want))
			}
		}
		check(db)
		db.Close()
		// And from the file, with a cache of nothing.
		db2, err := sql.Open("sqlite", "file:"+path)
		if err != nil {
			t.Fatal(err)
		}
		defer db2.Close()
		check(db2)
	})
}
