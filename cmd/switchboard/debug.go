package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/switchboard-chat/switchboard/sqlite"
)

// serveDebug serves Go's profiler on addr (a loopback address, checked by
// serveConfig.validate) until ctx ends: `go tool pprof
// http://ADDR/debug/pprof/profile?seconds=10`. /debug/store is the store's
// writer counters as JSON (sqlite.WriterStats), which the benchmark reads
// before and after each step for the mean group-commit batch.
func serveDebug(ctx context.Context, addr string, store *sqlite.Store, logger *slog.Logger) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/store", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(store.WriterStats())
	})
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	hs := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		hs.Close()
	}()
	logger.Info("serving the profiler", "addr", addr)
	if err := hs.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		logger.Warn("profiler stopped", "err", err)
	}
}
