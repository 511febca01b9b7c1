package switchboard

import (
	"context"
	"io"
)

// BlobInfo describes stored bytes.
type BlobInfo struct {
	Key    string // the store's key: the lowercase hex SHA-256 of the bytes
	Size   int64
	SHA256 string
}

// BlobStore keeps attachment bytes, addressed by their SHA-256, so that
// identical bytes are stored once. It never exposes local paths: local
// files and S3-compatible object storage implement it alike.
//
// Methods are safe for concurrent use.
type BlobStore interface {
	// Put streams r into the store without holding it in memory, hashing as
	// it goes. More than limit bytes is ETOOLARGE; a read error or a
	// cancelled ctx fails the Put. A failed Put leaves nothing behind.
	// Putting bytes that are already stored succeeds and keeps one copy.
	Put(ctx context.Context, r io.Reader, limit int64) (BlobInfo, error)
	// Open returns the bytes of key, seekable for range requests, and their
	// size. An unknown key is ENOTFOUND. The caller closes the reader.
	Open(ctx context.Context, key string) (io.ReadSeekCloser, int64, error)
	// Delete removes key; an unknown key is not an error.
	Delete(ctx context.Context, key string) error
}
