package kannel

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/switchboard-chat/switchboard"
	"github.com/switchboard-chat/switchboard/sms/internal/smstest"
)

const (
	testUser     = "switchboard"
	testPassword = "sendsms-pw"
	testSecret   = "webhook-secret_1"
)

// newProvider returns an adapter whose sendsms interface is the fake
// Kannel h.
func newProvider(t *testing.T, h http.HandlerFunc) (*Provider, *httptest.Server) {
	t.Helper()
	return smstest.Adapter(t, h, New, switchboard.Provider{
		Name: "kn", Kind: switchboard.ProviderKannel,
		Credentials: map[string]string{"username": testUser, "password": testPassword, "secret": testSecret},
	})
}

func TestNew(t *testing.T) {
	creds := func(secret string) map[string]string {
		return map[string]string{"username": "u", "password": "p", "secret": secret}
	}
	for _, tc := range []struct {
		name  string
		p     switchboard.Provider
		valid bool
	}{
		{"good", switchboard.Provider{APIURL: "http://127.0.0.1:13013/", Credentials: creds("abc-123._~")}, true},
		{"no API URL", switchboard.Provider{Credentials: creds("s")}, false},
		{"API URL not http", switchboard.Provider{APIURL: "127.0.0.1:13013", Credentials: creds("s")}, false},
		{"no secret", switchboard.Provider{APIURL: "http://127.0.0.1:13013", Credentials: creds("")}, false},
		{"secret that needs encoding", switchboard.Provider{APIURL: "http://127.0.0.1:13013", Credentials: creds("a&b=c")}, false},
		{"no password", switchboard.Provider{APIURL: "http://127.0.0.1:13013", Credentials: map[string]string{"username": "u", "secret": "s"}}, false},
	} {
		p, err := New(&tc.p, nil)
		if tc.valid && (err != nil || p.apiURL.String() != "http://127.0.0.1:13013") {
			t.Errorf("New(%s) = %v, %v", tc.name, p, err)
		} else if !tc.valid && switchboard.ErrorCode(err) != switchboard.EINVALID {
			t.Errorf("New(%s) error = %v, want code %s", tc.name, err, switchboard.EINVALID)
		}
	}
	var p Provider
	if got := p.MaxMMSBytes(); got != 0 {
		t.Errorf("MaxMMSBytes() = %d, want 0", got)
	}
	if _, err := p.FetchMedia(context.Background(), "http://x/1.jpg"); switchboard.ErrorCode(err) != switchboard.EINVALID {
		t.Errorf("FetchMedia = %v, want code %s", err, switchboard.EINVALID)
	}
}

