package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/switchboard-chat/switchboard"
)

var _ switchboard.DirectoryStore = (*Store)(nil)

// CreateDomain implements switchboard.DirectoryStore.
func (s *Store) CreateDomain(ctx context.Context, d *switchboard.Domain) error {
	if err := switchboard.ValidateDomainName(d.Name); err != nil {
		return err
	}
	if d.DisplayName == "" {
		d.DisplayName = d.Name
	}
	return s.write(ctx, func(w *wtx) error {
		var n int
		if err := w.queryRow(`SELECT count(*) FROM domains WHERE name = ?`, d.Name).Scan(&n); err != nil {
			return fmt.Errorf("find domain: %w", err)
		} else if n > 0 {
			return switchboard.Errorf(switchboard.ECONFLICT, "Domain %s exists already.", d.Name)
		}
		d.CreatedAt = w.now
		if d.Country == "" {
			d.Country = "US"
		}
		if _, err := w.exec(`INSERT INTO domains (name, display_name, created_at, country, sms_help) VALUES (?, ?, ?, ?, ?)`,
			d.Name, d.DisplayName, ms(d.CreatedAt), d.Country, d.SMSHelp); err != nil {
			return fmt.Errorf("insert domain: %w", err)
		}
		return nil
	})
}

// FindDomain implements switchboard.DirectoryStore.
func (s *Store) FindDomain(ctx context.Context, name string) (*switchboard.Domain, error) {
	var d switchboard.Domain
	var created int64
	err := s.queryRow(ctx, `SELECT name, display_name, created_at, country, sms_help FROM domains WHERE name = ?`, name).
		Scan(&d.Name, &d.DisplayName, &created, &d.Country, &d.SMSHelp)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, switchboard.Errorf(switchboard.ENOTFOUND, "Domain %s not found.", name)
	} else if err != nil {
		return nil, fmt.Errorf("find domain: %w", err)
	}
	d.CreatedAt = fromMS(created)
	return &d, nil
}

// ListDomains implements switchboard.DirectoryStore.
func (s *Store) ListDomains(ctx context.Context) ([]*switchboard.Domain, error) {
	rows, err := s.query(ctx, `SELECT name, display_name, created_at, country, sms_help FROM domains ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list domains: %w", err)
	}
	defer rows.Close()
	var out []*switchboard.Domain
	for rows.Next() {
		var d switchboard.Domain
		var created int64
		if err := rows.Scan(&d.Name, &d.DisplayName, &created, &d.Country, &d.SMSHelp); err != nil {
			return nil, fmt.Errorf("list domains: %w", err)
		}
		d.CreatedAt = fromMS(created)
		out = append(out, &d)
	}
	return out, rows.Err()
}

// UpdateDomain implements switchboard.DirectoryStore.
func (s *Store) UpdateDomain(ctx context.Context, d *switchboard.Domain) error {
	return s.write(ctx, func(w *wtx) error {
		res, err := w.exec(`UPDATE domains SET display_name = ?, country = ?, sms_help = ? WHERE name = ?`, d.DisplayName, d.Country, d.SMSHelp, d.Name)
		if err != nil {
			return fmt.Errorf("update domain: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return switchboard.Errorf(switchboard.ENOTFOUND, "Domain %s not found.", d.Name)
		}
		return nil
	})
}

// CreateUser implements switchboard.DirectoryStore.
func (s *Store) CreateUser(ctx context.Context, u *switchboard.User) error {
	if err := switchboard.ValidateExtension(u.Extension); err != nil {
		return err
	} else if err := switchboard.ValidateName(u.Name); err != nil {
		return err
	} else if !u.Level.Valid() {
		return switchboard.Errorf(switchboard.EINVALID, "Level %q is not valid.", u.Level)
	}
	return s.write(ctx, func(w *wtx) error {
		var n int
		if err := w.queryRow(`SELECT count(*) FROM domains WHERE name = ?`, u.Domain).Scan(&n); err != nil {
			return fmt.Errorf("find domain: %w", err)
		} else if n == 0 {
			return switchboard.Errorf(switchboard.ENOTFOUND, "Domain %s not found.", u.Domain)
		}
		if err := w.queryRow(`SELECT count(*) FROM users WHERE domain = ? AND extension = ?`, u.Domain, u.Extension).Scan(&n); err != nil {
			return fmt.Errorf("find user: %w", err)
		} else if n > 0 {
			return switchboard.Errorf(switchboard.ECONFLICT, "Extension %s exists already.", u.Address())
		}
		u.CreatedAt = w.now
		if _, err := w.exec(`INSERT INTO users (domain, extension, name, level, password_hash, created_at, sip_ha1_md5, sip_ha1_sha256)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			u.Domain, u.Extension, u.Name, string(u.Level), u.PasswordHash, ms(u.CreatedAt), u.SIPHA1MD5, u.SIPHA1SHA256); err != nil {
			return fmt.Errorf("insert user: %w", err)
		}
		return nil
	})
}

