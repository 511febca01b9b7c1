package texting

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/switchboard-chat/switchboard"
)

// Opt-out keywords (CTIA): a message that is exactly one of them.
var (
	stopWords  = map[string]bool{"STOP": true, "STOPALL": true, "UNSUBSCRIBE": true, "CANCEL": true, "END": true, "QUIT": true}
	startWords = map[string]bool{"START": true, "UNSTOP": true}
	helpWords  = map[string]bool{"HELP": true, "INFO": true}
)

// maxInboundMedia bounds the pictures fetched for one inbound MMS.
const maxInboundMedia = 10

// Webhook handles a provider's webhook request: the signature is checked
// by the adapter before anything is parsed, then every inbound message is
// stored (and its media fetched) and every delivery report applied before
// the provider gets its 2xx, so a failure makes the provider retry and a
// retry is recognised by the provider's message id.
func (s *Service) Webhook(ctx context.Context, providerName string, r *http.Request, body []byte) error {
	p, err := s.provider(ctx, providerName)
	if switchboard.ErrorCode(err) == switchboard.ENOTFOUND {
		s.logger.Warn("webhook for unknown provider refused", "provider", providerName)
		return switchboard.Errorf(switchboard.ENOTFOUND, "Unknown provider.")
	} else if err != nil {
		return err
	}
	wh, err := p.ParseWebhook(r, body, s.publicURL+r.URL.RequestURI())
	if err != nil {
		s.logger.Warn("webhook refused", "provider", providerName, "code", switchboard.ErrorCode(err), "err", err)
		return err
	}
	for i := range wh.Messages {
		if err := s.receive(ctx, providerName, p, &wh.Messages[i]); err != nil {
			return err
		}
	}
	for _, rep := range wh.Reports {
		if err := s.store.ApplyDeliveryReport(ctx, providerName, rep); switchboard.ErrorCode(err) == switchboard.ENOTFOUND {
			s.logger.Info("delivery report for an unknown message ignored", "provider", providerName)
		} else if err != nil {
			return err
		}
	}
	return nil
}

// receive stores one inbound message and applies its keyword.
func (s *Service) receive(ctx context.Context, providerName string, p switchboard.SMSProvider, in *switchboard.InboundSMS) error {
	if !IsE164(in.From) || !IsE164(in.To) {
		return switchboard.Errorf(switchboard.EINVALID, "From and To must be phone numbers in E.164 form.")
	}
	num, err := s.store.FindNumber(ctx, in.To)
	if err != nil || num.Provider != providerName {
		s.logger.Warn("inbound message for an unknown texting number refused", "provider", providerName)
		return switchboard.Errorf(switchboard.ENOTFOUND, "Texting number not found.")
	}
	// Media are fetched into attachment storage first, as uploads of the
	// external number, then posted with the message.
	var atts []*switchboard.StoredAttachment
	sender := switchboard.NewContextWithIdentity(ctx, switchboard.Identity{Domain: num.Domain, Extension: in.From})
	if len(in.Media) > 0 && in.ProviderID != "" {
		// A retry of a stored message must not fetch its media again.
		if seen, err := s.store.InboundSeen(ctx, providerName, in.ProviderID); err != nil {
			return err
		} else if seen {
			return nil
		}
	}
	for i, m := range in.Media {
		if i == maxInboundMedia {
			break
		}
		a, err := s.fetchMedia(ctx, sender, p, m, i)
		if err != nil {
			return err
		}
		atts = append(atts, a)
	}
	res, err := s.store.ReceiveSMS(ctx, providerName, in, atts)
	if err != nil {
		return err
	}
	if res.Duplicate {
		return nil
	}
	s.logger.Info("text received", "number", Mask(num.Number), "media", len(atts))
	word := strings.ToUpper(strings.TrimSpace(in.Body))
	switch {
	case stopWords[word]:
		return s.store.SetOptOut(ctx, num.Number, in.From, true)
	case startWords[word]:
		return s.store.SetOptOut(ctx, num.Number, in.From, false)
	case helpWords[word]:
		d, err := s.store.FindDomain(ctx, num.Domain)
		if err != nil {
			return err
		}
		reply := d.SMSHelp
		if reply == "" {
			reply = fmt.Sprintf("%s: reply STOP to stop texts from this number, START to resume.", d.DisplayName)
		}
		if _, err := s.store.AutoReply(ctx, res.Message.ConversationID, reply); err != nil {
			return err
		}
		s.Wake()
	}
	return nil
}

// fetchMedia downloads one picture of an inbound MMS into attachment
// storage as an upload of the sender.
func (s *Service) fetchMedia(ctx context.Context, sender context.Context, p switchboard.SMSProvider, m switchboard.InboundMedia, i int) (*switchboard.StoredAttachment, error) {
	body, err := p.FetchMedia(ctx, m.URL)
	if err != nil {
		return nil, switchboard.Errorf(switchboard.EUNAVAILABLE, "Could not fetch the media of the message; try again.")
	}
	defer body.Close()
	name := fmt.Sprintf("mms-%d%s", i+1, extension(m.ContentType))
	a, err := s.chat.Upload(sender, name, body)
	if err != nil {
		return nil, err
	}
	return s.store.FindAttachment(sender, a.ID)
}

func extension(contentType string) string {
	switch contentType {
	case "image/jpeg":
		return ".jpg"
	case "image/png":
		return ".png"
	case "image/gif":
		return ".gif"
	case "video/mp4":
		return ".mp4"
	}
	return ""
}
