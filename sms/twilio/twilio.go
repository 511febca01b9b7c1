// Package twilio is the texting provider adapter for Twilio's Programmable
// Messaging REST API (version 2010-04-01).
//
// Messages are sent with a form POST to the account's Messages resource,
// with HTTP Basic authentication (account SID and auth token). Twilio calls
// back with form POSTs, inbound messages and status callbacks alike, signed
// with X-Twilio-Signature: base64(HMAC-SHA1(auth token, URL + sorted form
// parameters)), which ParseWebhook verifies before it reads anything else.
// The URL Twilio signs is the public one it was configured with, so the
// server's --public-url must be exactly what is set in the Twilio console.
package twilio

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-chat/switchboard"
	"github.com/switchboard-chat/switchboard/sms/internal/httpx"
)

// DefaultAPIURL is Twilio's REST API base, used when the provider account
// sets no APIURL.
const DefaultAPIURL = "https://api.twilio.com"

const (
	// maxMMSBytes is Twilio's limit on the media of one MMS: "For an MMS
	// message, the size limit is 5MB" (https://www.twilio.com/docs/api/errors/11751).
	maxMMSBytes = 5 << 20
	// maxResponseBytes bounds what is read of an API answer.
	maxResponseBytes = 1 << 20

	sendTimeout = 30 * time.Second
)

// Provider is the adapter to one Twilio account. It is safe for concurrent
// use.
type Provider struct {
	apiURL *url.URL
	sid    string
	token  string
	client *http.Client
}

var _ switchboard.SMSProvider = (*Provider)(nil)

// New returns the adapter of provider account p, whose credentials must hold
// account_sid and auth_token. client makes the HTTP calls (nil: a client of
// its own); every call also has a timeout of its own.
func New(p *switchboard.Provider, client *http.Client) (*Provider, error) {
	sid, token := p.Credentials["account_sid"], p.Credentials["auth_token"]
	if sid == "" || token == "" {
		return nil, switchboard.Errorf(switchboard.EINVALID, "A Twilio provider needs an account SID and an auth token.")
	}
	raw := p.APIURL
	if raw == "" {
		raw = DefaultAPIURL
	}
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, switchboard.Errorf(switchboard.EINVALID, "The Twilio API URL must be an http or https URL.")
	}
	if client == nil {
		client = &http.Client{}
	}
	return &Provider{apiURL: u, sid: sid, token: token, client: client}, nil
}

// MaxMMSBytes implements switchboard.SMSProvider: 5 MB.
func (p *Provider) MaxMMSBytes() int64 { return maxMMSBytes }

// Send implements switchboard.SMSProvider: it creates a Message resource
// with To, From, Body, one MediaUrl per picture and StatusCallback. The
// result's ProviderID is the message SID.
func (p *Provider) Send(ctx context.Context, m *switchboard.OutboundSMS) (switchboard.SendResult, error) {
	form := url.Values{"To": {m.To}, "From": {m.From}}
	if m.Body != "" {
		form.Set("Body", m.Body)
	}
	for _, md := range m.Media {
		form.Add("MediaUrl", md.URL)
	}
	if m.StatusCallback != "" {
		form.Set("StatusCallback", m.StatusCallback)
	}
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	endpoint := p.apiURL.JoinPath("2010-04-01", "Accounts", p.sid, "Messages.json").String()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return switchboard.SendResult{}, fmt.Errorf("twilio: new request: %w", err)
	}
	req.SetBasicAuth(p.sid, p.token)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	status, raw, err := httpx.Call(p.client, req, "Twilio", maxResponseBytes)
	if err != nil {
		return switchboard.SendResult{}, err
	}
	if status/100 != 2 {
		return switchboard.SendResult{}, apiError(status, raw)
	}
	var msg struct {
		SID          string `json:"sid"`
		Status       string `json:"status"`
		ErrorCode    *int   `json:"error_code"`
		ErrorMessage string `json:"error_message"`
	}
	if err := json.Unmarshal(raw, &msg); err != nil || msg.SID == "" {
		// Not an answer of Twilio's (a proxy's page, say): the message
		// most likely did not get through, so it is worth another try.
		return switchboard.SendResult{}, httpx.Unavailable("Twilio", "decode answer", fmt.Errorf("HTTP %d without a message SID", status))
	}
	switch msg.Status {
	case "failed", "undelivered", "canceled":
		text := msg.ErrorMessage
		if text == "" && msg.ErrorCode != nil {
			text = errorText(strconv.Itoa(*msg.ErrorCode))
		}
		if text == "" {
			text = "the message " + msg.Status
		}
		return switchboard.SendResult{}, switchboard.Errorf(switchboard.EINVALID, "Twilio: %s.", strings.TrimSuffix(text, "."))
	case "sending", "sent", "delivered", "read":
		return switchboard.SendResult{ProviderID: msg.SID, Status: switchboard.StatusSent}, nil
	}
	return switchboard.SendResult{ProviderID: msg.SID, Status: switchboard.StatusQueued}, nil
}

// apiError maps a non-2xx answer of Twilio's REST API, whose body is
// {"code":21610,"message":"...","more_info":"...","status":400}.
func apiError(status int, raw []byte) error {
	var e struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	_ = json.Unmarshal(raw, &e)
	switch {
	case httpx.Busy(status):
		return fmt.Errorf("twilio: HTTP %d (error %d): %w", status, e.Code,
			switchboard.Errorf(switchboard.EUNAVAILABLE, "Twilio is unavailable or busy (HTTP %d).", status))
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return switchboard.Errorf(switchboard.EINVALID, "Twilio refused the account credentials (HTTP %d, error %d).", status, e.Code)
	case e.Message != "" && e.Code != 0:
		return switchboard.Errorf(switchboard.EINVALID, "Twilio: %s (error %d).", strings.TrimSuffix(e.Message, "."), e.Code)
	case e.Message != "":
		return switchboard.Errorf(switchboard.EINVALID, "Twilio: %s.", strings.TrimSuffix(e.Message, "."))
	}
	return switchboard.Errorf(switchboard.EINVALID, "Twilio refused the message (HTTP %d).", status)
}

// FetchMedia implements switchboard.SMSProvider. The account's credentials
// are sent only to Twilio (the API's host, or HTTPS hosts under twilio.com).
// Redirects are followed (Twilio redirects media to its storage), and Go's
// client drops the credentials when a redirect leaves the host. The body is
// at most 16 MB: a longer one fails to read.
func (p *Provider) FetchMedia(ctx context.Context, mediaURL string) (io.ReadCloser, error) {
	return httpx.Fetch(ctx, p.client, "Twilio", mediaURL, func(r *http.Request) {
		if p.ownsMedia(r.URL) {
			r.SetBasicAuth(p.sid, p.token)
		}
	})
}

// ownsMedia reports whether u is Twilio's, and so may have the account's
// credentials: the API's host, or an HTTPS host under twilio.com.
func (p *Provider) ownsMedia(u *url.URL) bool {
	if u.Scheme == p.apiURL.Scheme && strings.EqualFold(u.Host, p.apiURL.Host) {
		return true
	}
	host := strings.ToLower(u.Hostname())
	return u.Scheme == "https" && (host == "twilio.com" || strings.HasSuffix(host, ".twilio.com"))
}
