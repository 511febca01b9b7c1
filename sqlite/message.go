package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/switchboard-chat/switchboard"
)

const messageColumns = `conversation_id, seq, id, client_id, sender, body, attachments, kind, targets, name, created_at, edited_at, deleted, status, error`

func scanMessage(sc interface{ Scan(...any) error }) (*switchboard.Message, error) {
	var m switchboard.Message
	var attachments, targets string
	var created int64
	var edited sql.NullInt64
	if err := sc.Scan(&m.ConversationID, &m.Seq, &m.ID, &m.ClientID, &m.Sender, &m.Body, &attachments, &m.Kind,
		&targets, &m.Name, &created, &edited, &m.Deleted, &m.Status, &m.Error); err != nil {
		return nil, err
	}
	m.CreatedAt = fromMS(created)
	if edited.Valid {
		t := fromMS(edited.Int64)
		m.EditedAt = &t
	}
	m.Attachments = []*switchboard.Attachment{}
	if attachments != "" {
		if err := json.Unmarshal([]byte(attachments), &m.Attachments); err != nil {
			return nil, fmt.Errorf("decode attachments: %w", err)
		}
	}
	if targets != "" {
		if err := json.Unmarshal([]byte(targets), &m.Targets); err != nil {
			return nil, fmt.Errorf("decode targets: %w", err)
		}
	}
	return &m, nil
}

// unpackMessage decodes the last message of conversation convID, seq,
// from its copy on the conversation's row (conversations.last_message), as
// packed by the view message_packed (migration 006): 13 fields, each its
// length in bytes, ':' and its text.
func unpackMessage(convID string, seq int64, packed string) (*switchboard.Message, error) {
	var f [13]string
	rest := packed
	for i := range f {
		colon := strings.IndexByte(rest, ':')
		if colon < 0 {
			return nil, fmt.Errorf("unpack message: field %d: no length", i)
		}
		n, err := strconv.Atoi(rest[:colon])
		if err != nil || n < 0 || n > len(rest)-colon-1 {
			return nil, fmt.Errorf("unpack message: field %d: bad length %q", i, rest[:colon])
		}
		f[i], rest = rest[colon+1:colon+1+n], rest[colon+1+n:]
	}
	if rest != "" {
		return nil, fmt.Errorf("unpack message: %d bytes too many", len(rest))
	}
	m := &switchboard.Message{ConversationID: convID, Seq: seq, ID: f[0], ClientID: f[1], Sender: f[2], Body: f[3],
		Kind: f[5], Name: f[7], Deleted: f[10] == "1", Status: f[11], Error: f[12], Attachments: []*switchboard.Attachment{}}
	created, err := strconv.ParseInt(f[8], 10, 64)
	if err != nil {
		return nil, fmt.Errorf("unpack message: created_at: %w", err)
	}
	m.CreatedAt = fromMS(created)
	if f[9] != "" {
		edited, err := strconv.ParseInt(f[9], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("unpack message: edited_at: %w", err)
		}
		t := fromMS(edited)
		m.EditedAt = &t
	}
	if f[4] != "" {
		if err := json.Unmarshal([]byte(f[4]), &m.Attachments); err != nil {
			return nil, fmt.Errorf("decode attachments: %w", err)
		}
	}
	if f[6] != "" {
		if err := json.Unmarshal([]byte(f[6]), &m.Targets); err != nil {
			return nil, fmt.Errorf("decode targets: %w", err)
		}
	}
	return m, nil
}

// packMessage packs new message m (never edited, not deleted) as the view
// message_packed does (migration 006), attachments and targets encoded by
// encodeList.
func packMessage(m *switchboard.Message, attachments, targets string) string {
	var created [20]byte
	fields := [...]string{m.ID, m.ClientID, m.Sender, m.Body, attachments, m.Kind, targets, m.Name,
		string(strconv.AppendInt(created[:0], ms(m.CreatedAt), 10)), "", "0", m.Status, m.Error}
	n := 0
	for _, f := range fields {
		n += len(f) + 5
	}
	b := make([]byte, 0, n)
	for _, f := range fields {
		b = strconv.AppendInt(b, int64(len(f)), 10)
		b = append(b, ':')
		b = append(b, f...)
	}
	return string(b)
}

func encodeList[T any](v []T) (string, error) {
	if len(v) == 0 {
		return "", nil
	}
	b, err := json.Marshal(v)
	return string(b), err
}