// TestSend checks the exact sendsms request and the reading of Kannel's
// answers.
func TestSend(t *testing.T) {
	for _, tc := range []struct {
		name   string
		m      switchboard.OutboundSMS
		answer string
		want   url.Values
		res    switchboard.SendResult
	}{
		{"GSM text with a report",
			switchboard.OutboundSMS{ID: "msg1.7", From: "+14155550100", To: "+14155550142", Body: "Hello {world} €5 @ Café", StatusCallback: "https://sb.example/webhooks/sms/kn"},
			"0: Accepted for delivery",
			url.Values{"username": {testUser}, "password": {testPassword}, "from": {"+14155550100"}, "to": {"+14155550142"},
				"text": {"Hello {world} €5 @ Café"}, "charset": {"UTF-8"}, "dlr-mask": {"31"},
				"dlr-url": {"https://sb.example/webhooks/sms/kn?id=msg1.7&secret=" + testSecret + "&type=dlr&status=%d"}},
			switchboard.SendResult{ProviderID: "msg1.7", Status: switchboard.StatusSent}},
		{"UCS-2 text, queued",
			switchboard.OutboundSMS{ID: "msg2.8", From: "+14155550100", To: "+14155550142", Body: "Grüße ✓ 😀", StatusCallback: "https://sb.example/webhooks/sms/kn"},
			"3: Queued for later delivery",
			url.Values{"username": {testUser}, "password": {testPassword}, "from": {"+14155550100"}, "to": {"+14155550142"},
				"text": {"Grüße ✓ 😀"}, "charset": {"UTF-8"}, "coding": {"2"}, "dlr-mask": {"31"},
				"dlr-url": {"https://sb.example/webhooks/sms/kn?id=msg2.8&secret=" + testSecret + "&type=dlr&status=%d"}},
			switchboard.SendResult{ProviderID: "msg2.8", Status: switchboard.StatusQueued}},
		{"no status callback",
			switchboard.OutboundSMS{ID: "msg3.9", From: "+14155550100", To: "+14155550142", Body: "Hi"},
			"0: Accepted for delivery",
			url.Values{"username": {testUser}, "password": {testPassword}, "from": {"+14155550100"}, "to": {"+14155550142"},
				"text": {"Hi"}, "charset": {"UTF-8"}},
			switchboard.SendResult{ProviderID: "msg3.9", Status: switchboard.StatusSent}},
		{"percent signs of the callback doubled for Kannel",
			switchboard.OutboundSMS{ID: "a b/é", From: "+14155550100", To: "+14155550142", Body: "Hi", StatusCallback: "https://sb.example/webhooks/sms/k%20n?x=1"},
			"0: Accepted for delivery",
			url.Values{"username": {testUser}, "password": {testPassword}, "from": {"+14155550100"}, "to": {"+14155550142"},
				"text": {"Hi"}, "charset": {"UTF-8"}, "dlr-mask": {"31"},
				"dlr-url": {"https://sb.example/webhooks/sms/k%%20n?id=a+b%%2F%%C3%%A9&secret=" + testSecret + "&type=dlr&x=1&status=%d"}},
			switchboard.SendResult{ProviderID: "a b/é", Status: switchboard.StatusSent}},
	} {
		var got url.Values
		p, _ := newProvider(t, func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet || r.URL.Path != "/cgi-bin/sendsms" {
				t.Errorf("%s: request %s %s, want GET /cgi-bin/sendsms", tc.name, r.Method, r.URL.Path)
			}
			got = r.URL.Query()
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusAccepted)
			io.WriteString(w, tc.answer)
		})
		res, err := p.Send(context.Background(), &tc.m)
		if err != nil {
			t.Errorf("%s: Send: %v", tc.name, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s: sendsms parameters (-want +got):\n%s", tc.name, diff)
		}
		if res != tc.res {
			t.Errorf("%s: Send = %+v, want %+v", tc.name, res, tc.res)
		}
	}
}

// TestSendErrors checks Kannel's refusals (Kannel 1.4.5's texts), a
// Kannel that is down or does not answer in time, and that no error text
// carries the password or the message.
func TestSendErrors(t *testing.T) {
	m := switchboard.OutboundSMS{ID: "m", From: "+14155550100", To: "+14155550142", Body: "private body text"}
	smstest.SendErrors(t, newProvider, m, []smstest.SendError{
		{Name: "credentials", Status: 403, Body: "Authorization failed for sendsms",
			Code: switchboard.EINVALID, Text: "Kannel refused the sendsms username or password."},
		{Name: "bad number", Status: 400, Body: "Missing receiver number, rejected",
			Code: switchboard.EINVALID, Text: "Kannel: Missing receiver number, rejected."},
		{Name: "no answer text", Status: 400, Body: "", Code: switchboard.EINVALID, Text: "HTTP 400"},
		{Name: "bearerbox down", Status: 503, Body: "Sending failed.", Code: switchboard.EUNAVAILABLE, Text: "HTTP 503"},
		{Name: "internal error", Status: 500, Body: "", Code: switchboard.EUNAVAILABLE, Text: "HTTP 500"},
	}, testPassword, "private")
	smstest.Unreachable(t, newProvider, m, testPassword, "private")

	p, _ := newProvider(t, func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("Kannel called for an MMS")
	})
	_, err := p.Send(context.Background(), &switchboard.OutboundSMS{ID: "m", From: "+14155550100", To: "+14155550142", Body: "Hi",
		Media: []switchboard.MediaRef{{URL: "https://sb.example/media/acme/a1", ContentType: "image/png", Size: 10}}})
	if switchboard.ErrorCode(err) != switchboard.EINVALID || switchboard.ErrorMessage(err) != "MMS is not supported by Kannel." {
		t.Errorf("Send(MMS) = %v, want EINVALID \"MMS is not supported by Kannel.\"", err)
	}
}

func TestIsGSM(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"", true},
		{"Hello, world! 1+1=2?", true},
		{"Café à 5€ {ok} [x] ~ | ^ \\ ΔΩ ¿¡ §", true},
		{"Line\nbreak\r", true},
		{"Grüße", true},
		{"ç", false}, // only the capital Ç is GSM
		{"✓", false},
		{"😀", false},
		{"`backtick`", false},
		{"Привет", false},
	} {
		if got := IsGSM(tc.in); got != tc.want {
			t.Errorf("IsGSM(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
