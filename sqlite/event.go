package sqlite

import (
	"context"
	"fmt"
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
	// Windows of event ids, so that a resume from long ago reads the log
	// in steps instead of every event after the cursor for each page.
	var out []*switchboard.Event
	for lo := cursor; len(out) < limit && lo < last; {
		hi := min(lo+eventWindow, last)
		page, err := s.eventsBetween(ctx, id, lo, hi, limit-len(out))
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		lo = hi
	}
	return out, nil
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
