package blob_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/switchboard-chat/switchboard"
	"github.com/switchboard-chat/switchboard/blob"
)

// newLocal returns a store in a fresh temporary directory, and the directory.
func newLocal(t testing.TB) (*blob.Local, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "blobs")
	l, err := blob.NewLocal(dir)
	if err != nil {
		t.Fatalf("NewLocal: %v", err)
	}
	return l, dir
}

// files lists every regular file under dir, relative to it, with slashes.
func files(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, err := filepath.Rel(dir, path)
			if err != nil {
				return err
			}
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", dir, err)
	}
	return out
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestNewLocalCreatesPrivateDir(t *testing.T) {
	_, dir := newLocal(t)
	for _, d := range []string{dir, filepath.Join(dir, "tmp")} {
		fi, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if !fi.IsDir() || fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: mode %v, want a directory with mode 0700", d, fi.Mode())
		}
	}
}

func TestPutOpenRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"small", []byte("hello, switchboard")},
		{"several chunks", bytes.Repeat([]byte("0123456789abcdef"), 10_000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			l, dir := newLocal(t)
			info, err := l.Put(ctx, bytes.NewReader(tt.data), int64(len(tt.data)))
			if err != nil {
				t.Fatalf("Put: %v", err)
			}
			key := sum(tt.data)
			want := switchboard.BlobInfo{Key: key, Size: int64(len(tt.data)), SHA256: key}
			if diff := cmp.Diff(want, info); diff != "" {
				t.Errorf("Put info (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{key[0:2] + "/" + key[2:4] + "/" + key}, files(t, dir)); diff != "" {
				t.Errorf("files on disk (-want +got):\n%s", diff)
			}

			rc, size, err := l.Open(ctx, info.Key)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer rc.Close()
			if _, ok := rc.(*os.File); !ok {
				t.Errorf("Open returned %T, want *os.File", rc)
			}
			if size != int64(len(tt.data)) {
				t.Errorf("Open size = %d, want %d", size, len(tt.data))
			}
			got, err := io.ReadAll(rc)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.data) {
				t.Errorf("Open read %d bytes, not the %d put", len(got), len(tt.data))
			}
			if len(tt.data) > 10 {
				// Seekable, for range requests.
				if _, err := rc.Seek(5, io.SeekStart); err != nil {
					t.Fatal(err)
				}
				b := make([]byte, 5)
				if _, err := io.ReadFull(rc, b); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(b, tt.data[5:10]) {
					t.Errorf("after Seek(5) read %q, want %q", b, tt.data[5:10])
				}
			}
		})
	}
}

func TestPutDedupe(t *testing.T) {
	ctx := context.Background()
	l, dir := newLocal(t)
	data := []byte("the same picture, sent twice")
	first, err := l.Put(ctx, bytes.NewReader(data), 1000)
	if err != nil {
		t.Fatal(err)
	}
	second, err := l.Put(ctx, bytes.NewReader(data), 1000)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(first, second); diff != "" {
		t.Errorf("second Put (-first +second):\n%s", diff)
	}
	if got := files(t, dir); len(got) != 1 {
		t.Errorf("files on disk = %q, want one", got)
	}
}

func TestPutConcurrentSameBytes(t *testing.T) {
	ctx := context.Background()
	l, dir := newLocal(t)
	data := bytes.Repeat([]byte("concurrent "), 50_000)
	const n = 8
	keys := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			info, err := l.Put(ctx, bytes.NewReader(data), int64(len(data)))
			keys[i], errs[i] = info.Key, err
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || keys[i] != sum(data) {
			t.Errorf("Put %d = %q, %v; want %q, nil", i, keys[i], errs[i], sum(data))
		}
	}
	if got := files(t, dir); len(got) != 1 {
		t.Errorf("files on disk = %q, want one", got)
	}
}

