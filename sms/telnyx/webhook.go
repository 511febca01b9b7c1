package telnyx

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-chat/switchboard"
)

// Tolerance is how far a webhook's telnyx-timestamp may be from now, either
// way; an older one is a replay.
const Tolerance = 5 * time.Minute

// Webhook signature headers.
const (
	SignatureHeader = "telnyx-signature-ed25519"
	TimestampHeader = "telnyx-timestamp"
)

// event is the part of a Telnyx webhook that Switchboard reads.
type event struct {
	Data struct {
		EventType string `json:"event_type"`
		Payload   struct {
			ID   string `json:"id"`
			From struct {
				PhoneNumber string `json:"phone_number"`
			} `json:"from"`
			To []struct {
				PhoneNumber string `json:"phone_number"`
				Status      string `json:"status"`
			} `json:"to"`
			Text  string `json:"text"`
			Media []struct {
				URL         string `json:"url"`
				ContentType string `json:"content_type"`
			} `json:"media"`
			apiErrors
		} `json:"payload"`
	} `json:"data"`
}

// ParseWebhook implements switchboard.SMSProvider for Telnyx's messaging
// webhooks: message.received is an inbound message; message.sent and
// message.finalized report on an outbound one (the status of its first
// recipient); other events carry nothing for Switchboard.
//
// The Ed25519 signature of telnyx-timestamp + "|" + body is checked first,
// and the timestamp must be within Tolerance of now.
func (p *Provider) ParseWebhook(r *http.Request, body []byte, publicURL string) (*switchboard.Webhook, error) {
	if !p.verify(r.Header.Get(SignatureHeader), r.Header.Get(TimestampHeader), body) {
		return nil, switchboard.Errorf(switchboard.EUNAUTHORIZED, "Bad signature.")
	}
	var ev event
	if err := json.Unmarshal(body, &ev); err != nil {
		return nil, switchboard.Errorf(switchboard.EINVALID, "The webhook body is not a Telnyx event.")
	}
	pl := ev.Data.Payload
	switch ev.Data.EventType {
	case "message.received":
		if pl.ID == "" {
			return nil, switchboard.Errorf(switchboard.EINVALID, "The message has no id.")
		}
		in := switchboard.InboundSMS{ProviderID: pl.ID, From: pl.From.PhoneNumber, Body: pl.Text}
		if len(pl.To) > 0 {
			in.To = pl.To[0].PhoneNumber
		}
		for _, m := range pl.Media {
			if m.URL != "" {
				in.Media = append(in.Media, switchboard.InboundMedia{URL: m.URL, ContentType: m.ContentType})
			}
		}
		return &switchboard.Webhook{Messages: []switchboard.InboundSMS{in}}, nil
	case "message.sent", "message.finalized":
		if pl.ID == "" || len(pl.To) == 0 {
			return nil, switchboard.Errorf(switchboard.EINVALID, "The report has no message id or recipient.")
		}
		rep := switchboard.DeliveryReport{ProviderID: pl.ID}
		switch st := pl.To[0].Status; st {
		case "queued", "sending", "sent", "delivery_unconfirmed":
			// delivery_unconfirmed: sent, and the carrier will not say more.
			rep.Status = switchboard.StatusSent
		case "delivered":
			rep.Status = switchboard.StatusDelivered
		case "sending_failed", "delivery_failed":
			rep.Status = switchboard.StatusFailed
			if text := pl.text(); text != "" {
				rep.Error = "Telnyx: " + text + "."
			} else {
				rep.Error = "Telnyx reports the message " + strings.ReplaceAll(st, "_", " ") + "."
			}
		default:
			return &switchboard.Webhook{}, nil
		}
		return &switchboard.Webhook{Reports: []switchboard.DeliveryReport{rep}}, nil
	}
	return &switchboard.Webhook{}, nil
}

// verify checks a webhook's Ed25519 signature and the freshness of its
// timestamp (Unix seconds).
func (p *Provider) verify(sig, timestamp string, body []byte) bool {
	if sig == "" || timestamp == "" {
		return false
	}
	s, err := base64.StdEncoding.DecodeString(sig)
	if err != nil || len(s) != ed25519.SignatureSize {
		return false
	}
	msg := make([]byte, 0, len(timestamp)+1+len(body))
	msg = append(append(append(msg, timestamp...), '|'), body...)
	if !ed25519.Verify(p.publicKey, msg, s) {
		return false
	}
	secs, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return false
	}
	age := p.now().Sub(time.Unix(secs, 0))
	return age <= Tolerance && age >= -Tolerance
}
