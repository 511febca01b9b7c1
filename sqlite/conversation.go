package sqlite

import (
	"container/heap"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/switchboard-chat/switchboard"
)

var _ switchboard.ChatStore = (*Store)(nil)

const convColumns = `c.id, c.domain, c.kind, c.name, c.direct_key IS NOT NULL, c.created_by, c.created_at, c.updated_at, c.last_seq, c.texting_number, c.external`

func scanConv(sc interface{ Scan(...any) error }, extra ...any) (*switchboard.Conversation, string, error) {
	var c switchboard.Conversation
	var domain, external string
	var created, updated int64
	dest := append([]any{&c.ID, &domain, &c.Kind, &c.Name, &c.Direct, &c.CreatedBy, &created, &updated, &c.LastSeq,
		&c.TextingNumber, &external}, extra...)
	if err := sc.Scan(dest...); err != nil {
		return nil, "", err
	}
	c.CreatedAt, c.UpdatedAt = fromMS(created), fromMS(updated)
	if external != "" {
		c.External = strings.Split(external, ",")
	}
	return &c, domain, nil
}

// member is the caller's row of a conversation.
type member struct {
	readSeq, clearedSeq int64
	unread              int
	hidden              bool
}

// conv loads a conversation of the caller's domain that the caller is a
// member of, with its members, or returns ENOTFOUND.
func (w *wtx) conv(id switchboard.Identity, convID string) (*switchboard.Conversation, *member, error) {
	c, m, _, err := w.convWith(id, convID, "")
	return c, m, err
}

// convWith is conv that also looks up the caller's earlier message with
// clientID (when not empty), returning its seq or 0: one statement for what
// a send reads before it writes. The literal client_id <> ” lets SQLite use
// the partial index messages_client_id; without it the lookup scans every
// message of the conversation.
func (w *wtx) convWith(id switchboard.Identity, convID, clientID string) (*switchboard.Conversation, *member, int64, error) {
	// One row: the conversation, the caller's own member row (no row if
	// the caller is not a member), every member with its read marker
	// packed as in the list, and the earlier message's seq.
	// The write may change the conversation: sends read it afresh.
	w.forget(convID)
	var members sql.NullString
	var self member
	var prev sql.NullInt64
	c, domain, err := scanConv(w.queryRow(`SELECT `+convColumns+`, s.read_seq, s.unread, s.cleared_seq, s.hidden,
			(SELECT group_concat(mm.extension || ':' || mm.read_seq, ',') FROM members mm WHERE mm.conversation_id = c.id),
			(SELECT seq FROM messages WHERE conversation_id = ?1 AND sender = ?2 AND client_id = ?3 AND client_id <> '' AND ?3 <> '')
		FROM conversations c JOIN members s ON s.conversation_id = c.id AND s.extension = ?2
		WHERE c.id = ?1`, convID, id.Extension, clientID),
		&self.readSeq, &self.unread, &self.clearedSeq, &self.hidden, &members, &prev)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, 0, errConvNotFound
	} else if err != nil {
		return nil, nil, 0, fmt.Errorf("find conversation: %w", err)
	} else if domain != id.Domain {
		return nil, nil, 0, errConvNotFound
	}
	if err := parseMembers(c, members.String); err != nil {
		return nil, nil, 0, err
	}
	return c, &self, prev.Int64, nil
}

// parseMembers sets c.Members (sorted) and c.Read from the members packed
// as "EXT:READ_SEQ,EXT:READ_SEQ" (extensions are digits).
func parseMembers(c *switchboard.Conversation, packed string) error {
	c.Members, c.Read = nil, map[string]int64{}
	for pair := range strings.SplitSeq(packed, ",") {
		ext, seq, ok := strings.Cut(pair, ":")
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(seq, 10, 64)
		if err != nil {
			return fmt.Errorf("scan members: %w", err)
		}
		c.Members = append(c.Members, ext)
		c.Read[ext] = n
	}
	sort.Strings(c.Members)
	return nil
}

var errConvNotFound = switchboard.Errorf(switchboard.ENOTFOUND, "Conversation not found.")

