-- Presence status chosen by the user, SIP digest credentials, API keys
-- and SIP registrations.
ALTER TABLE users ADD COLUMN dnd INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN status_message TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN status_until INTEGER;
-- Only what digest authentication needs: HA1 = H(ext:domain:secret) for
-- MD5 and SHA-256, never the secret itself.
ALTER TABLE users ADD COLUMN sip_ha1_md5 TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN sip_ha1_sha256 TEXT NOT NULL DEFAULT '';

CREATE TABLE api_keys (
	id         TEXT PRIMARY KEY,
	domain     TEXT NOT NULL REFERENCES domains(name),
	key_hash   TEXT NOT NULL UNIQUE,
	created_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE registrations (
	domain     TEXT NOT NULL,
	extension  TEXT NOT NULL,
	contact    TEXT NOT NULL,
	source     TEXT NOT NULL DEFAULT '',
	transport  TEXT NOT NULL DEFAULT '',
	user_agent TEXT NOT NULL DEFAULT '',
	call_id    TEXT NOT NULL DEFAULT '',
	cseq       INTEGER NOT NULL DEFAULT 0,
	expires_at INTEGER NOT NULL,
	PRIMARY KEY (domain, extension, contact)
) WITHOUT ROWID;
