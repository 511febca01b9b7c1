package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

type smsMessage struct {
	message
	Status string `json:"status"`
	Error  string `json:"error"`
}

type smsConversation struct {
	conversation
	TextingNumber string   `json:"texting_number"`
	External      []string `json:"external"`
}

// newTextingData is newData with a simulated provider "simx" (secret
// "sim-secret") and the texting number +14155550100 shared by 101 and 102.
func newTextingData(t *testing.T) string {
	t.Helper()
	data := newData(t)
	mustCLI(t, data, "provider", "add", "simx", "--kind", "sim", "--secret", "sim-secret")
	out := mustCLI(t, data, "number", "add", "(415) 555-0100", "--domain", "acme.example", "--provider", "simx", "--assign", "101,102")
	if !strings.Contains(out, "+14155550100") {
		t.Fatalf("number add printed %q", out)
	}
	mustCLI(t, data, "domain", "set", "acme.example", "--sms-help", "Acme Corp support: call 415 555 0100.")
	return data
}

// inbound posts a text from an external phone through the simulator's
// webhook, as the carrier would.
func inbound(t *testing.T, s *server, secret, id, from, to, body string) int {
	t.Helper()
	form := url.Values{"secret": {secret}, "id": {id}, "from": {from}, "to": {to}, "body": {body}}
	raw := []byte(form.Encode())
	req, _ := http.NewRequest("POST", s.url+"/webhooks/sms/simx", bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	getSpec(t).Check(t, req, raw, resp, b)
	return resp.StatusCode
}

// nextMessageFrom returns the next message.created from sender.
func nextMessageFrom(t *testing.T, st *stream, sender string) message {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		m := decodeMessage(t, st.nextOf("message.created", time.Until(deadline)))
		if m.Sender == sender {
			return m
		}
	}
}

func waitStatus(t *testing.T, st *stream, id, want string) smsMessage {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		f := st.nextOf("message.updated", time.Until(deadline))
		var m smsMessage
		json.Unmarshal(f.Data, &m)
		if m.ID == id && m.Status == want {
			return m
		}
	}
}

func TestTextingCLI(t *testing.T) {
	data := newTextingData(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"number", "add", "12345", "--domain", "acme.example", "--provider", "simx"}, "not a valid phone number"},
		{[]string{"number", "add", "+14155550100", "--domain", "globex.example", "--provider", "simx"}, "exists already"},
		{[]string{"number", "add", "+14155550111", "--domain", "acme.example", "--provider", "nope"}, "not found"},
		{[]string{"number", "add", "+14155550111", "--domain", "acme.example", "--provider", "simx", "--assign", "999"}, "not found"},
		{[]string{"provider", "add", "tw", "--kind", "twilio", "--account-sid", "AC1"}, "--auth-token"},
		{[]string{"provider", "add", "x", "--kind", "carrier-pigeon"}, "not one of"},
		{[]string{"provider", "add", "simx", "--kind", "sim"}, "exists already"},
		{[]string{"number", "assign", "+14155550199", "--to", "101"}, "not found"},
	} {
		if _, errs, code := cli(t, data, "", tc.args...); code == 0 || !strings.Contains(errs, tc.want) {
			t.Errorf("switchboard %s: exit %d, %q; want failure with %q", strings.Join(tc.args, " "), code, errs, tc.want)
		}
	}
	mustCLI(t, data, "number", "assign", "+1 415-555-0100", "--to", "102,103")
	out := mustCLI(t, data, "number", "list", "acme.example")
	if !strings.Contains(out, "+14155550100") || !strings.Contains(out, "102, 103") {
		t.Errorf("number list:\n%s", out)
	}
}

