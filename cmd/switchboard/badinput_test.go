package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Every bad input gets a clear 4xx with the error shape and changes
// nothing.
func TestBadInput(t *testing.T) {
	s := startServer(t, newData(t))
	a, b := s.login("101@acme.example"), s.login("102@acme.example")
	direct := a.conversation([]string{"102"}, "")
	group := a.conversation([]string{"102", "103"}, "Team")
	own := a.send(direct.ID, "mine", "my message")
	theirs := b.send(direct.ID, "theirs", "their message")
	anon := &client{t: t, s: s}
	badToken := &client{t: t, s: s, token: "not-a-real-token"}
	d, g := "/api/v1/conversations/"+direct.ID, "/api/v1/conversations/"+group.ID

	snapshot := func() string {
		var parts []string
		for _, c := range []*client{a, b} {
			list, _ := json.Marshal(c.conversations())
			parts = append(parts, string(list))
			for _, id := range []string{direct.ID, group.ID} {
				msgs, _ := json.Marshal(c.messages(id, "?limit=200"))
				parts = append(parts, string(msgs))
			}
		}
		return strings.Join(parts, "\n")
	}
	before := snapshot()

	for _, tc := range []struct {
		name         string
		c            *client
		method, path string
		body         any
		status       int
		code         string
	}{
		{"login malformed JSON", anon, "POST", "/api/v1/login", `{"username":`, 400, "invalid"},
		{"login not an object", anon, "POST", "/api/v1/login", `[1,2]`, 400, "invalid"},
		{"login empty body", anon, "POST", "/api/v1/login", ``, 400, "invalid"},
		{"login missing password", anon, "POST", "/api/v1/login", `{"username":"101@acme.example"}`, 400, "invalid"},
		{"login wrong type", anon, "POST", "/api/v1/login", `{"username":101,"password":"x"}`, 400, "invalid"},
		{"login unknown user", anon, "POST", "/api/v1/login", `{"username":"999@acme.example","password":"password-999"}`, 401, "unauthorized"},
		{"no token", anon, "GET", "/api/v1/me", nil, 401, "unauthorized"},
		{"bad token", badToken, "GET", "/api/v1/conversations", nil, 401, "unauthorized"},
		{"create malformed", a, "POST", "/api/v1/conversations", `{"members":["102"`, 400, "invalid"},
		{"create members not an array", a, "POST", "/api/v1/conversations", `{"members":"102"}`, 400, "invalid"},
		{"create no members", a, "POST", "/api/v1/conversations", `{"members":[]}`, 400, "invalid"},
		{"create only myself", a, "POST", "/api/v1/conversations", `{"members":["101"]}`, 400, "invalid"},
		{"create bad extension", a, "POST", "/api/v1/conversations", `{"members":["abc"]}`, 400, "invalid"},
		{"create unknown extension", a, "POST", "/api/v1/conversations", `{"members":["999"]}`, 404, "not_found"},
		{"create name too long", a, "POST", "/api/v1/conversations", map[string]any{"members": []string{"102", "103"}, "name": strings.Repeat("n", 101)}, 400, "invalid"},
		{"send malformed", a, "POST", d + "/messages", `{"body":"x"`, 400, "invalid"},
		{"send body wrong type", a, "POST", d + "/messages", `{"body":42}`, 400, "invalid"},
		{"send empty", a, "POST", d + "/messages", `{"body":""}`, 400, "invalid"},
		{"send blank", a, "POST", d + "/messages", `{"body":"  \n\t "}`, 400, "invalid"},
		{"send too long", a, "POST", d + "/messages", map[string]string{"body": strings.Repeat("é", 10001)}, 413, "too_large"},
		{"send client_id too long", a, "POST", d + "/messages", map[string]string{"body": "x", "client_id": strings.Repeat("c", 65)}, 400, "invalid"},
		{"send unknown attachment", a, "POST", d + "/messages", `{"body":"x","attachments":["nope"]}`, 404, "not_found"},
		{"send attachments wrong type", a, "POST", d + "/messages", `{"body":"x","attachments":"nope"}`, 400, "invalid"},
		{"send to unknown conversation", a, "POST", "/api/v1/conversations/c_nope/messages", `{"body":"x"}`, 404, "not_found"},
		{"send to a conversation I am not in", s.login("103@acme.example"), "POST", d + "/messages", `{"body":"x"}`, 404, "not_found"},
		{"request body over 1 MiB", a, "POST", d + "/messages", `{"body":"` + strings.Repeat("x", 2<<20) + `"}`, 413, "too_large"},
		{"history limit zero", a, "GET", d + "/messages?limit=0", nil, 400, "invalid"},
		{"history limit too big", a, "GET", d + "/messages?limit=500", nil, 400, "invalid"},
		{"history limit not a number", a, "GET", d + "/messages?limit=ten", nil, 400, "invalid"},
		{"history before and after", a, "GET", d + "/messages?before=5&after=1", nil, 400, "invalid"},
		{"history negative", a, "GET", d + "/messages?before=-1", nil, 400, "invalid"},
		{"list limit zero", a, "GET", "/api/v1/conversations?limit=0", nil, 400, "invalid"},
		{"read missing seq", a, "POST", d + "/read", `{}`, 400, "invalid"},
		{"read seq wrong type", a, "POST", d + "/read", `{"seq":"1"}`, 400, "invalid"},
		{"read negative seq", a, "POST", d + "/read", `{"seq":-1}`, 400, "invalid"},
		{"edit someone else's", a, "PATCH", d + "/messages/" + theirs.ID, `{"body":"x"}`, 403, "forbidden"},
		{"edit to empty", a, "PATCH", d + "/messages/" + own.ID, `{"body":""}`, 400, "invalid"},
		{"edit missing body", a, "PATCH", d + "/messages/" + own.ID, `{}`, 400, "invalid"},
		{"edit unknown message", a, "PATCH", d + "/messages/m_nope", `{"body":"x"}`, 404, "not_found"},
		{"edit message through another conversation", a, "PATCH", g + "/messages/" + own.ID, `{"body":"x"}`, 404, "not_found"},
		{"delete someone else's", a, "DELETE", d + "/messages/" + theirs.ID, nil, 403, "forbidden"},
		{"rename direct", a, "PATCH", d, `{"name":"x"}`, 400, "invalid"},
		{"rename missing name", a, "PATCH", g, `{}`, 400, "invalid"},
		{"add to direct", a, "POST", d + "/members", `{"members":["103"]}`, 400, "invalid"},
		{"add unknown", a, "POST", g + "/members", `{"members":["999"]}`, 404, "not_found"},
		{"remove from direct", a, "DELETE", d + "/members/102", nil, 400, "invalid"},
		{"remove non-member", a, "DELETE", g + "/members/555", nil, 404, "not_found"},
		{"delete unknown conversation", a, "DELETE", "/api/v1/conversations/c_nope", nil, 404, "not_found"},
		{"unknown endpoint", a, "GET", "/api/v1/nothing-here", nil, 404, "not_found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.c.t = t
			status, body := tc.c.request(tc.method, tc.path, tc.body, !strings.Contains(tc.path, "nothing-here"))
			var e struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			if err := json.Unmarshal(body, &e); err != nil || status != tc.status || e.Error.Code != tc.code || e.Error.Message == "" {
				t.Errorf("%s %s = %d %.200s, want %d %s with a message", tc.method, tc.path, status, body, tc.status, tc.code)
			}
		})
	}
	a.t, b.t = t, t
	if after := snapshot(); after != before {
		t.Errorf("bad input changed state:\nbefore %s\nafter  %s", before, after)
	}
	// The server is still up and well.
	a.mustDo("GET", "/healthz", nil, 200, nil)
}

