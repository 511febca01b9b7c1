package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboard-chat/switchboard"
)

var _ switchboard.TextingStore = (*Store)(nil)

// CreateProvider implements switchboard.TextingStore.
func (s *Store) CreateProvider(ctx context.Context, p *switchboard.Provider) error {
	creds, err := json.Marshal(p.Credentials)
	if err != nil {
		return fmt.Errorf("encode credentials: %w", err)
	}
	return s.write(ctx, func(w *wtx) error {
		var n int
		if err := w.queryRow(`SELECT count(*) FROM providers WHERE name = ?`, p.Name).Scan(&n); err != nil {
			return fmt.Errorf("find provider: %w", err)
		} else if n > 0 {
			return switchboard.Errorf(switchboard.ECONFLICT, "Provider %s exists already.", p.Name)
		}
		p.CreatedAt = w.now
		if _, err := w.exec(`INSERT INTO providers (name, kind, api_url, credentials, created_at) VALUES (?, ?, ?, ?, ?)`,
			p.Name, p.Kind, p.APIURL, string(creds), ms(p.CreatedAt)); err != nil {
			return fmt.Errorf("insert provider: %w", err)
		}
		return nil
	})
}

func scanProvider(sc interface{ Scan(...any) error }) (*switchboard.Provider, error) {
	var p switchboard.Provider
	var creds string
	var created int64
	if err := sc.Scan(&p.Name, &p.Kind, &p.APIURL, &creds, &created); err != nil {
		return nil, err
	}
	p.CreatedAt = fromMS(created)
	if err := json.Unmarshal([]byte(creds), &p.Credentials); err != nil {
		return nil, fmt.Errorf("decode credentials: %w", err)
	}
	return &p, nil
}

