package telnyx

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/switchboard-chat/switchboard"
	"github.com/switchboard-chat/switchboard/sms/internal/httpx"
	"github.com/switchboard-chat/switchboard/sms/internal/smstest"
)

const testKey = "KEY0123456789ABCDEF_secret"

// newProvider returns an adapter whose API is the fake Telnyx h, and the
// private key that signs its webhooks.
func newProvider(t *testing.T, h http.HandlerFunc) (*Provider, ed25519.PrivateKey, *httptest.Server) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	p, srv := smstest.Adapter(t, h, New, switchboard.Provider{
		Name: "tx", Kind: switchboard.ProviderTelnyx,
		Credentials: map[string]string{"api_key": testKey, "public_key": base64.StdEncoding.EncodeToString(pub)},
	})
	return p, priv, srv
}

// startAPI is newProvider without the webhooks' key.
func startAPI(t *testing.T, h http.HandlerFunc) (*Provider, *httptest.Server) {
	t.Helper()
	p, _, srv := newProvider(t, h)
	return p, srv
}

func TestNew(t *testing.T) {
	pub, _, _ := ed25519.GenerateKey(nil)
	good := base64.StdEncoding.EncodeToString(pub)
	for _, tc := range []struct {
		name  string
		p     switchboard.Provider
		valid bool
	}{
		{"default API URL", switchboard.Provider{Credentials: map[string]string{"api_key": "k", "public_key": good}}, true},
		{"no API key", switchboard.Provider{Credentials: map[string]string{"public_key": good}}, false},
		{"no public key", switchboard.Provider{Credentials: map[string]string{"api_key": "k"}}, false},
		{"public key not base64", switchboard.Provider{Credentials: map[string]string{"api_key": "k", "public_key": "not base64!"}}, false},
		{"public key too short", switchboard.Provider{Credentials: map[string]string{"api_key": "k", "public_key": base64.StdEncoding.EncodeToString(pub[:16])}}, false},
		{"bad URL", switchboard.Provider{APIURL: "telnyx.com", Credentials: map[string]string{"api_key": "k", "public_key": good}}, false},
	} {
		p, err := New(&tc.p, nil)
		if tc.valid && (err != nil || p.apiURL.String() != DefaultAPIURL) {
			t.Errorf("New(%s) = %v, %v; want the default API URL", tc.name, p, err)
		} else if !tc.valid && switchboard.ErrorCode(err) != switchboard.EINVALID {
			t.Errorf("New(%s) error = %v, want code %s", tc.name, err, switchboard.EINVALID)
		}
	}
	var p Provider
	if got := p.MaxMMSBytes(); got != 1<<20 {
		t.Errorf("MaxMMSBytes() = %d, want 1 MB", got)
	}
}

