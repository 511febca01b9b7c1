// Package httpx holds what the HTTP adapters of SMS providers (sms/twilio,
// sms/telnyx, sms/kannel) share: an API call whose answer is read up to a
// bound, the download of a picture of bounded size, and the mapping of
// transport failures to EUNAVAILABLE.
//
// provider, in every function, is the provider's name as users read it
// ("Twilio"); lowercased, it prefixes the wrapped errors ("twilio: send:
// ...").
package httpx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/switchboard-chat/switchboard"
)

const (
	// MaxMediaBytes bounds one downloaded picture of an inbound MMS.
	MaxMediaBytes = 16 << 20
	// FetchTimeout bounds one download of a picture, the reading of its
	// body included.
	FetchTimeout = 2 * time.Minute
)

// Call sends req with client and returns the answer's status code and at
// most max bytes of its body, which it closes. A failure to send or to read
// the answer is Unavailable (op "send" or "read answer").
func Call(client *http.Client, req *http.Request, provider string, max int64) (int, []byte, error) {
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, Unavailable(provider, "send", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, max))
	if err != nil {
		return 0, nil, Unavailable(provider, "read answer", err)
	}
	return resp.StatusCode, raw, nil
}

// Busy reports whether an answer's status says the provider may take the
// request later: 429 or a 5xx.
func Busy(status int) bool {
	return status == http.StatusTooManyRequests || status >= 500
}

// Fetch downloads mediaURL, a picture of an inbound MMS, within
// FetchTimeout. The URL must be http or https (EINVALID otherwise).
// authorize, when not nil, may add credentials to the request; Go's client
// drops an Authorization header when a redirect leaves the host. A
// transport failure is Unavailable.
//
// For a 2xx answer, Fetch returns its body, which fails with ETOOLARGE once
// more than MaxMediaBytes have been read and ends the request when closed.
// Any other answer is an error: EUNAVAILABLE when the provider is busy (see
// Busy), EINVALID otherwise ("Twilio refused the media download (HTTP
// 403).").
func Fetch(ctx context.Context, client *http.Client, provider, mediaURL string, authorize func(*http.Request)) (io.ReadCloser, error) {
	u, err := url.Parse(mediaURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, switchboard.Errorf(switchboard.EINVALID, "The media URL is not an http or https URL.")
	}
	// The context outlives this call: the body returned ends it.
	ctx, cancel := context.WithTimeout(ctx, FetchTimeout)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("%s: new request: %w", strings.ToLower(provider), err)
	}
	if authorize != nil {
		authorize(req)
	}
	resp, err := client.Do(req)
	if err != nil {
		cancel()
		return nil, Unavailable(provider, "fetch media", err)
	}
	if status := resp.StatusCode; status/100 != 2 {
		resp.Body.Close()
		cancel()
		if Busy(status) {
			return nil, switchboard.Errorf(switchboard.EUNAVAILABLE, "%s is unavailable or busy (HTTP %d).", provider, status)
		}
		return nil, switchboard.Errorf(switchboard.EINVALID, "%s refused the media download (HTTP %d).", provider, status)
	}
	return &limitedBody{r: io.LimitReader(resp.Body, MaxMediaBytes+1), body: resp.Body, cancel: cancel}, nil
}

var errTooLarge = switchboard.Errorf(switchboard.ETOOLARGE, "The picture is larger than %d MB.", MaxMediaBytes>>20)

// limitedBody is a response body that fails once more than MaxMediaBytes
// have been read, and ends the request's context when it is closed.
type limitedBody struct {
	r      io.Reader
	n      int64
	body   io.Closer
	cancel context.CancelFunc
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.n > MaxMediaBytes {
		return 0, errTooLarge
	}
	n, err := b.r.Read(p)
	b.n += int64(n)
	if b.n > MaxMediaBytes {
		// r stops at one byte past the limit: that byte is not returned.
		return n - 1, errTooLarge
	}
	return n, err
}

func (b *limitedBody) Close() error {
	err := b.body.Close()
	b.cancel()
	return err
}

// Unavailable is a failure of operation op worth another try: the network
// or the provider itself. Its code is EUNAVAILABLE ("Twilio could not be
// reached."); the URL of a *url.Error, which may carry credentials or the
// message, is left out of the text.
func Unavailable(provider, op string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Errorf("%s: %s: %w: %w", strings.ToLower(provider), op, err,
		switchboard.Errorf(switchboard.EUNAVAILABLE, "%s could not be reached.", provider))
}
