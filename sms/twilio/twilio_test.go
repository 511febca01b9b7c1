package twilio

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/switchboard-chat/switchboard"
	"github.com/switchboard-chat/switchboard/sms/internal/httpx"
	"github.com/switchboard-chat/switchboard/sms/internal/smstest"
)

const (
	testSID   = "AC0123456789abcdef0123456789abcdef"
	testToken = "s3cr3t-auth-token"
)

// newProvider returns an adapter whose API is the fake Twilio h.
func newProvider(t *testing.T, h http.HandlerFunc) (*Provider, *httptest.Server) {
	t.Helper()
	return smstest.Adapter(t, h, New, switchboard.Provider{
		Name: "tw", Kind: switchboard.ProviderTwilio,
		Credentials: map[string]string{"account_sid": testSID, "auth_token": testToken},
	})
}

func TestNew(t *testing.T) {
	for _, tc := range []struct {
		name  string
		p     switchboard.Provider
		valid bool
	}{
		{"default API URL", switchboard.Provider{Credentials: map[string]string{"account_sid": "AC1", "auth_token": "t"}}, true},
		{"no token", switchboard.Provider{Credentials: map[string]string{"account_sid": "AC1"}}, false},
		{"no SID", switchboard.Provider{Credentials: map[string]string{"auth_token": "t"}}, false},
		{"bad URL", switchboard.Provider{APIURL: "ftp://x", Credentials: map[string]string{"account_sid": "AC1", "auth_token": "t"}}, false},
	} {
		p, err := New(&tc.p, nil)
		if tc.valid && (err != nil || p.apiURL.String() != DefaultAPIURL) {
			t.Errorf("New(%s) = %v, %v; want the default API URL", tc.name, p, err)
		} else if !tc.valid && switchboard.ErrorCode(err) != switchboard.EINVALID {
			t.Errorf("New(%s) error = %v, want code %s", tc.name, err, switchboard.EINVALID)
		}
	}
	var p Provider
	if got := p.MaxMMSBytes(); got != 5<<20 {
		t.Errorf("MaxMMSBytes() = %d, want 5 MB", got)
	}
}

