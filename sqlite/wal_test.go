package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/switchboard-chat/switchboard"
)

// TestSyncFailureRefusesWrites: once the log cannot be synced, the writes of
// that sync are not acknowledged as done, nor are any later ones accepted.
func TestSyncFailureRefusesWrites(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "db.sqlite"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	createDomain := func(name string) error {
		return s.CreateDomain(ctx, &switchboard.Domain{Name: name, DisplayName: name})
	}
	if err := createDomain("before.example"); err != nil {
		t.Fatal(err)
	}
	if st := s.WriterStats(); st.Syncs < 1 || st.Writes < 1 || st.Commits < 1 {
		t.Fatalf("WriterStats after a write = %+v, want a commit, a write and a sync", st)
	}
	s.wal.f.Close() // the next sync fails with EBADF
	for _, name := range []string{"during.example", "after.example"} {
		if err := createDomain(name); switchboard.ErrorCode(err) != switchboard.EUNAVAILABLE {
			t.Fatalf("CreateDomain(%s) with the log unsyncable = %v, want %s", name, err, switchboard.EUNAVAILABLE)
		}
	}
}