// FindProvider implements switchboard.TextingStore.
func (s *Store) FindProvider(ctx context.Context, name string) (*switchboard.Provider, error) {
	p, err := scanProvider(s.queryRow(ctx, `SELECT name, kind, api_url, credentials, created_at FROM providers WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, switchboard.Errorf(switchboard.ENOTFOUND, "Provider %s not found.", name)
	} else if err != nil {
		return nil, fmt.Errorf("find provider: %w", err)
	}
	return p, nil
}

// ListProviders implements switchboard.TextingStore.
func (s *Store) ListProviders(ctx context.Context) ([]*switchboard.Provider, error) {
	rows, err := s.query(ctx, `SELECT name, kind, api_url, credentials, created_at FROM providers ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list providers: %w", err)
	}
	defer rows.Close()
	var out []*switchboard.Provider
	for rows.Next() {
		p, err := scanProvider(rows)
		if err != nil {
			return nil, fmt.Errorf("list providers: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// CreateNumber implements switchboard.TextingStore.
func (s *Store) CreateNumber(ctx context.Context, n *switchboard.TextingNumber) error {
	return s.write(ctx, func(w *wtx) error {
		var count int
		if err := w.queryRow(`SELECT count(*) FROM numbers WHERE number = ?`, n.Number).Scan(&count); err != nil {
			return fmt.Errorf("find number: %w", err)
		} else if count > 0 {
			return switchboard.Errorf(switchboard.ECONFLICT, "Texting number %s exists already.", n.Number)
		}
		if err := w.queryRow(`SELECT count(*) FROM domains WHERE name = ?`, n.Domain).Scan(&count); err != nil {
			return fmt.Errorf("find domain: %w", err)
		} else if count == 0 {
			return switchboard.Errorf(switchboard.ENOTFOUND, "Domain %s not found.", n.Domain)
		}
		if err := w.queryRow(`SELECT count(*) FROM providers WHERE name = ?`, n.Provider).Scan(&count); err != nil {
			return fmt.Errorf("find provider: %w", err)
		} else if count == 0 {
			return switchboard.Errorf(switchboard.ENOTFOUND, "Provider %s not found.", n.Provider)
		}
		n.CreatedAt = w.now
		if _, err := w.exec(`INSERT INTO numbers (number, domain, provider, created_at) VALUES (?, ?, ?, ?)`,
			n.Number, n.Domain, n.Provider, ms(n.CreatedAt)); err != nil {
			return fmt.Errorf("insert number: %w", err)
		}
		return w.assign(n, n.Assigned)
	})
}

// assign replaces the assignments of n with exts and brings the members of
// its conversations in line.
func (w *wtx) assign(n *switchboard.TextingNumber, exts []string) error {
	exts = slices.Clone(exts)
	sort.Strings(exts)
	exts = slices.Compact(exts)
	for _, ext := range exts {
		if err := switchboard.ValidateExtension(ext); err != nil {
			return err
		}
	}
	missing, err := w.missingUsers(n.Domain, exts)
	if err != nil {
		return err
	} else if len(missing) > 0 {
		return switchboard.Errorf(switchboard.ENOTFOUND, "Extension %s not found in %s.", joinExts(missing), n.Domain)
	}
	if _, err := w.exec(`DELETE FROM number_assignments WHERE number = ?`, n.Number); err != nil {
		return fmt.Errorf("delete assignments: %w", err)
	}
	for _, ext := range exts {
		if _, err := w.exec(`INSERT INTO number_assignments (number, domain, extension) VALUES (?, ?, ?)`, n.Number, n.Domain, ext); err != nil {
			return fmt.Errorf("insert assignment: %w", err)
		}
	}
	n.Assigned = exts
	rows, err := w.query(`SELECT id FROM conversations WHERE texting_number = ?`, n.Number)
	if err != nil {
		return fmt.Errorf("list sms conversations: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return fmt.Errorf("list sms conversations: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	for _, id := range ids {
		if err := w.syncMembers(n.Domain, id, exts); err != nil {
			return err
		}
	}
	return nil
}

// syncMembers makes exts the members of an SMS conversation.
func (w *wtx) syncMembers(domain, convID string, exts []string) error {
	c, _, err := scanConv(w.queryRow(`SELECT `+convColumns+` FROM conversations c WHERE c.id = ?`, convID))
	if err != nil {
		return fmt.Errorf("find conversation: %w", err)
	}
	if _, err := w.loadMembers(c, ""); err != nil {
		return err
	}
	if slices.Equal(c.Members, exts) {
		return nil
	}
	for _, old := range c.Members {
		if !slices.Contains(exts, old) {
			if err := w.removeMember(c.ID, old); err != nil {
				return err
			}
			if err := w.emit(domain, switchboard.EventConversationDeleted, c.ID, []string{old}, map[string]string{"id": c.ID}); err != nil {
				return err
			}
		}
	}
	for _, ext := range exts {
		if !c.IsMember(ext) {
			if _, err := w.exec(`INSERT INTO members (conversation_id, domain, extension, read_seq, activity_at, joined_event) VALUES (?, ?, ?, ?, ?, ?)`,
				c.ID, domain, ext, c.LastSeq, w.tick, w.s.lastEvent); err != nil {
				return fmt.Errorf("insert member: %w", err)
			}
		}
	}
	if _, err := w.loadMembers(c, ""); err != nil {
		return err
	}
	if len(c.Members) == 0 {
		return nil
	}
	return w.emit(domain, switchboard.EventConversationUpdated, c.ID, c.Members, c.Shared())
}

func (s *Store) loadAssigned(ctx context.Context, n *switchboard.TextingNumber) error {
	rows, err := s.query(ctx, `SELECT extension FROM number_assignments WHERE number = ? ORDER BY extension`, n.Number)
	if err != nil {
		return fmt.Errorf("list assignments: %w", err)
	}
	defer rows.Close()
	n.Assigned = []string{}
	for rows.Next() {
		var ext string
		if err := rows.Scan(&ext); err != nil {
			return fmt.Errorf("list assignments: %w", err)
		}
		n.Assigned = append(n.Assigned, ext)
	}
	return rows.Err()
}

// FindNumber implements switchboard.TextingStore.
func (s *Store) FindNumber(ctx context.Context, number string) (*switchboard.TextingNumber, error) {
	var n switchboard.TextingNumber
	var created int64
	err := s.queryRow(ctx, `SELECT number, domain, provider, created_at FROM numbers WHERE number = ?`, number).
		Scan(&n.Number, &n.Domain, &n.Provider, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, switchboard.Errorf(switchboard.ENOTFOUND, "Texting number %s not found.", number)
	} else if err != nil {
		return nil, fmt.Errorf("find number: %w", err)
	}
	n.CreatedAt = fromMS(created)
	return &n, s.loadAssigned(ctx, &n)
}

// ListNumbers implements switchboard.TextingStore.
func (s *Store) ListNumbers(ctx context.Context, domain string) ([]*switchboard.TextingNumber, error) {
	if _, err := s.FindDomain(ctx, domain); err != nil {
		return nil, err
	}
	rows, err := s.query(ctx, `SELECT number, domain, provider, created_at FROM numbers WHERE domain = ? ORDER BY number`, domain)
	if err != nil {
		return nil, fmt.Errorf("list numbers: %w", err)
	}
	var out []*switchboard.TextingNumber
	for rows.Next() {
		var n switchboard.TextingNumber
		var created int64
		if err := rows.Scan(&n.Number, &n.Domain, &n.Provider, &created); err != nil {
			rows.Close()
			return nil, fmt.Errorf("list numbers: %w", err)
		}
		n.CreatedAt = fromMS(created)
		out = append(out, &n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list numbers: %w", err)
	}
	for _, n := range out {
		if err := s.loadAssigned(ctx, n); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// AssignNumber implements switchboard.TextingStore.
func (s *Store) AssignNumber(ctx context.Context, number string, exts []string) (*switchboard.TextingNumber, error) {
	n, err := s.FindNumber(ctx, number)
	if err != nil {
		return nil, err
	}
	err = s.write(ctx, func(w *wtx) error { return w.assign(n, exts) })
	return n, err
}

// MyNumbers implements switchboard.TextingStore.
func (s *Store) MyNumbers(ctx context.Context) ([]string, error) {
	id, err := identity(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := s.query(ctx, `SELECT number FROM number_assignments WHERE domain = ? AND extension = ? ORDER BY number`, id.Domain, id.Extension)
	if err != nil {
		return nil, fmt.Errorf("list my numbers: %w", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("list my numbers: %w", err)
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// MaxSMSRecipients bounds the external numbers of a group MMS.
const MaxSMSRecipients = 10

// CreateSMSConversation implements switchboard.TextingStore.
func (s *Store) CreateSMSConversation(ctx context.Context, from string, to []string) (*switchboard.Conversation, bool, error) {
	id, err := identity(ctx)
	if err != nil {
		return nil, false, err
	}
	to = slices.Clone(to)
	sort.Strings(to)
	to = slices.Compact(to)
	if len(to) == 0 {
		return nil, false, switchboard.Errorf(switchboard.EINVALID, "Give at least one phone number to text.")
	} else if len(to) > MaxSMSRecipients {
		return nil, false, switchboard.Errorf(switchboard.EINVALID, "A group text has at most %d phone numbers.", MaxSMSRecipients)
	} else if slices.Contains(to, from) {
		return nil, false, switchboard.Errorf(switchboard.EINVALID, "A texting number cannot text itself.")
	}
	external := strings.Join(to, ",")
	var out *switchboard.Conversation
	var created bool
	err = s.write(ctx, func(w *wtx) error {
		var n int
		if err := w.queryRow(`SELECT count(*) FROM number_assignments WHERE number = ? AND domain = ? AND extension = ?`,
			from, id.Domain, id.Extension).Scan(&n); err != nil {
			return fmt.Errorf("find assignment: %w", err)
		} else if n == 0 {
			return switchboard.Errorf(switchboard.ENOTFOUND, "Texting number %s is not assigned to you.", from)
		}
		var convID string
		err := w.queryRow(`SELECT id FROM conversations WHERE texting_number = ? AND external = ?`, from, external).Scan(&convID)
		if errors.Is(err, sql.ErrNoRows) {
			if convID, err = w.createSMSConversation(id.Domain, id.Extension, from, external); err != nil {
				return err
			}
			created = true
		} else if err != nil {
			return fmt.Errorf("find sms conversation: %w", err)
		} else if _, err := w.exec(`UPDATE members SET hidden = 0 WHERE conversation_id = ? AND extension = ?`, convID, id.Extension); err != nil {
			return fmt.Errorf("unhide conversation: %w", err)
		}
		c, m, err := w.conv(id, convID)
		if err != nil {
			return err
		}
		out = c
		return w.viewerFields(c, m)
	})
	return out, created, err
}

// createSMSConversation inserts the conversation of a texting number with
// external numbers; its members are the number's assigned extensions.
func (w *wtx) createSMSConversation(domain, createdBy, number, external string) (string, error) {
	convID := switchboard.NewID("c_")
	if _, err := w.exec(`INSERT INTO conversations (id, domain, kind, name, created_by, created_at, updated_at, texting_number, external)
		VALUES (?, ?, 'sms', '', ?, ?, ?, ?, ?)`, convID, domain, createdBy, ms(w.now), ms(w.now), number, external); err != nil {
		return "", fmt.Errorf("insert sms conversation: %w", err)
	}
	rows, err := w.query(`SELECT extension FROM number_assignments WHERE number = ? ORDER BY extension`, number)
	if err != nil {
		return "", fmt.Errorf("list assignments: %w", err)
	}
	var exts []string
	for rows.Next() {
		var ext string
		if err := rows.Scan(&ext); err != nil {
			rows.Close()
			return "", fmt.Errorf("list assignments: %w", err)
		}
		exts = append(exts, ext)
	}
	rows.Close()
	return convID, w.syncMembers(domain, convID, exts)
}

// prepareSMS applies the texting rules to a message about to be sent into
// SMS conversation c: the length limit and opt-outs. It returns the
// recipients to queue.
func (w *wtx) prepareSMS(c *switchboard.Conversation, m *switchboard.Message) ([]string, error) {
	if n := utf8.RuneCountInString(m.Body); n > switchboard.MaxSMSBodyLength {
		return nil, switchboard.Errorf(switchboard.ETOOLARGE, "A text message is at most %d characters; this one has %d.", switchboard.MaxSMSBodyLength, n)
	}
	var to, out []string
	for _, ext := range c.External {
		var n int
		if err := w.queryRow(`SELECT count(*) FROM opt_outs WHERE number = ? AND external = ?`, c.TextingNumber, ext).Scan(&n); err != nil {
			return nil, fmt.Errorf("find opt-out: %w", err)
		}
		if n > 0 {
			out = append(out, ext)
		} else {
			to = append(to, ext)
		}
	}
	m.Status, m.Error = switchboard.StatusQueued, ""
	if len(out) > 0 {
		m.Error = fmt.Sprintf("%s opted out of texts from this number (replied STOP).", strings.Join(out, ", "))
		if len(to) == 0 {
			m.Status = switchboard.StatusFailed
		}
	}
	return to, nil
}

// queueSMS adds one outbox item per recipient of a stored message.
func (w *wtx) queueSMS(c *switchboard.Conversation, m *switchboard.Message, to []string) error {
	var provider string
	if err := w.queryRow(`SELECT provider FROM numbers WHERE number = ?`, c.TextingNumber).Scan(&provider); err != nil {
		return fmt.Errorf("find number provider: %w", err)
	}
	for _, r := range to {
		if _, err := w.exec(`INSERT INTO outbox (message_id, conversation_id, seq, domain, sender, recipient, provider, state, next_at, updated_at)
			VALUES (?, ?, ?, (SELECT domain FROM conversations WHERE id = ?), ?, ?, ?, 'pending', ?, ?)`,
			m.ID, c.ID, m.Seq, c.ID, c.TextingNumber, r, provider, ms(w.now), ms(w.now)); err != nil {
			return fmt.Errorf("queue sms: %w", err)
		}
	}
	return nil
}

// ReceiveSMS implements switchboard.TextingStore.
func (s *Store) ReceiveSMS(ctx context.Context, provider string, in *switchboard.InboundSMS, atts []*switchboard.StoredAttachment) (*switchboard.InboundResult, error) {
	var out *switchboard.InboundResult
	err := s.write(ctx, func(w *wtx) error {
		if in.ProviderID != "" {
			var msgID string
			err := w.queryRow(`SELECT message_id FROM inbound_seen WHERE provider = ? AND provider_id = ?`, provider, in.ProviderID).Scan(&msgID)
			if err == nil {
				m, err := scanMessage(w.queryRow(`SELECT `+messageColumns+` FROM messages WHERE id = ?`, msgID))
				if err != nil {
					return fmt.Errorf("find received message: %w", err)
				}
				out = &switchboard.InboundResult{Message: m, Duplicate: true}
				return nil
			} else if !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("find inbound: %w", err)
			}
		}
		var domain, numProvider string
		err := w.queryRow(`SELECT domain, provider FROM numbers WHERE number = ?`, in.To).Scan(&domain, &numProvider)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && numProvider != provider) {
			return switchboard.Errorf(switchboard.ENOTFOUND, "Texting number not found.")
		} else if err != nil {
			return fmt.Errorf("find number: %w", err)
		}
		var convID string
		err = w.queryRow(`SELECT id FROM conversations WHERE texting_number = ? AND external = ?`, in.To, in.From).Scan(&convID)
		if errors.Is(err, sql.ErrNoRows) {
			if convID, err = w.createSMSConversation(domain, in.From, in.To, in.From); err != nil {
				return err
			}
		} else if err != nil {
			return fmt.Errorf("find sms conversation: %w", err)
		}
		c, _, err := scanConv(w.queryRow(`SELECT `+convColumns+` FROM conversations c WHERE c.id = ?`, convID))
		if err != nil {
			return fmt.Errorf("find conversation: %w", err)
		}
		if _, err := w.loadMembers(c, ""); err != nil {
			return err
		}
		sender := switchboard.Identity{Domain: domain, Extension: in.From}
		m := &switchboard.Message{Kind: switchboard.MessageText, Body: in.Body}
		if len(atts) > 0 {
			ids := make([]string, len(atts))
			for i, a := range atts {
				ids[i] = a.ID
			}
			if m.Attachments, err = w.postAttachments(sender, c.ID, ids); err != nil {
				return err
			}
		}
		if _, err := w.insertMessage(sender, c, m, true); err != nil {
			return err
		}
		if in.ProviderID != "" {
			if _, err := w.exec(`INSERT INTO inbound_seen (provider, provider_id, message_id, created_at) VALUES (?, ?, ?, ?)`,
				provider, in.ProviderID, m.ID, ms(w.now)); err != nil {
				return fmt.Errorf("record inbound: %w", err)
			}
		}
		out = &switchboard.InboundResult{Message: m, Conversation: c}
		return nil
	})
	return out, err
}

// InboundSeen implements switchboard.TextingStore.
func (s *Store) InboundSeen(ctx context.Context, provider, providerID string) (bool, error) {
	var n int
	if err := s.queryRow(ctx, `SELECT count(*) FROM inbound_seen WHERE provider = ? AND provider_id = ?`, provider, providerID).Scan(&n); err != nil {
		return false, fmt.Errorf("find inbound: %w", err)
	}
	return n > 0, nil
}

// AutoReply implements switchboard.TextingStore.
func (s *Store) AutoReply(ctx context.Context, convID, body string) (*switchboard.Message, error) {
	var out *switchboard.Message
	err := s.write(ctx, func(w *wtx) error {
		c, domain, err := scanConv(w.queryRow(`SELECT `+convColumns+` FROM conversations c WHERE c.id = ? AND c.kind = 'sms'`, convID))
		if errors.Is(err, sql.ErrNoRows) {
			return errConvNotFound
		} else if err != nil {
			return fmt.Errorf("find conversation: %w", err)
		}
		if _, err := w.loadMembers(c, ""); err != nil {
			return err
		}
		m := &switchboard.Message{Kind: switchboard.MessageText, Body: body}
		to, err := w.prepareSMS(c, m)
		if err != nil {
			return err
		}
		if _, err := w.insertMessage(switchboard.Identity{Domain: domain, Extension: c.TextingNumber}, c, m, false); err != nil {
			return err
		}
		out = m
		return w.queueSMS(c, m, to)
	})
	return out, err
}

// SetOptOut implements switchboard.TextingStore.
func (s *Store) SetOptOut(ctx context.Context, number, external string, out bool) error {
	return s.write(ctx, func(w *wtx) error {
		var err error
		if out {
			_, err = w.exec(`INSERT INTO opt_outs (number, external, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, number, external, ms(w.now))
		} else {
			_, err = w.exec(`DELETE FROM opt_outs WHERE number = ? AND external = ?`, number, external)
		}
		if err != nil {
			return fmt.Errorf("set opt-out: %w", err)
		}
		return nil
	})
}

// ClaimOutbox implements switchboard.TextingStore.
func (s *Store) ClaimOutbox(ctx context.Context, now time.Time, limit int) ([]*switchboard.OutboxItem, error) {
	var out []*switchboard.OutboxItem
	err := s.write(ctx, func(w *wtx) error {
		out = out[:0]
		rows, err := w.query(`SELECT o.id, o.message_id, o.conversation_id, o.domain, o.sender, o.recipient, o.provider, o.attempts, m.body, m.attachments
			FROM outbox o JOIN messages m ON m.conversation_id = o.conversation_id AND m.seq = o.seq
			WHERE o.state = 'pending' AND o.next_at <= ? ORDER BY o.id LIMIT ?`, ms(now), limit)
		if err != nil {
			return fmt.Errorf("claim outbox: %w", err)
		}
		for rows.Next() {
			var it switchboard.OutboxItem
			var atts string
			if err := rows.Scan(&it.ID, &it.MessageID, &it.ConversationID, &it.Domain, &it.From, &it.To, &it.Provider, &it.Attempts, &it.Body, &atts); err != nil {
				rows.Close()
				return fmt.Errorf("claim outbox: %w", err)
			}
			if atts != "" {
				if err := json.Unmarshal([]byte(atts), &it.Attachments); err != nil {
					rows.Close()
					return fmt.Errorf("decode attachments: %w", err)
				}
			}
			it.Attempts++
			out = append(out, &it)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("claim outbox: %w", err)
		}
		for _, it := range out {
			if _, err := w.exec(`UPDATE outbox SET state = 'sending', attempts = ?, updated_at = ? WHERE id = ?`, it.Attempts, ms(w.now), it.ID); err != nil {
				return fmt.Errorf("claim outbox: %w", err)
			}
		}
		return nil
	})
	return out, err
}

// RecoverOutbox implements switchboard.TextingStore.
func (s *Store) RecoverOutbox(ctx context.Context) (int, error) {
	var n int
	err := s.write(ctx, func(w *wtx) error {
		rows, err := w.query(`SELECT DISTINCT message_id FROM outbox WHERE state = 'sending'`)
		if err != nil {
			return fmt.Errorf("recover outbox: %w", err)
		}
		var ids []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return fmt.Errorf("recover outbox: %w", err)
			}
			ids = append(ids, id)
		}
		rows.Close()
		res, err := w.exec(`UPDATE outbox SET state = 'failed', updated_at = ?,
			error = 'Sending was interrupted by a restart; it may not have been delivered. Send it again if needed.'
			WHERE state = 'sending'`, ms(w.now))
		if err != nil {
			return fmt.Errorf("recover outbox: %w", err)
		}
		c, _ := res.RowsAffected()
		n = int(c)
		for _, id := range ids {
			if err := w.updateSMSStatus(id); err != nil {
				return err
			}
		}
		return nil
	})
	return n, err
}

// CompleteOutbox implements switchboard.TextingStore.
func (s *Store) CompleteOutbox(ctx context.Context, id int64, res switchboard.OutboxResult) error {
	return s.write(ctx, func(w *wtx) error {
		var msgID, state string
		if err := w.queryRow(`SELECT message_id, state FROM outbox WHERE id = ?`, id).Scan(&msgID, &state); errors.Is(err, sql.ErrNoRows) {
			return switchboard.Errorf(switchboard.ENOTFOUND, "Outbox item not found.")
		} else if err != nil {
			return fmt.Errorf("find outbox item: %w", err)
		}
		next := ms(w.now)
		if res.State == switchboard.OutboxPending {
			next = ms(res.RetryAt)
		}
		if _, err := w.exec(`UPDATE outbox SET state = ?, provider_id = ?, error = ?, next_at = ?, updated_at = ? WHERE id = ?`,
			res.State, res.ProviderID, res.Error, next, ms(w.now), id); err != nil {
			return fmt.Errorf("complete outbox item: %w", err)
		}
		return w.updateSMSStatus(msgID)
	})
}

// ApplyDeliveryReport implements switchboard.TextingStore.
func (s *Store) ApplyDeliveryReport(ctx context.Context, provider string, r switchboard.DeliveryReport) error {
	return s.write(ctx, func(w *wtx) error {
		var id int64
		var msgID, state string
		err := w.queryRow(`SELECT id, message_id, state FROM outbox WHERE provider = ? AND provider_id = ? ORDER BY id DESC LIMIT 1`,
			provider, r.ProviderID).Scan(&id, &msgID, &state)
		if errors.Is(err, sql.ErrNoRows) {
			return switchboard.Errorf(switchboard.ENOTFOUND, "No message with that provider id.")
		} else if err != nil {
			return fmt.Errorf("find outbox item: %w", err)
		}
		next := state
		switch r.Status {
		case switchboard.StatusDelivered:
			next = switchboard.OutboxDelivered
		case switchboard.StatusFailed:
			next = switchboard.OutboxFailed
		case switchboard.StatusSent:
			if state != switchboard.OutboxDelivered && state != switchboard.OutboxFailed {
				next = switchboard.OutboxSent
			}
		}
		if _, err := w.exec(`UPDATE outbox SET state = ?, error = ?, updated_at = ? WHERE id = ?`, next, r.Error, ms(w.now), id); err != nil {
			return fmt.Errorf("apply delivery report: %w", err)
		}
		return w.updateSMSStatus(msgID)
	})
}

// updateSMSStatus derives a message's status from its outbox items (any
// failed: failed; all delivered: delivered; all taken by the provider:
// sent; else queued) and announces a change with message.updated.
func (w *wtx) updateSMSStatus(msgID string) error {
	m, err := scanMessage(w.queryRow(`SELECT `+messageColumns+` FROM messages WHERE id = ?`, msgID))
	if err != nil {
		return fmt.Errorf("find message: %w", err)
	}
	rows, err := w.query(`SELECT state, error, recipient FROM outbox WHERE message_id = ? ORDER BY id`, msgID)
	if err != nil {
		return fmt.Errorf("list outbox items: %w", err)
	}
	var states, errs []string
	for rows.Next() {
		var state, e, r string
		if err := rows.Scan(&state, &e, &r); err != nil {
			rows.Close()
			return fmt.Errorf("list outbox items: %w", err)
		}
		states = append(states, state)
		if state == switchboard.OutboxFailed && e != "" {
			if len(errs) == 0 || !slices.Contains(errs, e) {
				errs = append(errs, e)
			}
		}
	}
	rows.Close()
	status := switchboard.StatusQueued
	all := func(ok ...string) bool {
		for _, s := range states {
			if !slices.Contains(ok, s) {
				return false
			}
		}
		return len(states) > 0
	}
	switch {
	case slices.Contains(states, switchboard.OutboxFailed):
		status = switchboard.StatusFailed
	case all(switchboard.OutboxDelivered):
		status = switchboard.StatusDelivered
	case all(switchboard.OutboxSent, switchboard.OutboxDelivered):
		status = switchboard.StatusSent
	}
	errText := strings.Join(errs, " ")
	if status == m.Status && (errText == "" || errText == m.Error) {
		return nil
	}
	if errText == "" {
		errText = m.Error // e.g. the note about opted-out recipients
	}
	if _, err := w.exec(`UPDATE messages SET status = ?, error = ? WHERE conversation_id = ? AND seq = ?`, status, errText, m.ConversationID, m.Seq); err != nil {
		return fmt.Errorf("update message status: %w", err)
	}
	m.Status, m.Error = status, errText
	c, domain, err := scanConv(w.queryRow(`SELECT `+convColumns+` FROM conversations c WHERE c.id = ?`, m.ConversationID))
	if err != nil {
		return fmt.Errorf("find conversation: %w", err)
	}
	if _, err := w.loadMembers(c, ""); err != nil {
		return err
	}
	return w.emitMembers(domain, switchboard.EventMessageUpdated, c, m)
}