func TestPutLimit(t *testing.T) {
	tests := []struct {
		size, limit int64
		wantCode    string
	}{
		{size: 0, limit: 0},
		{size: 1, limit: 0, wantCode: switchboard.ETOOLARGE},
		{size: 100, limit: 100},
		{size: 101, limit: 100, wantCode: switchboard.ETOOLARGE},
		{size: 200_000, limit: 100_000, wantCode: switchboard.ETOOLARGE},
	}
	for _, tt := range tests {
		ctx := context.Background()
		l, dir := newLocal(t)
		data := bytes.Repeat([]byte{'x'}, int(tt.size))
		_, err := l.Put(ctx, bytes.NewReader(data), tt.limit)
		if got := switchboard.ErrorCode(err); got != tt.wantCode {
			t.Errorf("Put(%d bytes, limit %d) = %v, want code %q", tt.size, tt.limit, err, tt.wantCode)
		}
		if tt.wantCode != "" {
			if got := files(t, dir); len(got) != 0 {
				t.Errorf("Put(%d bytes, limit %d) left %q", tt.size, tt.limit, got)
			}
		}
	}
}

func TestPutTooLargeMessage(t *testing.T) {
	l, _ := newLocal(t)
	_, err := l.Put(context.Background(), strings.NewReader(strings.Repeat("x", 26<<20)), 25<<20)
	if got, want := switchboard.ErrorMessage(err), "The file is too large: the limit is 25 MB."; got != want {
		t.Errorf("Put over 25 MB: message %q, want %q", got, want)
	}
}

func TestPutNegativeLimit(t *testing.T) {
	l, dir := newLocal(t)
	if _, err := l.Put(context.Background(), strings.NewReader("x"), -1); err == nil {
		t.Error("Put with limit -1 succeeded")
	}
	if got := files(t, dir); len(got) != 0 {
		t.Errorf("left %q", got)
	}
}

var errBoom = errors.New("connection reset")

// failingReader yields n bytes, then fails.
type failingReader struct{ n int }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, errBoom
	}
	p = p[:min(len(p), r.n)]
	for i := range p {
		p[i] = byte(i)
	}
	r.n -= len(p)
	return len(p), nil
}

func TestPutReaderFails(t *testing.T) {
	for _, n := range []int{0, 1, 100_000} {
		l, dir := newLocal(t)
		_, err := l.Put(context.Background(), &failingReader{n: n}, 1<<20)
		if !errors.Is(err, errBoom) {
			t.Errorf("Put(reader failing after %d bytes) = %v, want %v", n, err, errBoom)
		}
		if got := files(t, dir); len(got) != 0 {
			t.Errorf("Put(reader failing after %d bytes) left %q", n, got)
		}
	}
}

// cancellingReader cancels its context once it has yielded n bytes, and goes
// on yielding chunks, as a client would, until a megabyte after that.
type cancellingReader struct {
	n      int
	cancel context.CancelFunc
	after  int // bytes yielded once cancelled
}

func (r *cancellingReader) Read(p []byte) (int, error) {
	p = p[:min(len(p), 4096)]
	if r.n > 0 {
		r.n -= len(p)
		return len(p), nil
	}
	r.cancel()
	if r.after >= 1<<20 {
		return 0, io.EOF
	}
	r.after += len(p)
	return len(p), nil
}

func TestPutCancelled(t *testing.T) {
	t.Run("before", func(t *testing.T) {
		l, dir := newLocal(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := l.Put(ctx, strings.NewReader("never stored"), 100)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Put = %v, want %v", err, context.Canceled)
		}
		if got := files(t, dir); len(got) != 0 {
			t.Errorf("left %q", got)
		}
	})
	t.Run("midway", func(t *testing.T) {
		l, dir := newLocal(t)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		r := &cancellingReader{n: 100_000, cancel: cancel}
		_, err := l.Put(ctx, r, 1<<30)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Put = %v, want %v", err, context.Canceled)
		}
		// The chunk being read when the cancellation came is the last.
		if r.after > 4096 {
			t.Errorf("Put read %d bytes after the cancellation, want at most one chunk", r.after)
		}
		if got := files(t, dir); len(got) != 0 {
			t.Errorf("left %q", got)
		}
	})
}

