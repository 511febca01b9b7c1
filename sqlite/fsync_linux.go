package sqlite

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A blocking system call holds the goroutine's P (Go's right to run code)
// until the runtime's monitor takes it back, which it does only if it
// happens to look twice during the call; once no call has lasted that long
// for a while it looks only every 10 ms. With GOMAXPROCS=1 an fsync of a
// few hundred microseconds therefore stopped the whole server: an
// execution trace at 4,000 messages a second had fdatasync holding the
// only P for 37% of the time, with no P ever taken back, and the core idle
// in I/O wait meanwhile.
//
// uringSyncer hands the fdatasync to the kernel through an io_uring
// instead and waits for its completion on an eventfd, through Go's network
// poller, so that the goroutine parks and the P runs everything else
// while the disk works. Where io_uring cannot be set up (an older kernel,
// or a seccomp profile that forbids it, as Docker's default does), the
// syncer calls fdatasync directly.
type uringSyncer struct {
	ring  int      // the io_uring's descriptor
	event *os.File // eventfd the ring signals completions on, in the poller
	sqMem []byte   // submission ring
	cqMem []byte   // completion ring
	sqes  []byte   // submission entries

	sqTail, sqMask *uint32
	sqArray        unsafe.Pointer
	cqHead, cqTail *uint32
	cqMask         *uint32
	cqes           unsafe.Pointer
	next           uint64
}

// The kernel's io_uring ABI (include/uapi/linux/io_uring.h).
const (
	ioringOpFsync         = 3
	ioringOpSyncFileRange = 8
	// sync_file_range's flags (include/uapi/linux/fs.h).
	syncFileRangeWaitBefore = 1
	syncFileRangeWrite      = 2
	syncFileRangeWaitAfter  = 4
	ioringFsyncDatasync     = 1
	ioringOffSQRing         = 0
	ioringOffCQRing         = 0x8000000
	ioringOffSQEs           = 0x10000000
	ioringRegisterEventf    = 4
	ioSqeAsync              = 1 << 4
	sqeSize                 = 64
	cqeSize                 = 16
)

type sqringOffsets struct {
	head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
	userAddr                                                        uint64
}

type cqringOffsets struct {
	head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
	userAddr                                                        uint64
}

type uringParams struct {
	sqEntries, cqEntries, flags, sqThreadCPU, sqThreadIdle, features, wqFD uint32
	resv                                                                   [3]uint32
	sqOff                                                                  sqringOffsets
	cqOff                                                                  cqringOffsets
}

// newUringSyncer sets up a ring of two entries (the syncer has one sync in
// flight at a time) and its eventfd.
func newUringSyncer() (*uringSyncer, error) {
	var p uringParams
	fd, _, errno := unix.Syscall(unix.SYS_IO_URING_SETUP, 2, uintptr(unsafe.Pointer(&p)), 0)
	if errno != 0 {
		return nil, fmt.Errorf("io_uring_setup: %w", errno)
	}
	u := &uringSyncer{ring: int(fd)}
	ok := false
	defer func() {
		if !ok {
			u.close()
		}
	}()
	var err error
	if u.sqMem, err = unix.Mmap(u.ring, ioringOffSQRing, int(p.sqOff.array+p.sqEntries*4), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE); err != nil {
		return nil, fmt.Errorf("map the submission ring: %w", err)
	}
	if u.cqMem, err = unix.Mmap(u.ring, ioringOffCQRing, int(p.cqOff.cqes+p.cqEntries*cqeSize), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE); err != nil {
		return nil, fmt.Errorf("map the completion ring: %w", err)
	}
	if u.sqes, err = unix.Mmap(u.ring, ioringOffSQEs, int(p.sqEntries*sqeSize), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE); err != nil {
		return nil, fmt.Errorf("map the submission entries: %w", err)
	}
	sq, cq := unsafe.Pointer(&u.sqMem[0]), unsafe.Pointer(&u.cqMem[0])
	u.sqTail = (*uint32)(unsafe.Add(sq, p.sqOff.tail))
	u.sqMask = (*uint32)(unsafe.Add(sq, p.sqOff.ringMask))
	u.sqArray = unsafe.Add(sq, p.sqOff.array)
	u.cqHead = (*uint32)(unsafe.Add(cq, p.cqOff.head))
	u.cqTail = (*uint32)(unsafe.Add(cq, p.cqOff.tail))
	u.cqMask = (*uint32)(unsafe.Add(cq, p.cqOff.ringMask))
	u.cqes = unsafe.Add(cq, p.cqOff.cqes)

	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	// A non-blocking descriptor is served by the poller: reads park.
	u.event = os.NewFile(uintptr(efd), "io_uring completions")
	efd32 := int32(efd)
	if _, _, errno := unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(u.ring), ioringRegisterEventf, uintptr(unsafe.Pointer(&efd32)), 1, 0, 0); errno != 0 {
		return nil, fmt.Errorf("io_uring_register eventfd: %w", errno)
	}
	ok = true
	return u, nil
}

