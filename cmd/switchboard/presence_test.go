package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

type presenceData struct {
	Extension string  `json:"extension"`
	Color     string  `json:"color"`
	DND       bool    `json:"dnd"`
	Message   string  `json:"message"`
	Until     *string `json:"until"`
}

func nextPresence(t *testing.T, st *stream, ext string) presenceData {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		f := st.nextOf("presence.changed", time.Until(deadline))
		var p presenceData
		json.Unmarshal(f.Data, &p)
		if p.Extension == ext {
			return p
		}
	}
}

// Do-not-disturb and a status message: red for the whole domain, stored
// across a restart, and ended by its until.
func TestDoNotDisturb(t *testing.T) {
	data := newData(t)
	s := startServer(t, data)
	a, b := s.login("101@acme.example"), s.login("102@acme.example")
	sa := a.connect("")
	b.connect("")
	if p := nextPresence(t, sa, "102"); p.Color != "blue" {
		t.Fatalf("102 = %+v, want blue", p)
	}
	var p presenceData
	b.mustDo("PUT", "/api/v1/me/presence", `{"dnd":true,"message":"On a customer call"}`, 200, &p)
	if p.Color != "red" || !p.DND || p.Message != "On a customer call" {
		t.Errorf("PUT presence = %+v", p)
	}
	if p := nextPresence(t, sa, "102"); p.Color != "red" || p.Message != "On a customer call" {
		t.Errorf("101 sees %+v, want red with the message", p)
	}
	for _, bad := range []string{`{"message":"` + strings.Repeat("m", 101) + `"}`, `{"until":"tomorrow"}`, `{"dnd":"yes"}`, `{"dnd":true,"until":"2001-01-01T00:00:00Z"}`} {
		if status, body := b.do("PUT", "/api/v1/me/presence", bad); status != 400 {
			t.Errorf("PUT presence %s = %d %s, want 400", bad, status, body)
		}
	}
	// It is stored: a restart keeps it.
	s.stop()
	s.start()
	a = s.login("101@acme.example")
	var contacts struct {
		Contacts []struct {
			Extension string       `json:"extension"`
			Presence  presenceData `json:"presence"`
		} `json:"contacts"`
	}
	a.mustDo("GET", "/api/v1/contacts?q=102", nil, 200, &contacts)
	if len(contacts.Contacts) != 1 || !contacts.Contacts[0].Presence.DND || contacts.Contacts[0].Presence.Color != "red" {
		t.Errorf("after restart 102 = %+v", contacts.Contacts)
	}
	// An until ends it by itself.
	b = s.login("102@acme.example")
	sa = a.connect("")
	until := time.Now().Add(700 * time.Millisecond).UTC().Format(time.RFC3339Nano)
	b.mustDo("PUT", "/api/v1/me/presence", `{"dnd":true,"message":"Back soon","until":"`+until+`"}`, 200, &p)
	if p.Until == nil {
		t.Errorf("until not echoed: %+v", p)
	}
	for {
		p := nextPresence(t, sa, "102")
		if !p.DND {
			if p.Color != "gray" || p.Message != "" {
				t.Errorf("after until = %+v, want gray without a message", p)
			}
			break
		}
	}
}

// A PBX beside Switchboard reports devices and calls with its domain's API
// key; another domain sees nothing, and a key never reaches another domain.
func TestPBXEvents(t *testing.T) {
	data := newData(t)
	key := strings.TrimSpace(mustCLI(t, data, "apikey", "add", "--domain", "acme.example"))
	globexKey := strings.TrimSpace(mustCLI(t, data, "apikey", "add", "--domain", "globex.example"))
	if !strings.HasPrefix(key, "sbk_") || key == globexKey {
		t.Fatalf("apikey add printed %q", key)
	}
	if _, errs, code := cli(t, data, "", "apikey", "add", "--domain", "nowhere.example"); code == 0 || !strings.Contains(errs, "not found") {
		t.Errorf("apikey for unknown domain: %d %s", code, errs)
	}
	s := startServer(t, data)
	a := s.login("101@acme.example")
	x := s.login("101@globex.example")
	sa, sx := a.connect(""), x.connect("")
	pbx := &client{t: t, s: s, token: key}
	post := func(c *client, body string, want int) {
		t.Helper()
		if status, resp := c.do("POST", "/api/v1/pbx/events", body); status != want {
			t.Errorf("POST pbx/events %s = %d %s, want %d", body, status, resp, want)
		}
	}
	post(pbx, `{"type":"device.registered","extension":"102","device":"desk-102"}`, 204)
	if p := nextPresence(t, sa, "102"); p.Color != "green" {
		t.Errorf("registered device: %+v, want green", p)
	}
	post(pbx, `{"type":"call.started","extension":"102","call_id":"c-1"}`, 204)
	if p := nextPresence(t, sa, "102"); p.Color != "red" {
		t.Errorf("in a call: %+v, want red", p)
	}
	post(pbx, `{"type":"call.ended","extension":"102","call_id":"c-1"}`, 204)
	if p := nextPresence(t, sa, "102"); p.Color != "green" {
		t.Errorf("call ended: %+v, want green", p)
	}
	post(pbx, `{"type":"device.unregistered","extension":"102","device":"desk-102"}`, 204)
	if p := nextPresence(t, sa, "102"); p.Color != "gray" {
		t.Errorf("device gone: %+v, want gray", p)
	}
	post(pbx, `{"type":"device.registered","extension":"103","device":"soft","expires":1}`, 204)
	if p := nextPresence(t, sa, "103"); p.Color != "green" {
		t.Errorf("expiring device: %+v", p)
	}
	if p := nextPresence(t, sa, "103"); p.Color != "gray" {
		t.Errorf("after expiry: %+v, want gray", p)
	}
	// Bad reports change nothing.
	post(pbx, `{"type":"device.registered","extension":"999","device":"d"}`, 404)
	post(pbx, `{"type":"reboot","extension":"102"}`, 400)
	post(pbx, `{"type":"call.started","extension":"102"}`, 400)
	post(pbx, `{"type":"device.registered","extension":"102","device":"d","expires":-5}`, 400)
	post(pbx, `not json`, 400)
	post(&client{t: t, s: s, token: "sbk_wrong"}, `{"type":"call.started","extension":"102","call_id":"x"}`, 401)
	post(&client{t: t, s: s, token: a.token}, `{"type":"call.started","extension":"102","call_id":"x"}`, 401)
	// globex's key moves globex's 101, never acme's 101.
	post(&client{t: t, s: s, token: globexKey}, `{"type":"device.registered","extension":"101","device":"g"}`, 204)
	if p := nextPresence(t, sx, "101"); p.Color != "green" {
		t.Errorf("globex 101: %+v", p)
	}
	sa.none("presence.changed", 300*time.Millisecond)
	var me struct {
		Contacts []struct {
			Presence presenceData `json:"presence"`
		} `json:"contacts"`
	}
	a.mustDo("GET", "/api/v1/contacts?q=101", nil, 200, &me)
	if me.Contacts[0].Presence.Color != "blue" {
		t.Errorf("acme 101 = %+v, want blue (its own chat client only)", me.Contacts[0].Presence)
	}
	req, _ := http.NewRequest("POST", s.url+"/api/v1/pbx/events", strings.NewReader(`{}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("no key = %d", resp.StatusCode)
	}
}
