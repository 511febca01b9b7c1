package sqlite

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"

	"github.com/switchboard-chat/switchboard"
)

// TestUringSync syncs a file through the io_uring many times over (the ring
// has two entries, so this wraps it), and reports a failed sync as the
// kernel's error.
func TestUringSync(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("io_uring is Linux's")
	}
	u, err := newUringSyncer()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("io_uring cannot be set up on this machine: %v", err)
		}
		t.Skipf("io_uring: %v (the syncer falls back to fdatasync)", err)
	}
	defer u.close()
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for i := range 100 {
		if _, err := f.WriteAt([]byte("frame"), int64(i)*4096); err != nil {
			t.Fatal(err)
		}
		if err := u.fdatasync(int(f.Fd())); err != nil {
			t.Fatalf("sync %d: %v", i, err)
		}
	}
	// A descriptor that is not open: the kernel's EBADF, not a hang.
	r, w, _ := os.Pipe()
	bad := int(r.Fd())
	r.Close()
	w.Close()
	if err := u.fdatasync(bad); !errors.Is(err, syscall.EBADF) {
		t.Fatalf("sync of a closed descriptor = %v, want EBADF", err)
	}
	if err := u.fdatasync(int(f.Fd())); err != nil {
		t.Fatalf("sync after a failed one: %v", err)
	}
}

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
