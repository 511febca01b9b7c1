package sip

// In-process tests of the server over real UDP sockets on loopback: a
// scripted phone (SIP written by hand, as on the wire) against the
// registrar, the dialog subscriptions and the busy lamps, with the real
// presence service and event bus.

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
	"github.com/switchboard-chat/switchboard"
	"github.com/switchboard-chat/switchboard/inmem"
	"github.com/switchboard-chat/switchboard/presence"
)

// directory is a DirectoryStore with only FindUser.
type directory struct {
	switchboard.DirectoryStore
	users map[string]*switchboard.User
}

func (d *directory) FindUser(ctx context.Context, domain, ext string) (*switchboard.User, error) {
	if u := d.users[ext+"@"+domain]; u != nil {
		c := *u
		return &c, nil
	}
	return nil, switchboard.Errorf(switchboard.ENOTFOUND, "Extension not found.")
}

func newDirectory() *directory {
	d := &directory{users: map[string]*switchboard.User{}}
	for _, addr := range []string{"101@acme.example", "102@acme.example", "103@acme.example", "104@acme.example", "101@globex.example"} {
		ext, domain, _ := strings.Cut(addr, "@")
		u := &switchboard.User{Domain: domain, Extension: ext}
		if addr != "104@acme.example" { // 104 has no SIP secret
			secret := "secret-" + ext + "-" + domain
			u.SIPHA1MD5, u.SIPHA1SHA256 = hexMD5(ext+":"+domain+":"+secret), hexSHA256(ext+":"+domain+":"+secret)
		}
		d.users[addr] = u
	}
	return d
}

// registrations is an in-memory RegistrationStore.
type registrations struct {
	mu   sync.Mutex
	regs map[string]switchboard.Registration
}

func (r *registrations) SaveRegistration(ctx context.Context, reg *switchboard.Registration) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.regs[reg.Domain+"/"+reg.Extension+"/"+reg.Contact] = *reg
	return nil
}

func (r *registrations) DeleteRegistration(ctx context.Context, domain, ext, contact string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.regs, domain+"/"+ext+"/"+contact)
	return nil
}

func (r *registrations) DeleteRegistrations(ctx context.Context, domain, ext string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, reg := range r.regs {
		if reg.Domain == domain && reg.Extension == ext {
			delete(r.regs, k)
		}
	}
	return nil
}

func (r *registrations) ListRegistrations(ctx context.Context, now time.Time) ([]*switchboard.Registration, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*switchboard.Registration
	for k, reg := range r.regs {
		if !reg.ExpiresAt.After(now) {
			delete(r.regs, k)
			continue
		}
		out = append(out, &reg)
	}
	return out, nil
}

func (r *registrations) contacts() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for k := range r.regs {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// testServer is a running Server with its presence service and bus.
type testServer struct {
	*Server
	pres *presence.Service
	bus  *inmem.Bus
	regs *registrations
}

func startTestServer(t *testing.T, regs *registrations) *testServer {
	t.Helper()
	if regs == nil {
		regs = &registrations{regs: map[string]switchboard.Registration{}}
	}
	bus := inmem.NewBus(0)
	pres, err := presence.New(context.Background(), bus, nil, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	s := New(Config{Addr: "127.0.0.1:0", Dir: newDirectory(), Registrations: regs, Presence: pres, Bus: bus, SHA256: true})
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("Run did not return within 5s of cancel")
		}
	})
	for !s.serving() {
		time.Sleep(time.Millisecond)
	}
	return &testServer{Server: s, pres: pres, bus: bus, regs: regs}
}

// waitColor waits until ext@domain has colour want.
func (ts *testServer) waitColor(t *testing.T, domain, ext string, want switchboard.Color) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := ts.pres.Get(context.Background(), domain, ext).Color
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s@%s is %s, want %s", ext, domain, got, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// phone is a SIP user agent on a UDP socket, driven step by step.
type phone struct {
	t                   *testing.T
	conn                *net.UDPConn
	server              string
	ext, domain, secret string
	callID, tag         string
	cseq                int
	alg                 string // digest algorithm to answer with
	chal                *digest.Challenge
	nc                  int
	responses           chan *sip.Response
	requests            chan *sip.Request
}

