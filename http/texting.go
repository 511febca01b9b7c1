package http

import (
	"errors"
	"io"
	"net/http"

	"github.com/switchboard-chat/switchboard"
)

// maxWebhookBody bounds a provider's webhook request.
const maxWebhookBody = 1 << 20

// smsWebhook takes a provider's webhook (inbound messages and delivery
// reports; GET too, for Kannel). The adapter checks the signature before
// anything is parsed; what it carries is stored before the provider gets
// its 2xx.
func (s *Server) smsWebhook(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Texting == nil {
		Error(w, r, s.logger, errNoRoute)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBody))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		Error(w, r, s.logger, switchboard.Errorf(switchboard.ETOOLARGE, "Request body is too large."))
		return
	} else if err != nil {
		Error(w, r, s.logger, switchboard.Errorf(switchboard.EINVALID, "Could not read the request body."))
		return
	}
	if err := s.cfg.Texting.Webhook(r.Context(), r.PathValue("provider"), r, body); err != nil {
		Error(w, r, s.logger, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// media serves a picture of an MMS to the provider through a signed link.
func (s *Server) media(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Texting == nil {
		Error(w, r, s.logger, errNoRoute)
		return
	}
	q := r.URL.Query()
	a, f, err := s.cfg.Texting.OpenMedia(r.Context(), r.PathValue("domain"), r.PathValue("id"), q.Get("exp"), q.Get("sig"))
	if err != nil {
		Error(w, r, s.logger, err)
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", a.ContentType)
	w.Header().Set("Content-Security-Policy", "default-src 'none'; sandbox")
	w.Header().Set("Cache-Control", "private, max-age=3600")
	http.ServeContent(w, r, "", a.CreatedAt, f)
}
