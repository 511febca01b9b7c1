package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/switchboard-chat/switchboard"
)

var _ switchboard.AttachmentStore = (*Store)(nil)

const attachmentColumns = `id, domain, uploader, name, content_type, size, sha256, blob_key, width, height, thumb_key, thumb_type, thumb_size, created_at, attached`

func scanAttachment(sc interface{ Scan(...any) error }) (*switchboard.StoredAttachment, error) {
	var a switchboard.StoredAttachment
	var created int64
	if err := sc.Scan(&a.ID, &a.Domain, &a.Uploader, &a.Name, &a.ContentType, &a.Size, &a.SHA256, &a.BlobKey,
		&a.Width, &a.Height, &a.ThumbKey, &a.ThumbType, &a.ThumbnailSize, &created, &a.Attached); err != nil {
		return nil, err
	}
	a.CreatedAt = fromMS(created)
	return &a, nil
}

var errAttachmentNotFound = switchboard.Errorf(switchboard.ENOTFOUND, "Attachment not found.")

// CreateAttachment implements switchboard.AttachmentStore.
func (s *Store) CreateAttachment(ctx context.Context, a *switchboard.StoredAttachment) error {
	id, err := identity(ctx)
	if err != nil {
		return err
	}
	return s.write(ctx, func(w *wtx) error {
		a.ID = switchboard.NewID("a_")
		a.Domain, a.Uploader, a.CreatedAt, a.Attached = id.Domain, id.Extension, w.now, false
		if _, err := w.exec(`INSERT INTO attachments (`+attachmentColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)`,
			a.ID, a.Domain, a.Uploader, a.Name, a.ContentType, a.Size, a.SHA256, a.BlobKey, a.Width, a.Height,
			a.ThumbKey, a.ThumbType, a.ThumbnailSize, ms(a.CreatedAt)); err != nil {
			return fmt.Errorf("insert attachment: %w", err)
		}
		return nil
	})
}

// FindAttachment implements switchboard.AttachmentStore.
func (s *Store) FindAttachment(ctx context.Context, attID string) (*switchboard.StoredAttachment, error) {
	id, err := identity(ctx)
	if err != nil {
		return nil, err
	}
	a, err := scanAttachment(s.queryRow(ctx, `SELECT `+attachmentColumns+` FROM attachments a
		WHERE a.id = ? AND a.domain = ? AND (a.uploader = ? OR EXISTS (
			SELECT 1 FROM attachment_posts p JOIN members m ON m.conversation_id = p.conversation_id
			WHERE p.attachment_id = a.id AND m.extension = ?))`, attID, id.Domain, id.Extension, id.Extension))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errAttachmentNotFound
	} else if err != nil {
		return nil, fmt.Errorf("find attachment: %w", err)
	}
	return a, nil
}

// FindAttachmentByID implements switchboard.AttachmentStore.
func (s *Store) FindAttachmentByID(ctx context.Context, domain, attID string) (*switchboard.StoredAttachment, error) {
	a, err := scanAttachment(s.queryRow(ctx, `SELECT `+attachmentColumns+` FROM attachments WHERE id = ? AND domain = ?`, attID, domain))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errAttachmentNotFound
	} else if err != nil {
		return nil, fmt.Errorf("find attachment: %w", err)
	}
	return a, nil
}

// postAttachments resolves attachment ids for a message of the caller in
// conversation convID: each must be the caller's own upload (a foreign or
// unknown id is ENOTFOUND). They are recorded as posted there.
func (w *wtx) postAttachments(id switchboard.Identity, convID string, ids []string) ([]*switchboard.Attachment, error) {
	if len(ids) > switchboard.MaxAttachments {
		return nil, switchboard.Errorf(switchboard.EINVALID, "A message has at most %d attachments.", switchboard.MaxAttachments)
	}
	out := make([]*switchboard.Attachment, 0, len(ids))
	seen := map[string]bool{}
	for _, attID := range ids {
		if seen[attID] {
			return nil, switchboard.Errorf(switchboard.EINVALID, "Attachment %s is listed twice.", attID)
		}
		seen[attID] = true
		a, err := scanAttachment(w.queryRow(`SELECT `+attachmentColumns+` FROM attachments WHERE id = ? AND domain = ? AND uploader = ?`,
			attID, id.Domain, id.Extension))
		if errors.Is(err, sql.ErrNoRows) {
			return nil, switchboard.Errorf(switchboard.ENOTFOUND, "Attachment %s not found.", attID)
		} else if err != nil {
			return nil, fmt.Errorf("find attachment: %w", err)
		}
		if _, err := w.exec(`UPDATE attachments SET attached = 1 WHERE id = ?`, a.ID); err != nil {
			return nil, fmt.Errorf("mark attachment: %w", err)
		}
		if _, err := w.exec(`INSERT INTO attachment_posts (attachment_id, conversation_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, a.ID, convID); err != nil {
			return nil, fmt.Errorf("post attachment: %w", err)
		}
		att := a.Attachment
		out = append(out, &att)
	}
	return out, nil
}

// DeleteUnattached implements switchboard.AttachmentStore.
func (s *Store) DeleteUnattached(ctx context.Context, before time.Time) ([]string, error) {
	var orphans []string
	err := s.write(ctx, func(w *wtx) error {
		rows, err := w.query(`SELECT id, blob_key, thumb_key FROM attachments WHERE attached = 0 AND created_at < ?`, ms(before))
		if err != nil {
			return fmt.Errorf("find unattached: %w", err)
		}
		var ids []string
		keys := map[string]bool{}
		for rows.Next() {
			var id, blobKey, thumbKey string
			if err := rows.Scan(&id, &blobKey, &thumbKey); err != nil {
				rows.Close()
				return fmt.Errorf("find unattached: %w", err)
			}
			ids = append(ids, id)
			keys[blobKey] = true
			if thumbKey != "" {
				keys[thumbKey] = true
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("find unattached: %w", err)
		}
		for _, id := range ids {
			if _, err := w.exec(`DELETE FROM attachments WHERE id = ?`, id); err != nil {
				return fmt.Errorf("delete attachment: %w", err)
			}
		}
		orphans = orphans[:0]
		for key := range keys {
			var n int
			if err := w.queryRow(`SELECT (SELECT count(*) FROM attachments WHERE blob_key = ?) + (SELECT count(*) FROM attachments WHERE thumb_key = ?)`,
				key, key).Scan(&n); err != nil {
				return fmt.Errorf("count blob references: %w", err)
			}
			if n == 0 {
				orphans = append(orphans, key)
			}
		}
		return nil
	})
	return orphans, err
}
