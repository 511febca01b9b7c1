package http

import (
	"net/http"

	"github.com/switchboard-chat/switchboard"
)

func (s *Server) listMessages(w http.ResponseWriter, r *http.Request) {
	var q switchboard.MessageQuery
	var err error
	var limit int64
	if q.Before, err = queryInt(r, "before", 0); err == nil {
		if q.After, err = queryInt(r, "after", 0); err == nil {
			limit, err = queryInt(r, "limit", switchboard.DefaultMessagesLimit)
		}
	}
	if err == nil && (limit < 1 || limit > switchboard.MaxMessagesLimit) {
		err = switchboard.Errorf(switchboard.EINVALID, "limit must be between 1 and %d.", switchboard.MaxMessagesLimit)
	}
	if err != nil {
		Error(w, r, s.logger, err)
		return
	}
	q.Limit = int(limit)
	q.Forward = r.URL.Query().Has("after")
	list, err := s.chat.Messages(r.Context(), r.PathValue("id"), q)
	if err != nil {
		Error(w, r, s.logger, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"messages": list})
}

type sendRequest struct {
	ClientID    string   `json:"client_id"`
	Body        string   `json:"body"`
	Attachments []string `json:"attachments"`
}

func (s *Server) sendMessage(w http.ResponseWriter, r *http.Request) {
	var req sendRequest
	if err := decode(r, &req); err != nil {
		Error(w, r, s.logger, err)
		return
	}
	m, created, err := s.chat.SendMessage(r.Context(), r.PathValue("id"), req.ClientID, req.Body, req.Attachments)
	if err != nil {
		Error(w, r, s.logger, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	if m.Status == switchboard.StatusQueued && s.cfg.Texting != nil {
		s.cfg.Texting.Wake()
	}
	if m.Encoded != nil {
		writeEncoded(w, status, m.Encoded)
		return
	}
	writeJSON(w, status, m)
}

type editRequest struct {
	Body *string `json:"body"`
}

func (s *Server) editMessage(w http.ResponseWriter, r *http.Request) {
	var req editRequest
	if err := decode(r, &req); err != nil {
		Error(w, r, s.logger, err)
		return
	} else if req.Body == nil {
		Error(w, r, s.logger, switchboard.Errorf(switchboard.EINVALID, "Field \"body\" is required."))
		return
	}
	m, err := s.chat.EditMessage(r.Context(), r.PathValue("id"), r.PathValue("mid"), *req.Body)
	if err != nil {
		Error(w, r, s.logger, err)
		return
	}
	writeJSON(w, http.StatusOK, m)
}

func (s *Server) deleteMessage(w http.ResponseWriter, r *http.Request) {
	if err := s.chat.DeleteMessage(r.Context(), r.PathValue("id"), r.PathValue("mid")); err != nil {
		Error(w, r, s.logger, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