func newPhone(t *testing.T, server, addr string) *phone {
	t.Helper()
	return newPhoneAt(t, "127.0.0.1", server, addr)
}

// newPhoneAt returns a phone on the loopback address ip (any of 127/8).
func newPhoneAt(t *testing.T, ip, server, addr string) *phone {
	t.Helper()
	ext, domain, _ := strings.Cut(addr, "@")
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(ip)})
	if err != nil {
		t.Fatal(err)
	}
	p := &phone{t: t, conn: conn, server: server, ext: ext, domain: domain, secret: "secret-" + ext + "-" + domain,
		callID: newCallID(), tag: newTag(), cseq: 1, alg: "MD5",
		responses: make(chan *sip.Response, 16), requests: make(chan *sip.Request, 16)}
	t.Cleanup(func() { conn.Close() })
	go func() {
		buf := make([]byte, 65536)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			m, err := sip.ParseMessage(append([]byte(nil), buf[:n]...))
			if err != nil {
				t.Errorf("phone: parse %q: %v", buf[:n], err)
				continue
			}
			switch m := m.(type) {
			case *sip.Response:
				p.responses <- m
			case *sip.Request:
				p.requests <- m
			}
		}
	}()
	return p
}

func (p *phone) addr() string { return p.conn.LocalAddr().String() }

func (p *phone) write(msg string) {
	p.t.Helper()
	msg = strings.ReplaceAll(strings.TrimLeft(msg, "\n"), "\n", "\r\n")
	if _, err := p.conn.WriteTo([]byte(msg), mustResolve(p.t, p.server)); err != nil {
		p.t.Fatal(err)
	}
}

func mustResolve(t *testing.T, addr string) *net.UDPAddr {
	a, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// request sends a request of the phone's dialog and returns its final
// response. to is the To header value; extra holds more header lines.
func (p *phone) request(method, ruri, to, extra, body string) *sip.Response {
	p.t.Helper()
	p.cseq++
	msg := fmt.Sprintf("%s %s SIP/2.0\nVia: SIP/2.0/UDP %s;branch=z9hG4bK%s;rport\nFrom: <sip:%s@%s>;tag=%s\nTo: %s\nCall-ID: %s\nCSeq: %d %s\nMax-Forwards: 70\n%sContent-Length: %d\n\n%s",
		method, ruri, p.addr(), newTag(), p.ext, p.domain, p.tag, to, p.callID, p.cseq, method, extra, len(body), body)
	p.write(msg)
	for {
		select {
		case res := <-p.responses:
			if res.CSeq().SeqNo != uint32(p.cseq) || res.IsProvisional() {
				continue
			}
			return res
		case <-time.After(5 * time.Second):
			p.t.Fatalf("no response to %s", method)
		}
	}
}

// authed sends a request, answering a 401 with the phone's secret.
func (p *phone) authed(method, ruri, to, extra string) *sip.Response {
	p.t.Helper()
	res := p.request(method, ruri, to, extra+p.authorization(method, ruri), "")
	if res.StatusCode != 401 {
		return res
	}
	p.chal, p.nc = nil, 0
	for _, h := range res.GetHeaders("WWW-Authenticate") {
		c, err := digest.ParseChallenge(h.Value())
		if err != nil {
			p.t.Fatalf("challenge %q: %v", h.Value(), err)
		}
		if c.Algorithm == p.alg {
			p.chal = c
		}
	}
	if p.chal == nil {
		p.t.Fatalf("no %s challenge in %s", p.alg, res)
	}
	return p.request(method, ruri, to, extra+p.authorization(method, ruri), "")
}

// authorization returns an Authorization header line for the last
// challenge, if any.
func (p *phone) authorization(method, ruri string) string {
	if p.chal == nil {
		return ""
	}
	p.nc++
	c, err := digest.Digest(p.chal, digest.Options{Method: method, URI: ruri, Username: p.ext, Password: p.secret, Count: p.nc})
	if err != nil {
		p.t.Fatal(err)
	}
	return "Authorization: " + c.String() + "\n"
}

// register sends an authenticated REGISTER with a Contact line and extra
// header lines.
func (p *phone) register(contact, extra string) *sip.Response {
	p.t.Helper()
	if contact != "" {
		extra = "Contact: " + contact + "\n" + extra
	}
	return p.authed("REGISTER", "sip:"+p.domain, "<sip:"+p.ext+"@"+p.domain+">", extra)
}

// nextRequest returns the next request the server sent to the phone.
func (p *phone) nextRequest(method string) *sip.Request {
	p.t.Helper()
	for {
		select {
		case req := <-p.requests:
			if string(req.Method) == method {
				return req
			}
		case <-time.After(5 * time.Second):
			p.t.Fatalf("no %s within 5s", method)
		}
	}
}

// reply answers a request of the server.
func (p *phone) reply(req *sip.Request, code int, toTag, extra string) {
	p.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "SIP/2.0 %d Whatever\n", code)
	for _, h := range req.GetHeaders("Via") {
		fmt.Fprintf(&b, "Via: %s\n", h.Value())
	}
	to := req.To().Value()
	if toTag != "" && !strings.Contains(to, "tag=") {
		to += ";tag=" + toTag
	}
	fmt.Fprintf(&b, "From: %s\nTo: %s\nCall-ID: %s\nCSeq: %s\n%sContent-Length: 0\n\n", req.From().Value(), to, req.CallID().Value(), req.CSeq().Value(), extra)
	p.write(b.String())
}

