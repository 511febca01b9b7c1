package http

import (
	"net/http"

	"github.com/switchboard-chat/switchboard"
)

func (s *Server) listConversations(w http.ResponseWriter, r *http.Request) {
	limit, err := queryInt(r, "limit", 200)
	if err != nil {
		Error(w, r, s.logger, err)
		return
	}
	list, err := s.chat.Conversations(r.Context(), int(min(limit, 1<<20)))
	if err != nil {
		Error(w, r, s.logger, err)
		return
	}
	if list == nil {
		list = []*switchboard.Conversation{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"conversations": list})
}

type createConversationRequest struct {
	Members []string `json:"members"`
	Name    string   `json:"name"`
	From    string   `json:"from"`
	To      []string `json:"to"`
}

func (s *Server) createConversation(w http.ResponseWriter, r *http.Request) {
	var req createConversationRequest
	if err := decode(r, &req); err != nil {
		Error(w, r, s.logger, err)
		return
	}
	var c *switchboard.Conversation
	var created bool
	var err error
	switch {
	case req.From != "" || len(req.To) > 0:
		if s.cfg.Texting == nil {
			err = switchboard.Errorf(switchboard.EINVALID, "Texting is not set up on this server.")
		} else if len(req.Members) > 0 {
			err = switchboard.Errorf(switchboard.EINVALID, "Give members for a chat, or from and to for a text conversation, not both.")
		} else {
			c, created, err = s.cfg.Texting.StartConversation(r.Context(), req.From, req.To)
		}
	default:
		c, created, err = s.chat.CreateConversation(r.Context(), req.Members, req.Name)
	}
	if err != nil {
		Error(w, r, s.logger, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, c)
}

func (s *Server) getConversation(w http.ResponseWriter, r *http.Request) {
	c, err := s.chat.Conversation(r.Context(), r.PathValue("id"))
	if err != nil {
		Error(w, r, s.logger, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

type renameRequest struct {
	Name *string `json:"name"`
}

func (s *Server) renameConversation(w http.ResponseWriter, r *http.Request) {
	var req renameRequest
	if err := decode(r, &req); err != nil {
		Error(w, r, s.logger, err)
		return
	} else if req.Name == nil {
		Error(w, r, s.logger, switchboard.Errorf(switchboard.EINVALID, "Field \"name\" is required."))
		return
	}
	c, err := s.chat.RenameConversation(r.Context(), r.PathValue("id"), *req.Name)
	if err != nil {
		Error(w, r, s.logger, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (s *Server) deleteConversation(w http.ResponseWriter, r *http.Request) {
	if err := s.chat.DeleteConversation(r.Context(), r.PathValue("id")); err != nil {
		Error(w, r, s.logger, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type membersRequest struct {
	Members []string `json:"members"`
}

func (s *Server) addMembers(w http.ResponseWriter, r *http.Request) {
	var req membersRequest
	if err := decode(r, &req); err != nil {
		Error(w, r, s.logger, err)
		return
	}
	c, err := s.chat.AddMembers(r.Context(), r.PathValue("id"), req.Members)
	if err != nil {
		Error(w, r, s.logger, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (s *Server) removeMember(w http.ResponseWriter, r *http.Request) {
	if err := s.chat.RemoveMember(r.Context(), r.PathValue("id"), r.PathValue("ext")); err != nil {
		Error(w, r, s.logger, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type readRequest struct {
	Seq *int64 `json:"seq"`
}

func (s *Server) markRead(w http.ResponseWriter, r *http.Request) {
	var req readRequest
	if err := decode(r, &req); err != nil {
		Error(w, r, s.logger, err)
		return
	} else if req.Seq == nil {
		Error(w, r, s.logger, switchboard.Errorf(switchboard.EINVALID, "Field \"seq\" is required."))
		return
	}
	if err := s.chat.MarkRead(r.Context(), r.PathValue("id"), *req.Seq); err != nil {
		Error(w, r, s.logger, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
