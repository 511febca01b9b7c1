package switchboard

import (
	"context"
	"time"
)

// DefaultMaxUpload is the default size limit of one attachment.
const DefaultMaxUpload = 25 << 20

// StoredAttachment is an attachment with what the server keeps about it
// besides what clients see.
type StoredAttachment struct {
	Attachment
	Domain        string
	Uploader      string
	BlobKey       string
	ThumbKey      string // empty when there is no thumbnail
	ThumbType     string
	CreatedAt     time.Time
	Attached      bool // posted in at least one message
	ThumbnailSize int64
}

// AttachmentStore keeps attachment metadata; the bytes are in a BlobStore.
//
// Methods act for the identity in ctx, like ChatStore: an attachment the
// identity may not see is ENOTFOUND. Safe for concurrent use.
type AttachmentStore interface {
	// CreateAttachment records an upload by the caller; ID, Domain, Uploader
	// and CreatedAt are set on a.
	CreateAttachment(ctx context.Context, a *StoredAttachment) error

	// FindAttachment returns an attachment that the caller uploaded or that
	// was posted in a conversation the caller is a member of.
	FindAttachment(ctx context.Context, id string) (*StoredAttachment, error)

	// FindAttachmentByID returns an attachment of domain whatever the
	// identity, for links whose signature was checked already (MMS media).
	FindAttachmentByID(ctx context.Context, domain, id string) (*StoredAttachment, error)

	// DeleteUnattached removes attachments never posted in a message and
	// created before the given time, and returns the blob keys (files and
	// thumbnails) that no attachment refers to any more, for the caller to
	// delete. It needs no identity.
	DeleteUnattached(ctx context.Context, before time.Time) ([]string, error)
}