// TestSend checks the exact request of the Messages resource and the
// reading of Twilio's answer.
func TestSend(t *testing.T) {
	var got url.Values
	p, _ := newProvider(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/2010-04-01/Accounts/"+testSID+"/Messages.json" {
			t.Errorf("request %s %s, want POST of the account's Messages.json", r.Method, r.URL.Path)
		}
		if user, pass, ok := r.BasicAuth(); !ok || user != testSID || pass != testToken {
			t.Errorf("Basic auth = %q, %q, %v; want the account SID and auth token", user, pass, ok)
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
			t.Errorf("Content-Type = %q", ct)
		}
		if err := r.ParseForm(); err != nil {
			t.Errorf("ParseForm: %v", err)
		}
		got = r.PostForm
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"account_sid":"`+testSID+`","api_version":"2010-04-01","body":"Hi","date_created":"Thu, 24 Aug 2023 05:01:45 +0000",
			"direction":"outbound-api","error_code":null,"error_message":null,"from":"+14155550100","num_media":"2","num_segments":"1",
			"price":null,"sid":"MM3a5e1b1c0d9f4b7a8e6c2d1f0a9b8c7d","status":"queued","to":"+14155550142",
			"uri":"/2010-04-01/Accounts/`+testSID+`/Messages/MM3a5e1b1c0d9f4b7a8e6c2d1f0a9b8c7d.json"}`)
	})
	res, err := p.Send(context.Background(), &switchboard.OutboundSMS{
		ID: "m1.1", From: "+14155550100", To: "+14155550142", Body: "Hi ☺ & bye",
		Media: []switchboard.MediaRef{
			{URL: "https://sb.example/media/acme/a1?exp=1&sig=x", ContentType: "image/png", Size: 10},
			{URL: "https://sb.example/media/acme/a2?exp=1&sig=y", ContentType: "image/jpeg", Size: 20},
		},
		StatusCallback: "https://sb.example/webhooks/sms/tw",
	})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	want := url.Values{
		"To": {"+14155550142"}, "From": {"+14155550100"}, "Body": {"Hi ☺ & bye"},
		"MediaUrl":       {"https://sb.example/media/acme/a1?exp=1&sig=x", "https://sb.example/media/acme/a2?exp=1&sig=y"},
		"StatusCallback": {"https://sb.example/webhooks/sms/tw"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("form fields (-want +got):\n%s", diff)
	}
	if want := (switchboard.SendResult{ProviderID: "MM3a5e1b1c0d9f4b7a8e6c2d1f0a9b8c7d", Status: switchboard.StatusQueued}); res != want {
		t.Errorf("Send = %+v, want %+v", res, want)
	}
}

// TestSendErrors checks that what may succeed later is EUNAVAILABLE and
// what never will is EINVALID with Twilio's reason, and that no error text
// carries the auth token.
func TestSendErrors(t *testing.T) {
	smstest.SendErrors(t, newProvider, switchboard.OutboundSMS{From: "+14155550100", To: "+14155550142", Body: "Hi"}, []smstest.SendError{
		{Name: "unsubscribed", Status: 400, Body: `{"code": 21610, "message": "Attempt to send to unsubscribed recipient", "more_info": "https://www.twilio.com/docs/errors/21610", "status": 400}`,
			Code: switchboard.EINVALID, Text: "Twilio: Attempt to send to unsubscribed recipient (error 21610)."},
		{Name: "invalid number", Status: 400, Body: `{"code": 21211, "message": "Invalid 'To' Phone Number: +1415555", "status": 400}`,
			Code: switchboard.EINVALID, Text: "Invalid 'To' Phone Number"},
		{Name: "credentials", Status: 401, Body: `{"code": 20003, "detail": "Your AccountSid or AuthToken was incorrect.", "message": "Authenticate", "status": 401}`,
			Code: switchboard.EINVALID, Text: "credentials"},
		{Name: "not found", Status: 404, Body: `{"code": 20404, "message": "The requested resource was not found", "status": 404}`,
			Code: switchboard.EINVALID, Text: "requested resource was not found"},
		{Name: "no JSON", Status: 400, Body: `Bad Request`,
			Code: switchboard.EINVALID, Text: "HTTP 400"},
		{Name: "rate limited", Status: 429, Body: `{"code": 20429, "message": "Too Many Requests", "status": 429}`,
			Code: switchboard.EUNAVAILABLE, Text: "HTTP 429"},
		{Name: "server error", Status: 500, Body: `{"code": 20500, "message": "Internal Server Error", "status": 500}`,
			Code: switchboard.EUNAVAILABLE, Text: "HTTP 500"},
		{Name: "gateway", Status: 503, Body: `<html>Service Unavailable</html>`,
			Code: switchboard.EUNAVAILABLE, Text: "HTTP 503"},
		{Name: "failed at once", Status: 201, Body: `{"sid": "SM1", "status": "failed", "error_code": 30007, "error_message": null}`,
			Code: switchboard.EINVALID, Text: "message filtered by the carrier (error 30007)"},
		{Name: "not Twilio", Status: 200, Body: `<html>Welcome to the hotel wifi</html>`,
			Code: switchboard.EUNAVAILABLE, Text: "could not be reached"},
	}, testToken)
}

// TestSendUnreachable checks a Twilio that is down or does not answer in
// time.
func TestSendUnreachable(t *testing.T) {
	smstest.Unreachable(t, newProvider, switchboard.OutboundSMS{From: "+14155550100", To: "+14155550142", Body: "Hi"}, testToken)
}

// TestFetchMedia follows Twilio's redirect of a media URL to its storage:
// the credentials go to Twilio's API host and nowhere else.
func TestFetchMedia(t *testing.T) {
	storage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if auth := r.Header.Get("Authorization"); auth != "" {
			t.Errorf("storage got Authorization %q; the credentials must stay with Twilio", auth)
		}
		switch r.URL.Path {
		case "/big":
			io.CopyN(w, smstest.Zeros{}, httpx.MaxMediaBytes+1)
		default:
			w.Header().Set("Content-Type", "image/jpeg")
			io.WriteString(w, "JPEG BYTES")
		}
	}))
	defer storage.Close()
	// The storage is reached by another host name than the API.
	storageURL := strings.Replace(storage.URL, "127.0.0.1", "localhost", 1)

	p, srv := newProvider(t, func(w http.ResponseWriter, r *http.Request) {
		if user, pass, ok := r.BasicAuth(); !ok || user != testSID || pass != testToken {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/2010-04-01/Accounts/" + testSID + "/Messages/MM1/Media/ME1":
			http.Redirect(w, r, storageURL+"/s3/ME1", http.StatusTemporaryRedirect)
		case "/2010-04-01/Accounts/" + testSID + "/Messages/MM1/Media/ME2":
			http.Redirect(w, r, storageURL+"/big", http.StatusTemporaryRedirect)
		case "/2010-04-01/Accounts/" + testSID + "/Messages/MM1/Media/ME3":
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			http.NotFound(w, r)
		}
	})
	p.client = &http.Client{} // the test servers are plain HTTP on two host names
	base := srv.URL + "/2010-04-01/Accounts/" + testSID + "/Messages/MM1/Media/"

	body, err := p.FetchMedia(context.Background(), base+"ME1")
	if err != nil {
		t.Fatalf("FetchMedia: %v", err)
	}
	b, err := io.ReadAll(body)
	body.Close()
	if err != nil || string(b) != "JPEG BYTES" {
		t.Errorf("FetchMedia read %q, %v; want the picture", b, err)
	}

	body, err = p.FetchMedia(context.Background(), base+"ME2")
	if err != nil {
		t.Fatalf("FetchMedia: %v", err)
	}
	n, err := io.Copy(io.Discard, body)
	body.Close()
	if switchboard.ErrorCode(err) != switchboard.ETOOLARGE || n != httpx.MaxMediaBytes {
		t.Errorf("FetchMedia of too large a picture read %d bytes, error %v; want %d bytes and code %s", n, err, httpx.MaxMediaBytes, switchboard.ETOOLARGE)
	}

	for _, tc := range []struct{ url, code string }{
		{base + "ME3", switchboard.EUNAVAILABLE},
		{base + "ME404", switchboard.EINVALID},
		{storageURL + "/elsewhere", ""}, // another host: no credentials sent (checked by storage)
		{"file:///etc/passwd", switchboard.EINVALID},
	} {
		body, err := p.FetchMedia(context.Background(), tc.url)
		if code := switchboard.ErrorCode(err); code != tc.code {
			t.Errorf("FetchMedia(%q) error = %v, want code %q", tc.url, err, tc.code)
		}
		if body != nil {
			body.Close()
		}
	}
}

func TestOwnsMedia(t *testing.T) {
	p, err := New(&switchboard.Provider{Credentials: map[string]string{"account_sid": testSID, "auth_token": testToken}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		url  string
		want bool
	}{
		{"https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1", true},
		{"https://api.dublin.ie1.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1", true},
		{"https://media.twiliocdn.com/x", false},
		{"https://eviltwilio.com/x", false},
		{"https://api.twilio.com.evil.example/x", false},
		{"http://api.twilio.com/x", false},
	} {
		u, _ := url.Parse(tc.url)
		if got := p.ownsMedia(u); got != tc.want {
			t.Errorf("ownsMedia(%s) = %v, want %v", tc.url, got, tc.want)
		}
	}
}
