package sip

import (
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/switchboard-chat/switchboard"
)

// Busy lamps: a phone of a domain, authenticated like a REGISTER, may
// SUBSCRIBE to Event: dialog or Event: presence of an extension of the
// same domain. It is answered 200 and sent a NOTIFY with the current state
// at once, then one whenever that state changes (Switchboard follows the
// domain's presence.changed events), and a final one when the
// subscription ends (expiry, or a refresh with Expires: 0).

// busName is the pseudo-extension under which the busy lamps of a domain
// follow its events; presence changes are broadcast, so they reach it.
const busName = "sip:blf"

// watch is a busy-lamp subscription: a phone of watcher watching target.
type watch struct {
	key                     string // Call-ID and our tag: what in-dialog requests carry
	domain, watcher, target string
	event, eventID          string // "dialog" or "presence", and the Event id parameter
	callID, localTag        string
	remoteTag               string
	local                   sip.Uri // the target's AOR, our side of the dialog
	remote                  sip.Uri // the subscriber's From URI
	remoteTarget            sip.Uri // the subscriber's Contact
	routes                  []string
	dest, transport         string
	kick                    chan struct{} // capacity 1: "look at the state again"

	mu        sync.Mutex
	cseq      uint32
	version   int64
	expiresAt time.Time
	ending    string // the reason, once the subscription is to end
	force     bool   // send the next NOTIFY even if the state looks unchanged
	last      string // the state of the last NOTIFY sent
}

// poke makes the watch's goroutine look at the state again.
func (w *watch) poke() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// domainWatch follows the events of a domain that has busy lamps.
type domainWatch struct {
	feed    switchboard.Subscription
	watches map[*watch]struct{}
}

func (s *Server) onSubscribe(req *sip.Request, tx sip.ServerTransaction) {
	pkg, eventID := parseEvent(headerValue(req, "Event"))
	if pkg != "dialog" && pkg != "presence" {
		s.respond(tx, req, 489, "Bad Event", sip.NewHeader("Allow-Events", allowEvents))
		return
	}
	from, to := req.From(), req.To()
	if from == nil || to == nil || req.CallID() == nil || req.CSeq() == nil {
		s.respond(tx, req, 400, "Bad Request")
		return
	}
	domain, ext, ok := s.authenticate(req, tx, from.Address)
	if !ok {
		return
	}
	expires := int64(s.cfg.DefaultExpires / time.Second)
	if v := headerValue(req, "Expires"); v != "" {
		n, err := parseSeconds(v)
		if err != nil {
			s.respond(tx, req, 400, "Bad Request (Expires)")
			return
		}
		expires = n
	}
	if min := int64(s.cfg.MinExpires / time.Second); expires > 0 && expires < min {
		s.respond(tx, req, 423, "Interval Too Brief", sip.NewHeader("Min-Expires", strconv.FormatInt(min, 10)))
		return
	}
	expires = min(expires, int64(s.cfg.MaxExpires/time.Second))
	if tag, ok := to.Params.Get("tag"); ok {
		s.refreshWatch(req, tx, tag, domain, ext, pkg, expires)
		return
	}

	target, targetDomain := to.Address.User, strings.ToLower(to.Address.Host)
	if targetDomain != domain || switchboard.ValidateExtension(target) != nil {
		s.respond(tx, req, 404, "Not Found")
		return
	}
	ctx, cancel := s.opContext(storeTimeout)
	defer cancel()
	if _, err := s.cfg.Dir.FindUser(ctx, domain, target); switchboard.ErrorCode(err) == switchboard.ENOTFOUND {
		s.respond(tx, req, 404, "Not Found")
		return
	} else if err != nil {
		s.log.Error("sip find watched extension", "err", err)
		s.respond(tx, req, 500, "Server Internal Error")
		return
	}
	bodyType := dialogInfoType
	if pkg == "presence" {
		bodyType = pidfType
	}
	if accept := headerValue(req, "Accept"); accept != "" && !acceptsType(accept, bodyType) {
		s.respond(tx, req, 406, "Not Acceptable", sip.NewHeader("Accept", bodyType))
		return
	}
	contact := req.Contact()
	if contact == nil || contact.Address.Scheme != "sip" && contact.Address.Scheme != "sips" {
		s.respond(tx, req, 400, "Bad Request (Contact)")
		return
	}

	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	w := &watch{domain: domain, watcher: ext, target: target, event: pkg, eventID: eventID,
		callID: req.CallID().Value(), remoteTag: tagOf(from.Params),
		local:        sip.Uri{Scheme: "sip", User: target, Host: domain},
		remote:       *from.Address.Clone(),
		remoteTarget: *contact.Address.Clone(),
		dest:         req.Source(), transport: transportOf(req),
		kick: make(chan struct{}, 1), version: 0, force: true,
		expiresAt: s.now().Add(time.Duration(expires) * time.Second)}
	w.localTag = tagOf(res.To().Params)
	w.key = w.callID + "\x00" + w.localTag
	for _, h := range req.GetHeaders("Record-Route") {
		w.routes = append(w.routes, h.Value())
	}
	if expires == 0 {
		// A fetch: one NOTIFY with the state, and no subscription.
		w.ending = "timeout"
	} else if !s.addWatch(w) {
		s.respond(tx, req, 403, "Forbidden (too many subscriptions)")
		return
	}
	res.AppendHeader(sip.NewHeader("Expires", strconv.FormatInt(expires, 10)))
	res.AppendHeader(&sip.ContactHeader{Address: s.localURI(w.transport, w.dest)})
	res.AppendHeader(sip.NewHeader("Server", userAgent))
	if err := tx.Respond(res); err != nil {
		s.log.Debug("sip respond failed", "status", 200, "method", "SUBSCRIBE", "err", err)
	}
	s.log.Info("sip busy lamp subscribed", "watcher", ext+"@"+domain, "target", target, "event", pkg, "expires", expires)
	w.poke()
	s.goBackground(func() { s.runWatch(w) })
}

