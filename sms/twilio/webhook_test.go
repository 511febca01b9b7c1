package twilio

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/switchboard-chat/switchboard"
	twclient "github.com/twilio/twilio-go/client"
)

// webhook is a POST of form to publicURL as Twilio makes it, signed with sig.
func webhook(publicURL, body, sig string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, publicURL, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if sig != "" {
		r.Header.Set("X-Twilio-Signature", sig)
	}
	return r
}

func first(v url.Values) map[string]string {
	m := map[string]string{}
	for k := range v {
		m[k] = v.Get(k)
	}
	return m
}

func adapter(t *testing.T, token string) *Provider {
	t.Helper()
	p, err := New(&switchboard.Provider{Credentials: map[string]string{"account_sid": testSID, "auth_token": token}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSignatureCrossCheck checks Sign and ParseWebhook against twilio-go's
// RequestValidator, Twilio's own implementation: what one signs the other
// accepts, and a tampered URL, body or token fails both.
func TestSignatureCrossCheck(t *testing.T) {
	p := adapter(t, testToken)
	validator := twclient.NewRequestValidator(testToken)
	inboundForm := url.Values{
		"ToCountry": {"US"}, "ToState": {"CA"}, "SmsMessageSid": {"SM11"}, "NumMedia": {"0"}, "SmsSid": {"SM11"},
		"SmsStatus": {"received"}, "Body": {"Héllo, wörld & 1+1=2 ☺"}, "To": {"+14155550100"}, "NumSegments": {"1"},
		"MessageSid": {"SM11"}, "AccountSid": {testSID}, "From": {"+14155550142"}, "ApiVersion": {"2010-04-01"},
	}
	for _, publicURL := range []string{
		"https://sb.example.com/webhooks/sms/tw",
		"https://sb.example.com:8443/webhooks/sms/tw",
		"http://127.0.0.1:8080/webhooks/sms/tw?x=1&a=%2B2",
	} {
		body := inboundForm.Encode()
		sig := Sign(testToken, publicURL, inboundForm)
		if !validator.Validate(publicURL, first(inboundForm), sig) || !validator.ValidateBody(publicURL, []byte(body), sig) {
			t.Errorf("twilio-go rejects Sign(%q, form) = %q", publicURL, sig)
		}
		if _, err := p.ParseWebhook(webhook(publicURL, body, sig), []byte(body), publicURL); err != nil {
			t.Errorf("ParseWebhook(%q) with a good signature: %v", publicURL, err)
		}

		tampered := strings.Replace(body, "14155550142", "14155550199", 1)
		if tampered == body {
			t.Fatal("the tampering changed nothing")
		}
		other := strings.Replace(publicURL, "/tw", "/tw2", 1)
		otherScheme := "https:" + strings.TrimPrefix(publicURL, "http:")
		if strings.HasPrefix(publicURL, "https:") {
			otherScheme = "http:" + strings.TrimPrefix(publicURL, "https:")
		}
		for _, bad := range []struct{ name, url, body, sig string }{
			{"tampered body", publicURL, tampered, sig},
			{"other URL", other, body, sig},
			{"other scheme", otherScheme, body, sig},
			{"other token", publicURL, body, Sign("another-token", publicURL, inboundForm)},
			{"no signature", publicURL, body, ""},
			{"garbage signature", publicURL, body, "not base64!"},
		} {
			if validator.ValidateBody(bad.url, []byte(bad.body), bad.sig) {
				t.Errorf("%s: twilio-go accepts it; the case is wrong", bad.name)
			}
			_, err := p.ParseWebhook(webhook(publicURL, bad.body, bad.sig), []byte(bad.body), bad.url)
			if switchboard.ErrorCode(err) != switchboard.EUNAUTHORIZED {
				t.Errorf("ParseWebhook with %s (%s) = %v, want code %s", bad.name, bad.url, err, switchboard.EUNAUTHORIZED)
			}
		}
	}

	// Twilio's validators accept a signature over the URL with or without
	// its default port; so does ParseWebhook.
	withPort, without := "https://sb.example.com:443/webhooks/sms/tw", "https://sb.example.com/webhooks/sms/tw"
	body := inboundForm.Encode()
	for _, tc := range []struct{ signed, called string }{{withPort, without}, {without, withPort}} {
		sig := Sign(testToken, tc.signed, inboundForm)
		if !validator.ValidateBody(tc.called, []byte(body), sig) {
			t.Errorf("twilio-go rejects a signature over %s at %s", tc.signed, tc.called)
		}
		if _, err := p.ParseWebhook(webhook(tc.called, body, sig), []byte(body), tc.called); err != nil {
			t.Errorf("ParseWebhook of a signature over %s at %s: %v", tc.signed, tc.called, err)
		}
	}
}

// TestSignatureVectors checks verify against the signatures of twilio-go's
// own tests, made by Twilio's servers' algorithm.
func TestSignatureVectors(t *testing.T) {
	const (
		token    = "12345"
		testURL  = "https://mycompany.com/myapp.php?foo=1&bar=2"
		bodyHash = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
	)
	params := url.Values{
		"Digits": {"1234"}, "CallSid": {"CA1234567890ABCDE"}, "To": {"+18005551212"}, "Caller": {"+14158675309"},
		"From": {"+14158675309"}, "ReasonConferenceEnded": {"test"}, "Reason": {"Participant"},
	}
	p := adapter(t, token)
	validator := twclient.NewRequestValidator(token)
	for _, tc := range []struct {
		name, url, body, sig string
		want                 bool
	}{
		{"form", testURL, params.Encode(), "vOEb5UThFn24KEfnOFLQY2AE5FY=", true},
		{"form, port given", strings.Replace(testURL, ".com", ".com:1234", 1), params.Encode(), "vOEb5UThFn24KEfnOFLQY2AE5FY=", true},
		{"form, http", strings.Replace(testURL, "https", "http", 1), params.Encode(), "n2xBNyzSW7rfYStDtOFiFMv7qNo=", true},
		{"params sorted wrongly", testURL, params.Encode(), "95+Bu0JVPi0r/SsESZCVf0dWAjw=", false},
		{"small form", testURL, "property=value&boolean=true", "NBdBDr/T/lgjI+tlgpXjKZQZs/k=", true},
		{"JSON body", testURL + "&bodySHA256=" + bodyHash, `{"property": "value", "boolean": true}`, "a9nBmqA0ju/hNViExpshrM61xv4=", true},
		{"JSON body tampered", testURL + "&bodySHA256=" + bodyHash, `{"property": "value", "boolean": false}`, "a9nBmqA0ju/hNViExpshrM61xv4=", false},
		{"JSON body alone", "https://mycompany.com/myapp.php?bodySHA256=" + bodyHash, `{"property": "value", "boolean": true}`, "y77kIzt2vzLz71DgmJGsen2scGs=", true},
	} {
		if got := validator.ValidateBody(tc.url, []byte(tc.body), tc.sig); got != tc.want {
			t.Errorf("%s: twilio-go says %v, want %v; the vector is wrong", tc.name, got, tc.want)
		}
		if got := p.verify(tc.sig, tc.url, []byte(tc.body)); got != tc.want {
			t.Errorf("%s: verify(%q, %q) = %v, want %v", tc.name, tc.sig, tc.url, got, tc.want)
		}
	}
	if got := Sign(token, testURL, params); got != "vOEb5UThFn24KEfnOFLQY2AE5FY=" {
		t.Errorf("Sign(vector) = %q, want vOEb5UThFn24KEfnOFLQY2AE5FY=", got)
	}
}

// TestParseWebhook reads an inbound MMS and status callbacks as Twilio
// sends them.
func TestParseWebhook(t *testing.T) {
	p := adapter(t, testToken)
	const publicURL = "https://sb.example.com/webhooks/sms/tw"
	mediaBase := "https://api.twilio.com/2010-04-01/Accounts/" + testSID + "/Messages/MM22/Media/"
	for _, tc := range []struct {
		name string
		form url.Values
		want *switchboard.Webhook
	}{
		{"inbound MMS", url.Values{
			"ToCountry": {"US"}, "MediaContentType0": {"image/jpeg"}, "MediaContentType1": {"image/png"}, "SmsMessageSid": {"MM22"},
			"NumMedia": {"2"}, "SmsSid": {"MM22"}, "SmsStatus": {"received"}, "Body": {"Look at this"}, "To": {"+14155550100"},
			"NumSegments": {"1"}, "MessageSid": {"MM22"}, "AccountSid": {testSID}, "From": {"+14155550142"},
			"MediaUrl0": {mediaBase + "ME1"}, "MediaUrl1": {mediaBase + "ME2"}, "ApiVersion": {"2010-04-01"},
		}, &switchboard.Webhook{Messages: []switchboard.InboundSMS{{
			ProviderID: "MM22", From: "+14155550142", To: "+14155550100", Body: "Look at this",
			Media: []switchboard.InboundMedia{{URL: mediaBase + "ME1", ContentType: "image/jpeg"}, {URL: mediaBase + "ME2", ContentType: "image/png"}},
		}}}},
		{"inbound SMS", url.Values{"MessageSid": {"SM1"}, "SmsStatus": {"received"}, "From": {"+14155550142"}, "To": {"+14155550100"}, "Body": {""}, "NumMedia": {"0"}},
			&switchboard.Webhook{Messages: []switchboard.InboundSMS{{ProviderID: "SM1", From: "+14155550142", To: "+14155550100"}}}},
		{"too many media claimed", url.Values{"MessageSid": {"SM2"}, "From": {"+14155550142"}, "To": {"+14155550100"}, "NumMedia": {"99999999"}, "MediaUrl0": {"u0"}},
			&switchboard.Webhook{Messages: []switchboard.InboundSMS{{ProviderID: "SM2", From: "+14155550142", To: "+14155550100", Media: []switchboard.InboundMedia{{URL: "u0"}}}}}},
		{"queued", status("SM3", "queued", ""), report1("SM3", switchboard.StatusSent, "")},
		{"sending", status("SM3", "sending", ""), report1("SM3", switchboard.StatusSent, "")},
		{"sent", status("SM3", "sent", ""), report1("SM3", switchboard.StatusSent, "")},
		{"delivered", status("SM3", "delivered", ""), report1("SM3", switchboard.StatusDelivered, "")},
		{"undelivered", status("SM3", "undelivered", "30003"), report1("SM3", switchboard.StatusFailed, "Twilio: unreachable destination handset (error 30003).")},
		{"failed", status("SM3", "failed", "30034"), report1("SM3", switchboard.StatusFailed, "Twilio: message from an unregistered number (error 30034).")},
		{"failed, rare code", status("SM3", "failed", "63999"), report1("SM3", switchboard.StatusFailed, "Twilio: error 63999.")},
		{"failed, no code", status("SM3", "failed", ""), report1("SM3", switchboard.StatusFailed, "Twilio reports the message failed.")},
		{"unknown status", status("SM3", "partially_delivered", ""), &switchboard.Webhook{}},
	} {
		body := tc.form.Encode()
		got, err := p.ParseWebhook(webhook(publicURL, body, Sign(testToken, publicURL, tc.form)), []byte(body), publicURL)
		if err != nil {
			t.Errorf("%s: ParseWebhook: %v", tc.name, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s: ParseWebhook (-want +got):\n%s", tc.name, diff)
		}
	}

	// A signed webhook without a message SID is refused as invalid.
	form := url.Values{"From": {"+14155550142"}}
	_, err := p.ParseWebhook(webhook(publicURL, form.Encode(), Sign(testToken, publicURL, form)), []byte(form.Encode()), publicURL)
	if switchboard.ErrorCode(err) != switchboard.EINVALID {
		t.Errorf("ParseWebhook without MessageSid: %v, want code %s", err, switchboard.EINVALID)
	}

	// A GET webhook carries its parameters in the URL, which is signed alone.
	getURL := publicURL + "?" + status("SM4", "delivered", "").Encode()
	r := httptest.NewRequest(http.MethodGet, getURL, nil)
	r.Header.Set("X-Twilio-Signature", Sign(testToken, getURL, nil))
	got, err := p.ParseWebhook(r, nil, getURL)
	if diff := cmp.Diff(report1("SM4", switchboard.StatusDelivered, ""), got); err != nil || diff != "" {
		t.Errorf("ParseWebhook(GET): %v (-want +got):\n%s", err, diff)
	}
}

func status(sid, st, code string) url.Values {
	v := url.Values{"MessageSid": {sid}, "SmsSid": {sid}, "MessageStatus": {st}, "SmsStatus": {st}, "AccountSid": {testSID},
		"From": {"+14155550100"}, "To": {"+14155550142"}, "ApiVersion": {"2010-04-01"}}
	if code != "" {
		v.Set("ErrorCode", code)
	}
	return v
}

func report1(sid, st, e string) *switchboard.Webhook {
	return &switchboard.Webhook{Reports: []switchboard.DeliveryReport{{ProviderID: sid, Status: st, Error: e}}}
}
