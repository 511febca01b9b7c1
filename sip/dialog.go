package sip

import (
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Call state from devices: after a device registers, Switchboard
// subscribes to its dialog events (RFC 4235) and keeps the subscription
// refreshed while the registration lasts. A device that does not support
// them (405, 489, 481, no answer...) is left alone. Every dialog the device
// reports as trying, proceeding, early or confirmed is a call of the
// extension (red) until it is reported terminated.

// maxCalls bounds the dialogs tracked per device.
const maxCalls = 32

// dialogSub is a subscription of Switchboard to one device's dialog
// events. Fields below mu are guarded by it; its entry in Server.dialogs
// by Server.mu.
type dialogSub struct {
	domain, ext, contact string
	callID, fromTag      string
	dest, transport      string

	// mu serialises NOTIFY processing, so presence sees calls in order.
	mu      sync.Mutex
	toTag   string
	target  sip.Uri
	cseq    uint32
	calls   map[string]bool // active dialog ids
	version int64           // of the last dialog-info applied, -1 before any
	refresh *time.Timer
	cancel  func() // of the SUBSCRIBE in flight
	ended   bool
}

// callKey is the presence call id of a dialog of the device.
func (d *dialogSub) callKey(id string) string { return "sip:" + d.contact + ":" + id }

func newCallID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:]) + "@switchboard"
}

// startDialog subscribes to the dialog events of binding b, unless it has
// a subscription (or tried one) already, or is no longer current.
func (s *Server) startDialog(b *binding) {
	target, ok := sipURI(b.reg.Contact)
	if !ok {
		return
	}
	d := &dialogSub{domain: b.reg.Domain, ext: b.reg.Extension, contact: b.reg.Contact,
		callID: newCallID(), fromTag: newTag(), dest: s.deviceDest(b.reg), transport: b.reg.Transport,
		target: target, calls: map[string]bool{}, version: -1}
	if d.transport != "tcp" {
		d.transport = "udp"
	}
	s.mu.Lock()
	a := s.aors[b.reg.Extension+"@"+b.reg.Domain]
	if s.closed || b.dialog != nil || a == nil || a.bindings[b.reg.Contact] != b {
		s.mu.Unlock()
		return
	}
	b.dialog = d
	s.dialogs[d.callID] = d
	s.mu.Unlock()
	s.goBackground(func() { s.subscribeDialog(d, int64(s.cfg.DefaultExpires/time.Second), true) })
}

// subscribeDialog sends an initial or refreshing SUBSCRIBE for d asking
// for expires seconds, and arms the next refresh.
func (s *Server) subscribeDialog(d *dialogSub, expires int64, retry bool) {
	d.mu.Lock()
	if d.ended {
		d.mu.Unlock()
		return
	}
	d.cseq++
	req := sip.NewRequest(sip.SUBSCRIBE, *d.target.Clone())
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: "switchboard", Host: d.domain}, Params: sip.NewParams()}
	from.Params.Add("tag", d.fromTag)
	to := &sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: d.ext, Host: d.domain}, Params: sip.NewParams()}
	if d.toTag != "" {
		to.Params.Add("tag", d.toTag)
	}
	callID := sip.CallIDHeader(d.callID)
	maxFwd := sip.MaxForwardsHeader(70)
	req.AppendHeader(from)
	req.AppendHeader(to)
	req.AppendHeader(&callID)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: d.cseq, MethodName: sip.SUBSCRIBE})
	req.AppendHeader(&maxFwd)
	req.AppendHeader(&sip.ContactHeader{Address: s.localURI(d.transport, d.dest)})
	req.AppendHeader(sip.NewHeader("Event", "dialog"))
	req.AppendHeader(sip.NewHeader("Accept", dialogInfoType))
	req.AppendHeader(sip.NewHeader("Expires", strconv.FormatInt(expires, 10)))
	req.SetBody(nil)
	ctx, cancel := s.opContext(requestTimeout)
	defer cancel()
	d.cancel = cancel
	d.mu.Unlock()

	res, err := s.send(ctx, req, d.dest, d.transport)
	if err != nil {
		s.stopDialog(d, "no answer")
		return
	}
	switch {
	case res.IsSuccess():
	case res.StatusCode == 423 && retry:
		if n, err := parseSeconds(headerValue(res, "Min-Expires")); err == nil && n <= int64(s.cfg.MaxExpires/time.Second) {
			s.subscribeDialog(d, n, false)
			return
		}
		fallthrough
	default:
		s.stopDialog(d, strconv.Itoa(res.StatusCode))
		return
	}
	granted := expires
	if n, err := parseSeconds(headerValue(res, "Expires")); err == nil {
		granted = min(n, expires)
	}
	if granted == 0 {
		s.stopDialog(d, "not granted")
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ended {
		return
	}
	if tag, ok := res.To().Params.Get("tag"); ok && d.toTag == "" {
		d.toTag = tag
	}
	if c := res.Contact(); c != nil && (c.Address.Scheme == "sip" || c.Address.Scheme == "sips") {
		d.target = *c.Address.Clone()
	}
	every := time.Duration(granted) * time.Second
	every = max(every*3/4, every-time.Minute)
	d.refresh = time.AfterFunc(every, func() {
		s.goBackground(func() { s.subscribeDialog(d, expires, true) })
	})
	s.log.Debug("sip dialog subscription active", "aor", d.ext+"@"+d.domain, "expires", granted)
}

