// Package sip is Switchboard's SIP side, on UDP and TCP:
//
//   - a registrar (registrar.go): phones REGISTER as EXT@DOMAIN with digest
//     authentication (realm = domain, username = extension, checked against
//     the stored HA1); each binding counts as a device of the extension and
//     is stored, so registrations survive a restart;
//   - call state (dialog.go): Switchboard subscribes to the dialog events
//     (RFC 4235) of each registered phone that accepts it, and an extension
//     whose phone is in a call turns red;
//   - busy lamps (blf.go): a phone may SUBSCRIBE to the dialog or presence
//     events of another extension of its domain and receives NOTIFYs that
//     follow that extension's presence.
//
// Nothing crosses domains: a phone of one domain can neither register as,
// nor watch, an extension of another.
package sip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/switchboard-chat/switchboard"
)

// Defaults of Config.
const (
	DefaultMinExpires = 60 * time.Second
	DefaultMaxExpires = time.Hour
	DefaultExpires    = time.Hour
)

// Config configures a Server. Addr, Dir, Registrations, Presence and Bus
// are required.
type Config struct {
	Addr          string // host:port to listen on, UDP and TCP
	Dir           switchboard.DirectoryStore
	Registrations switchboard.RegistrationStore
	Presence      switchboard.PresenceService
	Bus           switchboard.EventBus
	Logger        *slog.Logger

	// MinExpires is the shortest registration or subscription accepted
	// (shorter ones get 423 Interval Too Brief); MaxExpires caps longer
	// ones; DefaultExpires applies when the request names none.
	MinExpires, MaxExpires, DefaultExpires time.Duration

	// SHA256 also challenges with SHA-256 (RFC 8760), after MD5. It is off
	// by default: some phones fail on a challenge they cannot answer
	// instead of skipping it (baresip 1.0 does).
	SHA256 bool
}

// Limits that keep one extension from holding unbounded state, and other
// fixed settings.
const (
	maxContacts      = 10  // bindings per extension
	maxWatches       = 200 // busy-lamp subscriptions per extension
	maxURI           = 512 // characters of a Contact URI
	maxBody          = 64 << 10
	requestTimeout   = 32 * time.Second // a client transaction's Timer F
	storeTimeout     = 10 * time.Second
	userAgent        = "Switchboard"
	allowMethods     = "REGISTER, SUBSCRIBE, NOTIFY, OPTIONS"
	allowEvents      = "dialog, presence"
	failuresPerIP    = 10
	failuresPerAOR   = 10
	failureWindowIP  = time.Minute
	failureWindowAOR = 5 * time.Minute
)

// setSipgoLogger sets sipgo's package-wide logger once, to the logger of
// the first server.
var setSipgoLogger sync.Once

// Server is the SIP registrar, dialog-event subscriber and busy-lamp
// notifier. Create it with New, then call Run once.
type Server struct {
	cfg     Config
	log     *slog.Logger
	now     func() time.Time
	auth    *authenticator
	failIP  *throttle
	failAOR *throttle

	ua     *sipgo.UserAgent
	srv    *sipgo.Server
	client *sipgo.Client
	udp    net.PacketConn
	tcp    net.Listener

	closing chan struct{} // closed when Run begins to shut down
	wg      sync.WaitGroup

	mu      sync.Mutex
	closed  bool
	aors    map[string]*aor         // "ext@domain" → bindings
	dialogs map[string]*dialogSub   // outgoing dialog subscriptions by Call-ID
	watches map[string]*watch       // busy-lamp subscriptions by dialog id
	domains map[string]*domainWatch // domains with busy lamps → their event feed
}

// New returns a server for cfg, filling in defaults. It does not listen
// yet: Listen or Run does.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MinExpires <= 0 {
		cfg.MinExpires = DefaultMinExpires
	}
	if cfg.MaxExpires <= 0 {
		cfg.MaxExpires = DefaultMaxExpires
	}
	cfg.MaxExpires = max(cfg.MaxExpires, cfg.MinExpires)
	if cfg.DefaultExpires <= 0 {
		cfg.DefaultExpires = DefaultExpires
	}
	cfg.DefaultExpires = min(max(cfg.DefaultExpires, cfg.MinExpires), cfg.MaxExpires)
	s := &Server{
		cfg:     cfg,
		log:     cfg.Logger,
		now:     time.Now,
		closing: make(chan struct{}),
		aors:    map[string]*aor{},
		dialogs: map[string]*dialogSub{},
		watches: map[string]*watch{},
		domains: map[string]*domainWatch{},
	}
	s.auth = newAuthenticator(DefaultNonceTTL, s.now, cfg.SHA256)
	s.failIP = newThrottle(failuresPerIP, failureWindowIP, s.now)
	s.failAOR = newThrottle(failuresPerAOR, failureWindowAOR, s.now)
	return s
}