// Texting end to end through the simulated carrier: a shared inbox,
// delivery status, inbound with retries, unknown numbers and bad
// signatures, STOP/START/HELP, and the limits.
func TestTexting(t *testing.T) {
	s := startServer(t, newTextingData(t))
	a, b, c := s.login("101@acme.example"), s.login("102@acme.example"), s.login("103@acme.example")
	x := s.login("101@globex.example")
	var me struct {
		TextingNumbers []string `json:"texting_numbers"`
	}
	a.mustDo("GET", "/api/v1/me", nil, 200, &me)
	if len(me.TextingNumbers) != 1 || me.TextingNumbers[0] != "+14155550100" {
		t.Errorf("101's texting numbers = %v", me.TextingNumbers)
	}
	sa, sb := a.connect(""), b.connect("")

	var conv smsConversation
	a.mustDo("POST", "/api/v1/conversations", `{"from":"+14155550100","to":["(415) 555-0142"]}`, 201, &conv)
	if conv.Kind != "sms" || conv.TextingNumber != "+14155550100" || len(conv.External) != 1 || conv.External[0] != "+14155550142" ||
		strings.Join(conv.Members, ",") != "101,102" {
		t.Fatalf("sms conversation = %+v", conv)
	}
	a.mustDo("POST", "/api/v1/conversations", `{"from":"4155550100","to":["+1 415 555 0142"]}`, 200, nil)
	for _, bad := range []struct {
		c    *client
		body string
		want int
	}{
		{a, `{"from":"+14155550100","to":["555"]}`, 400},
		{a, `{"from":"+14155550100","to":[]}`, 400},
		{c, `{"from":"+14155550100","to":["+14155550142"]}`, 404}, // not assigned to 103
		{x, `{"from":"+14155550100","to":["+14155550142"]}`, 404}, // another domain
		{a, `{"from":"+14155550199","to":["+14155550142"]}`, 404}, // not a number of mine
	} {
		if status, body := bad.c.do("POST", "/api/v1/conversations", bad.body); status != bad.want {
			t.Errorf("%s creates %s = %d %s, want %d", bad.c.ext, bad.body, status, body, bad.want)
		}
	}

	var sent smsMessage
	a.mustDo("POST", "/api/v1/conversations/"+conv.ID+"/messages", `{"client_id":"t1","body":"Your order is ready for pickup."}`, 201, &sent)
	if sent.Status != "queued" {
		t.Errorf("new text status = %q, want queued", sent.Status)
	}
	waitStatus(t, sb, sent.ID, "delivered") // 102 shares the inbox and sees it
	if status, _ := a.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]string{"body": strings.Repeat("x", 1601)}); status != 413 {
		t.Errorf("1601 characters = %d, want 413", status)
	}

	// Inbound: stored once however often the carrier retries.
	if code := inbound(t, s, "sim-secret", "in-1", "+14155550142", "+14155550100", "Great, thanks!"); code != 204 {
		t.Fatalf("inbound = %d", code)
	}
	got := nextMessageFrom(t, sa, "+14155550142")
	if got.Body != "Great, thanks!" || got.Sender != "+14155550142" || got.ConversationID != conv.ID {
		t.Errorf("inbound message = %+v", got)
	}
	inbound(t, s, "sim-secret", "in-1", "+14155550142", "+14155550100", "Great, thanks!")
	if msgs := b.messages(conv.ID, ""); len(msgs) != 2 {
		t.Errorf("after a retried webhook the history has %d messages, want 2", len(msgs))
	}
	// Unknown number, bad signature, bad numbers: refused, nothing stored.
	for _, tc := range []struct {
		secret, from, to string
		want             int
	}{
		{"sim-secret", "+14155550142", "+14155550199", 404},
		{"wrong", "+14155550142", "+14155550100", 401},
		{"sim-secret", "not-a-number", "+14155550100", 400},
	} {
		if code := inbound(t, s, tc.secret, "in-x", tc.from, tc.to, "hello"); code != tc.want {
			t.Errorf("inbound %+v = %d, want %d", tc, code, tc.want)
		}
	}
	// A new external number starts a new conversation in the shared inbox.
	inbound(t, s, "sim-secret", "in-2", "+14155550177", "+14155550100", "Do you deliver on Sundays?")
	newConv := nextMessageFrom(t, sb, "+14155550177").ConversationID
	if newConv == conv.ID {
		t.Errorf("a new number went into the existing conversation")
	}
	if list := b.conversations(); len(list) != 2 || list[0].ID != newConv || list[0].Unread != 1 {
		t.Errorf("102's list = %+v", list)
	}
	if list := c.conversations(); len(list) != 0 {
		t.Errorf("103 sees %d conversations", len(list))
	}
	if list := x.conversations(); len(list) != 0 {
		t.Errorf("globex sees %d conversations", len(list))
	}

	// STOP: later texts fail at once with the reason; START: they go again.
	inbound(t, s, "sim-secret", "in-3", "+14155550142", "+14155550100", " stop ")
	var refused smsMessage
	a.mustDo("POST", "/api/v1/conversations/"+conv.ID+"/messages", `{"body":"One more thing"}`, 201, &refused)
	if refused.Status != "failed" || !strings.Contains(refused.Error, "STOP") {
		t.Errorf("text to an opted-out number = %+v", refused)
	}
	inbound(t, s, "sim-secret", "in-4", "+14155550142", "+14155550100", "START")
	var again smsMessage
	a.mustDo("POST", "/api/v1/conversations/"+conv.ID+"/messages", `{"body":"Welcome back"}`, 201, &again)
	waitStatus(t, sa, again.ID, "delivered")

	// HELP gets the domain's reply from the texting number itself.
	inbound(t, s, "sim-secret", "in-5", "+14155550142", "+14155550100", "help")
	if m := nextMessageFrom(t, sa, "+14155550100"); m.Body != "Acme Corp support: call 415 555 0100." {
		t.Errorf("HELP reply = %q", m.Body)
	}
	// A number the carrier refuses: failed with the carrier's reason.
	var bad smsConversation
	a.mustDo("POST", "/api/v1/conversations", `{"from":"+14155550100","to":["+15005550001"]}`, 201, &bad)
	var lost smsMessage
	a.mustDo("POST", "/api/v1/conversations/"+bad.ID+"/messages", `{"body":"hello?"}`, 201, &lost)
	if m := waitStatus(t, sa, lost.ID, "failed"); !strings.Contains(m.Error, "cannot receive texts") {
		t.Errorf("refused text error = %q", m.Error)
	}
}