// loadMembers sets c.Members and c.Read, and returns the row of ext (nil if
// ext is not a member), in one read of the conversation's members.
func (w *wtx) loadMembers(c *switchboard.Conversation, ext string) (*member, error) {
	// The write may change the conversation: sends read it afresh.
	w.forget(c.ID)
	rows, err := w.query(`SELECT extension, read_seq, unread, cleared_seq, hidden FROM members WHERE conversation_id = ? ORDER BY extension`, c.ID)
	if err != nil {
		return nil, fmt.Errorf("list members: %w", err)
	}
	defer rows.Close()
	c.Members, c.Read = nil, map[string]int64{}
	var self *member
	for rows.Next() {
		var e string
		var m member
		if err := rows.Scan(&e, &m.readSeq, &m.unread, &m.clearedSeq, &m.hidden); err != nil {
			return nil, fmt.Errorf("list members: %w", err)
		}
		c.Members = append(c.Members, e)
		c.Read[e] = m.readSeq
		if e == ext {
			self = &m
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list members: %w", err)
	}
	return self, nil
}

// emit records a durable event for recipients in the transaction and
// queues it for publication after commit.
func (w *wtx) emit(domain, typ, convID string, recipients []string, v any) error {
	e, err := w.insertEvent(domain, typ, convID, recipients, false, v)
	if err != nil {
		return err
	}
	// One statement for up to recipientsPerInsert recipients.
	for len(recipients) > 0 {
		n := min(len(recipients), recipientsPerInsert)
		args := make([]any, 0, 3*n)
		for _, r := range recipients[:n] {
			args = append(args, domain, r, e.Cursor)
		}
		if _, err := w.exec(insertRecipients[n], args...); err != nil {
			return fmt.Errorf("insert event recipients: %w", err)
		}
		recipients = recipients[n:]
	}
	w.op.events = append(w.op.events, e)
	return nil
}

// emitMembers is emit to every member of c (c.Members as they stand in
// the transaction): the event is marked to_members and resuming members
// find it by the conversation (migration 008), with no row per recipient.
func (w *wtx) emitMembers(domain, typ string, c *switchboard.Conversation, v any) error {
	e, err := w.insertEvent(domain, typ, c.ID, c.Members, true, v)
	if err != nil {
		return err
	}
	w.op.events = append(w.op.events, e)
	return nil
}

// insertEvent encodes an event and inserts it into the log, setting its
// cursor.
func (w *wtx) insertEvent(domain, typ, convID string, recipients []string, toMembers bool, v any) (*switchboard.Event, error) {
	e, err := switchboard.NewEvent(typ, domain, convID, recipients, v)
	if err != nil {
		return nil, fmt.Errorf("encode event: %w", err)
	}
	e.Cursor = w.nextEvent()
	if _, err := w.exec(`INSERT INTO events (id, domain, type, conversation_id, data, created_at, to_members) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		e.Cursor, domain, typ, convID, []byte(e.Data), ms(w.now), toMembers); err != nil {
		return nil, fmt.Errorf("insert event: %w", err)
	}
	return e, nil
}

// removeMember deletes ext's member row of convID, keeping its time as a
// member in former_members (migration 008).
func (w *wtx) removeMember(convID, ext string) error {
	if _, err := w.exec(`INSERT INTO former_members (domain, extension, conversation_id, joined_event, left_event)
		SELECT domain, extension, conversation_id, joined_event, ? FROM members WHERE conversation_id = ? AND extension = ?
		ON CONFLICT DO NOTHING`, w.s.lastEvent, convID, ext); err != nil {
		return fmt.Errorf("keep former member: %w", err)
	}
	if _, err := w.exec(`DELETE FROM members WHERE conversation_id = ? AND extension = ?`, convID, ext); err != nil {
		return fmt.Errorf("delete member: %w", err)
	}
	return nil
}

// recipientsPerInsert bounds the rows of one INSERT INTO event_recipients;
// insertRecipients[n] is the statement for n rows.
const recipientsPerInsert = 32

var insertRecipients = func() []string {
	out := make([]string, recipientsPerInsert+1)
	for n := 1; n <= recipientsPerInsert; n++ {
		out[n] = `INSERT INTO event_recipients (domain, extension, event_id) VALUES (?, ?, ?)` + strings.Repeat(`, (?, ?, ?)`, n-1)
	}
	return out
}()

// normalizeMembers validates extensions and returns them sorted, without
// duplicates and without the caller.
func normalizeMembers(self string, exts []string) ([]string, error) {
	var out []string
	for _, ext := range exts {
		ext = strings.TrimSpace(ext)
		if err := switchboard.ValidateExtension(ext); err != nil {
			return nil, err
		}
		if ext != self {
			out = append(out, ext)
		}
	}
	sort.Strings(out)
	out = slices.Compact(out)
	if len(out)+1 > switchboard.MaxGroupMembers {
		return nil, switchboard.Errorf(switchboard.EINVALID, "A conversation has at most %d members.", switchboard.MaxGroupMembers)
	}
	return out, nil
}

func validateGroupName(name string) error {
	if len([]rune(name)) > switchboard.MaxNameLength {
		return switchboard.Errorf(switchboard.EINVALID, "A conversation name has at most %d characters.", switchboard.MaxNameLength)
	}
	return nil
}

// CreateConversation implements switchboard.ChatStore.
func (s *Store) CreateConversation(ctx context.Context, c *switchboard.Conversation) (bool, error) {
	id, err := identity(ctx)
	if err != nil {
		return false, err
	}
	others, err := normalizeMembers(id.Extension, c.Members)
	if err != nil {
		return false, err
	}
	c.Name = strings.TrimSpace(c.Name)
	if len(others) == 0 {
		return false, switchboard.Errorf(switchboard.EINVALID, "Choose at least one other extension.")
	} else if err := validateGroupName(c.Name); err != nil {
		return false, err
	}
	if c.Kind == "" {
		c.Kind = switchboard.KindChat
	} else if c.Kind != switchboard.KindChat {
		return false, switchboard.Errorf(switchboard.EINVALID, "Conversation kind %q is not supported.", c.Kind)
	}
	if c.Direct && (len(others) != 1 || c.Name != "") {
		return false, switchboard.Errorf(switchboard.EINVALID, "A direct conversation has exactly one other member and no name.")
	}
	var created bool
	err = s.write(ctx, func(w *wtx) error {
		missing, err := w.missingUsers(id.Domain, others)
		if err != nil {
			return err
		} else if len(missing) > 0 {
			return switchboard.Errorf(switchboard.ENOTFOUND, "Extension %s not found.", joinExts(missing))
		}
		var directKey any
		if c.Direct {
			key := directKeyOf(id.Extension, others[0])
			directKey = key
			var existing string
			err := w.queryRow(`SELECT id FROM conversations WHERE domain = ? AND direct_key = ?`, id.Domain, key).Scan(&existing)
			if err == nil {
				if _, err := w.exec(`UPDATE members SET hidden = 0 WHERE conversation_id = ? AND extension = ?`, existing, id.Extension); err != nil {
					return fmt.Errorf("unhide conversation: %w", err)
				}
				got, m, err := w.conv(id, existing)
				if err != nil {
					return err
				}
				if err := w.viewerFields(got, m); err != nil {
					return err
				}
				*c = *got
				return nil
			} else if !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("find direct conversation: %w", err)
			}
		}
		c.ID = switchboard.NewID("c_")
		c.CreatedBy, c.CreatedAt, c.UpdatedAt = id.Extension, w.now, w.now
		c.LastSeq, c.LastMessage, c.Unread, c.LastReadSeq = 0, nil, 0, 0
		if _, err := w.exec(`INSERT INTO conversations (id, domain, kind, name, direct_key, created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			c.ID, id.Domain, c.Kind, c.Name, directKey, id.Extension, ms(w.now), ms(w.now)); err != nil {
			return fmt.Errorf("insert conversation: %w", err)
		}
		all := append([]string{id.Extension}, others...)
		sort.Strings(all)
		for _, ext := range all {
			if _, err := w.exec(`INSERT INTO members (conversation_id, domain, extension, activity_at, joined_event) VALUES (?, ?, ?, ?, ?)`,
				c.ID, id.Domain, ext, w.tick, w.s.lastEvent); err != nil {
				return fmt.Errorf("insert member: %w", err)
			}
		}
		c.Members, c.Read = all, map[string]int64{}
		for _, ext := range all {
			c.Read[ext] = 0
		}
		created = true
		return w.emit(id.Domain, switchboard.EventConversationUpdated, c.ID, all, c.Shared())
	})
	return created, err
}

