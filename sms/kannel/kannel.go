// Package kannel is the texting provider adapter for a Kannel SMS gateway
// (1.4): messages go out through smsbox's sendsms HTTP interface, and
// Kannel reports inbound messages and delivery reports by calling
// Switchboard's webhook with a GET.
//
// Kannel cannot sign its requests, so the provider account's secret
// travels in the webhook URL (parameter secret) and is checked, in
// constant time, before anything else. Keep the secret to URL-safe
// characters (letters, digits, "-", ".", "_", "~"): it is written into
// Kannel's configuration unencoded. Serve the webhook over HTTPS, or keep
// Kannel and Switchboard on a private network.
//
// # Outbound (MT)
//
// Send calls
//
//	GET {APIURL}/cgi-bin/sendsms?username=U&password=P&from=FROM&to=TO&text=BODY&charset=UTF-8
//	    [&coding=2]&dlr-mask=31&dlr-url=CALLBACK?secret=S&type=dlr&id=ID&status=%d
//
// with coding=2 (UCS-2) when the body has characters outside the GSM 03.38
// alphabet. Kannel has no id of its own for a message it accepts, so the
// message's ProviderID is Switchboard's id (OutboundSMS.ID), carried in the
// dlr-url. Kannel replaces %d by the report type when it calls the dlr-url:
// 1 delivered to the phone, 2 not delivered, 4 buffered at the SMS center,
// 8 taken by the SMS center, 16 rejected by it. Kannel sends no MMS.
//
// # Inbound (MO)
//
// Configure an sms-service whose get-url is the provider's webhook, with
// these parameters (NAME is the provider's name, SECRET its secret):
//
//	group = sms-service
//	keyword = default
//	catch-all = true
//	max-messages = 0
//	get-url = "https://switchboard.example.com/webhooks/sms/NAME?secret=SECRET&from=%p&to=%P&text=%b&coding=%c&charset=%C&id=%I&ts=%T"
//
// %b is the message as sent (url-encoded bytes: words and spaces kept as
// they are, unlike %a), decoded by %c and %C (UTF-16BE for a UCS-2 message,
// UTF-8, or WINDOWS-1252/ISO-8859-1 after smsbox's mo-recode); %I is
// Kannel's id of the message, which makes a retried webhook recognisable
// (without it, one is derived from %T and the message). max-messages = 0
// keeps Kannel from texting the webhook's (empty) answer back to the
// sender. Numbers should arrive in E.164 form (with "+"): Kannel's SMPP
// driver adds the "+" of international numbers, and an smsc group's
// unified-prefix can rewrite others; a number that is not E.164 is refused
// by Switchboard.
package kannel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/switchboard-chat/switchboard"
	"github.com/switchboard-chat/switchboard/sms/internal/httpx"
)

const (
	// dlrMask asks for every report: delivered (1), not delivered (2),
	// buffered (4), taken by the SMS center (8), rejected by it (16).
	dlrMask = "31"
	// maxResponseBytes bounds what is read of sendsms's answer.
	maxResponseBytes = 4 << 10

	sendTimeout = 30 * time.Second
)

// Provider is the adapter to one Kannel gateway. It is safe for concurrent
// use.
type Provider struct {
	apiURL   *url.URL
	username string
	password string
	secret   string
	client   *http.Client
}

var _ switchboard.SMSProvider = (*Provider)(nil)

// New returns the adapter of provider account p: p.APIURL is the base of
// smsbox's sendsms interface (http://127.0.0.1:13013), and its credentials
// hold username and password (a sendsms-user of Kannel's configuration)
// and secret (the webhook's shared secret). client makes the HTTP calls
// (nil: a client of its own); every call also has a timeout of its own.
func New(p *switchboard.Provider, client *http.Client) (*Provider, error) {
	user, pass, secret := p.Credentials["username"], p.Credentials["password"], p.Credentials["secret"]
	if user == "" || pass == "" || secret == "" {
		return nil, switchboard.Errorf(switchboard.EINVALID, "A Kannel provider needs a username, a password and a secret.")
	}
	if strings.Trim(secret, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~") != "" {
		return nil, switchboard.Errorf(switchboard.EINVALID, "A Kannel secret may only have letters, digits, -, ., _ and ~.")
	}
	u, err := url.Parse(strings.TrimRight(p.APIURL, "/"))
	if p.APIURL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, switchboard.Errorf(switchboard.EINVALID, "A Kannel provider needs the URL of its sendsms interface, such as http://127.0.0.1:13013.")
	}
	if client == nil {
		client = &http.Client{}
	}
	return &Provider{apiURL: u, username: user, password: pass, secret: secret, client: client}, nil
}

