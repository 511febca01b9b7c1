package switchboard

import (
	"strings"
	"time"
	"unicode/utf8"
)

// Message kinds: text from a member, or system events in the conversation.
const (
	MessageText          = "text"
	MessageMemberAdded   = "member_added"
	MessageMemberRemoved = "member_removed"
	MessageMemberLeft    = "member_left"
	MessageRenamed       = "renamed"
)

// SMS delivery statuses.
const (
	StatusQueued    = "queued"
	StatusSent      = "sent"
	StatusDelivered = "delivered"
	StatusFailed    = "failed"
)

// Limits of messages.
const (
	MaxBodyLength        = 10000 // characters of a chat message
	MaxSMSBodyLength     = 1600  // characters of an SMS message
	MaxAttachments       = 10    // attachments per message
	MaxClientIDLength    = 64
	DefaultMessagesLimit = 50
	MaxMessagesLimit     = 200
)

// Message is one entry of a conversation, ordered by Seq (1, 2, 3, ... per
// conversation). System messages have a Kind other than "text", the acting
// extension as Sender and the affected extensions in Targets.
type Message struct {
	ID             string        `json:"id"`
	ConversationID string        `json:"conversation_id"`
	Seq            int64         `json:"seq"`
	ClientID       string        `json:"client_id"`
	Sender         string        `json:"sender"`
	Body           string        `json:"body"`
	Attachments    []*Attachment `json:"attachments"`
	Kind           string        `json:"kind"`
	Targets        []string      `json:"targets,omitempty"`
	Name           string        `json:"name,omitempty"`
	CreatedAt      time.Time     `json:"created_at"`
	EditedAt       *time.Time    `json:"edited_at"`
	Deleted        bool          `json:"deleted"`
	Status         string        `json:"status,omitempty"`
	Error          string        `json:"error,omitempty"`

	// Encoded is the message as encoding/json writes it, when a store
	// encoded it for its message.created event and nothing changed it
	// since; nil otherwise. The HTTP response to its send reuses it
	// rather than encoding it a second time.
	Encoded []byte `json:"-"`
}

// Attachment is a file or picture shared in a conversation.
type Attachment struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
	Width       int    `json:"width,omitempty"`
	Height      int    `json:"height,omitempty"`
}

// MessageQuery selects a page of history: with Forward, the oldest
// messages with seq > After; otherwise the newest messages with seq <
// Before (or the newest of all when Before is 0).
type MessageQuery struct {
	Before  int64
	After   int64
	Forward bool
	Limit   int
}

// ValidateBody checks a text message body against the limit for its kind of
// conversation. A body may be empty only when the message has attachments.
func ValidateBody(body string, attachments int, limit int) error {
	if !utf8.ValidString(body) {
		return Errorf(EINVALID, "Message is not valid UTF-8.")
	} else if strings.TrimSpace(body) == "" && attachments == 0 {
		return Errorf(EINVALID, "Message is empty.")
	} else if n := utf8.RuneCountInString(body); n > limit {
		return Errorf(ETOOLARGE, "Message is %d characters; the limit is %d.", n, limit)
	}
	return nil
}
