package texting

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/switchboard-chat/switchboard"
)

// Outbox limits.
const (
	claimBatch  = 32
	concurrency = 8
	maxAttempts = 8
	maxBackoff  = 5 * time.Minute
	sendTimeout = 30 * time.Second
)

// Run sends the outbox until ctx ends. Items that a crash left half-sent
// are failed first (never sent twice); then due items are claimed and sent,
// with retries and exponential backoff while a provider is unavailable.
func (s *Service) Run(ctx context.Context) error {
	if n, err := s.store.RecoverOutbox(ctx); err != nil {
		return fmt.Errorf("recover outbox: %w", err)
	} else if n > 0 {
		s.logger.Warn("outbox items interrupted by a restart marked failed", "items", n)
	}
	t := time.NewTicker(s.poll)
	defer t.Stop()
	sem := make(chan struct{}, concurrency)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		items, err := s.store.ClaimOutbox(ctx, s.now(), claimBatch)
		if err != nil && ctx.Err() == nil {
			s.logger.Warn("claim outbox", "err", err)
		}
		for _, it := range items {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				s.send(ctx, it)
			}()
		}
		if len(items) == claimBatch {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-s.wake:
		}
	}
}

// send makes one provider call for a claimed item and records the outcome.
func (s *Service) send(ctx context.Context, it *switchboard.OutboxItem) {
	res := s.attempt(ctx, it)
	// The outcome is recorded even when ctx ended during the call: what the
	// provider took must not be sent again.
	if err := s.store.CompleteOutbox(context.WithoutCancel(ctx), it.ID, res); err != nil {
		s.logger.Error("record outbox outcome", "item", it.ID, "err", err)
	}
}

func (s *Service) attempt(ctx context.Context, it *switchboard.OutboxItem) switchboard.OutboxResult {
	failed := func(msg string) switchboard.OutboxResult {
		return switchboard.OutboxResult{State: switchboard.OutboxFailed, Error: msg}
	}
	p, err := s.provider(ctx, it.Provider)
	if err != nil {
		return failed("The texting provider is not configured.")
	}
	m := &switchboard.OutboundSMS{ID: it.MessageID + "." + strconv.FormatInt(it.ID, 10), From: it.From, To: it.To, Body: it.Body}
	if s.publicURL != "" {
		m.StatusCallback = s.publicURL + "/webhooks/sms/" + it.Provider
	}
	if len(it.Attachments) > 0 {
		// chat.Service.SendMessage checked this already; the provider (or
		// its limits) may have changed since.
		if err := checkMMS(it.Attachments, p.MaxMMSBytes()); err != nil {
			return failed(switchboard.ErrorMessage(err))
		}
		if s.publicURL == "" {
			return failed("Pictures need the server's --public-url, so that the provider can fetch them.")
		}
		for _, a := range it.Attachments {
			m.Media = append(m.Media, switchboard.MediaRef{URL: s.MediaURL(it.Domain, a.ID), ContentType: a.ContentType, Size: a.Size})
		}
	}
	cctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	r, err := p.Send(cctx, m)
	switch code := switchboard.ErrorCode(err); {
	case err == nil:
		return switchboard.OutboxResult{State: switchboard.OutboxSent, ProviderID: r.ProviderID}
	case code == switchboard.EUNAVAILABLE || code == switchboard.EINTERNAL:
		if it.Attempts >= maxAttempts {
			return failed(fmt.Sprintf("The texting provider was unavailable; gave up after %d attempts.", it.Attempts))
		}
		s.logger.Info("provider unavailable; will retry", "provider", it.Provider, "attempt", it.Attempts, "err", err)
		return switchboard.OutboxResult{State: switchboard.OutboxPending, RetryAt: s.now().Add(backoff(it.Attempts))}
	default:
		return failed(switchboard.ErrorMessage(err))
	}
}

// backoff is the wait before attempt n+1: 1 s, 2 s, 4 s, ... up to 5 min.
func backoff(n int) time.Duration {
	d := time.Second << min(max(n-1, 0), 16)
	return min(d, maxBackoff)
}
