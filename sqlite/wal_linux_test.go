package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/switchboard-chat/switchboard"
)

// TestBrokenRingFallsBack: if the io_uring itself fails (not the sync it
// carries), the syncer gives it up and syncs directly; writes go on.
func TestBrokenRingFallsBack(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "db.sqlite"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.wal.ring == nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("io_uring cannot be set up on this machine: %v", s.wal.noRing)
		}
		t.Skipf("io_uring: %v", s.wal.noRing)
	}
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
