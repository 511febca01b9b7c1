package kannel

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/switchboard-chat/switchboard"
)

// Kannel's delivery report types (the %d of a dlr-url).
const (
	dlrDelivered    = 1
	dlrUndelivered  = 2
	dlrBuffered     = 4
	dlrSMSCAccepted = 8
	dlrSMSCRejected = 16
)

// ParseWebhook implements switchboard.SMSProvider for Kannel's calls: a
// delivery report (type=dlr&id=ID&status=%d, from the dlr-url of Send) or
// an inbound message (the get-url of the package documentation). The
// parameters are read from the URL's query, and for a form POST from the
// body too (the query wins). The secret must be in the query; it is
// compared before anything else is read.
func (p *Provider) ParseWebhook(r *http.Request, body []byte, publicURL string) (*switchboard.Webhook, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	secret := q["secret"]
	if err != nil || len(secret) != 1 || subtle.ConstantTimeCompare([]byte(secret[0]), []byte(p.secret)) != 1 {
		return nil, switchboard.Errorf(switchboard.EUNAUTHORIZED, "Bad secret.")
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); r.Method == http.MethodPost && ct == "application/x-www-form-urlencoded" {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, switchboard.Errorf(switchboard.EINVALID, "The webhook body is not a form.")
		}
		for k, v := range form {
			if _, ok := q[k]; !ok {
				q[k] = v
			}
		}
	}
	if q.Get("type") == "dlr" {
		return deliveryReport(q)
	}
	in := switchboard.InboundSMS{
		ProviderID: q.Get("id"),
		From:       strings.TrimSpace(q.Get("from")),
		To:         strings.TrimSpace(q.Get("to")),
		Body:       decodeText(q.Get("text"), q.Get("coding"), q.Get("charset")),
	}
	if in.From == "" || in.To == "" {
		return nil, switchboard.Errorf(switchboard.EINVALID, "from and to are required.")
	}
	if in.ProviderID == "" {
		ts := q.Get("ts")
		if ts == "" {
			ts = q.Get("timestamp")
		}
		if ts == "" {
			return nil, switchboard.Errorf(switchboard.EINVALID, "id (Kannel's %%I) or ts (%%T) is required.")
		}
		// The same message retried has the same time, numbers and text.
		sum := sha256.Sum256([]byte(ts + "\x00" + in.From + "\x00" + in.To + "\x00" + in.Body))
		in.ProviderID = "kannel-" + hex.EncodeToString(sum[:16])
	}
	return &switchboard.Webhook{Messages: []switchboard.InboundSMS{in}}, nil
}

// deliveryReport reads type=dlr&id=ID&status=N.
func deliveryReport(q url.Values) (*switchboard.Webhook, error) {
	id := q.Get("id")
	st, err := strconv.Atoi(q.Get("status"))
	if id == "" || err != nil {
		return nil, switchboard.Errorf(switchboard.EINVALID, "A delivery report needs an id and a numeric status.")
	}
	rep := switchboard.DeliveryReport{ProviderID: id}
	switch {
	case st&dlrDelivered != 0:
		rep.Status = switchboard.StatusDelivered
	case st&dlrUndelivered != 0:
		rep.Status = switchboard.StatusFailed
		rep.Error = "The carrier could not deliver the message."
	case st&dlrSMSCRejected != 0:
		rep.Status = switchboard.StatusFailed
		rep.Error = "The SMS center rejected the message."
	case st&(dlrSMSCAccepted|dlrBuffered) != 0:
		rep.Status = switchboard.StatusSent
	default:
		return &switchboard.Webhook{}, nil
	}
	return &switchboard.Webhook{Reports: []switchboard.DeliveryReport{rep}}, nil
}

// decodeText turns the bytes of Kannel's %b into text, by the message's
// charset (%C) and coding (%c: 0 GSM, 1 8-bit, 2 UCS-2). Kannel hands
// 7-bit messages over as UTF-8.
func decodeText(b, coding, charset string) string {
	switch strings.ToUpper(charset) {
	case "UTF-16BE", "UTF-16", "UCS-2", "UCS2", "UCS-2BE":
		return decodeUTF16BE(b)
	case "WINDOWS-1252", "CP1252":
		return decodeCP1252(b)
	case "ISO-8859-1", "LATIN1", "ISO8859-1":
		return decodeLatin1(b)
	case "", "UTF8", "UTF-8":
		if charset == "" && coding == "2" {
			return decodeUTF16BE(b)
		}
	}
	return strings.ToValidUTF8(b, string(utf8.RuneError))
}

func decodeUTF16BE(b string) string {
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		u = append(u, uint16(b[i])<<8|uint16(b[i+1]))
	}
	return string(utf16.Decode(u))
}

func decodeLatin1(b string) string {
	r := make([]rune, len(b))
	for i := range len(b) {
		r[i] = rune(b[i])
	}
	return string(r)
}

// cp1252 is Windows-1252 from 0x80 to 0x9F, where it differs from Latin-1
// (unassigned bytes stay as Latin-1 does).
var cp1252 = [32]rune{
	'€', 0x81, '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', 0x8D, 'Ž', 0x8F,
	0x90, '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', 0x9D, 'ž', 'Ÿ',
}

func decodeCP1252(b string) string {
	r := make([]rune, len(b))
	for i := range len(b) {
		if c := b[i]; c >= 0x80 && c <= 0x9F {
			r[i] = cp1252[c-0x80]
		} else {
			r[i] = rune(c)
		}
	}
	return string(r)
}
