// Package http is Switchboard's REST and WebSocket transport: it decodes
// requests, authenticates them, calls the chat use cases and encodes the
// results. routes.go lists the whole API.
package http

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/switchboard-chat/switchboard"
	"github.com/switchboard-chat/switchboard/chat"
	"github.com/switchboard-chat/switchboard/texting"
)

// SessionCookie is the name of the portal's session cookie.
const SessionCookie = "switchboard_session"

// Config holds what the HTTP layer needs besides the chat service.
type Config struct {
	Logger *slog.Logger
	// OpenAPI is the document served at /api/v1/openapi.yaml.
	OpenAPI []byte
	// TrustProxy makes X-Forwarded-For the client address (for throttling).
	TrustProxy bool
	// Portal serves the web portal: every GET outside /api/. It sets its own
	// Content-Security-Policy. Nil serves a plain page at /.
	Portal http.Handler
	// Texting handles SMS conversations, provider webhooks and MMS media
	// links; nil turns texting off.
	Texting *texting.Service
	// Extra handlers by route pattern, like the demo's phone simulator.
	Extra map[string]http.Handler
}

// Server holds the dependencies of the handlers.
type Server struct {
	chat   *chat.Service
	cfg    Config
	logger *slog.Logger

	// streams are the live event streams, closed by Shutdown.
	streams streamSet
	// ready caches the ready frame's data per domain.
	ready readyCache
	// setUps holds a token for each stream being set up (maxSetUps).
	setUps chan struct{}
}

// NewServer returns the HTTP handler of Switchboard and the server that
// backs it; call Shutdown to end long-lived streams.
func NewServer(svc *chat.Service, cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Server{chat: svc, cfg: cfg, logger: cfg.Logger, setUps: make(chan struct{}, maxSetUps)}
}

// Handler returns the root handler with every route and middleware.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	s.routes(mux)
	var h http.Handler = mux
	h = http.NewCrossOriginProtection().Handler(h)
	h = s.recoverer(h)
	h = securityHeaders(h)
	return h
}

// Shutdown closes the WebSocket streams with StatusGoingAway, and those
// set up later, so that http.Server.Shutdown can finish. It does not wait
// for the closing handshakes.
func (s *Server) Shutdown() { s.streams.shutdown() }

// securityHeaders sets defaults for every response; the portal's routes
// override the CSP with their own.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["X-Content-Type-Options"] = nosniff
		h["Referrer-Policy"] = sameOrigin
		h["X-Frame-Options"] = deny
		h["Content-Security-Policy"] = cspNone
		if strings.HasPrefix(r.URL.Path, "/api/") {
			h["Cache-Control"] = noStore
		}
		next.ServeHTTP(w, r)
	})
}

// The values of the headers every response has, made once: Header.Set
// would allocate each again for every request (the keys are written in
// canonical form). Each has one element and no room for more, so that an
// Add to one of them allocates anew and never writes into these.
var (
	nosniff    = []string{"nosniff"}
	sameOrigin = []string{"same-origin"}
	deny       = []string{"DENY"}
	cspNone    = []string{"default-src 'none'; frame-ancestors 'none'"}
	noStore    = []string{"no-store"}
	jsonType   = []string{"application/json"}
)

// recoverer turns a panic in a handler into a logged internal error, so no
// request can bring the server down.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.logger.Error("handler panic", "method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
				Error(w, r, s.logger, switchboard.Errorf(switchboard.EINTERNAL, "Internal error."))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// token returns the bearer token or session cookie of r.
func token(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		if t, ok := strings.CutPrefix(h, "Bearer "); ok {
			return strings.TrimSpace(t)
		}
		return ""
	}
	if c, err := r.Cookie(SessionCookie); err == nil {
		return c.Value
	}
	return ""
}

// authed wraps a handler that needs a signed-in extension: the identity is
// put in the request context.
func (s *Server) authed(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := s.chat.Authenticate(r.Context(), token(r))
		if err != nil {
			Error(w, r, s.logger, err)
			return
		}
		h(w, r.WithContext(switchboard.NewContextWithIdentity(r.Context(), id)))
	})
}

// clientAddr returns the client's IP for throttling.
func (s *Server) clientAddr(r *http.Request) string {
	if s.cfg.TrustProxy {
		if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
			first, _, _ := strings.Cut(xff, ",")
			return strings.TrimSpace(first)
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if _, err := s.chat.Store().LastCursor(switchboard.NewContextWithIdentity(ctx, switchboard.Identity{Domain: "-", Extension: "-"})); err != nil {
		Error(w, r, s.logger, switchboard.Errorf(switchboard.EUNAVAILABLE, "Storage is unavailable."))
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	w.Write(s.cfg.OpenAPI)
}