// MMS: a picture goes out through a signed link that the provider fetches;
// a tampered link is not found. Runs the demo's simulated carrier, whose
// /sim page shows what the phone received.
func TestMMS(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s := startServer(t, newData(t), "--demo", "--addr", addr, "--public-url", "http://"+addr)
	a := s.login("101@acme.example")
	sa := a.connect("")
	var conv smsConversation
	a.mustDo("POST", "/api/v1/conversations", `{"from":"+14155550100","to":["+14155550142"]}`, 201, &conv)
	pic := pngImage(t, 300, 200)
	up := a.mustUpload("plan.png", "image/png", pic)
	var m smsMessage
	a.mustDo("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"body": "The floor plan", "attachments": []string{up.ID}}, 201, &m)
	waitStatus(t, sa, m.ID, "delivered")
	resp, err := http.Get(s.url + "/sim/api/state?phone=%2B14155550142")
	if err != nil {
		t.Fatal(err)
	}
	var state struct {
		Texts []struct {
			Body  string   `json:"body"`
			Media []string `json:"media"`
		} `json:"texts"`
	}
	json.NewDecoder(resp.Body).Decode(&state)
	resp.Body.Close()
	if len(state.Texts) != 1 || len(state.Texts[0].Media) != 1 || state.Texts[0].Body != "The floor plan" {
		t.Fatalf("the phone got %+v", state.Texts)
	}
	link := state.Texts[0].Media[0]
	anon := &client{t: t, s: s}
	path := strings.TrimPrefix(link, s.url)
	status, body := anon.do("GET", path, nil)
	if status != 200 || !bytes.Equal(body, pic) {
		t.Errorf("provider fetch of %s = %d, %d bytes", path, status, len(body))
	}
	if status, _ := anon.do("GET", strings.Replace(path, "sig=", "sig=x", 1), nil); status != 404 {
		t.Errorf("tampered link = %d, want 404", status)
	}
	// A non-picture cannot go by MMS: the message is refused with the
	// reason, and nothing is stored (TestMMSLimits has the other limits).
	doc := a.mustUpload("terms.pdf", "application/pdf", []byte("%PDF-1.4 not really"))
	if status, body := a.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"attachments": []string{doc.ID}}); status != 400 ||
		!strings.Contains(string(body), "only pictures") {
		t.Errorf("PDF by MMS = %d %s, want 400 saying only pictures", status, body)
	}
	if got := a.messages(conv.ID, ""); len(got) != 1 {
		t.Errorf("after the PDF the conversation has %d messages, want 1", len(got))
	}
	// Kannel-style GET webhooks go through the same signature check.
	if status, _ := anon.do("GET", "/webhooks/sms/sim?from=%2B14155550142&to=%2B14155550100&text=hi", nil); status != 401 {
		t.Errorf("unsigned GET webhook = %d, want 401", status)
	}
}

