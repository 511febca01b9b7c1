package sip

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/switchboard-chat/switchboard"
)

// aor is the address of record EXT@DOMAIN and its bindings.
type aor struct {
	domain, ext string
	// mu serialises the REGISTERs (and expiries) of the AOR, store writes
	// included, so that bindings in memory and in the store agree.
	mu sync.Mutex
	// bindings maps a Contact URI to its binding; guarded by Server.mu.
	bindings map[string]*binding
}

// binding is one registered contact of an AOR.
type binding struct {
	reg    switchboard.Registration
	timer  *time.Timer // expiry
	dialog *dialogSub  // the subscription to its dialog events, if any
}

// deviceID is the presence device id of a binding.
func deviceID(contact string) string { return "sip:" + contact }

// contactSpec is one Contact of a REGISTER.
type contactSpec struct {
	URI     string
	Expires int64 // the ;expires= parameter, -1 if absent
}

// registerRequest is what a REGISTER asks for.
type registerRequest struct {
	Contacts []contactSpec
	Wildcard bool  // Contact: *
	Expires  int64 // the Expires header, -1 if absent
	CallID   string
	CSeq     int64
}

// registerPlan is what a REGISTER changes.
type registerPlan struct {
	save   []switchboard.Registration // new or refreshed bindings
	remove []string                   // contacts whose bindings end
}

// sipError is a SIP failure response.
type sipError struct {
	code    int
	reason  string
	headers []sip.Header
}

func (e *sipError) Error() string { return fmt.Sprintf("%d %s", e.code, e.reason) }

// parseRegister reads the Contact and Expires headers of a REGISTER,
// including the forms real phones send: several contacts, one header or
// many, ;expires= on a Contact (baresip unregisters with ;expires=0 and no
// Expires header), and Contact: *.
func parseRegister(req *sip.Request) (registerRequest, *sipError) {
	r := registerRequest{Expires: -1}
	bad := func(why string) (registerRequest, *sipError) {
		return registerRequest{}, &sipError{code: 400, reason: "Bad Request (" + why + ")"}
	}
	if req.CallID() == nil || req.CSeq() == nil {
		return bad("no Call-ID or CSeq")
	}
	r.CallID, r.CSeq = req.CallID().Value(), int64(req.CSeq().SeqNo)
	if v := headerValue(req, "Expires"); v != "" {
		n, err := parseSeconds(v)
		if err != nil {
			return bad("Expires")
		}
		r.Expires = n
	}
	for _, h := range req.GetHeaders("Contact") {
		c, ok := h.(*sip.ContactHeader)
		if !ok {
			return bad("Contact")
		}
		if c.Address.Wildcard {
			r.Wildcard = true
			continue
		}
		if c.Address.Scheme != "sip" && c.Address.Scheme != "sips" || c.Address.Host == "" {
			return bad("Contact must be a sip: URI")
		}
		spec := contactSpec{URI: c.Address.String(), Expires: -1}
		if len(spec.URI) > maxURI {
			return bad("Contact too long")
		}
		if v, ok := c.Params.Get("expires"); ok {
			n, err := parseSeconds(v)
			if err != nil {
				return bad("Contact expires")
			}
			spec.Expires = n
		}
		r.Contacts = append(r.Contacts, spec)
	}
	if r.Wildcard && (len(r.Contacts) > 0 || r.Expires != 0) {
		return bad("Contact: * needs Expires: 0 and no other contact")
	}
	return r, nil
}

// registrarLimits are the expiry bounds of a registrar, in seconds.
type registrarLimits struct {
	min, max, def int64
}

