package switchboard

import (
	"context"
	"time"
)

// Conversation kinds.
const (
	KindChat = "chat" // between extensions of one domain: 1:1 or a group
	KindSMS  = "sms"  // between a texting number and external numbers
)

// Conversation is a chat or SMS thread. Shared fields are the same for every
// member; Unread, LastReadSeq and LastMessage are as seen by the member who
// asked (LastMessage is nil when the member cleared the history after it).
type Conversation struct {
	ID          string           `json:"id"`
	Kind        string           `json:"kind"`
	Name        string           `json:"name"`
	Direct      bool             `json:"direct"`
	Members     []string         `json:"members"`
	Read        map[string]int64 `json:"read"`
	CreatedBy   string           `json:"created_by"`
	CreatedAt   time.Time        `json:"created_at"`
	UpdatedAt   time.Time        `json:"updated_at"`
	LastSeq     int64            `json:"last_seq"`
	LastMessage *Message         `json:"last_message"`
	Unread      int              `json:"unread"`
	LastReadSeq int64            `json:"last_read_seq"`

	// For SMS conversations: the texting number and the external numbers.
	TextingNumber string   `json:"texting_number,omitempty"`
	External      []string `json:"external,omitempty"`
}

// Shared returns a copy of c without the fields that differ by member, for
// events that every member receives.
func (c *Conversation) Shared() *Conversation {
	s := *c
	s.LastMessage, s.Unread, s.LastReadSeq = nil, 0, 0
	return &s
}

// IsMember reports whether ext is a member of c.
func (c *Conversation) IsMember(ext string) bool {
	for _, m := range c.Members {
		if m == ext {
			return true
		}
	}
	return false
}

// Limits of conversations.
const (
	MaxGroupMembers = 256
	MaxNameLength   = 100
)

// ChatStore keeps conversations, messages and the event log of a node.
//
// Every method acts for the identity carried by ctx (see
// NewContextWithIdentity) and only within its domain: a conversation the
// identity is not a member of, or one of another domain, is ENOTFOUND, exactly
// as if it did not exist. Without an identity every method fails with
// EUNAUTHORIZED.
//
// Each write commits atomically with the events it causes; the store assigns
// each event a cursor and hands the events of every commit to its
// EventPublisher in commit order, before the method returns. A write that
// returned without error is durable. Methods are safe for concurrent use.
type ChatStore interface {
	// CreateConversation stores a new conversation whose members are c.Members
	// plus the caller; ID, CreatedBy and the times are set on c. A direct
	// conversation (c.Direct, exactly one other member) is unique per pair: if
	// it exists, c is filled with it and created is false, and a caller who had
	// deleted it sees it again. Members must be extensions of the domain
	// (else ENOTFOUND). Events: conversation.updated to every member.
	CreateConversation(ctx context.Context, c *Conversation) (created bool, err error)

	// FindConversation returns one conversation as seen by the caller.
	FindConversation(ctx context.Context, id string) (*Conversation, error)

	// ListConversations returns the caller's conversations that are not
	// deleted for the caller, newest activity first, at most limit.
	ListConversations(ctx context.Context, limit int) ([]*Conversation, error)

	// DeleteConversation hides the conversation and its history so far from
	// the caller only. A later message brings it back with only the messages
	// after the deletion. Event: conversation.deleted to the caller.
	DeleteConversation(ctx context.Context, id string) error

	// UpdateConversation renames a group (EINVALID for a direct conversation).
	// It adds a system message. Events: message.created and
	// conversation.updated to every member.
	RenameConversation(ctx context.Context, id, name string) (*Conversation, error)

	// AddMembers adds extensions of the domain to a group and adds a system
	// message; extensions that are members already are ignored. Events as for
	// RenameConversation, to the old and new members.
	AddMembers(ctx context.Context, id string, exts []string) (*Conversation, error)

	// RemoveMember removes ext from a group (ext may be the caller: leaving)
	// and adds a system message. The removed member receives
	// conversation.deleted; the others message.created and conversation.updated.
	RemoveMember(ctx context.Context, id, ext string) (*Conversation, error)

	// MarkRead records that the caller has read up to seq (clamped to the
	// last seq; a seq below the current marker changes nothing) and recomputes
	// the caller's unread count. Event: conversation.updated to every member
	// when the marker moved.
	MarkRead(ctx context.Context, id string, seq int64) error

	// SendMessage appends m (Body, Attachments, ClientID, Kind) from the
	// caller to conversation m.ConversationID and fills in the rest. Each
	// attachment is given by its ID and must be the caller's own upload
	// (else ENOTFOUND); it is filled in and becomes visible to the members. If the
	// caller already sent a message with the same non-empty ClientID to that
	// conversation, m is filled with that message and created is false.
	// Unread counts of the other members grow by one, the caller's read
	// marker moves to the new message, and the conversation comes back for
	// members who had deleted it. Event: message.created to every member.
	SendMessage(ctx context.Context, m *Message) (created bool, err error)

	// ListMessages returns messages of a conversation in ascending seq that
	// the caller may see (after the caller's deletion point), per q.
	ListMessages(ctx context.Context, conversationID string, q MessageQuery) ([]*Message, error)

	// EditMessage replaces the body of the caller's own text message;
	// DeleteMessage blanks it and marks it deleted. Another member's message
	// is EFORBIDDEN, a deleted one ENOTFOUND. Event: message.updated.
	EditMessage(ctx context.Context, conversationID, messageID, body string) (*Message, error)
	DeleteMessage(ctx context.Context, conversationID, messageID string) (*Message, error)

	// EventsSince returns up to limit durable events for the caller with a
	// cursor greater than cursor, in cursor order. A cursor older than the
	// retained log, or unknown to this store, is ErrCursorExpired.
	EventsSince(ctx context.Context, cursor int64, limit int) ([]*Event, error)

	// LastCursor returns the cursor of the newest committed event (0 if none).
	LastCursor(ctx context.Context) (int64, error)

	// PruneEvents forgets durable events created before the given time;
	// clients whose cursor is older must reload (ErrCursorExpired). It needs
	// no identity.
	PruneEvents(ctx context.Context, before time.Time) error
}

// ErrCursorExpired is returned by EventsSince when the client must reload.
var ErrCursorExpired = Errorf(ECONFLICT, "The event cursor is too old; reload.")
