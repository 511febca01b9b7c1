package sqlite

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/switchboard-chat/switchboard"
)

// EventsSince implements switchboard.ChatStore.
func (s *Store) EventsSince(ctx context.Context, cursor int64, limit int) ([]*switchboard.Event, error) {
	id, err := identity(ctx)
	if err != nil {
		return nil, err
	}
	var pruned, last int64
	if err := s.queryRow(ctx, `SELECT coalesce((SELECT value FROM meta WHERE key = 'events_pruned_through'), 0),
		coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0)`).Scan(&pruned, &last); err != nil {
		return nil, fmt.Errorf("read event bounds: %w", err)
	}
	if cursor < pruned || cursor > last {
		return nil, switchboard.ErrCursorExpired
	}
	if cursor == last {
		return nil, nil
	}
	// The messages' own message.created (messagesBetween), and the events
	// of the log up to the last of those if they fill the page.
	msgs, err := s.messagesBetween(ctx, id, cursor, last, limit)
	if err != nil {
		return nil, err
	}
	end := last
	if len(msgs) == limit {
		end = msgs[limit-1].Cursor
	}
	// Windows of event ids, so that a resume from long ago reads the log
	// in steps instead of every event after the cursor for each page.
	var logged []*switchboard.Event
	for lo := cursor; len(logged) < limit && lo < end; {
		hi := min(lo+eventWindow, end)
		page, err := s.eventsBetween(ctx, id, lo, hi, limit-len(logged))
		if err != nil {
			return nil, err
		}
		logged = append(logged, page...)
		lo = hi
	}
	return mergeEvents(msgs, logged, limit), nil
}

// mergeEvents merges a and b, each in cursor order, into the first limit
// events of both.
func mergeEvents(a, b []*switchboard.Event, limit int) []*switchboard.Event {
	out := make([]*switchboard.Event, 0, min(limit, len(a)+len(b)))
	for len(out) < limit && (len(a) > 0 || len(b) > 0) {
		if len(b) == 0 || len(a) > 0 && a[0].Cursor < b[0].Cursor {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, b = append(out, b[0]), b[1:]
		}
	}
	return out
}

// messagesBetween returns, in commit order, up to limit message.created
// events with lo < id <= hi of the caller's conversations, read from the
// messages themselves (migration 010): those of the conversations it is a
// member of, after the event it joined at, and of those it was a member
// of, until the event it left at. A message carries its event's id
// (event_id, 0 for the messages from before the migration, whose events
// are in the log), and within a conversation event_id grows with seq.
//
// It is one statement. For each conversation with news (its last_event
// past the bound), the first message after the bound is found by a binary
// search on seq, a lookup of the primary key at each step, between the
// conversation's last message and as many messages before it as there were
// events since the bound (ids are unique, so no more messages can be
// news): a few steps for a client that was away briefly. At most limit
// messages of each are read from there. Only the events returned are
// encoded. The event says what the message is now: an edited message as
// edited, a deleted one deleted, without its body (its message.updated
// events follow, from the log).
func (s *Store) messagesBetween(ctx context.Context, id switchboard.Identity, lo, hi int64, limit int) ([]*switchboard.Event, error) {
	rows, err := s.query(ctx, messagesBetweenQuery, id.Domain, id.Extension, lo, hi, limit)
	if err != nil {
		return nil, fmt.Errorf("list messages with news: %w", err)
	}
	defer rows.Close()
	var out []*switchboard.Event
	for rows.Next() {
		var cursor int64
		m, err := scanMessage(scanThen{rows, []any{&cursor}})
		if err != nil {
			return nil, fmt.Errorf("list messages with news: %w", err)
		}
		e, err := switchboard.NewEvent(switchboard.EventMessageCreated, id.Domain, m.ConversationID, []string{id.Extension}, m)
		if err != nil {
			return nil, fmt.Errorf("encode message: %w", err)
		}
		e.Cursor = cursor
		out = append(out, e)
	}
	return out, rows.Err()
}

