package httpx

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/switchboard-chat/switchboard"
	"github.com/switchboard-chat/switchboard/sms/internal/smstest"
)

func TestCall(t *testing.T) {
	srv := smstest.Server(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, "0123456789")
	})
	for _, tc := range []struct {
		max  int64
		want string
	}{{4, "0123"}, {100, "0123456789"}} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/?password=secret", nil)
		status, raw, err := Call(srv.Client(), req, "Acme", tc.max)
		if err != nil || status != http.StatusAccepted || string(raw) != tc.want {
			t.Errorf("Call(max %d) = %d, %q, %v; want 202, %q", tc.max, status, raw, err, tc.want)
		}
	}

	srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/?password=secret", nil)
	_, _, err := Call(srv.Client(), req, "Acme", 100)
	if switchboard.ErrorCode(err) != switchboard.EUNAVAILABLE || switchboard.ErrorMessage(err) != "Acme could not be reached." {
		t.Errorf("Call to a closed server: error = %v, want EUNAVAILABLE \"Acme could not be reached.\"", err)
	}
	if err != nil && (!strings.HasPrefix(err.Error(), "acme: send: ") || strings.Contains(err.Error(), "secret")) {
		t.Errorf("Call error %q: want the prefix \"acme: send: \" and no URL", err)
	}
}

func TestBusy(t *testing.T) {
	for _, tc := range []struct {
		status int
		want   bool
	}{{200, false}, {400, false}, {401, false}, {404, false}, {429, true}, {500, true}, {503, true}} {
		if got := Busy(tc.status); got != tc.want {
			t.Errorf("Busy(%d) = %v, want %v", tc.status, got, tc.want)
		}
	}
}

func TestFetch(t *testing.T) {
	var auth []string
	srv := smstest.Server(t, func(w http.ResponseWriter, r *http.Request) {
		auth = append(auth, r.Header.Get("Authorization"))
		switch r.URL.Path {
		case "/1.jpg":
			io.WriteString(w, "JPEG BYTES")
		case "/exact.jpg":
			io.CopyN(w, smstest.Zeros{}, MaxMediaBytes)
		case "/big.jpg":
			io.CopyN(w, smstest.Zeros{}, MaxMediaBytes+1)
		case "/busy.jpg":
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			w.WriteHeader(http.StatusForbidden)
		}
	})
	bearer := func(r *http.Request) { r.Header.Set("Authorization", "Bearer k") }
	for _, tc := range []struct {
		name      string
		url       string
		authorize func(*http.Request)
		fetchErr  string // code of Fetch's error
		message   string // its user message
		n         int64  // bytes read
		code      string // of the read's error
	}{
		{"picture", srv.URL + "/1.jpg", nil, "", "", 10, ""},
		{"authorized", srv.URL + "/1.jpg", bearer, "", "", 10, ""},
		{"at the limit", srv.URL + "/exact.jpg", nil, "", "", MaxMediaBytes, ""},
		{"too large", srv.URL + "/big.jpg", nil, "", "", MaxMediaBytes, switchboard.ETOOLARGE},
		{"busy", srv.URL + "/busy.jpg", nil, switchboard.EUNAVAILABLE, "Acme is unavailable or busy (HTTP 503).", 0, ""},
		{"refused", srv.URL + "/expired.jpg", nil, switchboard.EINVALID, "Acme refused the media download (HTTP 403).", 0, ""},
	} {
		auth = nil
		body, err := Fetch(context.Background(), srv.Client(), "Acme", tc.url, tc.authorize)
		if wrong := tc.fetchErr == "" && err != nil ||
			tc.fetchErr != "" && (switchboard.ErrorCode(err) != tc.fetchErr || switchboard.ErrorMessage(err) != tc.message) ||
			(body == nil) != (err != nil); wrong {
			t.Errorf("%s: Fetch = %v, %v; want error code %q %q", tc.name, body, err, tc.fetchErr, tc.message)
			continue
		}
		if want := map[bool]string{true: "Bearer k"}[tc.authorize != nil]; len(auth) != 1 || auth[0] != want {
			t.Errorf("%s: Authorization headers %q, want [%q]", tc.name, auth, want)
		}
		if body == nil {
			continue
		}
		n, err := io.Copy(io.Discard, body)
		if n != tc.n || switchboard.ErrorCode(err) != tc.code {
			t.Errorf("%s: read %d bytes, error %v; want %d bytes and code %q", tc.name, n, err, tc.n, tc.code)
		}
		if err := body.Close(); err != nil {
			t.Errorf("%s: Close: %v", tc.name, err)
		}
	}

	for _, bad := range []string{"file:///etc/passwd", "ftp://x/1.jpg", "%zz"} {
		if _, err := Fetch(context.Background(), srv.Client(), "Acme", bad, nil); switchboard.ErrorCode(err) != switchboard.EINVALID {
			t.Errorf("Fetch(%q) error = %v, want code %s", bad, err, switchboard.EINVALID)
		}
	}
	srv.Close()
	_, err := Fetch(context.Background(), srv.Client(), "Acme", srv.URL+"/1.jpg", nil)
	if switchboard.ErrorCode(err) != switchboard.EUNAVAILABLE || !strings.HasPrefix(err.Error(), "acme: fetch media: ") {
		t.Errorf("Fetch from a closed server: error = %v, want EUNAVAILABLE with the prefix \"acme: fetch media: \"", err)
	}
}

func TestUnavailable(t *testing.T) {
	cause := &url.Error{Op: "Get", URL: "http://x/?password=secret", Err: context.DeadlineExceeded}
	err := Unavailable("Acme", "send", cause)
	if want := "acme: send: context deadline exceeded: switchboard error: code=unavailable message=Acme could not be reached."; err.Error() != want {
		t.Errorf("Unavailable(...).Error() = %q, want %q", err, want)
	}
	if switchboard.ErrorCode(err) != switchboard.EUNAVAILABLE || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Unavailable(...) = %v, want code %s wrapping the cause", err, switchboard.EUNAVAILABLE)
	}
}