func TestRegister(t *testing.T) {
	ts := startTestServer(t, nil)
	p := newPhone(t, ts.Addr(), "102@acme.example")
	contact := "<sip:102@" + p.addr() + ">"

	// Without credentials: a challenge per algorithm.
	res := p.request("REGISTER", "sip:acme.example", "<sip:102@acme.example>", "Contact: "+contact+"\n", "")
	if res.StatusCode != 401 || len(res.GetHeaders("WWW-Authenticate")) != 2 {
		t.Fatalf("unauthenticated REGISTER = %s", res)
	}
	if res := p.register(contact, "Expires: 600\n"); res.StatusCode != 200 {
		t.Fatalf("REGISTER = %s", res)
	} else if got := headerValue(res, "Contact"); got != contact+";expires=600" {
		t.Errorf("200 lists Contact %q", got)
	}
	ts.waitColor(t, "acme.example", "102", switchboard.Green)
	if got := ts.regs.contacts(); !slices.Equal(got, []string{"acme.example/102/sip:102@" + p.addr()}) {
		t.Errorf("stored %q", got)
	}
	// The server subscribes to the phone's dialog events; this phone does not know them.
	sub := p.nextRequest("SUBSCRIBE")
	if headerValue(sub, "Event") != "dialog" || headerValue(sub, "Accept") != dialogInfoType || sub.Recipient.String() != "sip:102@"+p.addr() {
		t.Errorf("SUBSCRIBE = %s", sub)
	}
	p.reply(sub, 489, "", "")

	// A re-register reuses the nonce with the next nonce count.
	if res := p.register(contact, "Expires: 600\n"); res.StatusCode != 200 {
		t.Fatalf("re-REGISTER = %s", res)
	}
	// Too brief, and an old CSeq.
	if res := p.register(contact, "Expires: 30\n"); res.StatusCode != 423 || headerValue(res, "Min-Expires") != "60" {
		t.Errorf("Expires: 30 = %s", res)
	}
	p.cseq -= 5
	if res := p.register(contact, "Expires: 600\n"); res.StatusCode != 500 {
		t.Errorf("older CSeq = %s", res)
	}
	p.cseq += 10

	// A second device with SHA-256 (another Call-ID), then a query.
	p2 := newPhone(t, ts.Addr(), "102@acme.example")
	p2.alg = "SHA-256"
	contact2 := "<sip:102@" + p2.addr() + ";transport=udp>"
	if res := p2.register(contact2, ""); res.StatusCode != 200 || len(res.GetHeaders("Contact")) != 2 {
		t.Fatalf("second device = %s", res)
	}
	if res := p2.register("", ""); res.StatusCode != 200 || len(res.GetHeaders("Contact")) != 2 {
		t.Errorf("query = %s", res)
	}
	// baresip's unregister: ;expires=0 on the Contact, no Expires header.
	if res := p.register(contact+";expires=0", ""); res.StatusCode != 200 || len(res.GetHeaders("Contact")) != 1 {
		t.Errorf("unregister = %s", res)
	}
	ts.waitColor(t, "acme.example", "102", switchboard.Green) // the second device is still there
	if res := p2.register("*", "Expires: 0\n"); res.StatusCode != 200 || len(res.GetHeaders("Contact")) != 0 {
		t.Errorf("Contact: * = %s", res)
	}
	ts.waitColor(t, "acme.example", "102", switchboard.Gray)
	if got := ts.regs.contacts(); len(got) != 0 {
		t.Errorf("stored after unregister: %q", got)
	}
}

