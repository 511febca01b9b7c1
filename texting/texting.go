// Package texting holds the use cases of texting: providers and texting
// numbers, SMS conversations, the durable outbox that sends through the
// providers with retries, inbound webhooks with opt-out keywords, and
// signed links that let a provider fetch the pictures of an MMS.
package texting

import (
	"context"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/nyaruka/phonenumbers"
	"github.com/switchboard-chat/switchboard"
	"github.com/switchboard-chat/switchboard/chat"
)

// Store is the storage texting needs.
type Store interface {
	switchboard.DirectoryStore
	switchboard.TextingStore
	switchboard.AttachmentStore
}

// Factory builds the adapter of a provider account; report delivers
// delivery reports that the adapter learns of by itself (the simulator).
type Factory func(p *switchboard.Provider, report func(switchboard.DeliveryReport)) (switchboard.SMSProvider, error)

// Deps are what a Service is built from.
type Deps struct {
	Store   Store
	Chat    *chat.Service
	Blobs   switchboard.BlobStore
	Factory Factory
	Logger  *slog.Logger
	// PublicURL is how providers reach this server (webhooks, media links).
	PublicURL string
	// MediaKey signs media links; keep it secret and stable across restarts.
	MediaKey []byte
	// PollInterval is how often the outbox looks for due items.
	PollInterval time.Duration
}

// Service implements texting.
type Service struct {
	store     Store
	chat      *chat.Service
	blobs     switchboard.BlobStore
	factory   Factory
	logger    *slog.Logger
	publicURL string
	mediaKey  []byte
	poll      time.Duration
	now       func() time.Time

	mu        sync.Mutex
	providers map[string]switchboard.SMSProvider
	wake      chan struct{}
}

// New returns a texting service. It also installs the service in d.Chat
// as its MMS checker (chat.Service.SetMMSChecker), so that a message with
// attachments that the provider cannot send is refused when it is sent
// rather than failed by the outbox.
func New(d Deps) *Service {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.PollInterval <= 0 {
		d.PollInterval = 250 * time.Millisecond
	}
	s := &Service{store: d.Store, chat: d.Chat, blobs: d.Blobs, factory: d.Factory, logger: d.Logger,
		publicURL: strings.TrimRight(d.PublicURL, "/"), mediaKey: d.MediaKey, poll: d.PollInterval, now: time.Now,
		providers: map[string]switchboard.SMSProvider{}, wake: make(chan struct{}, 1)}
	if d.Chat != nil {
		d.Chat.SetMMSChecker(s)
	}
	return s
}

// Normalize returns a phone number typed in any common format as E.164,
// reading numbers without a country code as numbers of country (ISO 3166,
// like "US"). Anything that is not a valid phone number is EINVALID.
func Normalize(raw, country string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" || len(raw) > 40 {
		return "", switchboard.Errorf(switchboard.EINVALID, "%q is not a phone number.", raw)
	}
	if strings.HasPrefix(raw, "00") {
		raw = "+" + raw[2:]
	}
	num, err := phonenumbers.Parse(raw, strings.ToUpper(country))
	if err != nil || !phonenumbers.IsValidNumber(num) {
		return "", switchboard.Errorf(switchboard.EINVALID, "%q is not a valid phone number.", raw)
	}
	return phonenumbers.Format(num, phonenumbers.E164), nil
}

// Mask shortens a phone number for logs: only its last four digits.
func Mask(number string) string {
	if len(number) <= 4 {
		return "…"
	}
	return "…" + number[len(number)-4:]
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// IsE164 reports whether s is a number in E.164 form.
func IsE164(s string) bool { return e164.MatchString(s) }

// provider returns the adapter of a provider account, built once.
func (s *Service) provider(ctx context.Context, name string) (switchboard.SMSProvider, error) {
	s.mu.Lock()
	p, ok := s.providers[name]
	s.mu.Unlock()
	if ok {
		return p, nil
	}
	rec, err := s.store.FindProvider(ctx, name)
	if err != nil {
		return nil, err
	}
	p, err = s.factory(rec, func(r switchboard.DeliveryReport) { s.report(name, r) })
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if existing, ok := s.providers[name]; ok {
		return existing, nil
	}
	s.providers[name] = p
	return p, nil
}

// Provider returns the adapter of a provider account (for the demo's
// simulator page).
func (s *Service) Provider(ctx context.Context, name string) (switchboard.SMSProvider, error) {
	return s.provider(ctx, name)
}

// report applies a delivery report that an adapter learnt by itself.
func (s *Service) report(provider string, r switchboard.DeliveryReport) {
	if err := s.store.ApplyDeliveryReport(context.Background(), provider, r); err != nil {
		s.logger.Warn("delivery report not applied", "provider", provider, "err", err)
	}
}

// MyNumbers returns the texting numbers assigned to the caller.
func (s *Service) MyNumbers(ctx context.Context) ([]string, error) {
	return s.store.MyNumbers(ctx)
}

// StartConversation opens the conversation between one of the caller's
// texting numbers and external numbers typed in any common format (several
// make a group MMS with fixed membership).
func (s *Service) StartConversation(ctx context.Context, from string, to []string) (*switchboard.Conversation, bool, error) {
	id, ok := switchboard.IdentityFromContext(ctx)
	if !ok {
		return nil, false, switchboard.Errorf(switchboard.EUNAUTHORIZED, "Sign in first.")
	}
	d, err := s.store.FindDomain(ctx, id.Domain)
	if err != nil {
		return nil, false, err
	}
	fromN, err := Normalize(from, d.Country)
	if err != nil {
		return nil, false, err
	}
	var toN []string
	for _, t := range to {
		n, err := Normalize(t, d.Country)
		if err != nil {
			return nil, false, err
		}
		toN = append(toN, n)
	}
	return s.store.CreateSMSConversation(ctx, fromN, toN)
}

// Wake makes the outbox look for work now (after a message was queued).
func (s *Service) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}
