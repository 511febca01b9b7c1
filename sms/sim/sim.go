// Package sim is a carrier stand-in for the demo and for tests: a texting
// provider that "delivers" every message to a simulated phone, and a page
// at /sim where you play the external phone and text back.
//
// Its webhook takes a form (from, to, body, id) with the provider's secret
// in the field "secret", checked before anything else.
package sim

import (
	"context"
	"crypto/subtle"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-chat/switchboard"
)

// Undeliverable is a number that the simulated carrier refuses, to try
// out failures.
const Undeliverable = "+15005550001"

// Text is one message on the simulated network.
type Text struct {
	ID       string    `json:"id"`
	From     string    `json:"from"`
	To       string    `json:"to"`
	Body     string    `json:"body"`
	Media    []string  `json:"media"`
	Inbound  bool      `json:"inbound"` // typed on the simulated phone
	Sent     time.Time `json:"sent"`
	Status   string    `json:"status"`
	Received bool      `json:"-"`
}

// Sim is the simulated carrier of one provider account.
type Sim struct {
	secret string
	report func(switchboard.DeliveryReport)
	delay  time.Duration

	mu    sync.Mutex
	texts []*Text
	next  int
}

// New returns the simulator of provider account p; report receives the
// delivery reports it makes up.
func New(p *switchboard.Provider, report func(switchboard.DeliveryReport)) (*Sim, error) {
	if p.Credentials["secret"] == "" {
		return nil, switchboard.Errorf(switchboard.EINVALID, "A sim provider needs a secret.")
	}
	if report == nil {
		report = func(switchboard.DeliveryReport) {}
	}
	return &Sim{secret: p.Credentials["secret"], report: report, delay: 200 * time.Millisecond}, nil
}

// Send implements switchboard.SMSProvider: the text reaches the simulated
// phone at once and is reported delivered shortly after.
func (s *Sim) Send(ctx context.Context, m *switchboard.OutboundSMS) (switchboard.SendResult, error) {
	if m.To == Undeliverable {
		return switchboard.SendResult{}, switchboard.Errorf(switchboard.EINVALID, "The carrier says %s cannot receive texts.", m.To)
	}
	s.mu.Lock()
	s.next++
	id := "sim-" + strconv.Itoa(s.next)
	t := &Text{ID: id, From: m.From, To: m.To, Body: m.Body, Sent: time.Now().UTC(), Status: switchboard.StatusSent}
	for _, md := range m.Media {
		t.Media = append(t.Media, md.URL)
	}
	s.texts = append(s.texts, t)
	s.mu.Unlock()
	time.AfterFunc(s.delay, func() {
		s.mu.Lock()
		t.Status = switchboard.StatusDelivered
		s.mu.Unlock()
		s.report(switchboard.DeliveryReport{ProviderID: id, Status: switchboard.StatusDelivered})
	})
	return switchboard.SendResult{ProviderID: id, Status: switchboard.StatusSent}, nil
}

// ParseWebhook implements switchboard.SMSProvider.
func (s *Sim) ParseWebhook(r *http.Request, body []byte, publicURL string) (*switchboard.Webhook, error) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, switchboard.Errorf(switchboard.EUNAUTHORIZED, "Bad signature.")
	}
	if subtle.ConstantTimeCompare([]byte(form.Get("secret")), []byte(s.secret)) != 1 {
		return nil, switchboard.Errorf(switchboard.EUNAUTHORIZED, "Bad signature.")
	}
	in := switchboard.InboundSMS{ProviderID: form.Get("id"), From: form.Get("from"), To: form.Get("to"), Body: form.Get("body")}
	if in.ProviderID == "" {
		return nil, switchboard.Errorf(switchboard.EINVALID, "id is required.")
	}
	s.mu.Lock()
	seen := false
	for _, t := range s.texts {
		if t.ID == in.ProviderID {
			seen = true
		}
	}
	if !seen {
		s.texts = append(s.texts, &Text{ID: in.ProviderID, From: in.From, To: in.To, Body: in.Body, Inbound: true, Sent: time.Now().UTC(), Status: switchboard.StatusDelivered})
	}
	s.mu.Unlock()
	return &switchboard.Webhook{Messages: []switchboard.InboundSMS{in}}, nil
}

// FetchMedia implements switchboard.SMSProvider; the simulated phone sends
// no pictures.
func (s *Sim) FetchMedia(ctx context.Context, u string) (io.ReadCloser, error) {
	return nil, errors.New("the simulator sends no media")
}

// MaxMMSBytes implements switchboard.SMSProvider.
func (s *Sim) MaxMMSBytes() int64 { return 5 << 20 }

// Phone returns the texts to and from an external number, oldest first.
func (s *Sim) Phone(number string) []Text {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Text
	for _, t := range s.texts {
		if t.To == number || t.From == number {
			c := *t
			out = append(out, c)
		}
	}
	return out
}

// Phones returns every external number that has texts, for the page.
func (s *Sim) Phones() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[string]bool{}
	var out []string
	for _, t := range s.texts {
		n := t.To
		if t.Inbound {
			n = t.From
		}
		if !seen[n] && strings.HasPrefix(n, "+") {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}
