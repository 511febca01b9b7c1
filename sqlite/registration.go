package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/switchboard-chat/switchboard"
)

var _ switchboard.RegistrationStore = (*Store)(nil)

// SaveRegistration implements switchboard.RegistrationStore.
func (s *Store) SaveRegistration(ctx context.Context, r *switchboard.Registration) error {
	return s.write(ctx, func(w *wtx) error {
		if _, err := w.exec(`INSERT INTO registrations (domain, extension, contact, source, transport, user_agent, call_id, cseq, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (domain, extension, contact) DO UPDATE SET source = excluded.source, transport = excluded.transport,
				user_agent = excluded.user_agent, call_id = excluded.call_id, cseq = excluded.cseq, expires_at = excluded.expires_at`,
			r.Domain, r.Extension, r.Contact, r.Source, r.Transport, r.UserAgent, r.CallID, r.CSeq, ms(r.ExpiresAt)); err != nil {
			return fmt.Errorf("save registration: %w", err)
		}
		return nil
	})
}

// DeleteRegistration implements switchboard.RegistrationStore.
func (s *Store) DeleteRegistration(ctx context.Context, domain, ext, contact string) error {
	return s.write(ctx, func(w *wtx) error {
		if _, err := w.exec(`DELETE FROM registrations WHERE domain = ? AND extension = ? AND contact = ?`, domain, ext, contact); err != nil {
			return fmt.Errorf("delete registration: %w", err)
		}
		return nil
	})
}

// DeleteRegistrations implements switchboard.RegistrationStore.
func (s *Store) DeleteRegistrations(ctx context.Context, domain, ext string) error {
	return s.write(ctx, func(w *wtx) error {
		if _, err := w.exec(`DELETE FROM registrations WHERE domain = ? AND extension = ?`, domain, ext); err != nil {
			return fmt.Errorf("delete registrations: %w", err)
		}
		return nil
	})
}

// ListRegistrations implements switchboard.RegistrationStore.
func (s *Store) ListRegistrations(ctx context.Context, now time.Time) ([]*switchboard.Registration, error) {
	var out []*switchboard.Registration
	err := s.write(ctx, func(w *wtx) error {
		if _, err := w.exec(`DELETE FROM registrations WHERE expires_at <= ?`, ms(now)); err != nil {
			return fmt.Errorf("expire registrations: %w", err)
		}
		rows, err := w.query(`SELECT domain, extension, contact, source, transport, user_agent, call_id, cseq, expires_at
			FROM registrations ORDER BY domain, extension, contact`)
		if err != nil {
			return fmt.Errorf("list registrations: %w", err)
		}
		defer rows.Close()
		out = out[:0]
		for rows.Next() {
			var r switchboard.Registration
			var expires int64
			if err := rows.Scan(&r.Domain, &r.Extension, &r.Contact, &r.Source, &r.Transport, &r.UserAgent, &r.CallID, &r.CSeq, &expires); err != nil {
				return fmt.Errorf("list registrations: %w", err)
			}
			r.ExpiresAt = fromMS(expires)
			out = append(out, &r)
		}
		return rows.Err()
	})
	return out, err
}