func TestRegisterRefused(t *testing.T) {
	ts := startTestServer(t, nil)
	for _, tc := range []struct {
		addr   string
		secret string
		to     string
		want   int
	}{
		{"102@acme.example", "wrong-secret", "", 403},
		{"104@acme.example", "anything-at-all", "", 403},                                   // no SIP secret
		{"199@acme.example", "secret-199", "", 403},                                        // no such extension
		{"101@nowhere.example", "secret-101", "", 403},                                     // no such domain
		{"101@globex.example", "secret-101-globex.example", "<sip:102@acme.example>", 403}, // globex's secret for acme's AOR
		{"102@acme.example", "x", "<sip:102@127.0.0.1>", 404},
	} {
		p := newPhone(t, ts.Addr(), tc.addr)
		p.secret = tc.secret
		to := tc.to
		if to == "" {
			to = "<sip:" + tc.addr + ">"
		}
		res := p.authed("REGISTER", "sip:"+p.domain, to, "Contact: <sip:x@"+p.addr()+">\n")
		if res.StatusCode != tc.want {
			t.Errorf("REGISTER %s with %q to %s = %d, want %d", tc.addr, tc.secret, to, res.StatusCode, tc.want)
		}
	}
	ts.waitColor(t, "acme.example", "102", switchboard.Gray)

	// 103's phone is registered from 127.0.0.1 when someone at 127.0.0.2
	// starts guessing its secret.
	phone := newPhone(t, ts.Addr(), "103@acme.example")
	if res := phone.register("<sip:103@"+phone.addr()+">", ""); res.StatusCode != 200 {
		t.Fatalf("REGISTER 103 = %s", res)
	}
	p := newPhoneAt(t, "127.0.0.2", ts.Addr(), "103@acme.example")
	p.secret = "wrong"
	var last *sip.Response
	for range max(failuresPerIP, failuresPerAOR) + 1 {
		last = p.authed("REGISTER", "sip:acme.example", "<sip:103@acme.example>", "Contact: <sip:103@"+p.addr()+">\n")
	}
	if last.StatusCode != 503 || headerValue(last, "Retry-After") == "" {
		t.Errorf("after %d failures: %s", failuresPerIP, last)
	}
	// The guesser is shut out even with the right secret...
	p.secret, p.chal = "secret-103-acme.example", nil
	if res := p.register("<sip:103@"+p.addr()+">", ""); res.StatusCode != 503 {
		t.Errorf("throttled source with the right secret = %d, want 503", res.StatusCode)
	}
	// ...and so is a new address for 103 (the AOR is throttled)...
	other := newPhoneAt(t, "127.0.0.3", ts.Addr(), "103@acme.example")
	if res := other.register("<sip:103@"+other.addr()+">", ""); res.StatusCode != 503 {
		t.Errorf("new address for a throttled AOR = %d, want 503", res.StatusCode)
	}
	// ...but not the phone that is registered, nor other extensions.
	if res := phone.register("<sip:103@"+phone.addr()+">", ""); res.StatusCode != 200 {
		t.Errorf("re-REGISTER of the registered phone = %s", res)
	}
	ts.waitColor(t, "acme.example", "103", switchboard.Green)
	other = newPhoneAt(t, "127.0.0.3", ts.Addr(), "102@acme.example")
	if res := other.register("<sip:102@"+other.addr()+">", ""); res.StatusCode != 200 {
		t.Errorf("REGISTER 102 from another address = %s", res)
	}
}