// Nothing of one domain is visible from another: every id is not_found.
func TestCrossDomainIsolation(t *testing.T) {
	s := startServer(t, newData(t))
	a, b := s.login("101@acme.example"), s.login("102@acme.example")
	x := s.login("101@globex.example") // same extension number, other company
	sx := x.connect("")
	conv := a.conversation([]string{"102"}, "")
	group := a.conversation([]string{"102", "103"}, "Acme only")
	m := a.send(conv.ID, "1", "acme secret")
	b.send(conv.ID, "2", "reply")

	for _, path := range []string{"/api/v1/conversations/" + conv.ID, "/api/v1/conversations/" + group.ID} {
		for _, tc := range []struct {
			method, path string
			body         any
		}{
			{"GET", path, nil},
			{"PATCH", path, `{"name":"pwned"}`},
			{"DELETE", path, nil},
			{"POST", path + "/members", `{"members":["102"]}`},
			{"DELETE", path + "/members/102", nil},
			{"DELETE", path + "/members/101", nil},
			{"POST", path + "/read", `{"seq":1}`},
			{"GET", path + "/messages", nil},
			{"POST", path + "/messages", `{"body":"hello from globex"}`},
			{"PATCH", path + "/messages/" + m.ID, `{"body":"x"}`},
			{"DELETE", path + "/messages/" + m.ID, nil},
		} {
			status, body := x.do(tc.method, tc.path, tc.body)
			if status != http.StatusNotFound || !strings.Contains(string(body), `"not_found"`) {
				t.Errorf("globex %s %s = %d %s, want 404 not_found", tc.method, tc.path, status, body)
			}
		}
	}
	// Creating a conversation with an extension that exists only in acme.
	if status, _ := x.do("POST", "/api/v1/conversations", `{"members":["103"]}`); status != 404 {
		t.Errorf("globex conversation with acme-only 103 = %d, want 404", status)
	}
	var contacts struct {
		Contacts []struct{ Extension, Name string } `json:"contacts"`
	}
	x.mustDo("GET", "/api/v1/contacts", nil, 200, &contacts)
	if len(contacts.Contacts) != 2 || contacts.Contacts[0].Name != "Gina Globex" {
		t.Errorf("globex contacts = %+v, want only Gina and Gus", contacts.Contacts)
	}
	if list := x.conversations(); len(list) != 0 {
		t.Errorf("globex conversations = %+v", list)
	}
	sx.none("message.created", 300*time.Millisecond)
	if msgs := a.messages(conv.ID, ""); len(msgs) != 2 || msgs[0].Body != "acme secret" {
		t.Errorf("acme history changed: %+v", msgs)
	}
}