// refreshWatch handles a SUBSCRIBE within an existing busy-lamp dialog: a
// refresh, or with Expires: 0 the end of the subscription.
func (s *Server) refreshWatch(req *sip.Request, tx sip.ServerTransaction, tag, domain, ext, pkg string, expires int64) {
	s.mu.Lock()
	w := s.watches[req.CallID().Value()+"\x00"+tag]
	s.mu.Unlock()
	if w == nil || w.remoteTag != tagOf(req.From().Params) {
		s.respond(tx, req, 481, "Subscription Does Not Exist")
		return
	}
	if w.domain != domain || w.watcher != ext {
		s.respond(tx, req, 403, "Forbidden")
		return
	}
	if w.event != pkg {
		s.respond(tx, req, 489, "Bad Event", sip.NewHeader("Allow-Events", allowEvents))
		return
	}
	w.mu.Lock()
	if w.ending != "" {
		w.mu.Unlock()
		s.respond(tx, req, 481, "Subscription Does Not Exist")
		return
	}
	if expires == 0 {
		w.ending = "timeout"
	} else {
		w.expiresAt = s.now().Add(time.Duration(expires) * time.Second)
	}
	w.force = true
	w.mu.Unlock()
	s.respond(tx, req, 200, "OK", sip.NewHeader("Expires", strconv.FormatInt(expires, 10)),
		&sip.ContactHeader{Address: s.localURI(w.transport, w.dest)})
	w.poke()
}

// addWatch records w and makes sure its domain's events are followed;
// false if the watcher has too many subscriptions.
func (s *Server) addWatch(w *watch) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	dw := s.domains[w.domain]
	if dw != nil {
		n := 0
		for o := range dw.watches {
			if o.watcher == w.watcher {
				n++
			}
		}
		if n >= maxWatches {
			return false
		}
	}
	if dw == nil {
		dw = &domainWatch{feed: s.cfg.Bus.Subscribe(w.domain, busName), watches: map[*watch]struct{}{}}
		s.domains[w.domain] = dw
		s.wg.Add(1) // s.mu is held and s.closed is false, as enter requires
		go func() {
			defer s.wg.Done()
			s.follow(w.domain, dw)
		}()
	}
	dw.watches[w] = struct{}{}
	s.watches[w.key] = w
	return true
}

// dropWatch forgets w, and stops following its domain when it was the
// last busy lamp there.
func (s *Server) dropWatch(w *watch) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.watches[w.key] == w {
		delete(s.watches, w.key)
	}
	dw := s.domains[w.domain]
	if dw == nil {
		return
	}
	delete(dw.watches, w)
	if len(dw.watches) == 0 {
		delete(s.domains, w.domain)
		dw.feed.Close()
	}
}

// follow pokes the watches of a domain on every presence change of their
// target. A feed dropped for falling behind is replaced, and every watch
// looks again, since changes may have been missed.
func (s *Server) follow(domain string, dw *domainWatch) {
	s.mu.Lock()
	feed := dw.feed
	s.mu.Unlock()
	for {
		for ev := range feed.C() {
			if ev.Type != switchboard.EventPresenceChanged {
				continue
			}
			var p struct {
				Extension string `json:"extension"`
			}
			if json.Unmarshal(ev.Data, &p) != nil {
				continue
			}
			s.mu.Lock()
			for w := range dw.watches {
				if w.target == p.Extension {
					w.poke()
				}
			}
			s.mu.Unlock()
		}
		s.mu.Lock()
		if s.closed || s.domains[domain] != dw || !feed.Overflowed() {
			s.mu.Unlock()
			return
		}
		feed = s.cfg.Bus.Subscribe(domain, busName)
		dw.feed = feed
		for w := range dw.watches {
			w.poke()
		}
		s.mu.Unlock()
	}
}