// MaxMMSBytes implements switchboard.SMSProvider: 0, Kannel sends no MMS.
func (p *Provider) MaxMMSBytes() int64 { return 0 }

// FetchMedia implements switchboard.SMSProvider; Kannel's messages have no
// media.
func (p *Provider) FetchMedia(ctx context.Context, mediaURL string) (io.ReadCloser, error) {
	return nil, switchboard.Errorf(switchboard.EINVALID, "MMS is not supported by Kannel.")
}

// Send implements switchboard.SMSProvider. A message with media is
// EINVALID. Kannel's "0: Accepted for delivery" is StatusSent, its "3:
// Queued for later delivery" (no SMS center connected) StatusQueued.
func (p *Provider) Send(ctx context.Context, m *switchboard.OutboundSMS) (switchboard.SendResult, error) {
	if len(m.Media) > 0 {
		return switchboard.SendResult{}, switchboard.Errorf(switchboard.EINVALID, "MMS is not supported by Kannel.")
	}
	q := url.Values{
		"username": {p.username}, "password": {p.password},
		"from": {m.From}, "to": {m.To}, "text": {m.Body}, "charset": {"UTF-8"},
	}
	if !IsGSM(m.Body) {
		q.Set("coding", "2")
	}
	if m.StatusCallback != "" {
		dlr, err := p.dlrURL(m.StatusCallback, m.ID)
		if err != nil {
			return switchboard.SendResult{}, err
		}
		q.Set("dlr-mask", dlrMask)
		q.Set("dlr-url", dlr)
	}
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	u := p.apiURL.JoinPath("cgi-bin", "sendsms")
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return switchboard.SendResult{}, errors.New("kannel: new request: bad sendsms URL")
	}
	// Call leaves the URL, with the password and the message, out of a
	// transport failure.
	status, raw, err := httpx.Call(p.client, req, "Kannel", maxResponseBytes)
	if err != nil {
		return switchboard.SendResult{}, err
	}
	answer := strings.TrimSpace(strings.SplitN(string(raw), "\n", 2)[0])
	switch {
	case status/100 == 2 && strings.HasPrefix(answer, "0:"):
		return switchboard.SendResult{ProviderID: m.ID, Status: switchboard.StatusSent}, nil
	case status/100 == 2:
		return switchboard.SendResult{ProviderID: m.ID, Status: switchboard.StatusQueued}, nil
	case httpx.Busy(status):
		return switchboard.SendResult{}, fmt.Errorf("kannel: HTTP %d: %q: %w", status, short(answer),
			switchboard.Errorf(switchboard.EUNAVAILABLE, "Kannel is unavailable (HTTP %d).", status))
	case status == http.StatusForbidden || status == http.StatusUnauthorized:
		return switchboard.SendResult{}, switchboard.Errorf(switchboard.EINVALID, "Kannel refused the sendsms username or password.")
	case answer != "":
		return switchboard.SendResult{}, switchboard.Errorf(switchboard.EINVALID, "Kannel: %s.", strings.TrimSuffix(short(answer), "."))
	}
	return switchboard.SendResult{}, switchboard.Errorf(switchboard.EINVALID, "Kannel refused the message (HTTP %d).", status)
}

// dlrURL is the dlr-url of message id: callback with the secret, type=dlr,
// the id and status=%d. Kannel expands %-escapes in it when it calls it, so
// the percent signs of the URL's own encoding are doubled ("%%" is a
// literal "%" to Kannel).
func (p *Provider) dlrURL(callback, id string) (string, error) {
	u, err := url.Parse(callback)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return "", switchboard.Errorf(switchboard.EINVALID, "The status callback is not an http or https URL.")
	}
	q := u.Query()
	q.Set("secret", p.secret)
	q.Set("type", "dlr")
	q.Set("id", id)
	u.RawQuery = q.Encode()
	u.Fragment, u.RawFragment = "", ""
	return strings.ReplaceAll(u.String(), "%", "%%") + "&status=%d", nil
}

// short is at most the first 200 bytes of Kannel's answer.
func short(s string) string {
	if len(s) > 200 {
		return strings.ToValidUTF8(s[:200], "")
	}
	return s
}

// gsm is the GSM 03.38 default alphabet and, after the escape, its
// extension table (each of those takes two septets, but needs no UCS-2).
const gsm = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
	"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà" +
	"\f^{}\\[~]|€"

// IsGSM reports whether s can be sent in the GSM 7-bit alphabet; any other
// text is sent as UCS-2 (coding=2).
func IsGSM(s string) bool {
	for _, r := range s {
		if !strings.ContainsRune(gsm, r) {
			return false
		}
	}
	return true
}