func directKeyOf(a, b string) string {
	if a > b {
		a, b = b, a
	}
	return a + ":" + b
}

// viewerFields fills the fields of c that depend on the member m.
func (w *wtx) viewerFields(c *switchboard.Conversation, m *member) error {
	c.Unread, c.LastReadSeq, c.LastMessage = m.unread, m.readSeq, nil
	if c.LastSeq > m.clearedSeq {
		msg, err := scanMessage(w.queryRow(`SELECT `+messageColumns+` FROM messages WHERE conversation_id = ? AND seq = ?`, c.ID, c.LastSeq))
		if err != nil {
			return fmt.Errorf("find last message: %w", err)
		}
		c.LastMessage = msg
	}
	return nil
}

// listColumns are what the conversation list shows of each conversation,
// read in one query: the conversation with its packed last message, the
// viewer's member row and every member with its read marker. (Members come
// in the primary key's extension order; scanConversations sorts them
// anyway, which is cheaper than an ORDER BY in the aggregate, a temporary
// b-tree each.) One statement, prepared once.
const listColumns = `c.id, c.kind, c.name, c.direct_key IS NOT NULL, c.created_by, c.created_at, c.updated_at, c.last_seq,
	c.texting_number, c.external, c.last_message, m.unread, m.read_seq, m.cleared_seq,
	(SELECT group_concat(mm.extension || ':' || mm.read_seq, ',') FROM members mm WHERE mm.conversation_id = c.id)`