// TestSubscribeRefused checks that a busy-lamp SUBSCRIBE goes through the
// same authentication as a REGISTER, for its From: challenged, refused,
// and throttled alike.
func TestSubscribeRefused(t *testing.T) {
	ts := startTestServer(t, nil)
	const extra = "Event: dialog\n"
	for _, tc := range []struct {
		name   string
		from   string
		secret string // "" sends no credentials
		want   int
	}{
		{"no credentials", "101@acme.example", "", 401},
		{"wrong secret", "102@acme.example", "wrong-secret", 403},
		{"no SIP secret", "104@acme.example", "anything-at-all", 403},
		{"no such extension", "199@acme.example", "secret-199", 403},
		{"From not an extension of a domain", "101@127.0.0.1", "x", 404},
	} {
		p := newPhone(t, ts.Addr(), tc.from)
		contact := "Contact: <sip:" + p.ext + "@" + p.addr() + ">\n"
		var res *sip.Response
		if tc.secret == "" {
			res = p.request("SUBSCRIBE", "sip:103@acme.example", "<sip:103@acme.example>", contact+extra, "")
		} else {
			p.secret = tc.secret
			res = p.authed("SUBSCRIBE", "sip:103@acme.example", "<sip:103@acme.example>", contact+extra)
		}
		if res.StatusCode != tc.want {
			t.Errorf("%s: SUBSCRIBE from %s = %d, want %d", tc.name, tc.from, res.StatusCode, tc.want)
		}
	}

	p := newPhoneAt(t, "127.0.0.2", ts.Addr(), "101@acme.example")
	contact := "Contact: <sip:101@" + p.addr() + ">\n"
	p.secret = "wrong"
	var last *sip.Response
	for range failuresPerIP + 1 {
		last = p.authed("SUBSCRIBE", "sip:103@acme.example", "<sip:103@acme.example>", contact+extra)
	}
	if last.StatusCode != 503 || headerValue(last, "Retry-After") == "" {
		t.Errorf("SUBSCRIBE after %d failures: %s", failuresPerIP, last)
	}
}

