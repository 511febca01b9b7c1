package sqlite

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/switchboard-chat/switchboard"
)

// needRing skips a test of the io_uring where it cannot be set up (err),
// except in CI, where this machine must have it.
func needRing(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("io_uring cannot be set up on this machine: %v", err)
	}
	t.Skipf("io_uring: %v (the syncer falls back to fdatasync)", err)
}

// TestUringSync syncs a file through the io_uring many times over (the ring
// has two entries, so this wraps it), and reports a failed sync as the
// kernel's error; and writes parts of it back (the checkpointer's
// sync_file_range) likewise.
func TestUringSync(t *testing.T) {
	u, err := newUringSyncer()
	needRing(t, err)
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
	// The same for a range's write-back (sync_file_range).
	for off := int64(0); off < 100*4096; off += 16 * 4096 {
		if err := u.syncRange(int(f.Fd()), off, 16*4096); err != nil {
			t.Fatalf("write-back of [%d, +64K): %v", off, err)
		}
	}
	if err := u.syncRange(bad, 0, 4096); !errors.Is(err, syscall.EBADF) {
		t.Fatalf("write-back of a closed descriptor = %v, want EBADF", err)
	}
}

// TestBrokenRingFallsBack: if the io_uring itself fails (not the sync it
// carries), the syncer gives it up and syncs directly; writes go on.
func TestBrokenRingFallsBack(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "db.sqlite"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	needRing(t, s.wal.noRing)
	syscall.Close(s.wal.ring.ring) // io_uring_enter now fails with EBADF
	s.wal.ring.ring = -1
	before := s.WriterStats().Syncs
	for _, name := range []string{"one.example", "two.example"} {
		if err := s.CreateDomain(ctx, &switchboard.Domain{Name: name, DisplayName: name}); err != nil {
			t.Fatalf("CreateDomain(%s) after the ring broke = %v, want it stored", name, err)
		}
	}
	if got := s.WriterStats().Syncs - before; got < 2 {
		t.Errorf("%d syncs for two writes, want 2", got)
	}
	if _, err := s.FindDomain(ctx, "two.example"); err != nil {
		t.Errorf("FindDomain(two.example) = %v", err)
	}
}
