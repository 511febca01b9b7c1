// Package blob stores attachment bytes: switchboard.BlobStore on local files.
//
// Files are addressed by the lowercase hex SHA-256 of their bytes and laid out
// as DIR/ab/cd/abcd… (fan-out by the first two byte pairs), so that identical
// uploads are stored once and no directory grows past a few thousand entries.
// A Put streams into DIR/tmp, is fsynced, and only then renamed into place, so
// a crash never leaves a partial file under a key; CleanTemp removes what a
// crash left in DIR/tmp.
package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/switchboard-chat/switchboard"
)

// tempPrefix names the temporary files of Put, so that CleanTemp only ever
// removes files that Put created.
const tempPrefix = "put-"

// Local is a switchboard.BlobStore on a local directory. It keeps no state in
// memory, so several Locals (or processes) may share one directory.
type Local struct {
	dir string
	tmp string
}

var _ switchboard.BlobStore = (*Local)(nil)

// NewLocal returns a store under dir, creating dir and dir/tmp (mode 0700)
// when missing.
func NewLocal(dir string) (*Local, error) {
	tmp := filepath.Join(dir, "tmp")
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return nil, fmt.Errorf("blob: create %s: %w", tmp, err)
	}
	return &Local{dir: dir, tmp: tmp}, nil
}

// Put implements switchboard.BlobStore. A negative limit is an error.
func (l *Local) Put(ctx context.Context, r io.Reader, limit int64) (info switchboard.BlobInfo, err error) {
	if limit < 0 {
		return switchboard.BlobInfo{}, fmt.Errorf("blob: put: negative limit %d", limit)
	}
	if err := ctx.Err(); err != nil {
		return switchboard.BlobInfo{}, fmt.Errorf("blob: put: %w", err)
	}
	f, err := os.CreateTemp(l.tmp, tempPrefix+"*")
	if err != nil {
		return switchboard.BlobInfo{}, fmt.Errorf("blob: put: %w", err)
	}
	tmpName := f.Name()
	closed := false
	defer func() {
		if err != nil {
			if !closed {
				f.Close()
			}
			os.Remove(tmpName)
		}
	}()

	// Reading one byte past the limit tells an upload of exactly limit bytes
	// from a larger one without reading the rest of it.
	readMax := limit
	if readMax < math.MaxInt64 {
		readMax++
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(ctxReader{ctx, r}, readMax))
	if err != nil {
		return switchboard.BlobInfo{}, fmt.Errorf("blob: put: %w", err)
	}
	if n > limit {
		return switchboard.BlobInfo{}, switchboard.Errorf(switchboard.ETOOLARGE, "The file is too large: the limit is %s.", formatSize(limit))
	}
	if err := f.Sync(); err != nil {
		return switchboard.BlobInfo{}, fmt.Errorf("blob: put: %w", err)
	}
	closed = true
	if err := f.Close(); err != nil {
		return switchboard.BlobInfo{}, fmt.Errorf("blob: put: %w", err)
	}
	// The last check: a Put cancelled while it was syncing must not succeed.
	if err := ctx.Err(); err != nil {
		return switchboard.BlobInfo{}, fmt.Errorf("blob: put: %w", err)
	}

	key := hex.EncodeToString(h.Sum(nil))
	info = switchboard.BlobInfo{Key: key, Size: n, SHA256: key}
	final := l.path(key)
	if _, err := os.Stat(final); err == nil {
		// Already stored: the same hash means the same bytes.
		os.Remove(tmpName)
		return info, nil
	}
	parent := filepath.Dir(final)
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return switchboard.BlobInfo{}, fmt.Errorf("blob: put: %w", err)
	}
	// Two concurrent Puts of the same bytes may both get here; rename
	// replaces atomically and both files hold the same bytes.
	if err := os.Rename(tmpName, final); err != nil {
		return switchboard.BlobInfo{}, fmt.Errorf("blob: put: %w", err)
	}
	// The rename is durable only once its directory is synced. The file is
	// in place by now, so a failure here is reported but removes nothing.
	if err := syncDir(parent); err != nil {
		return switchboard.BlobInfo{}, fmt.Errorf("blob: put: %w", err)
	}
	return info, nil
}

// Open implements switchboard.BlobStore. The reader is an *os.File.
func (l *Local) Open(ctx context.Context, key string) (io.ReadSeekCloser, int64, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, fmt.Errorf("blob: open: %w", err)
	}
	if !validKey(key) {
		return nil, 0, errNotFound()
	}
	f, err := os.Open(l.path(key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, errNotFound()
	} else if err != nil {
		return nil, 0, fmt.Errorf("blob: open: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("blob: open: %w", err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, 0, errNotFound()
	}
	return f, fi.Size(), nil
}

// Delete implements switchboard.BlobStore. A malformed key names nothing, so
// deleting it succeeds like deleting any unknown key.
//
// Because equal bytes share one key, the caller must know that no other
// attachment refers to key, including one being uploaded at the same time.
func (l *Local) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("blob: delete: %w", err)
	}
	if !validKey(key) {
		return nil
	}
	if err := os.Remove(l.path(key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blob: delete: %w", err)
	}
	return nil
}

// CleanTemp removes the temporary files of Puts that started more than
// olderThan ago: what a crash left behind. Use an age well past the longest
// upload, since a Put in progress keeps its temporary file until it ends.
func (l *Local) CleanTemp(olderThan time.Duration) error {
	entries, err := os.ReadDir(l.tmp)
	if err != nil {
		return fmt.Errorf("blob: clean temp: %w", err)
	}
	cutoff := time.Now().Add(-olderThan)
	var errs []error
	for _, e := range entries {
		if !e.Type().IsRegular() || len(e.Name()) <= len(tempPrefix) || e.Name()[:len(tempPrefix)] != tempPrefix {
			continue
		}
		fi, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // finished meanwhile
		} else if err != nil {
			errs = append(errs, err)
			continue
		}
		if fi.ModTime().After(cutoff) {
			continue
		}
		if err := os.Remove(filepath.Join(l.tmp, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("blob: clean temp: %w", err)
	}
	return nil
}

// path returns the file of a valid key.
func (l *Local) path(key string) string {
	return filepath.Join(l.dir, key[0:2], key[2:4], key)
}

// validKey reports whether key is exactly 64 lowercase hex digits, the only
// form Put returns. Checking this before building a path is what keeps a key
// from naming anything outside the store.
func validKey(key string) bool {
	if len(key) != sha256.Size*2 {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func errNotFound() error {
	return switchboard.Errorf(switchboard.ENOTFOUND, "File not found.")
}

// ctxReader fails reads once ctx is done, so that a cancelled upload stops at
// the next chunk rather than at the end of the stream.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// formatSize writes n bytes for people: "25 MB", "512 KB", "100 bytes".
func formatSize(n int64) string {
	const kb, mb = 1 << 10, 1 << 20
	oneDecimal := func(x float64) string {
		return strconv.FormatFloat(math.Round(x*10)/10, 'f', -1, 64)
	}
	switch {
	case n >= mb:
		return oneDecimal(float64(n)/mb) + " MB"
	case n >= kb:
		return oneDecimal(float64(n)/kb) + " KB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}
