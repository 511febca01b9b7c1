// Package telnyx is the texting provider adapter for Telnyx's Messaging API
// (REST API v2).
//
// Messages are sent with a JSON POST to /v2/messages with a Bearer API key.
// Telnyx's webhooks (message.received, message.sent, message.finalized)
// are signed with the account's Ed25519 key over "timestamp|body" (headers
// telnyx-timestamp and telnyx-signature-ed25519); ParseWebhook verifies the
// signature against the account's public key, and refuses a timestamp more
// than five minutes from now, before it parses anything.
package telnyx

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/switchboard-chat/switchboard"
	"github.com/switchboard-chat/switchboard/sms/internal/httpx"
)

// DefaultAPIURL is Telnyx's API base, used when the provider account sets
// no APIURL.
const DefaultAPIURL = "https://api.telnyx.com"

const (
	// maxMMSBytes is 1 MB: Telnyx's "MMS Media & Transcoding" guide
	// (https://developers.telnyx.com/docs/messaging/messages/mms-transcoding)
	// lists the carriers' limits per sender type, and 1 MB is the largest
	// that every US carrier takes from a long code (AT&T: 1 MB).
	maxMMSBytes = 1 << 20
	// maxResponseBytes bounds what is read of an API answer.
	maxResponseBytes = 1 << 20

	sendTimeout = 30 * time.Second
)

// Provider is the adapter to one Telnyx account. It is safe for concurrent
// use.
type Provider struct {
	apiURL    *url.URL
	apiKey    string
	publicKey ed25519.PublicKey
	client    *http.Client
	now       func() time.Time
}

var _ switchboard.SMSProvider = (*Provider)(nil)