// messagesBetweenQuery is messagesBetween's statement.
var messagesBetweenQuery = func() string {
	// The next interval of the search and the next seq to try, from the
	// event e at p.
	lo2 := `iif(e <= after, p, lo)`
	hi2 := `iif(e <= after, hi, p)`
	p2 := `max((` + lo2 + ` + ` + hi2 + `) / 2, ` + hi2 + ` - step * 2)`
	return `WITH RECURSIVE
		spans (conv, after, through, lo, hi) AS (
			SELECT m.conversation_id, max(?3, m.joined_event), ?4, max(0, c.last_seq - (c.last_event - max(?3, m.joined_event))), c.last_seq
				FROM members m JOIN conversations c ON c.id = m.conversation_id
				WHERE m.domain = ?1 AND m.extension = ?2 AND c.last_event > max(?3, m.joined_event)
			UNION ALL
			SELECT f.conversation_id, max(?3, f.joined_event), min(?4, f.left_event), max(0, c.last_seq - (c.last_event - max(?3, f.joined_event))), c.last_seq
				FROM former_members f JOIN conversations c ON c.id = f.conversation_id
				WHERE f.domain = ?1 AND f.extension = ?2 AND f.left_event > ?3 AND c.last_event > max(?3, f.joined_event)),
		-- The first message after the bound is in (lo, hi]: lo's event is
		-- at most after (or lo is 0), hi's above it. Each step looks up
		-- the event e of the message at p, the next seq to try: back from
		-- hi by steps that double while that is past the middle, else the
		-- middle, so that news at a conversation's end is found in as many
		-- steps as the log of its count.
		search (conv, after, through, lo, hi, step, p, e) AS (
			SELECT conv, after, through, lo, hi, 1, hi - 1,
				iif(hi - lo > 1, (SELECT event_id FROM messages WHERE conversation_id = conv AND seq >= hi - 1 ORDER BY seq LIMIT 1), NULL)
			FROM spans WHERE after < through
			UNION ALL
			SELECT conv, after, through, ` + lo2 + `, ` + hi2 + `, step * 2, ` + p2 + `,
				iif(` + hi2 + ` - ` + lo2 + ` > 1, (SELECT event_id FROM messages WHERE conversation_id = conv AND seq >= ` + p2 + ` ORDER BY seq LIMIT 1), NULL)
			FROM search WHERE e IS NOT NULL)
		SELECT ` + messageColumnsOf("x") + `, x.event_id FROM search s
			JOIN messages x ON x.conversation_id = s.conv AND x.seq >= s.hi AND x.seq < s.hi + ?5
				AND x.event_id > s.after AND x.event_id <= s.through
		WHERE s.e IS NULL
		ORDER BY x.event_id LIMIT ?5`
}()

// messageColumnsOf is messageColumns of table alias t.
func messageColumnsOf(t string) string {
	return t + "." + strings.ReplaceAll(messageColumns, ", ", ", "+t+".")
}

// scanThen scans a message's columns and then the columns after them
// into more.
type scanThen struct {
	sc   interface{ Scan(...any) error }
	more []any
}

func (s scanThen) Scan(dest ...any) error {
	return s.sc.Scan(append(dest[:len(dest):len(dest)], s.more...)...)
}

// eventWindow is how many event ids EventsSince reads at a time (a
// variable for the tests).
var eventWindow int64 = 20_000

