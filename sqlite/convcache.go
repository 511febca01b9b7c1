package sqlite

import (
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/switchboard-chat/switchboard"
)

// maxCachedConvs bounds the writer's conversation cache; past it the cache
// starts again empty (a miss costs one read).
const maxCachedConvs = 50_000

// cachedConv is what a text message sent to a chat conversation needs to
// know of it, kept by the writer between writes so that a send reads
// nothing before it writes (the read was a fifth of a send's cost).
//
// An entry is exactly the database's state as the writer's transaction
// sees it: the writer fills it from the database, insertMessage moves it
// with every message, and every other write that changes a conversation
// loads the conversation through convWith or loadMembers first, which
// forget the entry (the next send reads it again). A write that fails
// forgets the entries it touched, and a transaction that aborts empties
// the cache (see Store.run).
type cachedConv struct {
	domain  string
	members []string // sorted
	lastSeq int64
	// oldestActivity is the least activity_at of the members' rows and
	// hidden whether any member deleted the conversation for itself: a
	// message moves those rows only when one lags by more than
	// activitySlack or is hidden (touchMembers).
	oldestActivity int64
	hidden         bool
}

// cachedConv returns the cache entry of chat conversation convID if the
// caller may send to it, reading it from the database on a miss; nil and
// no error when the conversation is of another kind (the caller takes
// the general path). Writer goroutine only.
func (w *wtx) cachedConv(id switchboard.Identity, convID string) (*cachedConv, error) {
	cc := w.s.convs[convID]
	if cc == nil {
		var kind string
		var members sql.NullString
		cc = &cachedConv{}
		err := w.queryRow(`SELECT c.domain, c.kind, c.last_seq, group_concat(m.extension), min(m.activity_at), max(m.hidden)
			FROM conversations c JOIN members m ON m.conversation_id = c.id WHERE c.id = ? GROUP BY c.id`, convID).
			Scan(&cc.domain, &kind, &cc.lastSeq, &members, &cc.oldestActivity, &cc.hidden)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, errConvNotFound
		} else if err != nil {
			return nil, fmt.Errorf("find conversation: %w", err)
		}
		if kind != switchboard.KindChat {
			return nil, nil
		}
		cc.members = strings.Split(members.String, ",")
		slices.Sort(cc.members)
		if len(w.s.convs) >= maxCachedConvs {
			clear(w.s.convs)
		}
		w.s.convs[convID] = cc
		w.touched = append(w.touched, convID)
	}
	if cc.domain != id.Domain {
		return nil, errConvNotFound
	}
	if _, ok := slices.BinarySearch(cc.members, id.Extension); !ok {
		return nil, errConvNotFound
	}
	return cc, nil
}

// forget drops the cache entry of convID: the write under way may change
// the conversation. Writer goroutine only.
func (w *wtx) forget(convID string) {
	delete(w.s.convs, convID)
}
