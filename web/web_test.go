package web

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

func bundle() fstest.MapFS {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("console.log(1)"))
	zw.Close()
	return fstest.MapFS{
		".gitkeep":             {},
		"index.html":           {Data: []byte(`<!doctype html><script type="module" src="/assets/app-ABC.js"></script>`)},
		"manifest.webmanifest": {Data: []byte(`{"name":"Switchboard"}`)},
		"assets/app-ABC.js":    {Data: []byte("console.log(1)")},
		"assets/app-ABC.js.gz": {Data: gz.Bytes()},
		"assets/app-ABC.css":   {Data: []byte("body{}")},
	}
}

func get(t *testing.T, h http.Handler, method, path string, header ...string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w.Result()
}

func body(t *testing.T, r *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestHandler(t *testing.T) {
	h := New(bundle())
	tests := []struct {
		path, accept string
		status       int
		cache, ctype string
		body         string
		encoding     string
	}{
		{path: "/", status: 200, cache: "no-cache", ctype: "text/html; charset=utf-8", body: "app-ABC.js"},
		{path: "/chat/c_123", status: 200, cache: "no-cache", ctype: "text/html; charset=utf-8", body: "app-ABC.js"},
		{path: "/index.html", status: 200, cache: "no-cache", ctype: "text/html; charset=utf-8", body: "app-ABC.js"},
		{path: "/some/deep/route/", status: 200, cache: "no-cache", ctype: "text/html; charset=utf-8", body: "app-ABC.js"},
		{path: "/assets/app-ABC.js", status: 200, cache: "public, max-age=31536000, immutable", ctype: "text/javascript; charset=utf-8", body: "console.log(1)"},
		{path: "/assets/app-ABC.js", accept: "gzip, deflate", status: 200, cache: "public, max-age=31536000, immutable", ctype: "text/javascript; charset=utf-8", encoding: "gzip"},
		{path: "/assets/app-ABC.js", accept: "gzip;q=0", status: 200, ctype: "text/javascript; charset=utf-8", body: "console.log(1)"},
		{path: "/assets/app-ABC.css", status: 200, cache: "public, max-age=31536000, immutable", ctype: "text/css; charset=utf-8", body: "body{}"},
		{path: "/assets/app-ABC.js.gz", status: 404, cache: "no-cache"},
		{path: "/assets/app-OLD.js", status: 404, cache: "no-cache"},
		{path: "/assets/../index.html", status: 200, body: "app-ABC.js"},
		{path: "/manifest.webmanifest", status: 200, cache: "no-cache", ctype: "application/manifest+json", body: "Switchboard"},
	}
	for _, tt := range tests {
		r := get(t, h, "GET", tt.path, "Accept-Encoding", tt.accept)
		if r.StatusCode != tt.status {
			t.Errorf("GET %s = %d, want %d", tt.path, r.StatusCode, tt.status)
		}
		if got := r.Header.Get("Content-Security-Policy"); got != CSP {
			t.Errorf("GET %s: CSP %q, want %q", tt.path, got, CSP)
		}
		if tt.cache != "" && r.Header.Get("Cache-Control") != tt.cache {
			t.Errorf("GET %s: Cache-Control %q, want %q", tt.path, r.Header.Get("Cache-Control"), tt.cache)
		}
		if tt.ctype != "" && r.Header.Get("Content-Type") != tt.ctype {
			t.Errorf("GET %s: Content-Type %q, want %q", tt.path, r.Header.Get("Content-Type"), tt.ctype)
		}
		if got := r.Header.Get("Content-Encoding"); got != tt.encoding {
			t.Errorf("GET %s (Accept-Encoding %q): Content-Encoding %q, want %q", tt.path, tt.accept, got, tt.encoding)
		}
		if b := body(t, r); !strings.Contains(b, tt.body) {
			t.Errorf("GET %s: body %q, want it to contain %q", tt.path, b, tt.body)
		}
	}
}

func TestHandlerRevalidatesIndex(t *testing.T) {
	h := New(bundle())
	etag := get(t, h, "GET", "/").Header.Get("ETag")
	if etag == "" {
		t.Fatal("index.html has no ETag")
	}
	if r := get(t, h, "GET", "/chat/x", "If-None-Match", etag); r.StatusCode != http.StatusNotModified {
		t.Errorf("GET with If-None-Match = %d, want 304", r.StatusCode)
	}
}

func TestHandlerMethods(t *testing.T) {
	h := New(bundle())
	if r := get(t, h, "HEAD", "/"); r.StatusCode != 200 {
		t.Errorf("HEAD / = %d, want 200", r.StatusCode)
	}
	r := get(t, h, "POST", "/")
	if r.StatusCode != http.StatusMethodNotAllowed || r.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST / = %d (Allow %q), want 405 with Allow: GET, HEAD", r.StatusCode, r.Header.Get("Allow"))
	}
}

// Without a bundle (a plain go build), every path explains how to build it.
func TestHandlerWithoutBundle(t *testing.T) {
	h := New(fstest.MapFS{".gitkeep": {}})
	for _, path := range []string{"/", "/chat/x", "/assets/app-ABC.js"} {
		r := get(t, h, "GET", path)
		b := body(t, r)
		if r.StatusCode != 200 || !strings.Contains(b, "make build") {
			t.Errorf("GET %s = %d %q, want the page that says to run make build", path, r.StatusCode, b)
		}
		if r.Header.Get("Content-Security-Policy") != CSP || r.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("GET %s: CSP %q, Cache-Control %q; want the strict CSP and no-store", path, r.Header.Get("Content-Security-Policy"), r.Header.Get("Cache-Control"))
		}
		if strings.Contains(b, "<script") || strings.Contains(b, "style=") {
			t.Errorf("GET %s: the page has inline script or style", path)
		}
	}
}

// The embedded bundle is whatever web/dist held at build time: either a
// complete portal or nothing at all.
func TestEmbedded(t *testing.T) {
	r := get(t, Handler(), "GET", "/")
	b := body(t, r)
	if r.StatusCode != 200 || !(strings.Contains(b, "/assets/app-") || strings.Contains(b, "make build")) {
		t.Errorf("GET / = %d %q, want the portal or the page that says how to build it", r.StatusCode, b)
	}
}