// runWatch sends the NOTIFYs of w, one at a time, until the subscription
// ends.
func (s *Server) runWatch(w *watch) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		select {
		case <-w.kick:
		case <-timer.C:
		case <-s.closing:
			return
		}
		w.mu.Lock()
		now := s.now()
		if w.ending == "" && !now.Before(w.expiresAt) {
			w.ending, w.force = "timeout", true
		}
		ending := w.ending
		timer.Reset(max(w.expiresAt.Sub(now), 0) + 10*time.Millisecond)
		w.mu.Unlock()
		if !s.notify(w) || ending != "" {
			s.dropWatch(w)
			s.log.Info("sip busy lamp ended", "watcher", w.watcher+"@"+w.domain, "target", w.target, "reason", ending)
			return
		}
	}
}

// notify sends w's subscriber a NOTIFY with the target's current state,
// unless that did not change since the last one; false if the subscriber
// is gone (481, an error, no answer), which ends the subscription.
func (s *Server) notify(w *watch) bool {
	ctx, cancel := s.opContext(requestTimeout)
	defer cancel()
	p := s.cfg.Presence.Get(ctx, w.domain, w.target)
	inCall := p.Color == switchboard.Red && !p.DND
	state := strconv.FormatBool(inCall)
	if w.event == "presence" {
		state = string(p.Color) + "\x00" + strconv.FormatBool(p.DND) + "\x00" + p.Message
	}

	w.mu.Lock()
	if state == w.last && !w.force {
		w.mu.Unlock()
		return true
	}
	w.last, w.force = state, false
	w.cseq++
	entity := w.local.String()
	var body []byte
	contentType := dialogInfoType
	if w.event == "presence" {
		contentType = pidfType
		body = presencePIDF(entity, p).marshal()
	} else {
		body = busyDialogInfo(entity, w.target, inCall, w.version).marshal()
		w.version++
	}
	subState := "active;expires=" + strconv.FormatInt(max(int64(w.expiresAt.Sub(s.now()).Round(time.Second)/time.Second), 0), 10)
	if w.ending != "" {
		subState = "terminated;reason=" + w.ending
	}
	req := sip.NewRequest(sip.NOTIFY, *w.remoteTarget.Clone())
	from := &sip.FromHeader{Address: *w.local.Clone(), Params: sip.NewParams()}
	from.Params.Add("tag", w.localTag)
	to := &sip.ToHeader{Address: *w.remote.Clone(), Params: sip.NewParams()}
	to.Params.Add("tag", w.remoteTag)
	callID := sip.CallIDHeader(w.callID)
	maxFwd := sip.MaxForwardsHeader(70)
	for _, r := range w.routes {
		req.AppendHeader(sip.NewHeader("Route", r))
	}
	req.AppendHeader(from)
	req.AppendHeader(to)
	req.AppendHeader(&callID)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: w.cseq, MethodName: sip.NOTIFY})
	req.AppendHeader(&maxFwd)
	req.AppendHeader(&sip.ContactHeader{Address: s.localURI(w.transport, w.dest)})
	event := w.event
	if w.eventID != "" {
		event += ";id=" + w.eventID
	}
	req.AppendHeader(sip.NewHeader("Event", event))
	req.AppendHeader(sip.NewHeader("Subscription-State", subState))
	ct := sip.ContentTypeHeader(contentType)
	req.AppendHeader(&ct)
	req.SetBody(body)
	w.mu.Unlock()

	res, err := s.send(ctx, req, w.dest, w.transport)
	if err != nil {
		s.log.Debug("sip notify failed", "watcher", w.watcher+"@"+w.domain, "err", err)
		return false
	}
	return res.IsSuccess()
}

// tagOf returns the tag parameter of a From or To header.
func tagOf(p sip.HeaderParams) string {
	tag, _ := p.Get("tag")
	return tag
}

// acceptsType reports whether an Accept header admits media type t.
func acceptsType(accept, t string) bool {
	for _, a := range strings.Split(accept, ",") {
		switch m := mediaType(a); m {
		case t, "*/*", "application/*":
			return true
		}
	}
	return false
}
