package switchboard

import (
	"encoding/json"
	"strconv"
	"sync"
)

// Event types of the real-time stream.
const (
	EventReady               = "ready"
	EventResync              = "resync"
	EventMessageCreated      = "message.created"
	EventMessageUpdated      = "message.updated"
	EventConversationUpdated = "conversation.updated"
	EventConversationDeleted = "conversation.deleted"
	EventPresenceChanged     = "presence.changed"
	EventTyping              = "typing"
)

// Event is one change that clients learn about in real time.
//
// Durable events (message.* and conversation.*) are committed with the
// change that caused them and carry a Cursor > 0 assigned in commit order:
// a client that resumes after a cursor receives every durable event it
// missed. Ephemeral events (presence, typing) have Cursor 0 and are only
// delivered live.
//
// An event goes to Recipients, extensions of Domain; with Broadcast it goes
// to every connected client of Domain instead. Events are immutable once
// published and shared between subscribers.
type Event struct {
	Cursor         int64
	Domain         string
	Type           string
	ConversationID string
	Recipients     []string
	Broadcast      bool
	Data           json.RawMessage

	frameOnce sync.Once
	frame     []byte
}

// NewEvent returns an event whose data is v encoded as JSON.
func NewEvent(typ, domain, conversationID string, recipients []string, v any) (*Event, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return &Event{Type: typ, Domain: domain, ConversationID: conversationID, Recipients: recipients, Data: data}, nil
}

// Frame returns the wire form {"type":...,"cursor":...,"data":...}, encoded
// once and shared by every subscriber. Ephemeral events carry an empty cursor.
func (e *Event) Frame() []byte {
	e.frameOnce.Do(func() {
		b := make([]byte, 0, len(e.Data)+64)
		b = append(b, `{"type":`...)
		b = strconv.AppendQuote(b, e.Type)
		b = append(b, `,"cursor":"`...)
		if e.Cursor > 0 {
			b = strconv.AppendInt(b, e.Cursor, 10)
		}
		b = append(b, `","data":`...)
		if len(e.Data) == 0 {
			b = append(b, "{}"...)
		} else {
			b = append(b, e.Data...)
		}
		e.frame = append(b, '}')
	})
	return e.frame
}

// For reports whether the event is addressed to ext.
func (e *Event) For(ext string) bool {
	if e.Broadcast {
		return true
	}
	for _, r := range e.Recipients {
		if r == ext {
			return true
		}
	}
	return false
}

// FormatCursor and ParseCursor convert cursors to and from their opaque
// string form.
func FormatCursor(c int64) string { return strconv.FormatInt(c, 10) }

// ParseCursor parses a cursor; anything malformed is EINVALID.
func ParseCursor(s string) (int64, error) {
	c, err := strconv.ParseInt(s, 10, 64)
	if err != nil || c < 0 {
		return 0, Errorf(EINVALID, "Cursor %q is not valid.", s)
	}
	return c, nil
}

// EventPublisher accepts events for delivery to connected clients.
// Publish must not block on slow consumers; stores call it in commit order
// from a single goroutine.
type EventPublisher interface {
	Publish(events ...*Event)
}

// EventBus fans events out to the connected clients of a node (or, across
// nodes, through a broker).
type EventBus interface {
	EventPublisher
	// Subscribe registers a client of ext in domain. The subscription
	// receives, in publish order, every event addressed to ext, until it is
	// closed or falls behind: a subscriber that does not keep up is dropped
	// (Overflowed becomes true and C is closed) instead of ever blocking
	// Publish; it then resumes from the store with its last cursor.
	Subscribe(domain, ext string) Subscription
}

// Subscription is one client's feed of events.
type Subscription interface {
	C() <-chan *Event
	// Overflowed reports whether C was closed because the consumer fell behind.
	Overflowed() bool
	Close()
}