// planRegister applies RFC 3261 §10.3 to the current bindings of an AOR:
// per contact, its ;expires=, else the Expires header, else the default;
// a non-zero expiry under the minimum fails the whole request with 423, a
// longer one than the maximum is shortened; 0 removes; a request older
// than a binding's (same Call-ID, CSeq not higher) fails with 500.
func planRegister(cur map[string]switchboard.Registration, r registerRequest, lim registrarLimits, now time.Time) (registerPlan, *sipError) {
	var p registerPlan
	outOfOrder := &sipError{code: 500, reason: "Server Internal Error (out-of-order REGISTER)"}
	stale := func(b switchboard.Registration) bool { return b.CallID == r.CallID && r.CSeq <= b.CSeq }
	if r.Wildcard {
		for contact, b := range cur {
			if stale(b) {
				return registerPlan{}, outOfOrder
			}
			p.remove = append(p.remove, contact)
		}
		return p, nil
	}
	count := len(cur)
	seen := map[string]bool{}
	for _, c := range r.Contacts {
		if seen[c.URI] {
			continue
		}
		seen[c.URI] = true
		exp := c.Expires
		if exp < 0 {
			exp = r.Expires
		}
		if exp < 0 {
			exp = lim.def
		}
		if exp > 0 && exp < lim.min {
			return registerPlan{}, &sipError{code: 423, reason: "Interval Too Brief",
				headers: []sip.Header{sip.NewHeader("Min-Expires", strconv.FormatInt(lim.min, 10))}}
		}
		exp = min(exp, lim.max)
		old, exists := cur[c.URI]
		if exists && stale(old) {
			return registerPlan{}, outOfOrder
		}
		if exp == 0 {
			if exists {
				p.remove = append(p.remove, c.URI)
				count--
			}
			continue
		}
		if !exists {
			count++
		}
		p.save = append(p.save, switchboard.Registration{Contact: c.URI, CallID: r.CallID, CSeq: r.CSeq,
			ExpiresAt: now.Add(time.Duration(exp) * time.Second)})
	}
	if count > maxContacts {
		return registerPlan{}, &sipError{code: 403, reason: fmt.Sprintf("Forbidden (at most %d devices per extension)", maxContacts)}
	}
	return p, nil
}

func (s *Server) onRegister(req *sip.Request, tx sip.ServerTransaction) {
	to := req.To()
	if to == nil {
		s.respond(tx, req, 400, "Bad Request (no To)")
		return
	}
	domain, ext, ok := s.authenticate(req, tx, to.Address)
	if !ok {
		return
	}
	r, serr := parseRegister(req)
	if serr != nil {
		s.respond(tx, req, serr.code, serr.reason, serr.headers...)
		return
	}
	a := s.aorFor(domain, ext)
	a.mu.Lock()
	defer a.mu.Unlock()
	s.mu.Lock()
	cur := make(map[string]switchboard.Registration, len(a.bindings))
	for c, b := range a.bindings {
		cur[c] = b.reg
	}
	s.mu.Unlock()
	lim := registrarLimits{min: int64(s.cfg.MinExpires / time.Second), max: int64(s.cfg.MaxExpires / time.Second),
		def: int64(s.cfg.DefaultExpires / time.Second)}
	now := s.now()
	p, serr := planRegister(cur, r, lim, now)
	if serr != nil {
		s.respond(tx, req, serr.code, serr.reason, serr.headers...)
		return
	}
	ctx, cancel := s.opContext(storeTimeout)
	defer cancel()
	for _, contact := range p.remove {
		if err := s.cfg.Registrations.DeleteRegistration(ctx, domain, ext, contact); err != nil {
			s.log.Error("sip unregister failed", "aor", ext+"@"+domain, "err", err)
			s.respond(tx, req, 500, "Server Internal Error")
			return
		}
		s.unbind(a, contact)
	}
	for _, reg := range p.save {
		reg.Domain, reg.Extension = domain, ext
		reg.Source, reg.Transport = req.Source(), transportOf(req)
		reg.UserAgent = truncate(headerValue(req, "User-Agent"), 200)
		if err := s.cfg.Registrations.SaveRegistration(ctx, &reg); err != nil {
			s.log.Error("sip register failed", "aor", ext+"@"+domain, "err", err)
			s.respond(tx, req, 500, "Server Internal Error")
			return
		}
		s.bind(a, reg)
	}
	added := 0
	for _, reg := range p.save {
		if _, ok := cur[reg.Contact]; !ok {
			added++
		}
	}
	level := slog.LevelDebug // refreshes come every few minutes from every phone
	if added+len(p.remove) > 0 {
		level = slog.LevelInfo
	}
	s.log.Log(ctx, level, "sip register", "aor", ext+"@"+domain, "added", added, "refreshed", len(p.save)-added,
		"removed", len(p.remove), "source", req.Source())
	s.respond(tx, req, 200, "OK", s.contactHeaders(a)...)
}

// contactHeaders lists the current bindings of a, with the seconds each
// has left, for a 200 to REGISTER.
func (s *Server) contactHeaders(a *aor) []sip.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	var out []sip.Header
	for contact, b := range a.bindings {
		left := max(int64(b.reg.ExpiresAt.Sub(now).Round(time.Second)/time.Second), 0)
		out = append(out, sip.NewHeader("Contact", "<"+contact+">;expires="+strconv.FormatInt(left, 10)))
	}
	return out
}

// aorFor returns the AOR ext@domain, creating it on first use. An AOR is
// only created for an extension that authenticated, so their number is
// bounded by the directory.
func (s *Server) aorFor(domain, ext string) *aor {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := ext + "@" + domain
	a := s.aors[key]
	if a == nil {
		a = &aor{domain: domain, ext: ext, bindings: map[string]*binding{}}
		s.aors[key] = a
	}
	return a
}