// insertMessage stores m as the next message of c (setting ID, Seq,
// CreatedAt), moves the conversation's last message and activity, and
// publishes message.created to its members (c.Members), an event with no
// row in the log: its id is the message's event_id (migration 010), and a
// resume reads it from the message (messagesBetween). unread says whether
// the other members' unread counts grow. It returns that event.
func (w *wtx) insertMessage(id switchboard.Identity, c *switchboard.Conversation, m *switchboard.Message, unread bool) (*switchboard.Event, error) {
	m.ID = switchboard.NewID("m_")
	m.ConversationID = c.ID
	m.Seq = c.LastSeq + 1
	m.Sender = id.Extension
	m.CreatedAt = w.now
	m.EditedAt, m.Deleted = nil, false
	if m.Attachments == nil {
		m.Attachments = []*switchboard.Attachment{}
	}
	attachments, err := encodeList(m.Attachments)
	if err != nil {
		return nil, fmt.Errorf("encode attachments: %w", err)
	}
	targets, err := encodeList(m.Targets)
	if err != nil {
		return nil, fmt.Errorf("encode targets: %w", err)
	}
	// A message with the client_id of one of the sender's earlier ones in
	// the conversation is not inserted (the unique index
	// messages_client_id checks it anyway, so the check costs no lookup
	// of its own).
	// The event id is taken once the message is known to be new: a retry
	// moves no cursor (the conformance suite's ClientID).
	eventID := w.s.lastEvent + 1
	res, err := w.exec(`INSERT INTO messages (`+messageColumns+`, event_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, 0, ?, ?, ?)
		ON CONFLICT (conversation_id, sender, client_id) WHERE client_id <> '' DO NOTHING`,
		m.ConversationID, m.Seq, m.ID, m.ClientID, m.Sender, m.Body, attachments, m.Kind, targets, m.Name,
		ms(m.CreatedAt), m.Status, m.Error, eventID)
	if err != nil {
		return nil, fmt.Errorf("insert message: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return nil, fmt.Errorf("insert message: %w", err)
	} else if n == 0 {
		return nil, errDuplicate
	}
	w.nextEvent()
	// The message is the conversation's last (its copy packed on the row,
	// migration 009), and the conversation moves to the top of its
	// members' lists (migration 008: its activity_at, not each member's
	// entry in members_list).
	if _, err := w.exec(`UPDATE conversations SET last_seq = ?, last_message_id = ?, updated_at = ?, last_message = ?, activity_at = ?, last_event = ? WHERE id = ?`,
		m.Seq, m.ID, ms(m.CreatedAt), packMessage(m, attachments, targets), w.tick, eventID, c.ID); err != nil {
		return nil, fmt.Errorf("update conversation: %w", err)
	}
	inc := 0
	if unread {
		inc = 1
	}
	// The others' unread counts grow; the sender has read up to here. One
	// statement for every member, touching no indexed column, so that the
	// members' rows (one page) are all it writes.
	if _, err := w.exec(`UPDATE members SET
			unread = CASE WHEN extension = ?1 THEN 0 ELSE unread + ?2 END,
			read_seq = CASE WHEN extension = ?1 THEN ?3 ELSE read_seq END
		WHERE conversation_id = ?4`,
		id.Extension, inc, m.Seq, c.ID); err != nil {
		return nil, fmt.Errorf("update members: %w", err)
	}
	// Those who deleted it for themselves see it again, and entries in
	// members_list that lag the conversation by more than activitySlack
	// move up (ListConversations); only these entries are written,
	// usually none, and a cached conversation tells when there are none.
	cc := w.s.convs[c.ID]
	if cc == nil || cc.hidden || cc.oldestActivity < w.tick-activitySlack {
		if err := w.touchMembers(c.ID); err != nil {
			return nil, err
		}
	}
	if cc != nil {
		w.touched = append(w.touched, c.ID)
		cc.lastSeq = m.Seq
		if cc.hidden || cc.oldestActivity < w.tick-activitySlack {
			cc.hidden, cc.oldestActivity = false, w.tick
		}
	}
	c.LastSeq, c.UpdatedAt = m.Seq, w.now
	if c.Read != nil && c.IsMember(id.Extension) {
		c.Read[id.Extension] = m.Seq
	}
	e, err := switchboard.NewEvent(switchboard.EventMessageCreated, id.Domain, c.ID, c.Members, m)
	if err != nil {
		return nil, fmt.Errorf("encode event: %w", err)
	}
	e.Cursor = eventID
	w.op.events = append(w.op.events, e)
	return e, nil
}

// touchMembers shows conversation convID again to the members who deleted
// it for themselves and moves the members' activity_at to now where it lags
// by more than activitySlack: what keeps members_list in nearly the order
// of ListConversations.
func (w *wtx) touchMembers(convID string) error {
	if _, err := w.exec(`UPDATE members SET hidden = 0, activity_at = ?1 WHERE conversation_id = ?2 AND (hidden = 1 OR activity_at < ?3)`,
		w.tick, convID, w.tick-activitySlack); err != nil {
		return fmt.Errorf("update members' activity: %w", err)
	}
	return nil
}

// appendSystem adds a system message and announces the changed
// conversation to its members.
func (w *wtx) appendSystem(id switchboard.Identity, c *switchboard.Conversation, m *switchboard.Message) error {
	if _, err := w.insertMessage(id, c, m, false); err != nil {
		return err
	}
	return w.emit(id.Domain, switchboard.EventConversationUpdated, c.ID, c.Members, c.Shared())
}

// SendMessage implements switchboard.ChatStore.
func (s *Store) SendMessage(ctx context.Context, m *switchboard.Message) (bool, error) {
	id, err := identity(ctx)
	if err != nil {
		return false, err
	}
	if len(m.ClientID) > switchboard.MaxClientIDLength {
		return false, switchboard.Errorf(switchboard.EINVALID, "client_id has at most %d characters.", switchboard.MaxClientIDLength)
	}
	if err := switchboard.ValidateBody(m.Body, len(m.Attachments), switchboard.MaxBodyLength); err != nil {
		return false, err
	}
	if m.Kind == "" {
		m.Kind = switchboard.MessageText
	}
	var created bool
	// It can run again (writeAgain): what it sets of m it sets afresh from
	// what it reads, and only through exec does it write.
	err = s.writeAgain(ctx, func(w *wtx) error {
		if len(m.Attachments) == 0 {
			cc, err := w.cachedConv(id, m.ConversationID)
			if err != nil {
				return err
			} else if cc != nil {
				created, err = w.sendText(id, cc, m)
				return err
			}
		}
		c, _, prevSeq, err := w.convWith(id, m.ConversationID, m.ClientID)
		if err != nil {
			return err
		}
		if prevSeq > 0 {
			prev, err := scanMessage(w.queryRow(`SELECT `+messageColumns+` FROM messages WHERE conversation_id = ? AND seq = ?`, c.ID, prevSeq))
			if err != nil {
				return fmt.Errorf("find message by client id: %w", err)
			}
			*m = *prev
			return nil
		}
		if len(m.Attachments) > 0 {
			ids := make([]string, len(m.Attachments))
			for i, a := range m.Attachments {
				ids[i] = a.ID
			}
			// m.Attachments keeps its ids if this fails: the write may
			// run again.
			atts, err := w.postAttachments(id, c.ID, ids)
			if err != nil {
				return err
			}
			m.Attachments = atts
		}
		var smsTo []string
		if c.Kind == switchboard.KindSMS {
			if smsTo, err = w.prepareSMS(c, m); err != nil {
				return err
			}
		}
		created = true
		if _, err := w.insertMessage(id, c, m, true); err != nil {
			return err
		}
		if c.Kind == switchboard.KindSMS {
			return w.queueSMS(c, m, smsTo)
		}
		return nil
	})
	return created, err
}

// errDuplicate is insertMessage's: the sender sent a message with this
// client_id to the conversation before.
var errDuplicate = errors.New("duplicate client_id")

// sendText appends text message m to the cached chat conversation cc, or
// finds the sender's earlier message with m's client_id (then it returns
// false and sets *m to that message).
func (w *wtx) sendText(id switchboard.Identity, cc *cachedConv, m *switchboard.Message) (bool, error) {
	c := &switchboard.Conversation{ID: m.ConversationID, Kind: switchboard.KindChat, Members: cc.members, LastSeq: cc.lastSeq}
	e, err := w.insertMessage(id, c, m, true)
	if err == nil {
		m.Encoded = e.Data // nothing changes the message after its event
		return true, nil
	} else if !errors.Is(err, errDuplicate) {
		return false, err
	}
	prev, err := scanMessage(w.queryRow(`SELECT `+messageColumns+` FROM messages WHERE conversation_id = ? AND sender = ? AND client_id = ? AND client_id <> ''`,
		m.ConversationID, id.Extension, m.ClientID))
	if err != nil {
		return false, fmt.Errorf("find message by client id: %w", err)
	}
	*m = *prev
	return false, nil
}

// ListMessages implements switchboard.ChatStore.
func (s *Store) ListMessages(ctx context.Context, convID string, q switchboard.MessageQuery) ([]*switchboard.Message, error) {
	id, err := identity(ctx)
	if err != nil {
		return nil, err
	}
	if q.Limit <= 0 {
		q.Limit = switchboard.DefaultMessagesLimit
	}
	q.Limit = min(q.Limit, switchboard.MaxMessagesLimit)
	var cleared int64
	err = s.queryRow(ctx, `SELECT m.cleared_seq FROM members m JOIN conversations c ON c.id = m.conversation_id
		WHERE m.conversation_id = ? AND m.extension = ? AND c.domain = ?`, convID, id.Extension, id.Domain).Scan(&cleared)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errConvNotFound
	} else if err != nil {
		return nil, fmt.Errorf("find member: %w", err)
	}
	var rows *sql.Rows
	switch {
	case q.Forward:
		rows, err = s.query(ctx, `SELECT `+messageColumns+` FROM messages WHERE conversation_id = ? AND seq > ? ORDER BY seq LIMIT ?`,
			convID, max(q.After, cleared), q.Limit)
	case q.Before > 0:
		rows, err = s.query(ctx, `SELECT `+messageColumns+` FROM messages WHERE conversation_id = ? AND seq < ? AND seq > ? ORDER BY seq DESC LIMIT ?`,
			convID, q.Before, cleared, q.Limit)
	default:
		rows, err = s.query(ctx, `SELECT `+messageColumns+` FROM messages WHERE conversation_id = ? AND seq > ? ORDER BY seq DESC LIMIT ?`,
			convID, cleared, q.Limit)
	}
	if err != nil {
		return nil, fmt.Errorf("list messages: %w", err)
	}
	defer rows.Close()
	out := []*switchboard.Message{}
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, fmt.Errorf("list messages: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list messages: %w", err)
	}
	if !q.Forward {
		slices.Reverse(out)
	}
	return out, nil
}