// eventsBetween returns, in commit order, up to limit of the caller's events
// with lo < id <= hi: those addressed to it (event_recipients) and those to
// every member of a conversation it is a member of, from when it joined,
// or was until it left (migration 008). Its memberships are found through
// members_list and former_members, each conversation's events through
// events_conversation.
func (s *Store) eventsBetween(ctx context.Context, id switchboard.Identity, lo, hi int64, limit int) ([]*switchboard.Event, error) {
	rows, err := s.query(ctx, `SELECT id, type, conversation_id, data FROM (
			SELECT e.id, e.type, e.conversation_id, e.data FROM event_recipients r
			JOIN events e ON e.id = r.event_id
			WHERE r.domain = ?1 AND r.extension = ?2 AND r.event_id > ?3 AND r.event_id <= ?4
		UNION ALL
			SELECT e.id, e.type, e.conversation_id, e.data FROM members m
			JOIN events e ON e.conversation_id = m.conversation_id AND e.to_members = 1
				AND e.id > max(?3, m.joined_event) AND e.id <= ?4
			WHERE m.domain = ?1 AND m.extension = ?2
		UNION ALL
			SELECT e.id, e.type, e.conversation_id, e.data FROM former_members f
			JOIN events e ON e.conversation_id = f.conversation_id AND e.to_members = 1
				AND e.id > max(?3, f.joined_event) AND e.id <= min(?4, f.left_event)
			WHERE f.domain = ?1 AND f.extension = ?2 AND f.left_event > ?3
		) ORDER BY id LIMIT ?5`, id.Domain, id.Extension, lo, hi, limit)
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	defer rows.Close()
	var out []*switchboard.Event
	for rows.Next() {
		e := &switchboard.Event{Domain: id.Domain, Recipients: []string{id.Extension}}
		var data []byte
		if err := rows.Scan(&e.Cursor, &e.Type, &e.ConversationID, &data); err != nil {
			return nil, fmt.Errorf("list events: %w", err)
		}
		e.Data = data
		out = append(out, e)
	}
	return out, rows.Err()
}

// LastCursor implements switchboard.ChatStore.
func (s *Store) LastCursor(ctx context.Context) (int64, error) {
	if _, err := identity(ctx); err != nil {
		return 0, err
	}
	var last int64
	if err := s.queryRow(ctx, `SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0)`).Scan(&last); err != nil {
		return 0, fmt.Errorf("read last cursor: %w", err)
	}
	return last, nil
}

// pruneChunk bounds the events one prune write removes, so that pruning a
// big log never holds the single writer for long.
const pruneChunk = 2000

// PruneEvents implements switchboard.ChatStore. It removes the old events in
// chunks of pruneChunk, each its own write, oldest first, and stops at the
// first chunk that holds a newer event.
func (s *Store) PruneEvents(ctx context.Context, before time.Time) error {
	for {
		more := false
		err := s.write(ctx, func(w *wtx) error {
			var pruned int64
			if err := w.queryRow(`SELECT coalesce((SELECT value FROM meta WHERE key = 'events_pruned_through'), 0)`).Scan(&pruned); err != nil {
				return fmt.Errorf("read pruned events: %w", err)
			}
			var through, last, n int64
			if err := w.queryRow(`SELECT coalesce(max(CASE WHEN created_at < ? THEN id END), 0), coalesce(max(id), 0), count(*)
				FROM (SELECT id, created_at FROM events WHERE id > ? ORDER BY id LIMIT ?)`, ms(before), pruned, pruneChunk).Scan(&through, &last, &n); err != nil {
				return fmt.Errorf("find old events: %w", err)
			} else if through == 0 {
				return nil
			}
			if _, err := w.exec(`DELETE FROM event_recipients WHERE event_id > ? AND event_id <= ?`, pruned, through); err != nil {
				return fmt.Errorf("prune event recipients: %w", err)
			}
			if _, err := w.exec(`DELETE FROM former_members WHERE left_event <= ?`, through); err != nil {
				return fmt.Errorf("prune former members: %w", err)
			}
			if _, err := w.exec(`DELETE FROM events WHERE id > ? AND id <= ?`, pruned, through); err != nil {
				return fmt.Errorf("prune events: %w", err)
			}
			if _, err := w.exec(`INSERT INTO meta (key, value) VALUES ('events_pruned_through', ?)
				ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)`, through); err != nil {
				return fmt.Errorf("record pruning: %w", err)
			}
			more = through == last && n == pruneChunk
			return nil
		})
		if err != nil || !more {
			return err
		}
	}
}
