package switchboard

import (
	"context"
	"io"
	"net/http"
	"time"
)

// Provider kinds.
const (
	ProviderSim    = "sim"
	ProviderTwilio = "twilio"
	ProviderTelnyx = "telnyx"
	ProviderKannel = "kannel"
)

// Provider is an SMS provider account that texting numbers are bound to.
// Credentials hold what its kind needs (twilio: account_sid, auth_token;
// telnyx: api_key, public_key; kannel: username, password, secret); they
// never leave the server and are never logged.
type Provider struct {
	Name        string
	Kind        string
	APIURL      string // overrides the provider's API base (tests, regional endpoints)
	Credentials map[string]string
	CreatedAt   time.Time
}

// OutboundSMS is one message to send through a provider.
type OutboundSMS struct {
	ID   string // Switchboard's id of the message and recipient: an idempotency key
	From string // E.164 texting number
	To   string // E.164 external number
	Body string
	// Media are pictures for MMS, reachable by the provider at their URL
	// (signed links to Switchboard's public URL).
	Media []MediaRef
	// StatusCallback is where the provider reports delivery, when it takes
	// a URL per message.
	StatusCallback string
}

// MediaRef is a picture of an MMS.
type MediaRef struct {
	URL         string
	ContentType string
	Size        int64
}

// SendResult is what a provider answered to a send.
type SendResult struct {
	ProviderID string // the provider's id of the message, for delivery reports
	Status     string // StatusSent or StatusQueued (at the provider)
}

// InboundSMS is a message from an external number to a texting number.
type InboundSMS struct {
	ProviderID string // the provider's id: retries of a webhook carry the same one
	From       string // E.164
	To         string // E.164 texting number
	Body       string
	Media      []InboundMedia
}

// InboundMedia is a picture of an inbound MMS, fetched with the provider's
// credentials.
type InboundMedia struct {
	URL         string
	ContentType string
}

// DeliveryReport is a provider's news about an outbound message.
type DeliveryReport struct {
	ProviderID string
	Status     string // StatusSent, StatusDelivered or StatusFailed
	Error      string // the provider's reason, for failures
}

// Webhook is what a provider's webhook request carried.
type Webhook struct {
	Messages []InboundSMS
	Reports  []DeliveryReport
}

// SMSProvider is an adapter to one provider account.
type SMSProvider interface {
	// Send hands one message to the provider. A failure that may succeed
	// later (network, 5xx, 429) is EUNAVAILABLE; one that never will (a
	// rejected number, bad credentials) has another code, and its message
	// is the provider's reason.
	Send(ctx context.Context, m *OutboundSMS) (SendResult, error)

	// ParseWebhook checks the request's signature before parsing anything
	// (EUNAUTHORIZED when it does not verify) and returns the inbound
	// messages and delivery reports it carries. body is the raw body, read
	// already; publicURL is the URL the provider called, as the outside
	// world sees it (scheme, host and the request URI).
	ParseWebhook(r *http.Request, body []byte, publicURL string) (*Webhook, error)

	// FetchMedia downloads a picture of an inbound MMS.
	FetchMedia(ctx context.Context, url string) (io.ReadCloser, error)

	// MaxMMSBytes is the provider's limit on the pictures of one MMS.
	MaxMMSBytes() int64
}
