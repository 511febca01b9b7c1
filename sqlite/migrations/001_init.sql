-- Domains, extensions and sessions.
CREATE TABLE domains (
	name         TEXT PRIMARY KEY,
	display_name TEXT NOT NULL,
	created_at   INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE users (
	domain        TEXT NOT NULL REFERENCES domains(name),
	extension     TEXT NOT NULL,
	name          TEXT NOT NULL,
	level         TEXT NOT NULL,
	password_hash TEXT NOT NULL,
	created_at    INTEGER NOT NULL,
	PRIMARY KEY (domain, extension)
) WITHOUT ROWID;

CREATE TABLE sessions (
	token_hash TEXT PRIMARY KEY,
	domain     TEXT NOT NULL,
	extension  TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_expiry ON sessions(expires_at);

-- Conversations keep their last seq and last message so that the list needs
-- no scan of messages.
CREATE TABLE conversations (
	id              TEXT PRIMARY KEY,
	domain          TEXT NOT NULL,
	kind            TEXT NOT NULL,
	name            TEXT NOT NULL DEFAULT '',
	direct_key      TEXT,
	created_by      TEXT NOT NULL,
	created_at      INTEGER NOT NULL,
	updated_at      INTEGER NOT NULL,
	last_seq        INTEGER NOT NULL DEFAULT 0,
	last_message_id TEXT
) WITHOUT ROWID;
CREATE UNIQUE INDEX conversations_direct ON conversations(domain, direct_key) WHERE direct_key IS NOT NULL;

-- One row per member: read marker, unread count, delete-for-me point and
-- the activity time that orders the member's list.
CREATE TABLE members (
	conversation_id TEXT NOT NULL,
	domain          TEXT NOT NULL,
	extension       TEXT NOT NULL,
	read_seq        INTEGER NOT NULL DEFAULT 0,
	unread          INTEGER NOT NULL DEFAULT 0,
	cleared_seq     INTEGER NOT NULL DEFAULT 0,
	hidden          INTEGER NOT NULL DEFAULT 0,
	activity_at     INTEGER NOT NULL,
	PRIMARY KEY (conversation_id, extension)
) WITHOUT ROWID;
CREATE INDEX members_list ON members(domain, extension, hidden, activity_at DESC);

-- Messages are clustered by conversation and seq, so a page of history is
-- one range read.
CREATE TABLE messages (
	conversation_id TEXT NOT NULL,
	seq             INTEGER NOT NULL,
	id              TEXT NOT NULL,
	client_id       TEXT NOT NULL DEFAULT '',
	sender          TEXT NOT NULL,
	body            TEXT NOT NULL DEFAULT '',
	attachments     TEXT NOT NULL DEFAULT '',
	kind            TEXT NOT NULL,
	targets         TEXT NOT NULL DEFAULT '',
	name            TEXT NOT NULL DEFAULT '',
	created_at      INTEGER NOT NULL,
	edited_at       INTEGER,
	deleted         INTEGER NOT NULL DEFAULT 0,
	status          TEXT NOT NULL DEFAULT '',
	error           TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (conversation_id, seq)
) WITHOUT ROWID;
CREATE UNIQUE INDEX messages_id ON messages(id);
CREATE UNIQUE INDEX messages_client_id ON messages(conversation_id, sender, client_id) WHERE client_id <> '';

-- The durable event log. Ids are assigned by the single writer in commit
-- order, so a client resuming after a cursor never misses a commit.
CREATE TABLE events (
	id              INTEGER PRIMARY KEY AUTOINCREMENT,
	domain          TEXT NOT NULL,
	type            TEXT NOT NULL,
	conversation_id TEXT NOT NULL DEFAULT '',
	data            BLOB NOT NULL,
	created_at      INTEGER NOT NULL
);

CREATE TABLE event_recipients (
	domain    TEXT NOT NULL,
	extension TEXT NOT NULL,
	event_id  INTEGER NOT NULL,
	PRIMARY KEY (domain, extension, event_id)
) WITHOUT ROWID;

CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value INTEGER NOT NULL
) WITHOUT ROWID;
