package texting

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/url"
	"strconv"
	"time"

	"github.com/switchboard-chat/switchboard"
)

// mediaLinkTTL is how long a provider may fetch the pictures of an MMS.
const mediaLinkTTL = 7 * 24 * time.Hour

// MediaURL returns a signed link to an attachment of domain for the
// provider to fetch, valid for a week.
func (s *Service) MediaURL(domain, attachmentID string) string {
	exp := strconv.FormatInt(s.now().Add(mediaLinkTTL).Unix(), 10)
	sig := s.mediaSig(domain, attachmentID, exp)
	return s.publicURL + "/media/" + url.PathEscape(domain) + "/" + url.PathEscape(attachmentID) + "?exp=" + exp + "&sig=" + sig
}

func (s *Service) mediaSig(domain, id, exp string) string {
	mac := hmac.New(sha256.New, s.mediaKey)
	mac.Write([]byte(domain + "\x00" + id + "\x00" + exp))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// OpenMedia returns the attachment behind a signed media link, or
// ENOTFOUND when the signature is wrong or expired.
func (s *Service) OpenMedia(ctx context.Context, domain, id, exp, sig string) (*switchboard.StoredAttachment, io.ReadSeekCloser, error) {
	notFound := switchboard.Errorf(switchboard.ENOTFOUND, "Not found.")
	t, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || len(s.mediaKey) == 0 || s.now().Unix() > t || !hmac.Equal([]byte(sig), []byte(s.mediaSig(domain, id, exp))) {
		return nil, nil, notFound
	}
	a, err := s.store.FindAttachmentByID(ctx, domain, id)
	if err != nil {
		return nil, nil, notFound
	}
	f, _, err := s.blobs.Open(ctx, a.BlobKey)
	if err != nil {
		return nil, nil, err
	}
	return a, f, nil
}