// TestMMSLimits sends to SMS conversations what their providers cannot
// send by MMS: each is refused with 400 and the reason, and nothing is
// stored, so the outbox has nothing to send.
func TestMMSLimits(t *testing.T) {
	data := newTextingData(t)
	mustCLI(t, data, "provider", "add", "kn", "--kind", "kannel", "--api-url", "http://127.0.0.1:9",
		"--username", "u", "--password", "p", "--secret", "s")
	mustCLI(t, data, "number", "add", "+14155550101", "--domain", "acme.example", "--provider", "kn", "--assign", "101")
	s := startServer(t, data)
	a := s.login("101@acme.example")
	var sim, kn smsConversation
	a.mustDo("POST", "/api/v1/conversations", `{"from":"+14155550100","to":["+14155550142"]}`, 201, &sim)
	a.mustDo("POST", "/api/v1/conversations", `{"from":"+14155550101","to":["+14155550142"]}`, 201, &kn)

	// A picture padded after its end: decoders ignore the padding.
	picture := func(size int) []byte {
		p := pngImage(t, 8, 8)
		return append(p, make([]byte, size-len(p))...)
	}
	small := a.mustUpload("small.png", "image/png", picture(1000)).ID
	big := a.mustUpload("big.png", "image/png", picture(5<<20+512<<10)).ID
	doc := a.mustUpload("terms.pdf", "application/pdf", []byte("%PDF-1.4 not really")).ID
	var eleven []string
	for i := range 11 {
		eleven = append(eleven, a.mustUpload(fmt.Sprintf("p%d.png", i), "image/png", picture(1000+i)).ID)
	}
	for _, tc := range []struct {
		name string
		conv string
		atts []string
		want string // in the error message
	}{
		{"not a picture", sim.ID, []string{small, doc}, "terms.pdf is not a picture; only pictures can be sent by MMS."},
		{"too large", sim.ID, []string{big}, "The pictures are 5.5 MB; this provider sends at most 5.0 MB by MMS."},
		{"too many", sim.ID, eleven, "A message has at most 10 attachments."},
		{"provider without MMS", kn.ID, []string{small}, "This texting number's provider cannot send pictures (MMS)."},
	} {
		status, body := a.do("POST", "/api/v1/conversations/"+tc.conv+"/messages", map[string]any{"body": "Look", "attachments": tc.atts})
		var e struct {
			Error struct{ Code, Message string }
		}
		json.Unmarshal(body, &e)
		if status != 400 || e.Error.Code != "invalid" || e.Error.Message != tc.want {
			t.Errorf("%s: send = %d %s, want 400 invalid %q", tc.name, status, body, tc.want)
		}
	}
	for _, c := range []smsConversation{sim, kn} {
		if got := a.messages(c.ID, ""); len(got) != 0 {
			t.Errorf("conversation %s has %d messages after the refusals, want none", c.TextingNumber, len(got))
		}
	}
	// Within the limits, the same pictures go.
	a.mustDo("POST", "/api/v1/conversations/"+sim.ID+"/messages", map[string]any{"body": "Look", "attachments": eleven[:10]}, 201, nil)
	a.mustDo("POST", "/api/v1/conversations/"+kn.ID+"/messages", map[string]any{"body": "Look"}, 201, nil)
}
