package sip

import (
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/google/go-cmp/cmp"
	"github.com/switchboard-chat/switchboard"
)

// parseRequest parses a SIP request written with \n line ends.
func parseRequest(t *testing.T, raw string) *sip.Request {
	t.Helper()
	raw = strings.ReplaceAll(strings.TrimLeft(raw, "\n"), "\n", "\r\n")
	m, err := sip.ParseMessage([]byte(raw))
	if err != nil {
		t.Fatalf("parse %q: %v", raw, err)
	}
	return m.(*sip.Request)
}

const registerHead = `REGISTER sip:acme.example SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1
From: <sip:102@acme.example>;tag=a
To: <sip:102@acme.example>
Call-ID: c1
CSeq: 7 REGISTER
`

func TestParseRegister(t *testing.T) {
	for _, tc := range []struct {
		name    string
		headers string
		want    registerRequest
		code    int
	}{
		{"baresip unregister: ;expires=0 on the Contact and no Expires header",
			"Contact: <sip:102-0x55d1c3@127.0.0.1:43211;transport=udp>;expires=0\nUser-Agent: baresip v1.0.0 (x86_64/linux)\n",
			registerRequest{Contacts: []contactSpec{{URI: "sip:102-0x55d1c3@127.0.0.1:43211;transport=udp", Expires: 0}}, Expires: -1}, 0},
		{"baresip register",
			"Contact: <sip:102-0x55d1c3@127.0.0.1:43211;transport=udp>;expires=60\n",
			registerRequest{Contacts: []contactSpec{{URI: "sip:102-0x55d1c3@127.0.0.1:43211;transport=udp", Expires: 60}}, Expires: -1}, 0},
		{"Expires header",
			"Contact: <sip:102@10.0.0.5:5060>\nExpires: 3600\n",
			registerRequest{Contacts: []contactSpec{{URI: "sip:102@10.0.0.5:5060", Expires: -1}}, Expires: 3600}, 0},
		{"several contacts in one header, and another header",
			"Contact: <sip:102@10.0.0.5>;expires=120, \"Desk\" <sip:102@10.0.0.6:5062>;q=0.5\nContact: sip:102@10.0.0.7\nExpires: 300\n",
			registerRequest{Contacts: []contactSpec{{"sip:102@10.0.0.5", 120}, {"sip:102@10.0.0.6:5062", -1}, {"sip:102@10.0.0.7", -1}}, Expires: 300}, 0},
		{"compact form", "m: <sip:102@10.0.0.5>\n",
			registerRequest{Contacts: []contactSpec{{"sip:102@10.0.0.5", -1}}, Expires: -1}, 0},
		{"Contact: * removes all", "Contact: *\nExpires: 0\n", registerRequest{Wildcard: true, Expires: 0}, 0},
		{"a query: no Contact", "", registerRequest{Expires: -1}, 0},
		{"huge expires is clamped", "Contact: <sip:102@10.0.0.5>\nExpires: 99999999999\n",
			registerRequest{Contacts: []contactSpec{{"sip:102@10.0.0.5", -1}}, Expires: 1<<32 - 1}, 0},
		{"Contact: * needs Expires: 0", "Contact: *\n", registerRequest{}, 400},
		{"Contact: * with Expires: 60", "Contact: *\nExpires: 60\n", registerRequest{}, 400},
		{"Contact: * with another contact", "Contact: *, <sip:102@10.0.0.5>\nExpires: 0\n", registerRequest{}, 400},
		{"bad Expires", "Contact: <sip:102@10.0.0.5>\nExpires: soon\n", registerRequest{}, 400},
		{"negative expires param", "Contact: <sip:102@10.0.0.5>;expires=-1\n", registerRequest{}, 400},
		{"not a SIP URI", "Contact: <tel:+14155550100>\n", registerRequest{}, 400},
		{"too long", "Contact: <sip:102@" + strings.Repeat("a", 600) + ".example>\n", registerRequest{}, 400},
	} {
		req := parseRequest(t, registerHead+tc.headers+"Content-Length: 0\n\n")
		got, serr := parseRegister(req)
		if tc.code != 0 {
			if serr == nil || serr.code != tc.code {
				t.Errorf("%s: parseRegister = %+v, %v, want %d", tc.name, got, serr, tc.code)
			}
			continue
		}
		if serr != nil {
			t.Errorf("%s: parseRegister: %v", tc.name, serr)
			continue
		}
		tc.want.CallID, tc.want.CSeq = "c1", 7
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s: parseRegister (-want +got):\n%s", tc.name, diff)
		}
	}
}

