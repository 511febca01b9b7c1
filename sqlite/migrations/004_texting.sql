-- Texting: providers, numbers and their assignments, SMS conversations,
-- the durable outbox, inbound deduplication and opt-outs.
ALTER TABLE domains ADD COLUMN country TEXT NOT NULL DEFAULT 'US';
ALTER TABLE domains ADD COLUMN sms_help TEXT NOT NULL DEFAULT '';

CREATE TABLE providers (
	name        TEXT PRIMARY KEY,
	kind        TEXT NOT NULL,
	api_url     TEXT NOT NULL DEFAULT '',
	credentials TEXT NOT NULL DEFAULT '{}',
	created_at  INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE numbers (
	number     TEXT PRIMARY KEY,
	domain     TEXT NOT NULL REFERENCES domains(name),
	provider   TEXT NOT NULL REFERENCES providers(name),
	created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX numbers_domain ON numbers(domain);

CREATE TABLE number_assignments (
	number    TEXT NOT NULL,
	domain    TEXT NOT NULL,
	extension TEXT NOT NULL,
	PRIMARY KEY (number, extension)
) WITHOUT ROWID;
CREATE INDEX number_assignments_ext ON number_assignments(domain, extension);

ALTER TABLE conversations ADD COLUMN texting_number TEXT NOT NULL DEFAULT '';
ALTER TABLE conversations ADD COLUMN external TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX conversations_sms ON conversations(texting_number, external) WHERE texting_number <> '';

CREATE TABLE outbox (
	id              INTEGER PRIMARY KEY AUTOINCREMENT,
	message_id      TEXT NOT NULL,
	conversation_id TEXT NOT NULL,
	seq             INTEGER NOT NULL,
	domain          TEXT NOT NULL,
	sender          TEXT NOT NULL,
	recipient       TEXT NOT NULL,
	provider        TEXT NOT NULL,
	state           TEXT NOT NULL,
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_at         INTEGER NOT NULL,
	provider_id     TEXT NOT NULL DEFAULT '',
	error           TEXT NOT NULL DEFAULT '',
	updated_at      INTEGER NOT NULL
);
CREATE INDEX outbox_due ON outbox(state, next_at);
CREATE INDEX outbox_message ON outbox(message_id);
CREATE INDEX outbox_provider_id ON outbox(provider, provider_id) WHERE provider_id <> '';

CREATE TABLE inbound_seen (
	provider    TEXT NOT NULL,
	provider_id TEXT NOT NULL,
	message_id  TEXT NOT NULL,
	created_at  INTEGER NOT NULL,
	PRIMARY KEY (provider, provider_id)
) WITHOUT ROWID;

CREATE TABLE opt_outs (
	number     TEXT NOT NULL,
	external   TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (number, external)
) WITHOUT ROWID;
