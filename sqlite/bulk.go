package sqlite

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/switchboard-chat/switchboard"
)

// The Bulk* functions load fixtures straight into the database, for the
// benchmark (cmd/switchboard-bench) and tests: thousands of extensions,
// sessions and conversations and a million messages in seconds. They skip
// what the API does per call and must not be used to serve users:
//
//   - no validation beyond the schema's constraints, and nothing is
//     published, so connected clients learn nothing (load before serving);
//     a bulk message takes an event id as a sent one does, so that a
//     resume from before the load reads it as message.created;
//   - passwords and session tokens arrive already hashed, exactly as the
//     store keeps them (an argon2id hash, the SHA-256 hex of a token), so
//     nothing about sign-in is weakened or bypassed;
//   - each call is one transaction on the single writer, so it is atomic and
//     ordered with every other write; large loads should be split into calls
//     of some tens of thousands of rows so that the WAL is checkpointed
//     between them.

// BulkDomains stores domains that do not exist yet.
func (s *Store) BulkDomains(ctx context.Context, domains []*switchboard.Domain) error {
	return s.write(ctx, func(w *wtx) error {
		for _, d := range domains {
			if d.DisplayName == "" {
				d.DisplayName = d.Name
			}
			if d.Country == "" {
				d.Country = "US"
			}
			d.CreatedAt = w.now
			if _, err := w.exec(`INSERT INTO domains (name, display_name, created_at, country, sms_help) VALUES (?, ?, ?, ?, ?)`,
				d.Name, d.DisplayName, ms(d.CreatedAt), d.Country, d.SMSHelp); err != nil {
				return fmt.Errorf("bulk domain %s: %w", d.Name, err)
			}
		}
		return nil
	})
}