// bind records reg (stored already) in memory and presence, with a timer
// for its expiry, and subscribes to the device's dialog events when it is
// new (or restarted: another Call-ID). The caller holds a.mu.
func (s *Server) bind(a *aor, reg switchboard.Registration) *binding {
	b := &binding{reg: reg}
	s.mu.Lock()
	old := a.bindings[reg.Contact]
	if old != nil {
		old.timer.Stop()
		if old.reg.CallID == reg.CallID {
			b.dialog, old.dialog = old.dialog, nil
		}
	}
	a.bindings[reg.Contact] = b
	b.timer = time.AfterFunc(max(reg.ExpiresAt.Sub(s.now()), 0), func() {
		s.goBackground(func() { s.expire(a, reg.Contact, b) })
	})
	s.mu.Unlock()
	s.cfg.Presence.DeviceUp(a.domain, a.ext, deviceID(reg.Contact), reg.ExpiresAt)
	if old != nil {
		s.endDialog(old.dialog)
	}
	if b.dialog == nil && s.udp != nil && s.serving() {
		s.startDialog(b)
	}
	return b
}

// unbind forgets the binding of contact in memory and presence and ends
// its dialog subscription. The caller holds a.mu.
func (s *Server) unbind(a *aor, contact string) {
	s.mu.Lock()
	b := a.bindings[contact]
	if b == nil {
		s.mu.Unlock()
		return
	}
	delete(a.bindings, contact)
	b.timer.Stop()
	d := b.dialog
	b.dialog = nil
	s.mu.Unlock()
	s.cfg.Presence.DeviceDown(a.domain, a.ext, deviceID(contact))
	s.endDialog(d)
}

// expire ends binding b of contact when its time ran out, unless it was
// refreshed or removed meanwhile.
func (s *Server) expire(a *aor, contact string, b *binding) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s.mu.Lock()
	current := a.bindings[contact] == b
	s.mu.Unlock()
	if !current {
		return
	}
	s.unbind(a, contact)
	s.log.Info("sip registration expired", "aor", a.ext+"@"+a.domain)
	ctx, cancel := s.opContext(storeTimeout)
	defer cancel()
	if err := s.cfg.Registrations.DeleteRegistration(ctx, a.domain, a.ext, contact); err != nil && ctx.Err() == nil {
		// Harmless: an expired registration is not loaded again.
		s.log.Warn("sip forget expired registration", "err", err)
	}
}

// restore loads the stored registrations that have not expired into
// memory and presence, and returns their bindings.
func (s *Server) restore(ctx context.Context) ([]*binding, error) {
	regs, err := s.cfg.Registrations.ListRegistrations(ctx, s.now())
	if err != nil {
		return nil, fmt.Errorf("restore sip registrations: %w", err)
	}
	var out []*binding
	for _, r := range regs {
		a := s.aorFor(r.Domain, r.Extension)
		a.mu.Lock()
		out = append(out, s.bind(a, *r))
		a.mu.Unlock()
	}
	return out, nil
}

// registeredFrom reports whether ext@domain has a binding registered from
// the IP address ip.
func (s *Server) registeredFrom(domain, ext, ip string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.aors[ext+"@"+domain]
	if a == nil {
		return false
	}
	for _, b := range a.bindings {
		if host, _, err := net.SplitHostPort(b.reg.Source); err == nil && host == ip {
			return true
		}
	}
	return false
}

// serving reports whether Run is serving (so requests may be sent).
func (s *Server) serving() bool {
	return s.ua != nil && len(s.ua.TransportLayer().ListenPorts("udp")) > 0
}

// deviceDest returns where requests to a registered device go: over TCP,
// the connection it registered on while that is open; else its Contact
// when that names the address the REGISTER came from, and that address
// otherwise (the device is behind a NAT).
func (s *Server) deviceDest(r switchboard.Registration) string {
	if r.Transport == "tcp" {
		if c, err := s.ua.TransportLayer().GetConnection("tcp", r.Source); err == nil {
			c.TryClose()
			return r.Source
		}
	}
	u, ok := sipURI(r.Contact)
	if !ok {
		return r.Source
	}
	port := u.Port
	if port == 0 {
		port = 5060
	}
	srcHost, _, _ := net.SplitHostPort(r.Source)
	if ip := net.ParseIP(u.Host); ip != nil && ip.Equal(net.ParseIP(srcHost)) || r.Source == "" {
		return net.JoinHostPort(u.Host, strconv.Itoa(port))
	}
	return r.Source
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
