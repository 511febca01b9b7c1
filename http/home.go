package http

import (
	"net/http"
)

// homePage is served at / when no portal is configured.
const homePage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Switchboard</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
</head><body><h1>Switchboard</h1>
<p>Team chat, texting and presence for your phone system.</p>
<p>The API is at <code>/api/v1</code>; its OpenAPI document is at <a href="/api/v1/openapi.yaml">/api/v1/openapi.yaml</a>.</p>
</body></html>`

// portal returns the portal's handler, or without one a page at / that
// says where the API is.
func (s *Server) portal() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "Method not allowed.", http.StatusMethodNotAllowed)
			return
		}
		if s.cfg.Portal != nil {
			s.cfg.Portal.ServeHTTP(w, r)
			return
		}
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		s.home(w, r)
	})
}

func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write([]byte(homePage))
}
