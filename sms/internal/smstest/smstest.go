// Package smstest helps the tests of the HTTP adapters of SMS providers: a
// fake provider API on a local server, the adapter of an account that
// points at it, and the checks of Send that every adapter must pass
// against such a fake.
package smstest

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard"
)

// Server starts h as a provider's API until the test ends.
func Server(t testing.TB, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// Adapter starts h as the API of account (whose APIURL it sets to the
// server's) and returns the adapter that newAdapter makes of the account
// with the server's client, and the server. A failure of newAdapter ends
// the test.
func Adapter[P any](t testing.TB, h http.HandlerFunc, newAdapter func(*switchboard.Provider, *http.Client) (P, error), account switchboard.Provider) (P, *httptest.Server) {
	t.Helper()
	srv := Server(t, h)
	account.APIURL = srv.URL
	p, err := newAdapter(&account, srv.Client())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p, srv
}

// SendError is a canned answer of a provider's API, and how Send must read
// it.
type SendError struct {
	Name   string
	Status int
	Body   string
	Code   string // of Send's error
	Text   string // in its user message
}

// SendErrors checks, for each case, that Send of m to an API (started by
// start) that answers the case's status and body fails with the case's
// code and a user message that contains its text, and that no error text
// carries any of secrets.
func SendErrors[P switchboard.SMSProvider](t *testing.T, start func(*testing.T, http.HandlerFunc) (P, *httptest.Server), m switchboard.OutboundSMS, cases []SendError, secrets ...string) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			p, _ := start(t, func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.Status)
				io.WriteString(w, tc.Body)
			})
			_, err := p.Send(context.Background(), &m)
			if code := switchboard.ErrorCode(err); code != tc.Code {
				t.Errorf("Send error = %v, want code %s", err, tc.Code)
			}
			if msg := switchboard.ErrorMessage(err); !strings.Contains(msg, tc.Text) {
				t.Errorf("Send error message = %q, want it to contain %q", msg, tc.Text)
			}
			noSecrets(t, err, secrets)
		})
	}
}

// Unreachable checks that Send of m is EUNAVAILABLE when the API (started
// by start) is down, and when it does not answer before Send's deadline
// (the error wraps the deadline), and that no error text carries any of
// secrets.
func Unreachable[P switchboard.SMSProvider](t *testing.T, start func(*testing.T, http.HandlerFunc) (P, *httptest.Server), m switchboard.OutboundSMS, secrets ...string) {
	t.Helper()
	p, srv := start(t, func(w http.ResponseWriter, r *http.Request) {})
	srv.Close()
	_, err := p.Send(context.Background(), &m)
	if switchboard.ErrorCode(err) != switchboard.EUNAVAILABLE {
		t.Errorf("Send to a closed server: error = %v, want code %s", err, switchboard.EUNAVAILABLE)
	}
	noSecrets(t, err, secrets)

	// An API that does not answer in time.
	release := make(chan struct{})
	p, _ = start(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	defer close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = p.Send(ctx, &m)
	if switchboard.ErrorCode(err) != switchboard.EUNAVAILABLE || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Send past its deadline: error = %v, want code %s wrapping the deadline", err, switchboard.EUNAVAILABLE)
	}
	noSecrets(t, err, secrets)
}

func noSecrets(t *testing.T, err error, secrets []string) {
	t.Helper()
	for _, s := range secrets {
		if err != nil && strings.Contains(err.Error(), s) {
			t.Errorf("Send error %q carries %q", err, s)
		}
	}
}

// Zeros reads zero bytes without end: a picture too large, say.
type Zeros struct{}

func (Zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