// Repeated failed sign-ins are throttled, even for the right password,
// and a throttled address does not affect others.
func TestLoginThrottle(t *testing.T) {
	s := startServer(t, newData(t))
	anon := &client{t: t, s: s}
	for i := range 5 {
		status, _ := anon.do("POST", "/api/v1/login", `{"username":"102@acme.example","password":"wrong"}`)
		if status != 401 {
			t.Fatalf("failure %d = %d, want 401", i+1, status)
		}
	}
	anon.do("POST", "/api/v1/login", `{"username":"102@acme.example","password":"wrong"}`)
	status, body := anon.do("POST", "/api/v1/login", `{"username":"102@acme.example","password":"password-102"}`)
	if status != 429 || !strings.Contains(string(body), "rate_limited") {
		t.Errorf("right password while throttled = %d %s, want 429", status, body)
	}
	// Someone else can still sign in.
	s.login("103@acme.example")
}

// The session cookie works like the token; logout ends the session.
func TestCookieAndLogout(t *testing.T) {
	s := startServer(t, newData(t))
	a := s.login("101@acme.example")
	req, _ := http.NewRequest("GET", s.url+"/api/v1/me", nil)
	req.AddCookie(&http.Cookie{Name: "switchboard_session", Value: a.token})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("me by cookie = %d, want 200", resp.StatusCode)
	}
	a.mustDo("POST", "/api/v1/logout", nil, 204, nil)
	if status, _ := a.do("GET", "/api/v1/me", nil); status != 401 {
		t.Errorf("me after logout = %d, want 401", status)
	}
	var spec string
	a.token = ""
	status, body := a.do("GET", "/api/v1/openapi.yaml", nil)
	spec = string(body)
	if status != 200 || !strings.Contains(spec, "openapi: 3.1") {
		t.Errorf("openapi.yaml = %d %.100s", status, spec)
	}
}