const userColumns = `domain, extension, name, level, password_hash, created_at, dnd, status_message, status_until, sip_ha1_md5, sip_ha1_sha256`

func scanUser(sc interface{ Scan(...any) error }) (*switchboard.User, error) {
	var u switchboard.User
	var level string
	var created int64
	var until sql.NullInt64
	if err := sc.Scan(&u.Domain, &u.Extension, &u.Name, &level, &u.PasswordHash, &created,
		&u.Status.DND, &u.Status.Message, &until, &u.SIPHA1MD5, &u.SIPHA1SHA256); err != nil {
		return nil, err
	}
	u.Level, u.CreatedAt = switchboard.Level(level), fromMS(created)
	if until.Valid {
		t := fromMS(until.Int64)
		u.Status.Until = &t
	}
	return &u, nil
}

func nullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return ms(*t)
}

// FindUser implements switchboard.DirectoryStore.
func (s *Store) FindUser(ctx context.Context, domain, ext string) (*switchboard.User, error) {
	now := s.now()
	if u, ok := s.auth.user(domain, ext, now); ok {
		return u, nil
	}
	gen := s.auth.generation()
	u, err := scanUser(s.queryRow(ctx, `SELECT `+userColumns+` FROM users WHERE domain = ? AND extension = ?`, domain, ext))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, switchboard.Errorf(switchboard.ENOTFOUND, "Extension %s@%s not found.", ext, domain)
	} else if err != nil {
		return nil, fmt.Errorf("find user: %w", err)
	}
	s.auth.putUser(gen, u, now)
	return u, nil
}

