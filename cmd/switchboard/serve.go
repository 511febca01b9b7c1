package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/switchboard-chat/switchboard/chat"
	"github.com/switchboard-chat/switchboard/docs"
	sbhttp "github.com/switchboard-chat/switchboard/http"
	"github.com/switchboard-chat/switchboard/inmem"
	"github.com/switchboard-chat/switchboard/presence"
	"github.com/switchboard-chat/switchboard/sqlite"
)

// serveConfig is the configuration of `switchboard serve`, validated once.
type serveConfig struct {
	storageConfig
	Addr           string
	Demo           bool
	LogLevel       string
	PresenceGrace  time.Duration
	EventRetention time.Duration
	TrustProxy     bool
}

func (c *serveConfig) validate() error {
	if err := c.storageConfig.validate(); err != nil {
		return err
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("--addr %q: want HOST:PORT", c.Addr)
	}
	if c.PresenceGrace < 0 || c.EventRetention < time.Hour {
		return fmt.Errorf("--presence-grace must not be negative and --event-retention must be at least 1h")
	}
	return nil
}

func serve(ctx context.Context, env *environment, args []string) error {
	var cfg serveConfig
	fs := newFlagSet("serve", env.stderr)
	cfg.register(fs)
	fs.StringVar(&cfg.Addr, "addr", "127.0.0.1:8080", "address to serve HTTP on (SWITCHBOARD_ADDR)")
	fs.BoolVar(&cfg.Demo, "demo", false, "create a demo domain when missing and print how to sign in")
	fs.StringVar(&cfg.LogLevel, "log-level", "info", "debug, info, warn or error")
	fs.DurationVar(&cfg.PresenceGrace, "presence-grace", presence.DefaultGrace, "how long a dropped chat client still counts as online")
	fs.DurationVar(&cfg.EventRetention, "event-retention", 7*24*time.Hour, "how long clients can resume the event stream from a cursor")
	fs.BoolVar(&cfg.TrustProxy, "trust-proxy", false, "take the client address from X-Forwarded-For")
	pos, err := parse(fs, args, env.getenv)
	if err != nil {
		return err
	} else if len(pos) > 0 {
		return fmt.Errorf("serve takes no arguments, got %q", pos)
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	logger, err := newLogger(env.stderr, cfg.LogLevel)
	if err != nil {
		return err
	}

	bus := inmem.NewBus(0)
	store, err := cfg.open(ctx, sqlite.Options{Publisher: bus, Logger: logger})
	if err != nil {
		return err
	}
	defer store.Close()
	pres := presence.New(bus, cfg.PresenceGrace)
	svc := chat.New(store, bus, pres, logger)

	var demo *demoInfo
	if cfg.Demo {
		if demo, err = seedDemo(ctx, store, cfg.Data); err != nil {
			return fmt.Errorf("seed demo: %w", err)
		}
	}

	srv := sbhttp.NewServer(svc, sbhttp.Config{Logger: logger, OpenAPI: docs.OpenAPI, TrustProxy: cfg.TrustProxy})
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	url := "http://" + ln.Addr().String()
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          nil,
	}
	fmt.Fprintf(env.stdout, "Switchboard is serving on %s\n", url)
	if demo != nil {
		demo.print(env.stdout, url)
	}
	logger.Info("serving", "url", url, "data", cfg.Data)

	go pruneEvents(ctx, store, cfg.EventRetention, logger)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	srv.Shutdown()
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		logger.Warn("shutdown", "err", err)
	}
	if err := store.Close(); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	logger.Info("stopped")
	return nil
}

// pruneEvents forgets old events every hour so the event log stays bounded.
func pruneEvents(ctx context.Context, store *sqlite.Store, retention time.Duration, logger interface {
	Warn(string, ...any)
}) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if err := store.PruneEvents(ctx, time.Now().Add(-retention)); err != nil && ctx.Err() == nil {
			logger.Warn("prune events", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