// Listen binds the UDP and TCP sockets (the same port for both; with port
// 0, one that is free for both). Run calls it if it was not called before;
// calling it first reports an address in use before anything else starts.
func (s *Server) Listen() error {
	if s.udp != nil {
		return nil
	}
	host, port, err := net.SplitHostPort(s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("sip address %q: %w", s.cfg.Addr, err)
	}
	for attempt := 0; ; attempt++ {
		udp, err := net.ListenPacket("udp", net.JoinHostPort(host, port))
		if err != nil {
			return fmt.Errorf("listen sip udp: %w", err)
		}
		_, p, _ := net.SplitHostPort(udp.LocalAddr().String())
		tcp, err := net.Listen("tcp", net.JoinHostPort(host, p))
		if err != nil {
			udp.Close()
			if port == "0" && attempt < 10 {
				continue
			}
			return fmt.Errorf("listen sip tcp: %w", err)
		}
		s.udp, s.tcp = udp, tcp
		break
	}
	logger := s.log.With("component", "sipgo")
	// Some of sipgo's connection handling logs to its package logger.
	setSipgoLogger.Do(func() { sip.SetDefaultLogger(logger) })
	s.ua, err = sipgo.NewUA(sipgo.WithUserAgent(userAgent),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(logger)),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(logger),
			sip.WithTransactionLayerUnhandledResponseHandler(func(*sip.Response) {})))
	if err == nil {
		s.srv, err = sipgo.NewServer(s.ua, sipgo.WithServerLogger(logger))
	}
	if err == nil {
		s.client, err = sipgo.NewClient(s.ua, sipgo.WithClientLogger(logger))
	}
	if err != nil {
		s.udp.Close()
		s.tcp.Close()
		return fmt.Errorf("sip user agent: %w", err)
	}
	s.srv.OnRegister(s.handle(s.onRegister))
	s.srv.OnSubscribe(s.handle(s.onSubscribe))
	s.srv.OnNotify(s.handle(s.onNotify))
	s.srv.OnOptions(s.handle(s.onOptions))
	s.srv.OnNoRoute(s.handle(s.onOther))
	return nil
}

// Addr returns the address the server listens on (after Listen).
func (s *Server) Addr() string {
	if s.udp == nil {
		return s.cfg.Addr
	}
	return s.udp.LocalAddr().String()
}

// Run restores the stored registrations, serves SIP until ctx ends, then
// shuts down: it stops accepting requests, waits for those in progress and
// for its background work, and closes its sockets. It returns nil after a
// clean shutdown, or the error that kept it from starting.
func (s *Server) Run(ctx context.Context) error {
	if err := s.Listen(); err != nil {
		return err
	}
	restored, err := s.restore(ctx)
	if err != nil {
		s.udp.Close()
		s.tcp.Close()
		s.ua.Close()
		return err
	}
	served := make(chan struct{}, 2)
	go func() { s.srv.ServeUDP(s.udp); served <- struct{}{} }()
	go func() { s.srv.ServeTCP(s.tcp); served <- struct{}{} }()
	s.waitServing()
	for _, b := range restored {
		s.startDialog(b)
	}
	s.log.Info("sip registrar listening", "addr", s.Addr(), "transports", "udp,tcp", "restored", len(restored))

	<-ctx.Done()
	s.mu.Lock()
	s.closed = true
	for _, a := range s.aors {
		for _, b := range a.bindings {
			b.timer.Stop()
		}
	}
	for _, d := range s.domains {
		d.feed.Close()
	}
	s.mu.Unlock()
	close(s.closing)
	s.udp.Close()
	s.tcp.Close()
	s.wg.Wait()
	<-served
	<-served
	s.ua.Close()
	return nil
}

// waitServing waits until the UDP listener is in sipgo's connection pool,
// which requests sent from the listening port need.
func (s *Server) waitServing() {
	for range 200 {
		if len(s.ua.TransportLayer().ListenPorts("udp")) > 0 && len(s.ua.TransportLayer().ListenPorts("tcp")) > 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// handle wraps a request handler so that shutdown waits for it, and
// refuses requests once shutdown began.
func (s *Server) handle(h func(req *sip.Request, tx sip.ServerTransaction)) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		if !s.enter() {
			if !req.IsAck() && tx != nil {
				s.respond(tx, req, 503, "Service Unavailable")
			}
			return
		}
		defer s.wg.Done()
		h(req, tx)
	}
}

// enter counts one piece of work that shutdown must wait for; false once
// shutdown began.
func (s *Server) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	return true
}