// ListUsers implements switchboard.DirectoryStore.
func (s *Store) ListUsers(ctx context.Context, domain, q string) ([]*switchboard.User, error) {
	rows, err := s.query(ctx, `SELECT `+userColumns+` FROM users WHERE domain = ? ORDER BY extension`, domain)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	var out []*switchboard.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		if switchboard.MatchUser(u, q) {
			out = append(out, u)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	if len(out) == 0 {
		// An unknown domain is ENOTFOUND, not an empty list.
		if _, err := s.FindDomain(ctx, domain); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// UpdateUser implements switchboard.DirectoryStore.
func (s *Store) UpdateUser(ctx context.Context, domain, ext string, upd switchboard.UserUpdate) (*switchboard.User, error) {
	if upd.Name != nil {
		if err := switchboard.ValidateName(*upd.Name); err != nil {
			return nil, err
		}
	}
	if upd.Level != nil && !upd.Level.Valid() {
		return nil, switchboard.Errorf(switchboard.EINVALID, "Level %q is not valid.", *upd.Level)
	}
	var out *switchboard.User
	// Invalidated before (a read racing with the write is then not cached)
	// and after (whatever was read meanwhile is dropped). A new password
	// ends the user's sessions, so those go too.
	forget := func() { s.auth.invalidateUser(domain, ext) }
	if upd.PasswordHash != nil {
		forget = s.auth.invalidate
	}
	forget()
	defer forget()
	err := s.write(ctx, func(w *wtx) error {
		u, err := scanUser(w.queryRow(`SELECT `+userColumns+` FROM users WHERE domain = ? AND extension = ?`, domain, ext))
		if errors.Is(err, sql.ErrNoRows) {
			return switchboard.Errorf(switchboard.ENOTFOUND, "Extension %s@%s not found.", ext, domain)
		} else if err != nil {
			return fmt.Errorf("find user: %w", err)
		}
		if upd.Name != nil {
			u.Name = *upd.Name
		}
		if upd.Level != nil {
			u.Level = *upd.Level
		}
		if upd.PasswordHash != nil {
			u.PasswordHash = *upd.PasswordHash
		}
		if upd.Status != nil {
			u.Status = *upd.Status
		}
		if upd.SIPHA1MD5 != nil {
			u.SIPHA1MD5 = *upd.SIPHA1MD5
		}
		if upd.SIPHA1SHA256 != nil {
			u.SIPHA1SHA256 = *upd.SIPHA1SHA256
		}
		if _, err := w.exec(`UPDATE users SET name = ?, level = ?, password_hash = ?, dnd = ?, status_message = ?, status_until = ?,
			sip_ha1_md5 = ?, sip_ha1_sha256 = ? WHERE domain = ? AND extension = ?`,
			u.Name, string(u.Level), u.PasswordHash, u.Status.DND, u.Status.Message, nullTime(u.Status.Until),
			u.SIPHA1MD5, u.SIPHA1SHA256, domain, ext); err != nil {
			return fmt.Errorf("update user: %w", err)
		}
		if err := w.authChanged(); err != nil {
			return err
		}
		if upd.PasswordHash != nil {
			// A new password ends every session of the user.
			if _, err := w.exec(`DELETE FROM sessions WHERE domain = ? AND extension = ?`, domain, ext); err != nil {
				return fmt.Errorf("delete sessions: %w", err)
			}
		}
		out = u
		return nil
	})
	return out, err
}

// ListStatuses implements switchboard.DirectoryStore.
func (s *Store) ListStatuses(ctx context.Context) ([]*switchboard.User, error) {
	rows, err := s.query(ctx, `SELECT `+userColumns+` FROM users WHERE dnd <> 0 OR status_message <> '' ORDER BY domain, extension`)
	if err != nil {
		return nil, fmt.Errorf("list statuses: %w", err)
	}
	defer rows.Close()
	var out []*switchboard.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("list statuses: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// CreateAPIKey implements switchboard.DirectoryStore.
func (s *Store) CreateAPIKey(ctx context.Context, k *switchboard.APIKey) error {
	return s.write(ctx, func(w *wtx) error {
		var n int
		if err := w.queryRow(`SELECT count(*) FROM domains WHERE name = ?`, k.Domain).Scan(&n); err != nil {
			return fmt.Errorf("find domain: %w", err)
		} else if n == 0 {
			return switchboard.Errorf(switchboard.ENOTFOUND, "Domain %s not found.", k.Domain)
		}
		k.ID, k.CreatedAt = switchboard.NewID("k_"), w.now
		if _, err := w.exec(`INSERT INTO api_keys (id, domain, key_hash, created_at) VALUES (?, ?, ?, ?)`,
			k.ID, k.Domain, k.KeyHash, ms(k.CreatedAt)); err != nil {
			return fmt.Errorf("insert api key: %w", err)
		}
		return nil
	})
}

// FindAPIKey implements switchboard.DirectoryStore.
func (s *Store) FindAPIKey(ctx context.Context, keyHash string) (*switchboard.APIKey, error) {
	var k switchboard.APIKey
	var created int64
	err := s.queryRow(ctx, `SELECT id, domain, key_hash, created_at FROM api_keys WHERE key_hash = ?`, keyHash).
		Scan(&k.ID, &k.Domain, &k.KeyHash, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, switchboard.Errorf(switchboard.ENOTFOUND, "API key not found.")
	} else if err != nil {
		return nil, fmt.Errorf("find api key: %w", err)
	}
	k.CreatedAt = fromMS(created)
	return &k, nil
}

// CreateSession implements switchboard.DirectoryStore.
func (s *Store) CreateSession(ctx context.Context, sess *switchboard.Session) error {
	return s.write(ctx, func(w *wtx) error {
		sess.CreatedAt = w.now
		if _, err := w.exec(`DELETE FROM sessions WHERE expires_at < ?`, ms(w.now)); err != nil {
			return fmt.Errorf("expire sessions: %w", err)
		}
		if _, err := w.exec(`INSERT INTO sessions (token_hash, domain, extension, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
			sess.TokenHash, sess.Domain, sess.Extension, ms(sess.CreatedAt), ms(sess.ExpiresAt)); err != nil {
			return fmt.Errorf("insert session: %w", err)
		}
		return nil
	})
}

// FindSession implements switchboard.DirectoryStore.
func (s *Store) FindSession(ctx context.Context, tokenHash string) (*switchboard.Session, error) {
	if sess, ok := s.auth.session(tokenHash, s.now()); ok {
		return sess, nil
	}
	gen := s.auth.generation()
	var sess switchboard.Session
	var created, expires int64
	// The session's user comes along (the caller asks for it next, see
	// chat.Service.Authenticate) and goes into the cache: one read instead
	// of two.
	var u struct {
		name, level, hash, statusMessage, ha1MD5, ha1SHA256 sql.NullString
		created, statusUntil                                sql.NullInt64
		dnd                                                 sql.NullBool
	}
	err := s.queryRow(ctx, `SELECT s.token_hash, s.domain, s.extension, s.created_at, s.expires_at,
			u.name, u.level, u.password_hash, u.created_at, u.dnd, u.status_message, u.status_until, u.sip_ha1_md5, u.sip_ha1_sha256
		FROM sessions s LEFT JOIN users u ON u.domain = s.domain AND u.extension = s.extension
		WHERE s.token_hash = ? AND s.expires_at > ?`,
		tokenHash, ms(s.now())).Scan(&sess.TokenHash, &sess.Domain, &sess.Extension, &created, &expires,
		&u.name, &u.level, &u.hash, &u.created, &u.dnd, &u.statusMessage, &u.statusUntil, &u.ha1MD5, &u.ha1SHA256)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, switchboard.Errorf(switchboard.ENOTFOUND, "Session not found.")
	} else if err != nil {
		return nil, fmt.Errorf("find session: %w", err)
	}
	sess.CreatedAt, sess.ExpiresAt = fromMS(created), fromMS(expires)
	now := s.now()
	s.auth.putSession(gen, &sess, now)
	if u.name.Valid {
		user := &switchboard.User{Domain: sess.Domain, Extension: sess.Extension, Name: u.name.String, Level: switchboard.Level(u.level.String),
			PasswordHash: u.hash.String, CreatedAt: fromMS(u.created.Int64), SIPHA1MD5: u.ha1MD5.String, SIPHA1SHA256: u.ha1SHA256.String}
		user.Status.DND, user.Status.Message = u.dnd.Bool, u.statusMessage.String
		if u.statusUntil.Valid {
			t := fromMS(u.statusUntil.Int64)
			user.Status.Until = &t
		}
		s.auth.putUser(gen, user, now)
	}
	return &sess, nil
}

// DeleteSession implements switchboard.DirectoryStore.
func (s *Store) DeleteSession(ctx context.Context, tokenHash string) error {
	defer s.auth.invalidate()
	return s.write(ctx, func(w *wtx) error {
		if _, err := w.exec(`DELETE FROM sessions WHERE token_hash = ?`, tokenHash); err != nil {
			return fmt.Errorf("delete session: %w", err)
		}
		return w.authChanged()
	})
}

// userExists reports which of exts are extensions of domain.
func (w *wtx) missingUsers(domain string, exts []string) ([]string, error) {
	var missing []string
	for _, ext := range exts {
		var n int
		if err := w.queryRow(`SELECT count(*) FROM users WHERE domain = ? AND extension = ?`, domain, ext).Scan(&n); err != nil {
			return nil, fmt.Errorf("find user: %w", err)
		} else if n == 0 {
			missing = append(missing, ext)
		}
	}
	return missing, nil
}

func joinExts(exts []string) string { return strings.Join(exts, ", ") }