// BulkUsers stores extensions with their PasswordHash as given (an encoded
// argon2id hash, which may be shared by every fixture user).
func (s *Store) BulkUsers(ctx context.Context, users []*switchboard.User) error {
	return s.write(ctx, func(w *wtx) error {
		for _, u := range users {
			if u.Level == "" {
				u.Level = switchboard.LevelBasic
			}
			u.CreatedAt = w.now
			if _, err := w.exec(`INSERT INTO users (domain, extension, name, level, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
				u.Domain, u.Extension, u.Name, string(u.Level), u.PasswordHash, ms(u.CreatedAt)); err != nil {
				return fmt.Errorf("bulk user %s: %w", u.Address(), err)
			}
		}
		return nil
	})
}

// BulkSessions stores sessions by their TokenHash (the SHA-256 hex of the
// bearer token, see chat.HashKey).
func (s *Store) BulkSessions(ctx context.Context, sessions []*switchboard.Session) error {
	return s.write(ctx, func(w *wtx) error {
		for _, sess := range sessions {
			sess.CreatedAt = w.now
			if _, err := w.exec(`INSERT INTO sessions (token_hash, domain, extension, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
				sess.TokenHash, sess.Domain, sess.Extension, ms(sess.CreatedAt), ms(sess.ExpiresAt)); err != nil {
				return fmt.Errorf("bulk session: %w", err)
			}
		}
		return nil
	})
}

// BulkConversations stores chat conversations of domain with their
// Members (CreatedBy included), setting ID (when empty) and the times. A
// Direct conversation must have exactly two members.
func (s *Store) BulkConversations(ctx context.Context, domain string, convs []*switchboard.Conversation) error {
	return s.write(ctx, func(w *wtx) error {
		for _, c := range convs {
			if c.ID == "" {
				c.ID = switchboard.NewID("c_")
			}
			c.Kind = switchboard.KindChat
			c.CreatedAt, c.UpdatedAt = w.now, w.now
			members := append([]string(nil), c.Members...)
			sort.Strings(members)
			c.Members = members
			var directKey any
			if c.Direct {
				if len(members) != 2 {
					return fmt.Errorf("bulk conversation %s: a direct conversation has two members", c.ID)
				}
				directKey = directKeyOf(members[0], members[1])
			}
			if _, err := w.exec(`INSERT INTO conversations (id, domain, kind, name, direct_key, created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
				c.ID, domain, c.Kind, c.Name, directKey, c.CreatedBy, ms(w.now), ms(w.now)); err != nil {
				return fmt.Errorf("bulk conversation: %w", err)
			}
			for _, ext := range members {
				if _, err := w.exec(`INSERT INTO members (conversation_id, domain, extension, activity_at) VALUES (?, ?, ?, ?)`,
					c.ID, domain, ext, w.tick); err != nil {
					return fmt.Errorf("bulk member: %w", err)
				}
			}
		}
		return nil
	})
}

// BulkMessages appends text messages to existing conversations, in the
// order given: each gets the next seq of its conversation, an ID, and
// CreatedAt (when zero). Sender and Body must be set; the sender must be a
// member. Every conversation's last message, the members' unread counts
// and their list order move as if the messages had been sent.
func (s *Store) BulkMessages(ctx context.Context, msgs []*switchboard.Message) error {
	type last struct {
		seq    int64
		event  int64
		at     time.Time
		sender string
		count  int
		msg    *switchboard.Message
	}
	return s.write(ctx, func(w *wtx) error {
		clear(w.s.convs)
		lasts := map[string]*last{}
		var order []string
		for _, m := range msgs {
			l := lasts[m.ConversationID]
			if l == nil {
				l = &last{}
				if err := w.queryRow(`SELECT last_seq FROM conversations WHERE id = ?`, m.ConversationID).Scan(&l.seq); err != nil {
					return fmt.Errorf("bulk message: conversation %s: %w", m.ConversationID, err)
				}
				lasts[m.ConversationID] = l
				order = append(order, m.ConversationID)
			}
			l.seq++
			m.Seq, m.ID, m.Kind = l.seq, switchboard.NewID("m_"), switchboard.MessageText
			if m.CreatedAt.IsZero() {
				m.CreatedAt = w.now
			}
			m.Attachments = []*switchboard.Attachment{}
			l.event = w.nextEvent()
			if _, err := w.exec(`INSERT INTO messages (`+messageColumns+`, event_id) VALUES (?, ?, ?, ?, ?, ?, '', ?, '', '', ?, NULL, 0, '', '', ?)`,
				m.ConversationID, m.Seq, m.ID, m.ClientID, m.Sender, m.Body, m.Kind, ms(m.CreatedAt), l.event); err != nil {
				return fmt.Errorf("bulk message: %w", err)
			}
			l.at, l.sender, l.msg = m.CreatedAt, m.Sender, m
			l.count++
		}
		for _, id := range order {
			l := lasts[id]
			// The conversation's last message and activity move as for a
			// send (insertMessage).
			w.s.tick = max(w.s.tick+1, l.at.UnixMicro())
			if _, err := w.exec(`UPDATE conversations SET last_seq = ?, last_message_id = ?, updated_at = ?, last_message = ?, activity_at = ?, last_event = ? WHERE id = ?`,
				l.seq, l.msg.ID, ms(l.at), packMessage(l.msg, "", ""), w.s.tick, l.event, id); err != nil {
				return fmt.Errorf("bulk message: update conversation: %w", err)
			}
			// Approximate unread counts: every bulk message counts as unread
			// for the members other than the last sender.
			w.tick = w.s.tick
			if err := w.touchMembers(id); err != nil {
				return fmt.Errorf("bulk message: %w", err)
			}
			if _, err := w.exec(`UPDATE members SET unread = unread + ? WHERE conversation_id = ? AND extension <> ?`,
				l.count, id, l.sender); err != nil {
				return fmt.Errorf("bulk message: update members: %w", err)
			}
			if _, err := w.exec(`UPDATE members SET read_seq = ?, unread = 0 WHERE conversation_id = ? AND extension = ?`,
				l.seq, id, l.sender); err != nil {
				return fmt.Errorf("bulk message: update sender: %w", err)
			}
		}
		return nil
	})
}
