// Package web is Switchboard's web portal: a single-page app in TypeScript
// with Preact and signals (sources in src/), bundled by esbuild's Go API
// (build/main.go, run by go generate) into dist/, and embedded in the binary.
//
// npm fetches the packages at build time only (make web runs npm ci, then
// go generate ./web); the binary needs no Node. A plain go build without a
// bundle still compiles: Handler then serves a page that says how to build
// the portal.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:generate go run ./build

//go:embed all:dist
var dist embed.FS

// CSP is the Content-Security-Policy of every portal response: scripts,
// styles and fonts only from the portal's own files (no inline script or
// style at all), pictures also from blob: and data: URLs (local previews of
// uploads), connections only to the same origin (REST and WebSocket).
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; " +
	"connect-src 'self'; font-src 'self'; manifest-src 'self'; media-src 'self' blob:; " +
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Handler serves the embedded portal; see New.
func Handler() http.Handler {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // "dist" is a valid path; fs.Sub cannot fail on it
	}
	return New(sub)
}

// New serves the portal bundle in fsys (the layout build/main.go writes):
//
//   - /assets/NAME: the content-hashed files, cached for a year as immutable;
//     a missing asset is 404 (never the page, which would be cached forever).
//   - other files at the top of fsys (manifest.webmanifest): with no-cache.
//   - every other GET path: index.html with no-cache and an ETag, so that
//     client routes like /chat/ID load the app (SPA fallback).
//
// A file NAME.gz beside NAME is sent instead to clients that accept gzip.
// When fsys has no index.html, every path gets a page that explains how to
// build the portal. Every response carries CSP.
func New(fsys fs.FS) http.Handler {
	h := &handler{fsys: fsys}
	if b, err := fs.ReadFile(fsys, "index.html"); err == nil {
		sum := sha256.Sum256(b)
		h.index, h.etag = b, `"`+hex.EncodeToString(sum[:8])+`"`
	}
	return h
}

type handler struct {
	fsys  fs.FS
	index []byte // nil when the bundle was not built
	etag  string
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", CSP)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hd.Set("Allow", "GET, HEAD")
		http.Error(w, "Method not allowed.", http.StatusMethodNotAllowed)
		return
	}
	if h.index == nil {
		hd.Set("Cache-Control", "no-store")
		hd.Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(notBuiltPage))
		return
	}
	p := path.Clean("/" + r.URL.Path)
	if name, ok := strings.CutPrefix(p, "/assets/"); ok {
		if !h.serveFile(w, r, "assets/"+name, "public, max-age=31536000, immutable") {
			hd.Set("Cache-Control", "no-cache")
			http.NotFound(w, r)
		}
		return
	}
	if name := strings.TrimPrefix(p, "/"); name != "" && name != "index.html" && !strings.Contains(name, "/") {
		if h.serveFile(w, r, name, "no-cache") {
			return
		}
	}
	hd.Set("Cache-Control", "no-cache")
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("ETag", h.etag)
	http.ServeContent(w, r, "index.html", time.Time{}, bytes.NewReader(h.index))
}

// serveFile serves the regular file name of fsys, or its gzip variant, and
// reports whether there was one.
func (h *handler) serveFile(w http.ResponseWriter, r *http.Request, name, cacheControl string) bool {
	if !fs.ValidPath(name) || strings.HasSuffix(name, ".gz") {
		return false
	}
	b, err := fs.ReadFile(h.fsys, name)
	if err != nil {
		return false
	}
	hd := w.Header()
	hd.Set("Cache-Control", cacheControl)
	hd.Set("Content-Type", contentType(name))
	hd.Add("Vary", "Accept-Encoding")
	if acceptsGzip(r) {
		if gz, err := fs.ReadFile(h.fsys, name+".gz"); err == nil {
			hd.Set("Content-Encoding", "gzip")
			b = gz
		}
	}
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(b))
	return true
}

func contentType(name string) string {
	switch path.Ext(name) {
	case ".webmanifest":
		return "application/manifest+json"
	case ".map":
		return "application/json"
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") {
			return strings.ReplaceAll(strings.TrimSpace(q), " ", "") != "q=0"
		}
	}
	return false
}

// notBuiltPage is served when the binary was built without the bundle.
const notBuiltPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Switchboard: the portal is not built</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
</head><body>
<h1>Switchboard</h1>
<p>This binary was built without the web portal. The API works as usual at <code>/api/v1</code>
(<a href="/api/v1/openapi.yaml">OpenAPI document</a>).</p>
<p>To build the portal into the binary, run this in the source tree (it needs Go and, at build time
only, Node.js with npm):</p>
<pre>make build</pre>
<p>or, step by step:</p>
<pre>cd web &amp;&amp; npm ci &amp;&amp; cd ..
go generate ./web
go build -o bin/ ./cmd/...</pre>
</body></html>
`
