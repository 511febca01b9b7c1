package texting

import (
	"context"
	"fmt"

	"github.com/switchboard-chat/switchboard"
	"github.com/switchboard-chat/switchboard/media"
)

// maxMMSMedia is the most pictures one MMS may carry: "You may send up to
// 10 media files in a single message" (Twilio, error 21623); Telnyx takes
// "up to 10 media URLs per MMS message".
const maxMMSMedia = 10

var _ switchboard.MMSChecker = (*Service)(nil)

// CheckMMS implements switchboard.MMSChecker with the limits of the
// provider of c's texting number (see checkMMS). chat.Service asks it
// before storing a message with attachments in an SMS conversation; the
// outbox applies the same rule again when it sends.
func (s *Service) CheckMMS(ctx context.Context, c *switchboard.Conversation, attachments []*switchboard.Attachment) error {
	if c.Kind != switchboard.KindSMS || len(attachments) == 0 {
		return nil
	}
	n, err := s.store.FindNumber(ctx, c.TextingNumber)
	if err != nil {
		return nil // the outbox fails the message with the reason
	}
	p, err := s.provider(ctx, n.Provider)
	if err != nil {
		return nil // likewise: "The texting provider is not configured."
	}
	return checkMMS(attachments, p.MaxMMSBytes())
}

// checkMMS returns an EINVALID error with the reason when attachments
// cannot go in one MMS through a provider that takes maxBytes of pictures
// (0: a provider without MMS): each must be a picture, at most maxMMSMedia
// of them, of at most maxBytes together.
func checkMMS(attachments []*switchboard.Attachment, maxBytes int64) error {
	var total int64
	for _, a := range attachments {
		if !media.IsPicture(a.ContentType) {
			return switchboard.Errorf(switchboard.EINVALID, "%s is not a picture; only pictures can be sent by MMS.", a.Name)
		}
		total += a.Size
	}
	switch {
	case len(attachments) > 0 && maxBytes == 0:
		return switchboard.Errorf(switchboard.EINVALID, "This texting number's provider cannot send pictures (MMS).")
	case len(attachments) > maxMMSMedia:
		return switchboard.Errorf(switchboard.EINVALID, "An MMS can carry at most %d pictures.", maxMMSMedia)
	case total > maxBytes:
		return switchboard.Errorf(switchboard.EINVALID, "The pictures are %s; this provider sends at most %s by MMS.", sizeText(total), sizeText(maxBytes))
	}
	return nil
}

func sizeText(n int64) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d KB", (n+1023)>>10)
}