// Registrations come back after a restart, and the server subscribes to
// the device's dialog events: a confirmed dialog is red until terminated.
func TestRestoreAndDialogEvents(t *testing.T) {
	p := newPhone(t, "127.0.0.1:1", "102@acme.example")
	regs := &registrations{regs: map[string]switchboard.Registration{}}
	contact := "sip:102@" + p.addr()
	regs.SaveRegistration(context.Background(), &switchboard.Registration{Domain: "acme.example", Extension: "102", Contact: contact,
		Source: p.addr(), Transport: "udp", CallID: "c", CSeq: 2, ExpiresAt: time.Now().Add(time.Hour)})
	regs.SaveRegistration(context.Background(), &switchboard.Registration{Domain: "acme.example", Extension: "103", Contact: "sip:103@127.0.0.1:9",
		Source: "127.0.0.1:9", Transport: "udp", CallID: "c", CSeq: 2, ExpiresAt: time.Now().Add(-time.Minute)})
	ts := startTestServer(t, regs)
	p.server = ts.Addr()
	ts.waitColor(t, "acme.example", "102", switchboard.Green)
	if got := ts.pres.Get(context.Background(), "acme.example", "103").Color; got != switchboard.Gray {
		t.Errorf("expired registration restored: 103 is %s", got)
	}

	sub := p.nextRequest("SUBSCRIBE")
	p.reply(sub, 200, "dev1", "Expires: 600\nContact: <"+contact+">\n")
	notify := func(state, body string) {
		t.Helper()
		p.cseq++
		p.write(fmt.Sprintf("NOTIFY %s SIP/2.0\nVia: SIP/2.0/UDP %s;branch=z9hG4bK%s\nFrom: %s;tag=dev1\nTo: %s\nCall-ID: %s\nCSeq: %d NOTIFY\nMax-Forwards: 70\nEvent: dialog\nSubscription-State: %s\nContent-Type: application/dialog-info+xml\nContent-Length: %d\n\n%s",
			sub.Contact().Address.String(), p.addr(), newTag(), sub.To().Value(), sub.From().Value(), sub.CallID().Value(), p.cseq, state, len(body), body))
		for {
			select {
			case res := <-p.responses:
				if res.CSeq().SeqNo == uint32(p.cseq) {
					if res.StatusCode != 200 {
						t.Errorf("NOTIFY = %s", res)
					}
					return
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no response to NOTIFY")
			}
		}
	}
	info := func(version int, state string) string {
		return fmt.Sprintf(`<?xml version="1.0"?><dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="%d" state="full" entity="sip:102@acme.example"><dialog id="call-1" direction="recipient"><state>%s</state></dialog></dialog-info>`, version, state)
	}
	notify("active;expires=600", info(0, "early"))
	ts.waitColor(t, "acme.example", "102", switchboard.Red)
	notify("active;expires=600", info(1, "confirmed"))
	notify("active;expires=600", info(2, "terminated"))
	ts.waitColor(t, "acme.example", "102", switchboard.Green)
	notify("active;expires=600", info(3, "confirmed"))
	ts.waitColor(t, "acme.example", "102", switchboard.Red)
	notify("active;expires=600", info(1, "terminated")) // older: ignored
	time.Sleep(50 * time.Millisecond)
	ts.waitColor(t, "acme.example", "102", switchboard.Red)
	// The device ends the subscription: its calls end with it.
	notify("terminated;reason=noresource", "")
	ts.waitColor(t, "acme.example", "102", switchboard.Green)
}

func TestBusyLamp(t *testing.T) {
	ts := startTestServer(t, nil)
	p := newPhone(t, ts.Addr(), "101@acme.example")
	contact := "Contact: <sip:101@" + p.addr() + ">\n"

	// Another domain, a missing extension, an unknown package.
	if res := p.authed("SUBSCRIBE", "sip:101@globex.example", "<sip:101@globex.example>", contact+"Event: dialog\n"); res.StatusCode != 404 {
		t.Errorf("SUBSCRIBE to another domain = %d, want 404", res.StatusCode)
	}
	if res := p.authed("SUBSCRIBE", "sip:199@acme.example", "<sip:199@acme.example>", contact+"Event: dialog\n"); res.StatusCode != 404 {
		t.Errorf("SUBSCRIBE to a missing extension = %d, want 404", res.StatusCode)
	}
	if res := p.authed("SUBSCRIBE", "sip:103@acme.example", "<sip:103@acme.example>", contact+"Event: message-summary\n"); res.StatusCode != 489 {
		t.Errorf("SUBSCRIBE message-summary = %d, want 489", res.StatusCode)
	}

	res := p.authed("SUBSCRIBE", "sip:103@acme.example", "<sip:103@acme.example>", contact+"Event: dialog\nAccept: application/dialog-info+xml\nExpires: 600\n")
	if res.StatusCode != 200 || headerValue(res, "Expires") != "600" {
		t.Fatalf("SUBSCRIBE = %s", res)
	}
	toTag := tagOf(res.To().Params)
	expectNotify := func(state, subState string) *sip.Request {
		t.Helper()
		n := p.nextRequest("NOTIFY")
		p.reply(n, 200, "", "")
		d, err := parseDialogInfo(n.Body())
		if err != nil {
			t.Fatalf("NOTIFY body %s: %v", n.Body(), err)
		}
		if len(d.Dialogs) != 1 || d.Dialogs[0].State.Value != state || !strings.HasPrefix(headerValue(n, "Subscription-State"), subState) ||
			tagOf(n.From().Params) != toTag || tagOf(n.To().Params) != p.tag || d.Entity != "sip:103@acme.example" {
			t.Errorf("NOTIFY = %s, want %s (%s)", n, state, subState)
		}
		return n
	}
	expectNotify("terminated", "active;expires=")
	ts.pres.DeviceUp("acme.example", "103", "test", time.Time{}) // green: the lamp stays off, no NOTIFY
	ts.pres.CallState("acme.example", "103", "c1", true)
	expectNotify("confirmed", "active")
	ts.pres.CallState("acme.example", "103", "c1", false)
	expectNotify("terminated", "active")

	// A refresh in the dialog, then the end of the subscription.
	inDialog := "<sip:103@acme.example>;tag=" + toTag
	if res := p.authed("SUBSCRIBE", "sip:103@acme.example", inDialog, contact+"Event: dialog\nExpires: 300\n"); res.StatusCode != 200 || headerValue(res, "Expires") != "300" {
		t.Errorf("refresh = %s", res)
	}
	expectNotify("terminated", "active;expires=300")
	if res := p.authed("SUBSCRIBE", "sip:103@acme.example", inDialog, contact+"Event: dialog\nExpires: 0\n"); res.StatusCode != 200 {
		t.Errorf("unsubscribe = %s", res)
	}
	expectNotify("terminated", "terminated")
	if res := p.authed("SUBSCRIBE", "sip:103@acme.example", inDialog, contact+"Event: dialog\nExpires: 300\n"); res.StatusCode != 481 {
		t.Errorf("refresh after the end = %d, want 481", res.StatusCode)
	}

	// Presence: PIDF with the colour and the status.
	p.callID, p.tag = newCallID(), newTag()
	res = p.authed("SUBSCRIBE", "sip:102@acme.example", "<sip:102@acme.example>", contact+"Event: presence\nAccept: application/pidf+xml\n")
	if res.StatusCode != 200 || headerValue(res, "Expires") != strconv.Itoa(int(DefaultExpires/time.Second)) {
		t.Fatalf("SUBSCRIBE presence = %s", res)
	}
	expectPIDF := func(basic, color string) {
		t.Helper()
		n := p.nextRequest("NOTIFY")
		p.reply(n, 200, "", "")
		doc, err := parsePIDF(n.Body())
		if err != nil || headerValue(n, "Content-Type") != pidfType || headerValue(n, "Event") != "presence" {
			t.Fatalf("NOTIFY %s: %v", n, err)
		}
		if doc.Tuples[0].Basic != basic || doc.Tuples[0].Notes[0] != color {
			t.Errorf("PIDF %s, want %s %s", n.Body(), basic, color)
		}
	}
	expectPIDF("closed", "gray")
	ts.pres.DeviceUp("acme.example", "102", "test", time.Time{})
	expectPIDF("open", "green")
	// A subscriber that is gone (481) ends the subscription.
	ts.pres.DeviceDown("acme.example", "102", "test")
	n := p.nextRequest("NOTIFY")
	p.reply(n, 481, "", "")
	deadline := time.Now().Add(5 * time.Second)
	for {
		ts.mu.Lock()
		left := len(ts.watches) + len(ts.domains)
		ts.mu.Unlock()
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d watches left after 481", left)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