// FindConversation implements switchboard.ChatStore.
func (s *Store) FindConversation(ctx context.Context, convID string) (*switchboard.Conversation, error) {
	id, err := identity(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := s.query(ctx, `SELECT `+listColumns+` FROM conversations c
		JOIN members m ON m.conversation_id = c.id AND m.extension = ?
		WHERE c.id = ? AND c.domain = ?`, id.Extension, convID, id.Domain)
	if err != nil {
		return nil, fmt.Errorf("find conversation: %w", err)
	}
	defer rows.Close()
	list, err := scanConversations(rows)
	if err != nil {
		return nil, err
	} else if len(list) == 0 {
		return nil, errConvNotFound
	}
	return list[0], nil
}

// ListConversations implements switchboard.ChatStore.
//
// A conversation's place in a member's list is the later of the member's
// activity_at (when it joined, or saw the conversation again) and the
// conversation's (its last message). A message moves only the
// conversation's, and a member's own (its entry in members_list) only
// when it lags by more than activitySlack: so members_list is nearly in
// list order, and reading it in its order can stop at the first entry
// that, even activitySlack later, could not enter the list.
func (s *Store) ListConversations(ctx context.Context, limit int) ([]*switchboard.Conversation, error) {
	id, err := identity(ctx)
	if err != nil {
		return nil, err
	}
	if limit <= 0 {
		return []*switchboard.Conversation{}, nil
	}
	rows, err := s.query(ctx, `SELECT `+listColumns+`, m.activity_at, c.activity_at FROM members m
		JOIN conversations c ON c.id = m.conversation_id
		WHERE m.domain = ? AND m.extension = ? AND m.hidden = 0
		ORDER BY m.activity_at DESC`, id.Domain, id.Extension)
	if err != nil {
		return nil, fmt.Errorf("list conversations: %w", err)
	}
	defer rows.Close()
	// best holds the limit latest conversations seen so far, a min-heap
	// by place.
	best := &rankedConvs{}
	for rows.Next() {
		var own, conv int64
		c, err := scanListRow(rows, &own, &conv)
		if err != nil {
			return nil, err
		}
		if best.Len() == limit && (*best)[0].at > own+activitySlack {
			break
		}
		r := rankedConv{c, max(own, conv)}
		if best.Len() < limit {
			heap.Push(best, r)
		} else if r.before((*best)[0]) {
			(*best)[0] = r
			heap.Fix(best, 0)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list conversations: %w", err)
	}
	slices.SortFunc(*best, func(a, b rankedConv) int {
		if a.before(b) {
			return -1
		}
		return 1
	})
	out := make([]*switchboard.Conversation, len(*best))
	for i, r := range *best {
		out[i] = r.c
	}
	return out, nil
}

// activitySlack is how far, in microseconds, a member's activity_at may lag
// its conversation's before a message moves it too (a minute: at most one
// write of a member's list entry per conversation and minute; a variable
// for the tests).
var activitySlack int64 = 60_000_000

// rankedConv is a conversation and its place in a list (a tick).
type rankedConv struct {
	c  *switchboard.Conversation
	at int64
}

// before says whether r comes before o in a list: later first, then by id.
func (r rankedConv) before(o rankedConv) bool {
	if r.at != o.at {
		return r.at > o.at
	}
	return r.c.ID < o.c.ID
}

// rankedConvs is a heap whose top is the conversation that comes last.
type rankedConvs []rankedConv

func (h rankedConvs) Len() int           { return len(h) }
func (h rankedConvs) Less(i, j int) bool { return h[j].before(h[i]) }
func (h rankedConvs) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *rankedConvs) Push(x any)        { *h = append(*h, x.(rankedConv)) }
func (h *rankedConvs) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// scanConversations reads rows of listColumns.
func scanConversations(rows *sql.Rows) ([]*switchboard.Conversation, error) {
	out := []*switchboard.Conversation{}
	for rows.Next() {
		c, err := scanListRow(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list conversations: %w", err)
	}
	return out, nil
}

// scanListRow reads a row of listColumns, and extra columns after them.
func scanListRow(rows *sql.Rows, extra ...any) (*switchboard.Conversation, error) {
	c := &switchboard.Conversation{}
	var created, updated, clearedSeq int64
	var external, lastMessage string
	var members sql.NullString
	if err := rows.Scan(append([]any{&c.ID, &c.Kind, &c.Name, &c.Direct, &c.CreatedBy, &created, &updated, &c.LastSeq,
		&c.TextingNumber, &external, &lastMessage, &c.Unread, &c.LastReadSeq, &clearedSeq, &members}, extra...)...); err != nil {
		return nil, fmt.Errorf("scan conversation: %w", err)
	}
	c.CreatedAt, c.UpdatedAt = fromMS(created), fromMS(updated)
	if external != "" {
		c.External = strings.Split(external, ",")
	}
	if err := parseMembers(c, members.String); err != nil {
		return nil, err
	}
	// The last message is the viewer's unless it deleted the conversation
	// for itself after it (cleared_seq).
	if c.LastSeq > clearedSeq && lastMessage != "" {
		var err error
		if c.LastMessage, err = unpackMessage(c.ID, c.LastSeq, lastMessage); err != nil {
			return nil, fmt.Errorf("scan last message: %w", err)
		}
	}
	return c, nil
}

// DeleteConversation implements switchboard.ChatStore.
func (s *Store) DeleteConversation(ctx context.Context, convID string) error {
	id, err := identity(ctx)
	if err != nil {
		return err
	}
	return s.write(ctx, func(w *wtx) error {
		c, _, err := w.conv(id, convID)
		if err != nil {
			return err
		}
		if _, err := w.exec(`UPDATE members SET hidden = 1, cleared_seq = ?, unread = 0, read_seq = max(read_seq, ?) WHERE conversation_id = ? AND extension = ?`,
			c.LastSeq, c.LastSeq, c.ID, id.Extension); err != nil {
			return fmt.Errorf("hide conversation: %w", err)
		}
		return w.emit(id.Domain, switchboard.EventConversationDeleted, c.ID, []string{id.Extension}, map[string]string{"id": c.ID})
	})
}

// RenameConversation implements switchboard.ChatStore.
func (s *Store) RenameConversation(ctx context.Context, convID, name string) (*switchboard.Conversation, error) {
	id, err := identity(ctx)
	if err != nil {
		return nil, err
	}
	name = strings.TrimSpace(name)
	if err := validateGroupName(name); err != nil {
		return nil, err
	}
	var out *switchboard.Conversation
	err = s.write(ctx, func(w *wtx) error {
		c, m, err := w.conv(id, convID)
		if err != nil {
			return err
		} else if c.Direct {
			return switchboard.Errorf(switchboard.EINVALID, "A direct conversation cannot be renamed.")
		} else if c.Name == name {
			out = c
			return w.viewerFields(c, m)
		}
		if _, err := w.exec(`UPDATE conversations SET name = ? WHERE id = ?`, name, c.ID); err != nil {
			return fmt.Errorf("rename conversation: %w", err)
		}
		c.Name = name
		sys := &switchboard.Message{Kind: switchboard.MessageRenamed, Name: name}
		if err := w.appendSystem(id, c, sys); err != nil {
			return err
		}
		out = c
		return w.viewerFields(c, m)
	})
	return out, err
}

// AddMembers implements switchboard.ChatStore.
func (s *Store) AddMembers(ctx context.Context, convID string, exts []string) (*switchboard.Conversation, error) {
	id, err := identity(ctx)
	if err != nil {
		return nil, err
	}
	add, err := normalizeMembers(id.Extension, exts)
	if err != nil {
		return nil, err
	} else if len(add) == 0 {
		return nil, switchboard.Errorf(switchboard.EINVALID, "Choose at least one extension to add.")
	}
	var out *switchboard.Conversation
	err = s.write(ctx, func(w *wtx) error {
		c, m, err := w.conv(id, convID)
		if err != nil {
			return err
		} else if c.Direct {
			return switchboard.Errorf(switchboard.EINVALID, "People cannot be added to a direct conversation; start a group instead.")
		}
		missing, err := w.missingUsers(id.Domain, add)
		if err != nil {
			return err
		} else if len(missing) > 0 {
			return switchboard.Errorf(switchboard.ENOTFOUND, "Extension %s not found.", joinExts(missing))
		}
		var added []string
		for _, ext := range add {
			if !c.IsMember(ext) {
				added = append(added, ext)
			}
		}
		if len(added) == 0 {
			out = c
			return w.viewerFields(c, m)
		} else if len(c.Members)+len(added) > switchboard.MaxGroupMembers {
			return switchboard.Errorf(switchboard.EINVALID, "A conversation has at most %d members.", switchboard.MaxGroupMembers)
		}
		for _, ext := range added {
			if _, err := w.exec(`INSERT INTO members (conversation_id, domain, extension, read_seq, activity_at, joined_event) VALUES (?, ?, ?, ?, ?, ?)`,
				c.ID, id.Domain, ext, c.LastSeq, w.tick, w.s.lastEvent); err != nil {
				return fmt.Errorf("insert member: %w", err)
			}
			c.Members = append(c.Members, ext)
			c.Read[ext] = c.LastSeq
		}
		sort.Strings(c.Members)
		if err := w.appendSystem(id, c, &switchboard.Message{Kind: switchboard.MessageMemberAdded, Targets: added}); err != nil {
			return err
		}
		out = c
		return w.viewerFields(c, m)
	})
	return out, err
}

// RemoveMember implements switchboard.ChatStore.
func (s *Store) RemoveMember(ctx context.Context, convID, ext string) (*switchboard.Conversation, error) {
	id, err := identity(ctx)
	if err != nil {
		return nil, err
	}
	var out *switchboard.Conversation
	err = s.write(ctx, func(w *wtx) error {
		c, m, err := w.conv(id, convID)
		if err != nil {
			return err
		} else if c.Direct {
			return switchboard.Errorf(switchboard.EINVALID, "Nobody can be removed from a direct conversation; delete it instead.")
		} else if !c.IsMember(ext) {
			return switchboard.Errorf(switchboard.ENOTFOUND, "Extension %s is not a member of this conversation.", ext)
		}
		kind := switchboard.MessageMemberRemoved
		if ext == id.Extension {
			kind = switchboard.MessageMemberLeft
		}
		remaining := slices.DeleteFunc(slices.Clone(c.Members), func(e string) bool { return e == ext })
		if err := w.removeMember(c.ID, ext); err != nil {
			return err
		}
		c.Members = remaining
		delete(c.Read, ext)
		if len(remaining) > 0 {
			if err := w.appendSystem(id, c, &switchboard.Message{Kind: kind, Targets: []string{ext}}); err != nil {
				return err
			}
		}
		if err := w.emit(id.Domain, switchboard.EventConversationDeleted, c.ID, []string{ext}, map[string]string{"id": c.ID}); err != nil {
			return err
		}
		out = c
		if ext == id.Extension {
			return nil
		}
		return w.viewerFields(c, m)
	})
	return out, err
}

// MarkRead implements switchboard.ChatStore.
func (s *Store) MarkRead(ctx context.Context, convID string, seq int64) error {
	id, err := identity(ctx)
	if err != nil {
		return err
	}
	if seq < 0 {
		return switchboard.Errorf(switchboard.EINVALID, "seq must not be negative.")
	}
	return s.write(ctx, func(w *wtx) error {
		c, m, err := w.conv(id, convID)
		if err != nil {
			return err
		}
		seq := min(seq, c.LastSeq)
		if seq <= m.readSeq {
			return nil
		}
		var unread int
		if err := w.queryRow(`SELECT count(*) FROM messages WHERE conversation_id = ? AND seq > ? AND sender <> ? AND kind = 'text' AND deleted = 0`,
			c.ID, seq, id.Extension).Scan(&unread); err != nil {
			return fmt.Errorf("count unread: %w", err)
		}
		if _, err := w.exec(`UPDATE members SET read_seq = ?, unread = ? WHERE conversation_id = ? AND extension = ?`,
			seq, unread, c.ID, id.Extension); err != nil {
			return fmt.Errorf("mark read: %w", err)
		}
		c.Read[id.Extension] = seq
		return w.emit(id.Domain, switchboard.EventConversationUpdated, c.ID, c.Members, c.Shared())
	})
}