// fdatasync syncs fd through the ring and waits, parked, for it to finish.
// One caller at a time (each ring has one user: the syncer, or the
// checkpointer).
func (u *uringSyncer) fdatasync(fd int) error {
	return u.do(ioringOpFsync, fd, 0, 0, ioringFsyncDatasync)
}

// syncRange writes back fd's dirty pages in [off, off+n) and waits for
// them (sync_file_range with WAIT_BEFORE|WRITE|WAIT_AFTER), parked.
func (u *uringSyncer) syncRange(fd int, off int64, n uint32) error {
	return u.do(ioringOpSyncFileRange, fd, uint64(off), n, syncFileRangeWaitBefore|syncFileRangeWrite|syncFileRangeWaitAfter)
}

// do submits one operation on fd and waits, parked, for it to finish. One
// caller at a time.
func (u *uringSyncer) do(op byte, fd int, off uint64, n uint32, flags uint32) error {
	u.next++
	tail := atomic.LoadUint32(u.sqTail)
	idx := tail & *u.sqMask
	sqe := u.sqes[idx*sqeSize : (idx+1)*sqeSize]
	clear(sqe)
	sqe[0] = op
	// Straight to the kernel's workers: an fsync cannot complete without
	// blocking, so trying it inline first would only cost a failed attempt.
	sqe[1] = ioSqeAsync
	*(*int32)(unsafe.Pointer(&sqe[4])) = int32(fd)
	*(*uint64)(unsafe.Pointer(&sqe[8])) = off
	*(*uint32)(unsafe.Pointer(&sqe[24])) = n
	*(*uint32)(unsafe.Pointer(&sqe[28])) = flags
	*(*uint64)(unsafe.Pointer(&sqe[32])) = u.next
	*(*uint32)(unsafe.Add(u.sqArray, idx*4)) = idx
	atomic.StoreUint32(u.sqTail, tail+1)
	for {
		n, _, errno := unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(u.ring), 1, 0, 0, 0, 0)
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			return &ringError{fmt.Errorf("io_uring_enter: %w", errno)}
		}
		if n != 1 {
			return &ringError{fmt.Errorf("io_uring_enter: %d submitted", n)}
		}
		break
	}
	var buf [8]byte
	for {
		head := atomic.LoadUint32(u.cqHead)
		if head != atomic.LoadUint32(u.cqTail) {
			cqe := unsafe.Add(u.cqes, (head&*u.cqMask)*cqeSize)
			data, res := *(*uint64)(cqe), *(*int32)(unsafe.Add(cqe, 8))
			atomic.StoreUint32(u.cqHead, head+1)
			if data != u.next {
				continue // not ours (cannot happen: one in flight)
			}
			if res < 0 {
				return syscall.Errno(-res)
			}
			return nil
		}
		if _, err := u.event.Read(buf[:]); err != nil && !errors.Is(err, syscall.EAGAIN) {
			return &ringError{fmt.Errorf("wait for io_uring: %w", err)}
		}
	}
}

// datasync is the direct call, blocking.
func datasync(f *os.File) error {
	for {
		if err := syscall.Fdatasync(int(f.Fd())); err != syscall.EINTR {
			return err
		}
	}
}

func (u *uringSyncer) close() {
	if u.event != nil {
		u.event.Close()
	}
	for _, m := range [][]byte{u.sqes, u.cqMem, u.sqMem} {
		if m != nil {
			unix.Munmap(m)
		}
	}
	unix.Close(u.ring)
}
