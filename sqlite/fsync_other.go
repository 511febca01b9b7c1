//go:build !linux

package sqlite

import (
	"errors"
	"os"
)

// uringSyncer is Linux's; elsewhere the syncer calls fsync directly.
type uringSyncer struct{}

func newUringSyncer() (*uringSyncer, error) { return nil, errors.New("io_uring is Linux's") }

func (u *uringSyncer) fdatasync(fd int) error { return errors.ErrUnsupported }

func (u *uringSyncer) syncRange(fd int, off int64, n uint32) error { return errors.ErrUnsupported }

func (u *uringSyncer) close() {}

func datasync(f *os.File) error { return f.Sync() }
