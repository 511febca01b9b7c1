package switchboard

import (
	"context"
	"time"
)

// TextingNumber is an E.164 number of a domain, bound to a provider and
// assigned to extensions: every assigned extension shares its inbox.
type TextingNumber struct {
	Number    string    `json:"number"`
	Domain    string    `json:"domain"`
	Provider  string    `json:"provider"`
	Assigned  []string  `json:"assigned"`
	CreatedAt time.Time `json:"created_at"`
}

// OutboxItem is one outbound SMS to one recipient, waiting for or past its
// provider call.
type OutboxItem struct {
	ID             int64
	MessageID      string
	ConversationID string
	Domain         string
	From           string // texting number
	To             string // external number
	Provider       string
	Body           string
	Attachments    []*Attachment
	Attempts       int
}

// Outbox item states.
const (
	OutboxPending   = "pending"   // waiting for its (next) provider call
	OutboxSending   = "sending"   // claimed: the provider is being called
	OutboxSent      = "sent"      // the provider took it
	OutboxDelivered = "delivered" // the provider reported delivery
	OutboxFailed    = "failed"
)

// OutboxResult is the outcome of one provider call for an item.
type OutboxResult struct {
	State      string // OutboxSent, OutboxPending (retry at RetryAt) or OutboxFailed
	ProviderID string
	Error      string
	RetryAt    time.Time
}

// MMSChecker applies, before a message is stored, the limits of the
// provider that will send it by MMS, so that the sender is told at once
// rather than by a failed text later.
type MMSChecker interface {
	// CheckMMS returns an EINVALID error, whose message tells the sender
	// why, when attachments (the caller's own uploads) cannot be sent by
	// MMS from the texting number of SMS conversation c: one is not a
	// picture, or there are more pictures or more bytes than its provider
	// takes in one MMS (a provider without MMS takes none). It returns nil
	// when they can, or when the provider cannot be asked (the outbox then
	// fails the message with the reason). Safe for concurrent use.
	CheckMMS(ctx context.Context, c *Conversation, attachments []*Attachment) error
}

// InboundResult says what became of an inbound SMS.
type InboundResult struct {
	Message      *Message
	Conversation *Conversation
	Duplicate    bool // the provider retried a message that was stored already
}

// TextingStore keeps providers, texting numbers, SMS conversations, the
// durable outbox and opt-outs. Methods that take an identity (ctx) act
// within its domain as ChatStore does; the others are for the operator and
// for provider webhooks. Safe for concurrent use.
//
// Messages sent with ChatStore.SendMessage into an SMS conversation are
// stored "queued" with one outbox item per external recipient, in the same
// transaction; a recipient who opted out makes the message "failed" at once
// with the reason in Error.
type TextingStore interface {
	CreateProvider(ctx context.Context, p *Provider) error // ECONFLICT if the name is taken
	FindProvider(ctx context.Context, name string) (*Provider, error)
	ListProviders(ctx context.Context) ([]*Provider, error)

	// CreateNumber adds a texting number (ECONFLICT if any domain has it);
	// its domain, provider and assigned extensions must exist (ENOTFOUND).
	CreateNumber(ctx context.Context, n *TextingNumber) error
	FindNumber(ctx context.Context, number string) (*TextingNumber, error)
	ListNumbers(ctx context.Context, domain string) ([]*TextingNumber, error)
	// AssignNumber replaces the extensions a number is assigned to; the
	// members of its conversations follow.
	AssignNumber(ctx context.Context, number string, exts []string) (*TextingNumber, error)
	// MyNumbers returns the texting numbers assigned to the caller.
	MyNumbers(ctx context.Context) ([]string, error)

	// CreateSMSConversation opens (or returns, created false) the
	// conversation between texting number from, which must be assigned to
	// the caller (else ENOTFOUND), and the external numbers to (E.164).
	CreateSMSConversation(ctx context.Context, from string, to []string) (*Conversation, bool, error)

	// ReceiveSMS stores an inbound message for texting number in.To, in the
	// conversation with in.From (created when needed), unless the same
	// provider id of that provider was stored before (Duplicate). The
	// attachments (already stored) are posted with it. An unknown number is
	// ENOTFOUND. Events: message.created to the assigned extensions.
	ReceiveSMS(ctx context.Context, provider string, in *InboundSMS, attachments []*StoredAttachment) (*InboundResult, error)

	// InboundSeen reports whether a provider's message id was stored before.
	InboundSeen(ctx context.Context, provider, providerID string) (bool, error)

	// AutoReply sends body from the texting number itself (not from an
	// extension) into an SMS conversation, through the outbox: the answer
	// to HELP. Events: message.created to the members.
	AutoReply(ctx context.Context, conversationID, body string) (*Message, error)

	// SetOptOut records that external opted out of (or back in to) texts
	// from number.
	SetOptOut(ctx context.Context, number, external string, out bool) error

	// ClaimOutbox marks up to limit pending items due at now as sending and
	// returns them; RecoverOutbox fails the items left sending by a crash
	// (they may or may not have reached the provider, so they are never sent
	// again) and returns how many.
	ClaimOutbox(ctx context.Context, now time.Time, limit int) ([]*OutboxItem, error)
	RecoverOutbox(ctx context.Context) (int, error)
	// CompleteOutbox records the outcome of a claimed item and updates its
	// message's status (message.updated to the members).
	CompleteOutbox(ctx context.Context, id int64, res OutboxResult) error
	// ApplyDeliveryReport records a provider's report about the item with
	// that provider id, and updates its message (message.updated). Unknown
	// ids are ENOTFOUND.
	ApplyDeliveryReport(ctx context.Context, provider string, r DeliveryReport) error
}
