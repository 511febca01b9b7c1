package http

import (
	"net/http"
)

// homePage is served at / until the portal is built into the binary.
const homePage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Switchboard</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
</head><body><h1>Switchboard</h1>
<p>Team chat, texting and presence for your phone system.</p>
<p>The API is at <code>/api/v1</code>; its OpenAPI document is at <a href="/api/v1/openapi.yaml">/api/v1/openapi.yaml</a>.</p>
</body></html>`

func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write([]byte(homePage))
}