// TestSend checks the exact request to /v2/messages and the reading of
// Telnyx's answer.
func TestSend(t *testing.T) {
	var got map[string]any
	p, _, _ := newProvider(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v2/messages" {
			t.Errorf("request %s %s, want POST /v2/messages", r.Method, r.URL.Path)
		}
		if auth := r.Header.Get("Authorization"); auth != "Bearer "+testKey {
			t.Errorf("Authorization = %q, want the Bearer API key", auth)
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type = %q", ct)
		}
		if err := json.NewDecoder(r.Body).Decode(&got); err != nil {
			t.Errorf("decode request: %v", err)
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"data":{"record_type":"message","direction":"outbound","id":"40385f64-5717-4562-b3fc-2c963f66afa6",
			"type":"MMS","messaging_profile_id":"4000eba1-a0c0-4563-9925-b25e842a7cb6","organization_id":"b448f9cc-a842-4784-98e9-03c1a5872950",
			"from":{"phone_number":"+14155550100","carrier":"TELNYX LLC","line_type":"VoIP"},
			"to":[{"phone_number":"+14155550142","status":"queued","carrier":"T-MOBILE USA, INC.","line_type":"Wireless"}],
			"text":"Hi","media":[{"url":"https://sb.example/media/acme/a1","content_type":null,"sha256":null,"size":null}],
			"webhook_url":"https://sb.example/webhooks/sms/tx","encoding":"GSM-7","parts":1,"tags":[],"cost":null,
			"received_at":"2019-01-23T18:10:02.574Z","sent_at":null,"completed_at":null,"valid_until":null,"errors":[]}}`)
	})
	res, err := p.Send(context.Background(), &switchboard.OutboundSMS{
		ID: "m1.1", From: "+14155550100", To: "+14155550142", Body: "Hi ☺",
		Media:          []switchboard.MediaRef{{URL: "https://sb.example/media/acme/a1?exp=1&sig=x", ContentType: "image/png", Size: 10}},
		StatusCallback: "https://sb.example/webhooks/sms/tx",
	})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	want := map[string]any{
		"from": "+14155550100", "to": "+14155550142", "text": "Hi ☺",
		"media_urls":  []any{"https://sb.example/media/acme/a1?exp=1&sig=x"},
		"webhook_url": "https://sb.example/webhooks/sms/tx",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("request body (-want +got):\n%s", diff)
	}
	if want := (switchboard.SendResult{ProviderID: "40385f64-5717-4562-b3fc-2c963f66afa6", Status: switchboard.StatusQueued}); res != want {
		t.Errorf("Send = %+v, want %+v", res, want)
	}
}

// TestSendErrors checks that what may succeed later is EUNAVAILABLE and
// what never will is EINVALID with Telnyx's reason, and that no error text
// carries the API key.
func TestSendErrors(t *testing.T) {
	smstest.SendErrors(t, startAPI, switchboard.OutboundSMS{From: "+14155550100", To: "+14155550142", Body: "Hi"}, []smstest.SendError{
		{Name: "invalid number", Status: 400, Body: `{"errors":[{"code":"40310","title":"Invalid 'to' address","detail":"The 'to' address should be in E.164 format.","source":{"pointer":"/to"},"meta":{"url":"https://developers.telnyx.com/docs/overview/errors/40310"}}]}`,
			Code: switchboard.EINVALID, Text: "Telnyx: The 'to' address should be in E.164 format (error 40310)."},
		{Name: "opted out", Status: 422, Body: `{"errors":[{"code":"40300","title":"Blocked due to STOP message","detail":"Messages cannot be sent from '+14155550100' to '+14155550142' due to an existing block rule."}]}`,
			Code: switchboard.EINVALID, Text: "existing block rule (error 40300)"},
		{Name: "numeric code, title only", Status: 422, Body: `{"errors":[{"code":10015,"title":"Bad Request"}]}`,
			Code: switchboard.EINVALID, Text: "Telnyx: Bad Request (error 10015)."},
		{Name: "credentials", Status: 401, Body: `{"errors":[{"code":"10009","title":"Authentication failed","detail":"The API key looks malformed."}]}`,
			Code: switchboard.EINVALID, Text: "Telnyx refused the API key: The API key looks malformed (error 10009)."},
		{Name: "no JSON", Status: 400, Body: `Bad Request`,
			Code: switchboard.EINVALID, Text: "HTTP 400"},
		{Name: "rate limited", Status: 429, Body: `{"errors":[{"code":"10011","title":"Too many requests"}]}`,
			Code: switchboard.EUNAVAILABLE, Text: "HTTP 429"},
		{Name: "server error", Status: 500, Body: `{"errors":[{"code":"10007","title":"Unexpected error"}]}`,
			Code: switchboard.EUNAVAILABLE, Text: "HTTP 500"},
		{Name: "gateway", Status: 502, Body: `<html>Bad Gateway</html>`,
			Code: switchboard.EUNAVAILABLE, Text: "HTTP 502"},
		{Name: "failed at once", Status: 200, Body: `{"data":{"id":"m1","to":[{"phone_number":"+14155550142","status":"sending_failed"}],"errors":[{"code":"40008","title":"Undeliverable","detail":"The message could not be delivered."}]}}`,
			Code: switchboard.EINVALID, Text: "Telnyx: The message could not be delivered (error 40008)."},
		{Name: "not Telnyx", Status: 200, Body: `<html>Welcome to the hotel wifi</html>`,
			Code: switchboard.EUNAVAILABLE, Text: "could not be reached"},
	}, testKey)
}

// TestSendUnreachable checks a Telnyx that is down or does not answer in
// time.
func TestSendUnreachable(t *testing.T) {
	smstest.Unreachable(t, startAPI, switchboard.OutboundSMS{From: "+14155550100", To: "+14155550142", Body: "Hi"}, testKey)
}

// TestFetchMedia downloads a pre-signed media URL without credentials.
func TestFetchMedia(t *testing.T) {
	p, _, srv := newProvider(t, func(w http.ResponseWriter, r *http.Request) {
		if auth := r.Header.Get("Authorization"); auth != "" {
			t.Errorf("media request carries Authorization %q; media URLs are pre-signed", auth)
		}
		switch r.URL.Path {
		case "/media/1.jpg":
			io.WriteString(w, "JPEG BYTES")
		case "/media/big.jpg":
			io.CopyN(w, smstest.Zeros{}, httpx.MaxMediaBytes+1)
		case "/media/busy.jpg":
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			w.WriteHeader(http.StatusForbidden) // an expired pre-signed URL
		}
	})
	body, err := p.FetchMedia(context.Background(), srv.URL+"/media/1.jpg?X-Amz-Signature=abc")
	if err != nil {
		t.Fatalf("FetchMedia: %v", err)
	}
	b, err := io.ReadAll(body)
	body.Close()
	if err != nil || string(b) != "JPEG BYTES" {
		t.Errorf("FetchMedia read %q, %v; want the picture", b, err)
	}
	body, err = p.FetchMedia(context.Background(), srv.URL+"/media/big.jpg")
	if err != nil {
		t.Fatalf("FetchMedia: %v", err)
	}
	n, err := io.Copy(io.Discard, body)
	body.Close()
	if switchboard.ErrorCode(err) != switchboard.ETOOLARGE || n != httpx.MaxMediaBytes {
		t.Errorf("FetchMedia of too large a picture read %d bytes, error %v; want %d bytes and code %s", n, err, httpx.MaxMediaBytes, switchboard.ETOOLARGE)
	}
	for _, tc := range []struct{ url, code string }{
		{srv.URL + "/media/busy.jpg", switchboard.EUNAVAILABLE},
		{srv.URL + "/media/expired.jpg", switchboard.EINVALID},
		{"file:///etc/passwd", switchboard.EINVALID},
	} {
		if _, err := p.FetchMedia(context.Background(), tc.url); switchboard.ErrorCode(err) != tc.code {
			t.Errorf("FetchMedia(%q) error = %v, want code %s", tc.url, err, tc.code)
		}
	}
}
