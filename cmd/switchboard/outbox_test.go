package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/sms/twilio"
)

// fakeTwilio speaks Twilio's Messages API: it is down (503) until up is
// set, then accepts messages and remembers them.
type fakeTwilio struct {
	mu   sync.Mutex
	up   bool
	got  []url.Values
	down int
}

func (f *fakeTwilio) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != "POST" || r.URL.Path != "/2010-04-01/Accounts/AC123/Messages.json" {
		http.Error(w, "not found", 404)
		return
	}
	if user, pass, _ := r.BasicAuth(); user != "AC123" || pass != "tok" {
		http.Error(w, `{"code":20003,"message":"Authenticate"}`, 401)
		return
	}
	r.ParseForm()
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.up {
		f.down++
		w.WriteHeader(503)
		fmt.Fprint(w, `{"code":20500,"message":"Service unavailable"}`)
		return
	}
	f.got = append(f.got, r.PostForm)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(201)
	fmt.Fprintf(w, `{"sid":"SM%03d","status":"queued","to":%q,"from":%q}`, len(f.got), r.PostForm.Get("To"), r.PostForm.Get("From"))
}

func (f *fakeTwilio) state() (bool, int, []url.Values) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.up, f.down, append([]url.Values(nil), f.got...)
}

// A provider that is down and comes back, with a restart of Switchboard in
// between: every queued text is sent exactly once, and Twilio's signed
// status callbacks move it to delivered; unsigned ones change nothing.
func TestOutboxProviderDownAndRestart(t *testing.T) {
	fake := &fakeTwilio{}
	api := httptest.NewServer(fake)
	defer api.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	publicURL := "http://" + addr

	data := newData(t)
	mustCLI(t, data, "provider", "add", "tw", "--kind", "twilio", "--account-sid", "AC123", "--auth-token", "tok", "--api-url", api.URL)
	mustCLI(t, data, "number", "add", "+14155550111", "--domain", "acme.example", "--provider", "tw", "--assign", "101")
	s := startServer(t, data, "--addr", addr, "--public-url", publicURL)
	a := s.login("101@acme.example")
	var conv smsConversation
	a.mustDo("POST", "/api/v1/conversations", `{"from":"+14155550111","to":["+14155550142"]}`, 201, &conv)
	var sent []smsMessage
	for i := range 3 {
		var m smsMessage
		a.mustDo("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]string{"client_id": fmt.Sprint(i), "body": fmt.Sprintf("text %d", i)}, 201, &m)
		sent = append(sent, m)
	}
	// The provider refuses for a while; the texts stay queued.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, down, _ := fake.state(); down >= 3 {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("the provider was called %d times", down)
		}
	}
	var page struct {
		Messages []smsMessage `json:"messages"`
	}
	a.mustDo("GET", "/api/v1/conversations/"+conv.ID+"/messages", nil, 200, &page)
	for _, m := range page.Messages {
		if m.Status != "queued" {
			t.Errorf("while the provider is down, %q is %s, want queued", m.Body, m.Status)
		}
	}
	s.stop()
	fake.mu.Lock()
	fake.up = true
	fake.mu.Unlock()
	s.start("--addr", addr, "--public-url", publicURL)
	a = s.login("101@acme.example")
	sa := a.connect("")
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if _, _, got := fake.state(); len(got) >= 3 {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("only %d texts reached the provider after it came back", len(got))
		}
	}
	time.Sleep(1500 * time.Millisecond) // a second send of any of them would show now
	_, _, got := fake.state()
	bodies := map[string]int{}
	for _, f := range got {
		bodies[f.Get("Body")]++
		if f.Get("From") != "+14155550111" || f.Get("To") != "+14155550142" || f.Get("StatusCallback") != publicURL+"/webhooks/sms/tw" {
			t.Errorf("provider got %v", f)
		}
	}
	for i := range 3 {
		if n := bodies[fmt.Sprintf("text %d", i)]; n != 1 {
			t.Errorf("text %d reached the provider %d times, want once", i, n)
		}
	}
	// Status callbacks, signed as Twilio signs them.
	callback := func(sig bool, sid, status string) int {
		form := url.Values{"MessageSid": {sid}, "MessageStatus": {status}, "AccountSid": {"AC123"}}
		raw := []byte(form.Encode())
		req, _ := http.NewRequest("POST", s.url+"/webhooks/sms/tw", bytes.NewReader(raw))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		signature := twilio.Sign("tok", publicURL+"/webhooks/sms/tw", form)
		if !sig {
			signature = twilio.Sign("wrong-token", publicURL+"/webhooks/sms/tw", form)
		}
		req.Header.Set("X-Twilio-Signature", signature)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		getSpec(t).Check(t, req, raw, resp, b)
		return resp.StatusCode
	}
	if code := callback(false, "SM001", "delivered"); code != 401 {
		t.Errorf("unsigned callback = %d, want 401", code)
	}
	for i := 1; i <= 3; i++ {
		if code := callback(true, fmt.Sprintf("SM%03d", i), "delivered"); code != 204 {
			t.Errorf("callback %d = %d", i, code)
		}
	}
	delivered := map[string]bool{}
	for deadline := time.Now().Add(10 * time.Second); len(delivered) < 3 && time.Now().Before(deadline); {
		f := sa.nextOf("message.updated", time.Until(deadline))
		m := decodeMessage(t, f)
		if strings.Contains(string(f.Data), `"status":"delivered"`) {
			delivered[m.ID] = true
		}
	}
	for _, m := range sent {
		if !delivered[m.ID] {
			t.Errorf("message %s not delivered", m.ID)
		}
	}
}