func TestPlanRegister(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	lim := registrarLimits{min: 60, max: 3600, def: 3600}
	at := func(sec int) time.Time { return now.Add(time.Duration(sec) * time.Second) }
	cur := map[string]switchboard.Registration{
		"sip:102@10.0.0.5": {Contact: "sip:102@10.0.0.5", CallID: "c1", CSeq: 5, ExpiresAt: at(100)},
		"sip:102@10.0.0.6": {Contact: "sip:102@10.0.0.6", CallID: "c2", CSeq: 9, ExpiresAt: at(100)},
	}
	for _, tc := range []struct {
		name string
		req  registerRequest
		want registerPlan
		code int
	}{
		{"refresh with the default expiry", registerRequest{Contacts: []contactSpec{{"sip:102@10.0.0.5", -1}}, Expires: -1, CallID: "c1", CSeq: 6},
			registerPlan{save: []switchboard.Registration{{Contact: "sip:102@10.0.0.5", CallID: "c1", CSeq: 6, ExpiresAt: at(3600)}}}, 0},
		{"the Contact's expires wins over the header", registerRequest{Contacts: []contactSpec{{"sip:102@10.0.0.5", 120}, {"sip:102@10.0.0.7", -1}}, Expires: 300, CallID: "c1", CSeq: 6},
			registerPlan{save: []switchboard.Registration{{Contact: "sip:102@10.0.0.5", CallID: "c1", CSeq: 6, ExpiresAt: at(120)},
				{Contact: "sip:102@10.0.0.7", CallID: "c1", CSeq: 6, ExpiresAt: at(300)}}}, 0},
		{"capped at the maximum", registerRequest{Contacts: []contactSpec{{"sip:102@10.0.0.7", 86400}}, Expires: -1, CallID: "c3", CSeq: 1},
			registerPlan{save: []switchboard.Registration{{Contact: "sip:102@10.0.0.7", CallID: "c3", CSeq: 1, ExpiresAt: at(3600)}}}, 0},
		{"expires=0 removes (baresip)", registerRequest{Contacts: []contactSpec{{"sip:102@10.0.0.5", 0}}, Expires: -1, CallID: "c1", CSeq: 6},
			registerPlan{remove: []string{"sip:102@10.0.0.5"}}, 0},
		{"Expires: 0 of an unknown contact changes nothing", registerRequest{Contacts: []contactSpec{{"sip:102@10.0.0.9", -1}}, Expires: 0, CallID: "c9", CSeq: 1},
			registerPlan{}, 0},
		{"another Call-ID may remove a binding", registerRequest{Contacts: []contactSpec{{"sip:102@10.0.0.6", 0}}, Expires: -1, CallID: "c7", CSeq: 1},
			registerPlan{remove: []string{"sip:102@10.0.0.6"}}, 0},
		{"too brief", registerRequest{Contacts: []contactSpec{{"sip:102@10.0.0.5", 0}, {"sip:102@10.0.0.7", 30}}, Expires: -1, CallID: "c1", CSeq: 6}, registerPlan{}, 423},
		{"out of order: same Call-ID, same CSeq", registerRequest{Contacts: []contactSpec{{"sip:102@10.0.0.5", 600}}, Expires: -1, CallID: "c1", CSeq: 5}, registerPlan{}, 500},
		{"out of order: same Call-ID, older CSeq", registerRequest{Contacts: []contactSpec{{"sip:102@10.0.0.6", 0}}, Expires: -1, CallID: "c2", CSeq: 8}, registerPlan{}, 500},
		{"wildcard", registerRequest{Wildcard: true, Expires: 0, CallID: "c8", CSeq: 1},
			registerPlan{remove: []string{"sip:102@10.0.0.5", "sip:102@10.0.0.6"}}, 0},
		{"wildcard out of order", registerRequest{Wildcard: true, Expires: 0, CallID: "c2", CSeq: 3}, registerPlan{}, 500},
	} {
		got, serr := planRegister(cur, tc.req, lim, now)
		if tc.code != 0 {
			if serr == nil || serr.code != tc.code {
				t.Errorf("%s: planRegister = %+v, %v, want %d", tc.name, got, serr, tc.code)
			} else if tc.code == 423 && (len(serr.headers) != 1 || serr.headers[0].Value() != "60") {
				t.Errorf("%s: 423 without Min-Expires: 60: %v", tc.name, serr.headers)
			}
			continue
		}
		if serr != nil {
			t.Errorf("%s: planRegister: %v", tc.name, serr)
			continue
		}
		opts := cmp.Options{cmp.AllowUnexported(registerPlan{}), cmp.Transformer("sort", func(in []string) []string {
			out := append([]string(nil), in...)
			for i := range out {
				for j := i + 1; j < len(out); j++ {
					if out[j] < out[i] {
						out[i], out[j] = out[j], out[i]
					}
				}
			}
			return out
		})}
		if diff := cmp.Diff(tc.want, got, opts); diff != "" {
			t.Errorf("%s: planRegister (-want +got):\n%s", tc.name, diff)
		}
	}

	full := map[string]switchboard.Registration{}
	for i := range maxContacts {
		c := "sip:102@10.0.1." + string(rune('a'+i))
		full[c] = switchboard.Registration{Contact: c, CallID: "x", CSeq: 1}
	}
	if _, serr := planRegister(full, registerRequest{Contacts: []contactSpec{{"sip:102@10.0.2.1", -1}}, Expires: -1, CallID: "y", CSeq: 1}, lim, now); serr == nil || serr.code != 403 {
		t.Errorf("contact %d: %v, want 403", maxContacts+1, serr)
	}
	if _, serr := planRegister(full, registerRequest{Contacts: []contactSpec{{"sip:102@10.0.1.a", -1}}, Expires: -1, CallID: "y", CSeq: 1}, lim, now); serr != nil {
		t.Errorf("refresh with %d contacts: %v", maxContacts, serr)
	}
}

func TestParseHeaders(t *testing.T) {
	if pkg, id := parseEvent(`Dialog ; id="42"`); pkg != "dialog" || id != "42" {
		t.Errorf("parseEvent = %q, %q", pkg, id)
	}
	if state, exp := parseSubscriptionState("active;expires=599"); state != "active" || exp != 599 {
		t.Errorf("parseSubscriptionState = %q, %d", state, exp)
	}
	if state, exp := parseSubscriptionState("terminated;reason=noresource"); state != "terminated" || exp != -1 {
		t.Errorf("parseSubscriptionState = %q, %d", state, exp)
	}
	for accept, want := range map[string]bool{
		"application/dialog-info+xml": true, "application/pidf+xml, application/dialog-info+xml;q=0.5": true,
		"*/*": true, "application/pidf+xml": false, "text/plain": false,
	} {
		if got := acceptsType(accept, dialogInfoType); got != want {
			t.Errorf("acceptsType(%q) = %v", accept, got)
		}
	}
}
