package chat

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"path"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/switchboard-chat/switchboard"
	"github.com/switchboard-chat/switchboard/media"
)

// ThumbnailSide is the longest side of a thumbnail, in pixels.
const ThumbnailSide = 480

// sniffLen is how many leading bytes decide the type of an upload.
const sniffLen = 3072

// MaxUpload returns the size limit of one attachment.
func (s *Service) MaxUpload() int64 { return s.maxUpload }

// Upload stores a file of the caller, streaming r to the blob store (never
// whole in memory). The type is sniffed from the bytes; a picture also gets
// its dimensions (after EXIF orientation) and a thumbnail without metadata.
// A picture that cannot be decoded is kept as a plain file. More than
// MaxUpload bytes is ETOOLARGE, and a failed upload leaves nothing behind.
func (s *Service) Upload(ctx context.Context, name string, r io.Reader) (*switchboard.Attachment, error) {
	if _, err := identity(ctx); err != nil {
		return nil, err
	}
	if s.blobs == nil {
		return nil, switchboard.Errorf(switchboard.EUNAVAILABLE, "Attachments are not available.")
	}
	name = cleanFileName(name)
	br := bufio.NewReaderSize(r, sniffLen)
	head, err := br.Peek(sniffLen)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return nil, fmt.Errorf("read upload: %w", err)
	}
	if len(head) == 0 {
		return nil, switchboard.Errorf(switchboard.EINVALID, "The file is empty.")
	}
	contentType := media.Sniff(head)

	s.blobMu.RLock()
	defer s.blobMu.RUnlock()
	info, err := s.blobs.Put(ctx, br, s.maxUpload)
	if switchboard.ErrorCode(err) == switchboard.ETOOLARGE {
		return nil, switchboard.Errorf(switchboard.ETOOLARGE, "The file is larger than the limit of %s.", formatBytes(s.maxUpload))
	} else if err != nil {
		return nil, err
	}
	a := &switchboard.StoredAttachment{
		Attachment: switchboard.Attachment{Name: name, ContentType: contentType, Size: info.Size, SHA256: info.SHA256},
		BlobKey:    info.Key,
	}
	if media.IsPicture(contentType) {
		s.addPicture(ctx, a)
	}
	if err := s.attachments.CreateAttachment(ctx, a); err != nil {
		return nil, err
	}
	out := a.Attachment
	return &out, nil
}

// addPicture fills in the dimensions and thumbnail of a picture; a picture
// that does not decode stays a plain file.
func (s *Service) addPicture(ctx context.Context, a *switchboard.StoredAttachment) {
	f, _, err := s.blobs.Open(ctx, a.BlobKey)
	if err != nil {
		s.logger.Warn("open picture", "attachment_sha256", a.SHA256, "err", err)
		return
	}
	defer f.Close()
	// Decoding a large picture takes hundreds of MB; a few at a time.
	select {
	case s.decoding <- struct{}{}:
		defer func() { <-s.decoding }()
	case <-ctx.Done():
		return
	}
	pic, err := media.Process(f, a.ContentType, ThumbnailSide)
	if err != nil {
		s.logger.Info("picture not decoded; kept as a file", "content_type", a.ContentType, "err", err)
		return
	}
	a.Width, a.Height = pic.Width, pic.Height
	thumb, err := s.blobs.Put(ctx, bytes.NewReader(pic.Thumbnail), s.maxUpload)
	if err != nil {
		s.logger.Warn("store thumbnail", "err", err)
		return
	}
	a.ThumbKey, a.ThumbType, a.ThumbnailSize = thumb.Key, pic.ThumbnailType, thumb.Size
}

// Attachment returns an attachment the caller may download.
func (s *Service) Attachment(ctx context.Context, id string) (*switchboard.StoredAttachment, error) {
	return s.attachments.FindAttachment(ctx, id)
}

// OpenAttachment returns the bytes of an attachment the caller may
// download (or of its thumbnail), seekable for range requests.
func (s *Service) OpenAttachment(ctx context.Context, id string, thumbnail bool) (*switchboard.StoredAttachment, io.ReadSeekCloser, error) {
	a, err := s.attachments.FindAttachment(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	key := a.BlobKey
	if thumbnail {
		if a.ThumbKey == "" {
			return nil, nil, switchboard.Errorf(switchboard.ENOTFOUND, "This attachment has no thumbnail.")
		}
		key = a.ThumbKey
	}
	f, _, err := s.blobs.Open(ctx, key)
	if err != nil {
		return nil, nil, err
	}
	return a, f, nil
}

// AttachmentRetention is how long an upload may wait to be posted in a
// message before it is removed.
const AttachmentRetention = 24 * time.Hour

// RemoveUnattached deletes uploads never posted in a message within
// AttachmentRetention, and their bytes when nothing else refers to them.
func (s *Service) RemoveUnattached(ctx context.Context) (int, error) {
	s.blobMu.Lock()
	defer s.blobMu.Unlock()
	keys, err := s.attachments.DeleteUnattached(ctx, s.now().Add(-AttachmentRetention))
	if err != nil {
		return 0, err
	}
	for _, k := range keys {
		if err := s.blobs.Delete(ctx, k); err != nil {
			return 0, err
		}
	}
	return len(keys), nil
}

// cleanFileName keeps the base name of what a client calls its file,
// without control characters, at most 200 characters.
func cleanFileName(name string) string {
	name = strings.ReplaceAll(name, "\\", "/")
	name = path.Base(strings.TrimSpace(name))
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return -1
		}
		return r
	}, name)
	if name == "." || name == "/" || name == "" {
		name = "file"
	}
	if r := []rune(name); len(r) > 200 {
		name = string(r[:200])
	}
	return name
}

func formatBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