// ownMessage loads a text message of the caller that is not deleted.
func (w *wtx) ownMessage(id switchboard.Identity, convID, msgID string) (*switchboard.Conversation, *switchboard.Message, error) {
	c, mem, err := w.conv(id, convID)
	if err != nil {
		return nil, nil, err
	}
	m, err := scanMessage(w.queryRow(`SELECT `+messageColumns+` FROM messages WHERE id = ? AND conversation_id = ?`, msgID, c.ID))
	if errors.Is(err, sql.ErrNoRows) || (err == nil && (m.Deleted || m.Seq <= mem.clearedSeq)) {
		return nil, nil, switchboard.Errorf(switchboard.ENOTFOUND, "Message not found.")
	} else if err != nil {
		return nil, nil, fmt.Errorf("find message: %w", err)
	} else if m.Sender != id.Extension || m.Kind != switchboard.MessageText {
		return nil, nil, switchboard.Errorf(switchboard.EFORBIDDEN, "You can only change your own messages.")
	}
	return c, m, nil
}

// EditMessage implements switchboard.ChatStore.
func (s *Store) EditMessage(ctx context.Context, convID, msgID, body string) (*switchboard.Message, error) {
	id, err := identity(ctx)
	if err != nil {
		return nil, err
	}
	var out *switchboard.Message
	err = s.write(ctx, func(w *wtx) error {
		c, m, err := w.ownMessage(id, convID, msgID)
		if err != nil {
			return err
		}
		if err := switchboard.ValidateBody(body, len(m.Attachments), switchboard.MaxBodyLength); err != nil {
			return err
		}
		if _, err := w.exec(`UPDATE messages SET body = ?, edited_at = ? WHERE conversation_id = ? AND seq = ?`,
			body, ms(w.now), c.ID, m.Seq); err != nil {
			return fmt.Errorf("edit message: %w", err)
		}
		t := w.now
		m.Body, m.EditedAt = body, &t
		out = m
		return w.emitMembers(id.Domain, switchboard.EventMessageUpdated, c, m)
	})
	return out, err
}