// New returns the adapter of provider account p, whose credentials must hold
// api_key and public_key (the account's Ed25519 public key, base64, from the
// Mission Control portal). client makes the HTTP calls (nil: a client of its
// own); every call also has a timeout of its own.
func New(p *switchboard.Provider, client *http.Client) (*Provider, error) {
	key, pub := p.Credentials["api_key"], p.Credentials["public_key"]
	if key == "" || pub == "" {
		return nil, switchboard.Errorf(switchboard.EINVALID, "A Telnyx provider needs an API key and a public key.")
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(pub))
	if err != nil || len(raw) != ed25519.PublicKeySize {
		return nil, switchboard.Errorf(switchboard.EINVALID, "The Telnyx public key must be a base64 Ed25519 public key (32 bytes).")
	}
	base := p.APIURL
	if base == "" {
		base = DefaultAPIURL
	}
	u, err := url.Parse(strings.TrimRight(base, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, switchboard.Errorf(switchboard.EINVALID, "The Telnyx API URL must be an http or https URL.")
	}
	if client == nil {
		client = &http.Client{}
	}
	return &Provider{apiURL: u, apiKey: key, publicKey: ed25519.PublicKey(raw), client: client, now: time.Now}, nil
}

// MaxMMSBytes implements switchboard.SMSProvider: 1 MB.
func (p *Provider) MaxMMSBytes() int64 { return maxMMSBytes }

// apiErrors is the body of Telnyx's error answers.
type apiErrors struct {
	Errors []struct {
		Code   json.RawMessage `json:"code"` // a string, sometimes a number
		Title  string          `json:"title"`
		Detail string          `json:"detail"`
	} `json:"errors"`
}

// text is the first error as "detail (error code)".
func (e apiErrors) text() string {
	if len(e.Errors) == 0 {
		return ""
	}
	x := e.Errors[0]
	t := x.Detail
	if t == "" {
		t = x.Title
	}
	t = strings.TrimSuffix(t, ".")
	if code := strings.Trim(string(x.Code), `"`); code != "" && code != "null" {
		if t == "" {
			return "error " + code
		}
		t += " (error " + code + ")"
	}
	return t
}

// Send implements switchboard.SMSProvider: it creates a message with from,
// to, text, media_urls and webhook_url. The result's ProviderID is Telnyx's
// message id.
func (p *Provider) Send(ctx context.Context, m *switchboard.OutboundSMS) (switchboard.SendResult, error) {
	msg := struct {
		From       string   `json:"from"`
		To         string   `json:"to"`
		Text       string   `json:"text,omitempty"`
		MediaURLs  []string `json:"media_urls,omitempty"`
		WebhookURL string   `json:"webhook_url,omitempty"`
	}{From: m.From, To: m.To, Text: m.Body, WebhookURL: m.StatusCallback}
	for _, md := range m.Media {
		msg.MediaURLs = append(msg.MediaURLs, md.URL)
	}
	body, err := json.Marshal(msg)
	if err != nil {
		return switchboard.SendResult{}, fmt.Errorf("telnyx: encode message: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.apiURL.JoinPath("v2", "messages").String(), bytes.NewReader(body))
	if err != nil {
		return switchboard.SendResult{}, fmt.Errorf("telnyx: new request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+p.apiKey)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	status, raw, err := httpx.Call(p.client, req, "Telnyx", maxResponseBytes)
	if err != nil {
		return switchboard.SendResult{}, err
	}
	if status/100 != 2 {
		return switchboard.SendResult{}, apiError(status, raw)
	}
	var ans struct {
		Data struct {
			ID string `json:"id"`
			To []struct {
				Status string `json:"status"`
			} `json:"to"`
			apiErrors
		} `json:"data"`
	}
	if err := json.Unmarshal(raw, &ans); err != nil || ans.Data.ID == "" {
		// Not an answer of Telnyx's (a proxy's page, say): the message
		// most likely did not get through, so it is worth another try.
		return switchboard.SendResult{}, httpx.Unavailable("Telnyx", "decode answer", fmt.Errorf("HTTP %d without a message id", status))
	}
	st := ""
	if len(ans.Data.To) > 0 {
		st = ans.Data.To[0].Status
	}
	switch st {
	case "sending_failed", "delivery_failed":
		text := ans.Data.text()
		if text == "" {
			text = "the message " + strings.ReplaceAll(st, "_", " ")
		}
		return switchboard.SendResult{}, switchboard.Errorf(switchboard.EINVALID, "Telnyx: %s.", text)
	case "sending", "sent", "delivered", "delivery_unconfirmed":
		return switchboard.SendResult{ProviderID: ans.Data.ID, Status: switchboard.StatusSent}, nil
	}
	return switchboard.SendResult{ProviderID: ans.Data.ID, Status: switchboard.StatusQueued}, nil
}

// apiError maps a non-2xx answer of Telnyx's API, whose body is
// {"errors":[{"code":"10002","title":"...","detail":"..."}]}.
func apiError(status int, raw []byte) error {
	var e apiErrors
	_ = json.Unmarshal(raw, &e)
	text := e.text()
	switch {
	case httpx.Busy(status):
		return fmt.Errorf("telnyx: HTTP %d (%s): %w", status, text,
			switchboard.Errorf(switchboard.EUNAVAILABLE, "Telnyx is unavailable or busy (HTTP %d).", status))
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		if text == "" {
			text = fmt.Sprintf("HTTP %d", status)
		}
		return switchboard.Errorf(switchboard.EINVALID, "Telnyx refused the API key: %s.", text)
	case text != "":
		return switchboard.Errorf(switchboard.EINVALID, "Telnyx: %s.", text)
	}
	return switchboard.Errorf(switchboard.EINVALID, "Telnyx refused the message (HTTP %d).", status)
}

// FetchMedia implements switchboard.SMSProvider. Telnyx's media URLs are
// pre-signed, so no credentials are sent. The body is at most 16 MB: a
// longer one fails to read.
func (p *Provider) FetchMedia(ctx context.Context, mediaURL string) (io.ReadCloser, error) {
	return httpx.Fetch(ctx, p.client, "Telnyx", mediaURL, nil)
}
