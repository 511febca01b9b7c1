package http

import (
	"net/http"
	"time"

	"github.com/switchboard-chat/switchboard"
	"github.com/switchboard-chat/switchboard/chat"
)

var errNoRoute = switchboard.Errorf(switchboard.ENOTFOUND, "No such endpoint.")

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

type loginResponse struct {
	Token string   `json:"token"`
	User  *chat.Me `json:"user"`
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var req loginRequest
	if err := decode(r, &req); err != nil {
		Error(w, r, s.logger, err)
		return
	}
	token, u, err := s.chat.Login(r.Context(), req.Username, req.Password, s.clientAddr(r))
	if err != nil {
		Error(w, r, s.logger, err)
		return
	}
	me := chat.MeOf(u)
	if s.cfg.Texting != nil {
		ctx := switchboard.NewContextWithIdentity(r.Context(), switchboard.Identity{Domain: u.Domain, Extension: u.Extension, Level: u.Level})
		if me.TextingNumbers, err = s.cfg.Texting.MyNumbers(ctx); err != nil {
			Error(w, r, s.logger, err)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: token, Path: "/", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteLaxMode, Expires: time.Now().Add(chat.SessionTTL),
	})
	writeJSON(w, http.StatusOK, loginResponse{Token: token, User: me})
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if err := s.chat.Logout(r.Context(), token(r)); err != nil {
		Error(w, r, s.logger, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", HttpOnly: true, MaxAge: -1})
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) {
	me, err := s.chat.Me(r.Context())
	if err != nil {
		Error(w, r, s.logger, err)
		return
	}
	if s.cfg.Texting != nil {
		if me.TextingNumbers, err = s.cfg.Texting.MyNumbers(r.Context()); err != nil {
			Error(w, r, s.logger, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, me)
}

func (s *Server) contacts(w http.ResponseWriter, r *http.Request) {
	list, err := s.chat.Contacts(r.Context(), r.URL.Query().Get("q"))
	if err != nil {
		Error(w, r, s.logger, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"contacts": list})
}
