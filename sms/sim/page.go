package sim

import (
	"embed"
	"encoding/json"
	"net/http"
)

//go:embed static
var static embed.FS

// Handler serves the simulated phone at /sim (demo mode only). get returns
// the simulator of the provider named name; the page posts replies to that
// provider's webhook with its secret, as a carrier would.
func Handler(name, secret string, numbers func() []string, get func() (*Sim, error)) http.Handler {
	mux := http.NewServeMux()
	files := http.FileServerFS(static)
	mux.Handle("GET /sim/static/", http.StripPrefix("/sim", files))
	mux.HandleFunc("GET /sim", func(w http.ResponseWriter, r *http.Request) {
		b, _ := static.ReadFile("static/index.html")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
		w.Write(b)
	})
	mux.HandleFunc("GET /sim/api/state", func(w http.ResponseWriter, r *http.Request) {
		s, err := get()
		if err != nil {
			http.Error(w, "simulator unavailable", http.StatusServiceUnavailable)
			return
		}
		phone := r.URL.Query().Get("phone")
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		json.NewEncoder(w).Encode(map[string]any{
			"provider": name, "secret": secret, "numbers": numbers(), "phones": s.Phones(), "texts": s.Phone(phone),
		})
	})
	return mux
}
