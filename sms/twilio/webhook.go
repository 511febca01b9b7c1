package twilio

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/switchboard-chat/switchboard"
)

// maxInboundMedia is the most pictures Twilio attaches to one message.
const maxInboundMedia = 10

// Sign returns the X-Twilio-Signature of a request that Twilio makes to
// rawURL with the POST parameters params (nil for a GET, whose parameters
// are in rawURL): base64(HMAC-SHA1(authToken, rawURL followed by each
// parameter's name and value, with no separators, by name in byte order,
// and a repeated name's values in byte order)).
func Sign(authToken, rawURL string, params url.Values) string {
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(rawURL))
	for _, k := range slices.Sorted(maps.Keys(params)) {
		for _, v := range slices.Sorted(slices.Values(params[k])) {
			mac.Write([]byte(k))
			mac.Write([]byte(v))
		}
	}
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// ParseWebhook implements switchboard.SMSProvider for Twilio's messaging
// webhooks: an inbound message (MessageSid, From, To, Body, NumMedia,
// MediaUrlN, MediaContentTypeN) or a status callback (MessageSid,
// MessageStatus, ErrorCode).
//
// X-Twilio-Signature is checked first, over publicURL and the form
// parameters of body, as Twilio computes it; publicURL is also tried with
// its default port added or removed, as Twilio's own validators do. A URL
// with a bodySHA256 parameter (Twilio's JSON webhooks) is signed without
// parameters and the body must have that SHA-256.
func (p *Provider) ParseWebhook(r *http.Request, body []byte, publicURL string) (*switchboard.Webhook, error) {
	if !p.verify(r.Header.Get("X-Twilio-Signature"), publicURL, body) {
		return nil, switchboard.Errorf(switchboard.EUNAUTHORIZED, "Bad signature.")
	}
	var form url.Values
	if r.Method == http.MethodGet {
		u, err := url.Parse(publicURL)
		if err != nil {
			return nil, switchboard.Errorf(switchboard.EINVALID, "Bad webhook URL.")
		}
		form = u.Query()
	} else {
		var err error
		if form, err = url.ParseQuery(string(body)); err != nil {
			return nil, switchboard.Errorf(switchboard.EINVALID, "The webhook body is not a form.")
		}
	}
	sid := form.Get("MessageSid")
	if sid == "" {
		sid = form.Get("SmsSid")
	}
	if sid == "" {
		return nil, switchboard.Errorf(switchboard.EINVALID, "MessageSid is required.")
	}
	status := form.Get("MessageStatus")
	if status == "" {
		status = form.Get("SmsStatus")
	}
	if status == "" || status == "received" || status == "receiving" {
		return &switchboard.Webhook{Messages: []switchboard.InboundSMS{inbound(sid, form)}}, nil
	}
	rep, ok := report(sid, status, form)
	if !ok {
		return &switchboard.Webhook{}, nil
	}
	return &switchboard.Webhook{Reports: []switchboard.DeliveryReport{rep}}, nil
}

// verify checks an X-Twilio-Signature in constant time.
func (p *Provider) verify(sig, publicURL string, body []byte) bool {
	if sig == "" {
		return false
	}
	u, err := url.Parse(publicURL)
	if err != nil {
		return false
	}
	var params url.Values
	if want := u.Query().Get("bodySHA256"); want != "" {
		sum := sha256.Sum256(body)
		if subtle.ConstantTimeCompare([]byte(hex.EncodeToString(sum[:])), []byte(strings.ToLower(want))) != 1 {
			return false
		}
	} else if params, err = url.ParseQuery(string(body)); err != nil {
		return false
	}
	ok := false
	for _, candidate := range urlVariants(u, publicURL) {
		// Every variant is computed, so that the time taken does not
		// tell which one matched.
		ok = subtle.ConstantTimeCompare([]byte(Sign(p.token, candidate, params)), []byte(sig)) == 1 || ok
	}
	return ok
}

// urlVariants is the URL as given, with its scheme's default port, and
// without a port.
func urlVariants(u *url.URL, raw string) []string {
	out := []string{raw}
	host := u.Hostname()
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	port := u.Port()
	def := "80"
	if u.Scheme == "https" {
		def = "443"
	}
	v := *u
	if port == "" {
		v.Host = net.JoinHostPort(u.Hostname(), def)
	} else {
		v.Host = host
	}
	if s := v.String(); s != raw {
		out = append(out, s)
	}
	return out
}

// inbound is the message of an inbound-message webhook.
func inbound(sid string, form url.Values) switchboard.InboundSMS {
	in := switchboard.InboundSMS{ProviderID: sid, From: form.Get("From"), To: form.Get("To"), Body: form.Get("Body")}
	n, _ := strconv.Atoi(form.Get("NumMedia"))
	for i := range min(max(n, 0), maxInboundMedia) {
		u := form.Get("MediaUrl" + strconv.Itoa(i))
		if u == "" {
			continue
		}
		in.Media = append(in.Media, switchboard.InboundMedia{URL: u, ContentType: form.Get("MediaContentType" + strconv.Itoa(i))})
	}
	return in
}

// report is the delivery report of a status callback; ok is false for a
// status that is no news (receiving, unknown ones).
func report(sid, status string, form url.Values) (rep switchboard.DeliveryReport, ok bool) {
	rep.ProviderID = sid
	switch status {
	case "accepted", "scheduled", "queued", "sending", "sent":
		rep.Status = switchboard.StatusSent
	case "delivered", "read":
		rep.Status = switchboard.StatusDelivered
	case "undelivered", "failed", "canceled":
		rep.Status = switchboard.StatusFailed
		code := form.Get("ErrorCode")
		switch text := form.Get("ErrorMessage"); {
		case text != "" && code != "":
			rep.Error = "Twilio: " + strings.TrimSuffix(text, ".") + " (error " + code + ")."
		case text != "":
			rep.Error = "Twilio: " + strings.TrimSuffix(text, ".") + "."
		case code != "":
			rep.Error = "Twilio: " + errorText(code) + "."
		default:
			rep.Error = "Twilio reports the message " + status + "."
		}
	default:
		return rep, false
	}
	return rep, true
}

// errorText names the Twilio error codes that delivery failures carry most
// often (https://www.twilio.com/docs/api/errors).
func errorText(code string) string {
	texts := map[string]string{
		"21610": "attempt to send to unsubscribed recipient",
		"21614": "the number is not a mobile number",
		"30001": "queue overflow",
		"30002": "account suspended",
		"30003": "unreachable destination handset",
		"30004": "message blocked",
		"30005": "unknown destination handset",
		"30006": "landline or unreachable carrier",
		"30007": "message filtered by the carrier",
		"30008": "unknown error",
		"30034": "message from an unregistered number",
	}
	if t, ok := texts[code]; ok {
		return t + " (error " + code + ")"
	}
	return "error " + code
}
