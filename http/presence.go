package http

import (
	"net/http"
	"strings"
	"time"

	"github.com/switchboard-chat/switchboard"
	"github.com/switchboard-chat/switchboard/chat"
)

type statusRequest struct {
	DND     *bool   `json:"dnd"`
	Message *string `json:"message"`
	Until   *string `json:"until"`
}

// setPresence sets do-not-disturb and the status message; fields left out
// keep their value, and "until": null (or "") removes the expiry.
func (s *Server) setPresence(w http.ResponseWriter, r *http.Request) {
	var req statusRequest
	if err := decode(r, &req); err != nil {
		Error(w, r, s.logger, err)
		return
	}
	id, _ := switchboard.IdentityFromContext(r.Context())
	cur := s.chat.Presence().Get(r.Context(), id.Domain, id.Extension)
	st := switchboard.PresenceStatus{DND: cur.DND, Message: cur.Message, Until: cur.Until}
	if req.DND != nil {
		st.DND = *req.DND
	}
	if req.Message != nil {
		st.Message = *req.Message
	}
	if req.Until != nil || req.DND != nil || req.Message != nil {
		st.Until = nil
	}
	if req.Until != nil && *req.Until != "" {
		t, err := time.Parse(time.RFC3339, *req.Until)
		if err != nil {
			Error(w, r, s.logger, switchboard.Errorf(switchboard.EINVALID, "until must be an RFC 3339 time like 2026-11-25T17:00:00Z."))
			return
		}
		st.Until = &t
	}
	p, err := s.chat.SetStatus(r.Context(), st)
	if err != nil {
		Error(w, r, s.logger, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

// pbxEvent takes a device or call report from a phone system, authenticated
// by the domain's API key.
func (s *Server) pbxEvent(w http.ResponseWriter, r *http.Request) {
	key, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	domain, err := s.chat.AuthenticateAPIKey(r.Context(), strings.TrimSpace(key))
	if err != nil {
		Error(w, r, s.logger, err)
		return
	}
	var ev chat.PBXEvent
	if err := decode(r, &ev); err != nil {
		Error(w, r, s.logger, err)
		return
	}
	if err := s.chat.ReportPBXEvent(r.Context(), domain, ev); err != nil {
		Error(w, r, s.logger, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