// stopDialog ends subscription d (nil: none) on Switchboard's side and
// ends the calls it reported. The device's side ends by itself: its next
// NOTIFY is answered 481.
func (s *Server) stopDialog(d *dialogSub, why string) {
	if d == nil {
		return
	}
	s.mu.Lock()
	if s.dialogs[d.callID] == d {
		delete(s.dialogs, d.callID)
	}
	s.mu.Unlock()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ended {
		return
	}
	d.ended = true
	if d.refresh != nil {
		d.refresh.Stop()
	}
	if d.cancel != nil {
		d.cancel()
	}
	for id := range d.calls {
		s.cfg.Presence.CallState(d.domain, d.ext, d.callKey(id), false)
	}
	d.calls = nil
	s.log.Debug("sip dialog subscription ended", "aor", d.ext+"@"+d.domain, "why", why)
}

// endDialog ends the subscription of a binding that is gone.
func (s *Server) endDialog(d *dialogSub) { s.stopDialog(d, "unregistered") }

// onNotify receives the NOTIFYs of the dialog subscriptions.
func (s *Server) onNotify(req *sip.Request, tx sip.ServerTransaction) {
	var d *dialogSub
	if id := req.CallID(); id != nil {
		s.mu.Lock()
		d = s.dialogs[id.Value()]
		s.mu.Unlock()
	}
	if d == nil || req.To() == nil || req.From() == nil {
		s.respond(tx, req, 481, "Subscription Does Not Exist")
		return
	}
	if tag, _ := req.To().Params.Get("tag"); tag != d.fromTag {
		s.respond(tx, req, 481, "Subscription Does Not Exist")
		return
	}
	if pkg, _ := parseEvent(headerValue(req, "Event")); pkg != "dialog" {
		s.respond(tx, req, 489, "Bad Event", sip.NewHeader("Allow-Events", "dialog"))
		return
	}
	state, _ := parseSubscriptionState(headerValue(req, "Subscription-State"))
	var info *dialogInfo
	if body := req.Body(); len(body) > 0 {
		if len(body) > maxBody {
			s.respond(tx, req, 413, "Request Entity Too Large")
			return
		}
		if ct := headerValue(req, "Content-Type"); !strings.EqualFold(mediaType(ct), dialogInfoType) {
			s.respond(tx, req, 415, "Unsupported Media Type", sip.NewHeader("Accept", dialogInfoType))
			return
		}
		var err error
		if info, err = parseDialogInfo(body); err != nil {
			s.respond(tx, req, 400, "Bad Request (dialog-info)")
			return
		}
	}
	s.respond(tx, req, 200, "OK")

	d.mu.Lock()
	if !d.ended {
		if tag, ok := req.From().Params.Get("tag"); ok && d.toTag == "" {
			d.toTag = tag
		}
		if info != nil {
			s.applyDialogInfo(d, info)
		}
	}
	d.mu.Unlock()
	if state == "terminated" {
		s.stopDialog(d, "terminated by device")
	}
}

// applyDialogInfo updates the calls of d from a NOTIFY's document: a full
// document replaces them, a partial one changes the dialogs it lists. A
// document older than the last one applied is ignored. d.mu is held.
func (s *Server) applyDialogInfo(d *dialogSub, info *dialogInfo) {
	if d.version >= 0 && info.Version <= d.version && info.Version != 0 {
		return
	}
	d.version = info.Version
	next := map[string]bool{}
	if info.State == "partial" {
		for id := range d.calls {
			next[id] = true
		}
	}
	for _, dlg := range info.Dialogs {
		id := dlg.key()
		active, known := dialogActive(dlg.State.Value)
		switch {
		case id == "" || !known:
		case active && len(next) < maxCalls:
			next[id] = true
		case !active:
			delete(next, id)
		}
	}
	for id := range d.calls {
		if !next[id] {
			s.cfg.Presence.CallState(d.domain, d.ext, d.callKey(id), false)
		}
	}
	for id := range next {
		if !d.calls[id] {
			s.cfg.Presence.CallState(d.domain, d.ext, d.callKey(id), true)
		}
	}
	d.calls = next
}

// parseEvent splits an Event header into its package and id parameter.
func parseEvent(v string) (pkg, id string) {
	pkg, params, _ := strings.Cut(v, ";")
	for _, p := range strings.Split(params, ";") {
		if k, val, ok := strings.Cut(strings.TrimSpace(p), "="); ok && strings.EqualFold(k, "id") {
			id = strings.Trim(val, `"`)
		}
	}
	return strings.ToLower(strings.TrimSpace(pkg)), id
}

// parseSubscriptionState splits a Subscription-State header into its state
// and its expires parameter (-1 if absent).
func parseSubscriptionState(v string) (state string, expires int64) {
	state, params, _ := strings.Cut(v, ";")
	expires = -1
	for _, p := range strings.Split(params, ";") {
		if k, val, ok := strings.Cut(strings.TrimSpace(p), "="); ok && strings.EqualFold(k, "expires") {
			if n, err := parseSeconds(val); err == nil {
				expires = n
			}
		}
	}
	return strings.ToLower(strings.TrimSpace(state)), expires
}

// mediaType returns the type/subtype of a Content-Type value.
func mediaType(v string) string {
	t, _, _ := strings.Cut(v, ";")
	return strings.ToLower(strings.TrimSpace(t))
}