// goBackground runs fn in a goroutine that shutdown waits for (not at all
// once shutdown began).
func (s *Server) goBackground(fn func()) {
	if !s.enter() {
		return
	}
	go func() {
		defer s.wg.Done()
		fn()
	}()
}

// opContext returns a context for one operation: it ends after timeout or
// when the server shuts down.
func (s *Server) opContext(timeout time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	go func() {
		select {
		case <-s.closing:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// respond sends a response with extra headers to req.
func (s *Server) respond(tx sip.ServerTransaction, req *sip.Request, code int, reason string, hdrs ...sip.Header) *sip.Response {
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	res.AppendHeader(sip.NewHeader("Server", userAgent))
	if err := tx.Respond(res); err != nil {
		s.log.Debug("sip respond failed", "status", code, "method", string(req.Method), "err", err)
	}
	return res
}

func (s *Server) onOptions(req *sip.Request, tx sip.ServerTransaction) {
	s.respond(tx, req, 200, "OK", sip.NewHeader("Allow", allowMethods), sip.NewHeader("Allow-Events", allowEvents),
		sip.NewHeader("Accept", "application/dialog-info+xml, application/pidf+xml"))
}

func (s *Server) onOther(req *sip.Request, tx sip.ServerTransaction) {
	if req.IsAck() {
		return
	}
	s.respond(tx, req, 405, "Method Not Allowed", sip.NewHeader("Allow", allowMethods))
}

// sourceIP returns the IP a request came from.
func sourceIP(req *sip.Request) string {
	host, _, err := net.SplitHostPort(req.Source())
	if err != nil {
		return req.Source()
	}
	return host
}

// transportOf returns "udp" or "tcp" for a request.
func transportOf(req *sip.Request) string {
	return strings.ToLower(req.Transport())
}

// headerValue returns the trimmed value of the first header called name.
func headerValue(m interface{ GetHeader(string) sip.Header }, name string) string {
	if h := m.GetHeader(name); h != nil {
		return strings.TrimSpace(h.Value())
	}
	return ""
}

// parseSeconds parses a delta-seconds value (RFC 3261 §25.1); values over
// 2^32-1 are clamped as the RFC allows.
func parseSeconds(v string) (int64, error) {
	v = strings.TrimSpace(v)
	if v == "" || strings.TrimLeft(v, "0123456789") != "" {
		return 0, errors.New("not a number of seconds")
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || n > 1<<32-1 {
		return 1<<32 - 1, nil
	}
	return int64(n), nil
}

// localURI returns the URI by which a peer at addr reaches this server
// over transport: for Contact headers.
func (s *Server) localURI(transport, peer string) sip.Uri {
	var local net.Addr = s.udp.LocalAddr()
	if transport == "tcp" {
		local = s.tcp.Addr()
	}
	host, port, _ := net.SplitHostPort(local.String())
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		// Bound to every interface: name the one that routes to the peer.
		if c, err := net.Dial("udp", peer); err == nil {
			host, _, _ = net.SplitHostPort(c.LocalAddr().String())
			c.Close()
		}
	}
	p, _ := strconv.Atoi(port)
	u := sip.Uri{Scheme: "sip", User: "switchboard", Host: host, Port: p}
	if transport == "tcp" {
		u.UriParams = sip.NewParams()
		u.UriParams.Add("transport", "tcp")
	}
	return u
}

// send sends a request outside any server transaction to dest over
// transport and returns its final response. UDP requests leave from the
// listening port, so that phones (and NATs) see the registrar's address.
func (s *Server) send(ctx context.Context, req *sip.Request, dest, transport string) (*sip.Response, error) {
	req.SetDestination(dest)
	req.SetTransport(strings.ToUpper(transport))
	local := s.localURI(transport, dest)
	via := &sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: strings.ToUpper(transport),
		Host: local.Host, Port: local.Port, Params: sip.NewParams()}
	via.Params.Add("branch", sip.GenerateBranchN(16))
	via.Params.Add("rport", "")
	req.PrependHeader(via)
	if transport == "udp" {
		a := s.udp.LocalAddr().(*net.UDPAddr)
		req.Laddr = sip.Addr{IP: a.IP, Port: a.Port, Hostname: a.IP.String()}
	}
	req.AppendHeader(sip.NewHeader("User-Agent", userAgent))
	return s.client.Do(ctx, req)
}

// newTag returns a random tag for From/To headers.
func newTag() string { return sip.GenerateTagN(16) }

// sipURI parses a sip: or sips: URI.
func sipURI(raw string) (sip.Uri, bool) {
	var u sip.Uri
	if err := sip.ParseUri(raw, &u); err != nil || (u.Scheme != "sip" && u.Scheme != "sips") || u.Host == "" {
		return sip.Uri{}, false
	}
	return u, true
}
