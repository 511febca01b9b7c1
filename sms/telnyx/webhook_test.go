package telnyx

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/switchboard-chat/switchboard"
)

const publicURL = "https://sb.example.com/webhooks/sms/tx"

// signed is a webhook request as Telnyx makes it: body signed at ts with
// priv.
func signed(priv ed25519.PrivateKey, ts time.Time, body string) *http.Request {
	stamp := strconv.FormatInt(ts.Unix(), 10)
	sig := ed25519.Sign(priv, []byte(stamp+"|"+body))
	r := httptest.NewRequest(http.MethodPost, publicURL, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Telnyx-Signature-Ed25519", base64.StdEncoding.EncodeToString(sig))
	r.Header.Set("Telnyx-Timestamp", stamp)
	return r
}

// A message.received event as Telnyx documents it.
const receivedMMS = `{
  "data": {
    "event_type": "message.received",
    "id": "b301ed3f-1490-491f-995f-6e64e69674d4",
    "occurred_at": "2026-11-25T10:00:00.000+00:00",
    "payload": {
      "cc": [],
      "completed_at": null,
      "cost": null,
      "direction": "inbound",
      "encoding": "GSM-7",
      "errors": [],
      "from": {"carrier": "T-Mobile USA", "line_type": "long_code", "phone_number": "+14155550142"},
      "id": "84cca175-9755-4859-b67f-4730d7f58aa3",
      "media": [
        {"content_type": "image/jpeg", "hash_sha256": "abc", "size": 1024, "url": "https://media.telnyx.example/1.jpg?sig=a"},
        {"content_type": "image/png", "hash_sha256": "def", "size": 2048, "url": "https://media.telnyx.example/2.png?sig=b"}
      ],
      "messaging_profile_id": "740572b6-099c-44a1-89b9-6c92163bc68d",
      "parts": 1,
      "received_at": "2026-11-25T10:00:00.000+00:00",
      "record_type": "message",
      "sent_at": null,
      "tags": [],
      "text": "Héllo there 👋",
      "to": [{"carrier": "Telnyx", "line_type": "Wireless", "phone_number": "+14155550100", "status": "webhook_delivered"}],
      "type": "MMS",
      "valid_until": null,
      "webhook_failover_url": null,
      "webhook_url": "https://sb.example.com/webhooks/sms/tx"
    },
    "record_type": "event"
  },
  "meta": {"attempt": 1, "delivered_to": "https://sb.example.com/webhooks/sms/tx"}
}`

// finalized is a message.sent or message.finalized event of an outbound
// message to one recipient.
func finalized(eventType, status, errors string) string {
	return `{"data":{"event_type":"` + eventType + `","id":"ev-1","occurred_at":"2026-11-25T10:00:00.000+00:00",
	  "payload":{"direction":"outbound","id":"40385f64-5717-4562-b3fc-2c963f66afa6","type":"SMS","errors":` + errors + `,
	    "from":{"phone_number":"+14155550100","carrier":"Telnyx","line_type":"VoIP"},
	    "to":[{"phone_number":"+14155550142","status":"` + status + `","carrier":"T-MOBILE USA, INC.","line_type":"Wireless"}],
	    "text":"Hi","completed_at":"2026-11-25T10:00:01.000+00:00","record_type":"message"},
	  "record_type":"event"},"meta":{"attempt":1,"delivered_to":"https://sb.example.com/webhooks/sms/tx"}}`
}

func TestParseWebhook(t *testing.T) {
	p, priv, _ := newProvider(t, nil)
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	p.now = func() time.Time { return now }
	const msgID = "40385f64-5717-4562-b3fc-2c963f66afa6"
	report := func(st, e string) *switchboard.Webhook {
		return &switchboard.Webhook{Reports: []switchboard.DeliveryReport{{ProviderID: msgID, Status: st, Error: e}}}
	}
	for _, tc := range []struct {
		name string
		body string
		want *switchboard.Webhook
	}{
		{"inbound MMS", receivedMMS, &switchboard.Webhook{Messages: []switchboard.InboundSMS{{
			ProviderID: "84cca175-9755-4859-b67f-4730d7f58aa3", From: "+14155550142", To: "+14155550100", Body: "Héllo there 👋",
			Media: []switchboard.InboundMedia{
				{URL: "https://media.telnyx.example/1.jpg?sig=a", ContentType: "image/jpeg"},
				{URL: "https://media.telnyx.example/2.png?sig=b", ContentType: "image/png"},
			},
		}}}},
		{"sent", finalized("message.sent", "sent", "[]"), report(switchboard.StatusSent, "")},
		{"delivered", finalized("message.finalized", "delivered", "[]"), report(switchboard.StatusDelivered, "")},
		{"unconfirmed", finalized("message.finalized", "delivery_unconfirmed", "[]"), report(switchboard.StatusSent, "")},
		{"delivery failed", finalized("message.finalized", "delivery_failed",
			`[{"code":"40002","title":"Blocked as spam - temporary","detail":"The message has been blocked by the carrier as spam."}]`),
			report(switchboard.StatusFailed, "Telnyx: The message has been blocked by the carrier as spam (error 40002).")},
		{"sending failed, no reason", finalized("message.finalized", "sending_failed", "[]"),
			report(switchboard.StatusFailed, "Telnyx reports the message sending failed.")},
		{"other event", `{"data":{"event_type":"number_order.complete","payload":{"id":"x"}}}`, &switchboard.Webhook{}},
	} {
		got, err := p.ParseWebhook(signed(priv, now.Add(-time.Minute), tc.body), []byte(tc.body), publicURL)
		if err != nil {
			t.Errorf("%s: ParseWebhook: %v", tc.name, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s: ParseWebhook (-want +got):\n%s", tc.name, diff)
		}
	}

	// Signed but not a Telnyx event: the signature passes, the parse fails.
	body := `{"data": [`
	if _, err := p.ParseWebhook(signed(priv, now, body), []byte(body), publicURL); switchboard.ErrorCode(err) != switchboard.EINVALID {
		t.Errorf("ParseWebhook(malformed JSON) = %v, want code %s", err, switchboard.EINVALID)
	}
}

// TestParseWebhookRejects checks that only a fresh signature of the
// account's key over this very timestamp and body is accepted.
func TestParseWebhookRejects(t *testing.T) {
	p, priv, _ := newProvider(t, nil)
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	p.now = func() time.Time { return now }
	_, otherKey, _ := ed25519.GenerateKey(nil)
	body := receivedMMS

	for _, tc := range []struct {
		name string
		req  func() (*http.Request, []byte)
		ok   bool
	}{
		{"fresh", func() (*http.Request, []byte) { return signed(priv, now, body), []byte(body) }, true},
		{"4m59s old", func() (*http.Request, []byte) {
			return signed(priv, now.Add(-Tolerance+time.Second), body), []byte(body)
		}, true},
		{"stale", func() (*http.Request, []byte) {
			return signed(priv, now.Add(-Tolerance-time.Second), body), []byte(body)
		}, false},
		{"from the future", func() (*http.Request, []byte) {
			return signed(priv, now.Add(Tolerance+time.Second), body), []byte(body)
		}, false},
		{"another key", func() (*http.Request, []byte) { return signed(otherKey, now, body), []byte(body) }, false},
		{"tampered body", func() (*http.Request, []byte) {
			return signed(priv, now, body), []byte(strings.Replace(body, "+14155550142", "+14155550199", 1))
		}, false},
		{"timestamp replaced", func() (*http.Request, []byte) {
			// A stale webhook replayed with a fresh timestamp.
			r := signed(priv, now.Add(-time.Hour), body)
			r.Header.Set("Telnyx-Timestamp", strconv.FormatInt(now.Unix(), 10))
			return r, []byte(body)
		}, false},
		{"no signature", func() (*http.Request, []byte) {
			r := signed(priv, now, body)
			r.Header.Del("Telnyx-Signature-Ed25519")
			return r, []byte(body)
		}, false},
		{"no timestamp", func() (*http.Request, []byte) {
			r := signed(priv, now, body)
			r.Header.Del("Telnyx-Timestamp")
			return r, []byte(body)
		}, false},
		{"signature not base64", func() (*http.Request, []byte) {
			r := signed(priv, now, body)
			r.Header.Set("Telnyx-Signature-Ed25519", "%%%")
			return r, []byte(body)
		}, false},
		{"timestamp not a number", func() (*http.Request, []byte) {
			stamp := "soon"
			r := signed(priv, now, body)
			r.Header.Set("Telnyx-Timestamp", stamp)
			r.Header.Set("Telnyx-Signature-Ed25519", base64.StdEncoding.EncodeToString(ed25519.Sign(priv, []byte(stamp+"|"+body))))
			return r, []byte(body)
		}, false},
		{"signature over the body alone", func() (*http.Request, []byte) {
			r := signed(priv, now, body)
			r.Header.Set("Telnyx-Signature-Ed25519", base64.StdEncoding.EncodeToString(ed25519.Sign(priv, []byte(body))))
			return r, []byte(body)
		}, false},
	} {
		r, b := tc.req()
		if !bytes.Equal(b, []byte(body)) && tc.ok {
			t.Fatalf("%s: the case is wrong", tc.name)
		}
		_, err := p.ParseWebhook(r, b, publicURL)
		if tc.ok && err != nil {
			t.Errorf("%s: ParseWebhook = %v, want it accepted", tc.name, err)
		} else if !tc.ok && switchboard.ErrorCode(err) != switchboard.EUNAUTHORIZED {
			t.Errorf("%s: ParseWebhook = %v, want code %s", tc.name, err, switchboard.EUNAUTHORIZED)
		}
	}
}