// DeleteMessage implements switchboard.ChatStore.
func (s *Store) DeleteMessage(ctx context.Context, convID, msgID string) (*switchboard.Message, error) {
	id, err := identity(ctx)
	if err != nil {
		return nil, err
	}
	var out *switchboard.Message
	err = s.write(ctx, func(w *wtx) error {
		c, m, err := w.ownMessage(id, convID, msgID)
		if err != nil {
			return err
		}
		if _, err := w.exec(`UPDATE messages SET body = '', attachments = '', deleted = 1, edited_at = ? WHERE conversation_id = ? AND seq = ?`,
			ms(w.now), c.ID, m.Seq); err != nil {
			return fmt.Errorf("delete message: %w", err)
		}
		// Members who had not read it yet no longer count it.
		if _, err := w.exec(`UPDATE members SET unread = max(unread - 1, 0) WHERE conversation_id = ? AND extension <> ? AND read_seq < ?`,
			c.ID, id.Extension, m.Seq); err != nil {
			return fmt.Errorf("update unread: %w", err)
		}
		t := w.now
		m.Body, m.Attachments, m.Deleted, m.EditedAt = "", []*switchboard.Attachment{}, true, &t
		out = m
		return w.emitMembers(id.Domain, switchboard.EventMessageUpdated, c, m)
	})
	return out, err
}
