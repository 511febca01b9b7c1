package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/switchboard-chat/switchboard"
	"github.com/switchboard-chat/switchboard/blob"
	"github.com/switchboard-chat/switchboard/chat"
	"github.com/switchboard-chat/switchboard/docs"
	sbhttp "github.com/switchboard-chat/switchboard/http"
	"github.com/switchboard-chat/switchboard/inmem"
	"github.com/switchboard-chat/switchboard/presence"
	"github.com/switchboard-chat/switchboard/sip"
	"github.com/switchboard-chat/switchboard/sqlite"
	"github.com/switchboard-chat/switchboard/texting"
	"github.com/switchboard-chat/switchboard/web"
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
	MaxUpload      byteSize
	SIPAddr        string
	PublicURL      string
	Sync           string
	DebugAddr      string
}

func (c *serveConfig) validate() error {
	if err := c.storageConfig.validate(); err != nil {
		return err
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("--addr %q: want HOST:PORT", c.Addr)
	}
	if c.SIPAddr != "" {
		if _, _, err := net.SplitHostPort(c.SIPAddr); err != nil {
			return fmt.Errorf("--sip-addr %q: want HOST:PORT, or empty to disable SIP", c.SIPAddr)
		}
	}
	if c.Sync != string(sqlite.SyncFull) && c.Sync != string(sqlite.SyncProcess) {
		return fmt.Errorf("--sync %q: want %q or %q", c.Sync, sqlite.SyncFull, sqlite.SyncProcess)
	}
	if c.DebugAddr != "" {
		if host, _, err := net.SplitHostPort(c.DebugAddr); err != nil || !net.ParseIP(host).IsLoopback() {
			return fmt.Errorf("--debug-addr %q: want a loopback HOST:PORT", c.DebugAddr)
		}
	}
	if c.MaxUpload < 1024 {
		return fmt.Errorf("--max-upload must be at least 1KB")
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
	cfg.MaxUpload = switchboard.DefaultMaxUpload
	fs.Var(&cfg.MaxUpload, "max-upload", "size limit of one attachment, like 25MB (SWITCHBOARD_MAX_UPLOAD)")
	fs.StringVar(&cfg.SIPAddr, "sip-addr", "127.0.0.1:5060", "address of the SIP registrar, UDP and TCP; empty disables it (SWITCHBOARD_SIP_ADDR)")
	fs.StringVar(&cfg.PublicURL, "public-url", "", "the URL the outside world reaches this server by, for provider webhooks and media links")
	fs.StringVar(&cfg.Sync, "sync", string(sqlite.SyncFull), "when a message is acknowledged: full (fsynced: survives power loss) or process (in the OS cache: survives kill -9) (SWITCHBOARD_SYNC); see docs/PERFORMANCE.md")
	fs.StringVar(&cfg.DebugAddr, "debug-addr", "", "loopback address to serve Go's profiler (net/http/pprof) and the store writer's counters (/debug/store) on; empty disables it (SWITCHBOARD_DEBUG_ADDR)")
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
	store, err := cfg.open(ctx, sqlite.Options{Publisher: bus, Logger: logger, Sync: sqlite.Sync(cfg.Sync)})
	if err != nil {
		return err
	}
	defer store.Close()
	pres, err := presence.New(ctx, bus, store, cfg.PresenceGrace)
	if err != nil {
		return err
	}
	blobs, err := blob.NewLocal(filepath.Join(cfg.Data, "files"))
	if err != nil {
		return err
	}
	svc := chat.New(chat.Deps{Store: store, Bus: bus, Presence: pres, Blobs: blobs, Logger: logger, MaxUpload: int64(cfg.MaxUpload)})

	key, err := mediaKey(cfg.Data)
	if err != nil {
		return err
	}
	httpClient := &http.Client{Timeout: 30 * time.Second}
	tx := texting.New(texting.Deps{Store: store, Chat: svc, Blobs: blobs, Factory: providerFactory(httpClient), Logger: logger,
		PublicURL: cfg.PublicURL, MediaKey: key})

	var demo *demoInfo
	extra := map[string]http.Handler{}
	if cfg.Demo {
		if demo, err = seedDemo(ctx, store, cfg.Data); err != nil {
			return fmt.Errorf("seed demo: %w", err)
		}
		if h, err := simPage(ctx, store, tx); err != nil {
			return fmt.Errorf("seed demo texting: %w", err)
		} else {
			extra["/sim"], extra["/sim/"] = h, h
		}
	}

	srv := sbhttp.NewServer(svc, sbhttp.Config{Logger: logger, OpenAPI: docs.OpenAPI, TrustProxy: cfg.TrustProxy,
		Texting: tx, Extra: extra, Portal: web.Handler()})
	// No TCP keep-alive probes: an idle HTTP connection is closed after
	// IdleTimeout, and an event stream is pinged every 30 s, which also
	// keeps NAT mappings alive; the probes' four socket options cost four
	// system calls per accepted connection, in a reconnect storm too.
	ln, err := (&net.ListenConfig{KeepAlive: -1}).Listen(ctx, "tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	var sipServer *sip.Server
	if cfg.SIPAddr != "" {
		sipServer = sip.New(sip.Config{Addr: cfg.SIPAddr, Dir: store, Registrations: store, Presence: pres, Bus: bus, Logger: logger})
		if err := sipServer.Listen(); err != nil {
			ln.Close()
			return fmt.Errorf("%w (choose another --sip-addr, or --sip-addr \"\" to turn SIP off)", err)
		}
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

	if cfg.DebugAddr != "" {
		go serveDebug(ctx, cfg.DebugAddr, store, logger)
	}
	go maintain(ctx, store, svc, blobs, cfg.EventRetention, logger)
	outboxDone := make(chan struct{})
	go func() {
		defer close(outboxDone)
		if err := tx.Run(ctx); err != nil {
			logger.Error("outbox stopped", "err", err)
		}
	}()
	errc := make(chan error, 2)
	sipDone := make(chan struct{})
	go func() {
		defer close(sipDone)
		if sipServer == nil {
			return
		}
		if err := sipServer.Run(ctx); err != nil {
			errc <- fmt.Errorf("sip registrar: %w", err)
		}
	}()
	// The accept loop yields between bursts, so that a storm of new
	// connections takes turns with the live traffic (sbhttp.YieldListener).
	go func() { errc <- hs.Serve(&sbhttp.YieldListener{Listener: ln}) }()
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
	<-outboxDone
	<-sipDone
	if err := store.Close(); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	logger.Info("stopped")
	return nil
}

// maintain runs the hourly housekeeping: old events are forgotten, uploads
// never posted are removed, and temporary files of a crash are cleaned.
func maintain(ctx context.Context, store *sqlite.Store, svc *chat.Service, blobs *blob.Local, retention time.Duration, logger *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if err := store.PruneEvents(ctx, time.Now().Add(-retention)); err != nil && ctx.Err() == nil {
			logger.Warn("prune events", "err", err)
		}
		if n, err := svc.RemoveUnattached(ctx); err != nil && ctx.Err() == nil {
			logger.Warn("remove unattached uploads", "err", err)
		} else if n > 0 {
			logger.Info("removed unattached uploads", "files", n)
		}
		if err := blobs.CleanTemp(time.Hour); err != nil {
			logger.Warn("clean temporary files", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
