package http

import "net/http"

// routes lists the whole API (SPEC §3).
func (s *Server) routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", s.health)
	mux.HandleFunc("GET /api/v1/openapi.yaml", s.openAPI)

	mux.HandleFunc("POST /api/v1/login", s.login)
	mux.Handle("POST /api/v1/logout", s.authed(s.logout))
	mux.Handle("GET /api/v1/me", s.authed(s.me))
	mux.Handle("GET /api/v1/contacts", s.authed(s.contacts))
	mux.Handle("PUT /api/v1/me/presence", s.authed(s.setPresence))
	mux.HandleFunc("POST /api/v1/pbx/events", s.pbxEvent)

	mux.Handle("GET /api/v1/conversations", s.authed(s.listConversations))
	mux.Handle("POST /api/v1/conversations", s.authed(s.createConversation))
	mux.Handle("GET /api/v1/conversations/{id}", s.authed(s.getConversation))
	mux.Handle("PATCH /api/v1/conversations/{id}", s.authed(s.renameConversation))
	mux.Handle("DELETE /api/v1/conversations/{id}", s.authed(s.deleteConversation))
	mux.Handle("POST /api/v1/conversations/{id}/members", s.authed(s.addMembers))
	mux.Handle("DELETE /api/v1/conversations/{id}/members/{ext}", s.authed(s.removeMember))
	mux.Handle("POST /api/v1/conversations/{id}/read", s.authed(s.markRead))

	mux.Handle("GET /api/v1/conversations/{id}/messages", s.authed(s.listMessages))
	mux.Handle("POST /api/v1/conversations/{id}/messages", s.authed(s.sendMessage))
	mux.Handle("PATCH /api/v1/conversations/{id}/messages/{mid}", s.authed(s.editMessage))
	mux.Handle("DELETE /api/v1/conversations/{id}/messages/{mid}", s.authed(s.deleteMessage))

	mux.Handle("POST /api/v1/attachments", s.authed(s.uploadAttachment))
	mux.Handle("GET /api/v1/attachments/{id}", s.authed(s.downloadAttachment))
	mux.Handle("GET /api/v1/attachments/{id}/thumbnail", s.authed(s.downloadThumbnail))

	mux.Handle("GET /api/v1/events", s.authed(s.events))

	mux.HandleFunc("/webhooks/sms/{provider}", s.smsWebhook)
	mux.HandleFunc("GET /media/{domain}/{id}", s.media)
	for pattern, h := range s.cfg.Extra {
		mux.Handle(pattern, h)
	}

	mux.HandleFunc("/api/", s.notFound)
	// Everything else belongs to the web portal (cfg.Portal), which sets its
	// own Content-Security-Policy.
	mux.Handle("/", s.portal())
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	Error(w, r, s.logger, errNoRoute)
}