func TestOpenUnknownOrMalformedKey(t *testing.T) {
	ctx := context.Background()
	l, dir := newLocal(t)
	info, err := l.Put(ctx, strings.NewReader("stored"), 100)
	if err != nil {
		t.Fatal(err)
	}
	// A file outside the store that a traversal would reach.
	secret := filepath.Join(filepath.Dir(dir), "secret")
	if err := os.WriteFile(secret, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []string{
		"",
		sum([]byte("never stored")),
		strings.ToUpper(info.Key),
		info.Key[:63],
		info.Key + "0",
		"../../etc/passwd",
		"../secret",
		"../../../secret",
		"tmp",
		"ab/cd/" + info.Key,
		info.Key[:62] + "/.",
		strings.Repeat(".", 64),
		info.Key[:63] + "g",
		info.Key[:63] + "\x00",
	}
	for _, key := range tests {
		rc, _, err := l.Open(ctx, key)
		if got := switchboard.ErrorCode(err); got != switchboard.ENOTFOUND {
			t.Errorf("Open(%q) = %v, want code %q", key, err, switchboard.ENOTFOUND)
		}
		if rc != nil {
			rc.Close()
			t.Errorf("Open(%q) returned a reader", key)
		}
	}
}

func TestDelete(t *testing.T) {
	ctx := context.Background()
	l, dir := newLocal(t)
	info, err := l.Put(ctx, strings.NewReader("to be deleted"), 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{info.Key, info.Key, sum(nil), "../../etc/passwd", ""} {
		if err := l.Delete(ctx, key); err != nil {
			t.Errorf("Delete(%q) = %v, want nil", key, err)
		}
	}
	if _, _, err := l.Open(ctx, info.Key); switchboard.ErrorCode(err) != switchboard.ENOTFOUND {
		t.Errorf("Open after Delete = %v, want code %q", err, switchboard.ENOTFOUND)
	}
	if got := files(t, dir); len(got) != 0 {
		t.Errorf("left %q", got)
	}
	// The same bytes can be stored again.
	if _, err := l.Put(ctx, strings.NewReader("to be deleted"), 100); err != nil {
		t.Errorf("Put after Delete: %v", err)
	}
}

func TestCleanTemp(t *testing.T) {
	l, dir := newLocal(t)
	tmp := filepath.Join(dir, "tmp")
	write := func(name string, age time.Duration) {
		t.Helper()
		p := filepath.Join(tmp, name)
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
		when := time.Now().Add(-age)
		if err := os.Chtimes(p, when, when); err != nil {
			t.Fatal(err)
		}
	}
	write("put-crashed", 2*time.Hour)
	write("put-uploading", time.Minute)
	write("not-ours", 2*time.Hour)
	if err := l.CleanTemp(time.Hour); err != nil {
		t.Fatalf("CleanTemp: %v", err)
	}
	want := []string{"tmp/not-ours", "tmp/put-uploading"}
	if diff := cmp.Diff(want, files(t, dir)); diff != "" {
		t.Errorf("files after CleanTemp (-want +got):\n%s", diff)
	}
}

// patternReader yields n generated bytes without holding them.
type patternReader struct{ n int64 }

func (r *patternReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), r.n)]
	for i := range p {
		p[i] = byte(r.n) ^ byte(i)
	}
	r.n -= int64(len(p))
	return len(p), nil
}

func TestPutStreams(t *testing.T) {
	const size = 30 << 20
	tests := []struct {
		limit    int64
		wantCode string
	}{
		{limit: 25 << 20, wantCode: switchboard.ETOOLARGE},
		{limit: 32 << 20},
	}
	for _, tt := range tests {
		l, dir := newLocal(t)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		info, err := l.Put(context.Background(), &patternReader{n: size}, tt.limit)
		runtime.ReadMemStats(&after)
		if got := switchboard.ErrorCode(err); got != tt.wantCode {
			t.Fatalf("Put(30 MB, limit %d) = %v, want code %q", tt.limit, err, tt.wantCode)
		}
		if got := after.TotalAlloc - before.TotalAlloc; got > 4<<20 {
			t.Errorf("Put(30 MB, limit %d) allocated %d bytes, want < 4 MB", tt.limit, got)
		}
		if tt.wantCode == "" && info.Size != size {
			t.Errorf("Put(30 MB) size = %d, want %d", info.Size, size)
		}
		if tt.wantCode != "" {
			if got := files(t, dir); len(got) != 0 {
				t.Errorf("left %q", got)
			}
		}
	}
}
