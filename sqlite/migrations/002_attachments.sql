-- Attachments: metadata here, bytes in the blob store by SHA-256.
CREATE TABLE attachments (
	id           TEXT PRIMARY KEY,
	domain       TEXT NOT NULL,
	uploader     TEXT NOT NULL,
	name         TEXT NOT NULL,
	content_type TEXT NOT NULL,
	size         INTEGER NOT NULL,
	sha256       TEXT NOT NULL,
	blob_key     TEXT NOT NULL,
	width        INTEGER NOT NULL DEFAULT 0,
	height       INTEGER NOT NULL DEFAULT 0,
	thumb_key    TEXT NOT NULL DEFAULT '',
	thumb_type   TEXT NOT NULL DEFAULT '',
	thumb_size   INTEGER NOT NULL DEFAULT 0,
	created_at   INTEGER NOT NULL,
	attached     INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX attachments_unattached ON attachments(created_at) WHERE attached = 0;
CREATE INDEX attachments_blob ON attachments(blob_key);
CREATE INDEX attachments_thumb ON attachments(thumb_key) WHERE thumb_key <> '';

-- Where an attachment was posted: its members may download it.
CREATE TABLE attachment_posts (
	attachment_id   TEXT NOT NULL,
	conversation_id TEXT NOT NULL,
	PRIMARY KEY (attachment_id, conversation_id)
) WITHOUT ROWID;
