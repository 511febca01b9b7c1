package openapitest

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard"
	"github.com/switchboard-chat/switchboard/docs"
)

// fakeTB records the failures that Check reports instead of failing the test.
type fakeTB struct {
	testing.TB
	mu     sync.Mutex
	errors []string
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.Errorf(format, args...)
	f.TB.FailNow()
}

func (f *fakeTB) failures() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.errors)
}

var (
	sharedOnce sync.Once
	shared     *Validator
)

func validator(t *testing.T) *Validator {
	t.Helper()
	sharedOnce.Do(func() { shared = New(t) })
	if shared == nil {
		t.FailNow()
	}
	return shared
}

// exchange builds a request as a client sends it (absolute URL on a random
// port) and the response a handler would write.
func exchange(method, target string, reqBody string, status int, header http.Header, respBody string) (*http.Request, []byte, *http.Response, []byte) {
	req := httptest.NewRequest(method, "http://127.0.0.1:49152"+target, strings.NewReader(reqBody))
	rec := httptest.NewRecorder()
	for k, vs := range header {
		rec.Header()[k] = vs
	}
	if respBody != "" && rec.Header().Get("Content-Type") == "" {
		rec.Header().Set("Content-Type", "application/json")
	}
	rec.WriteHeader(status)
	rec.WriteString(respBody)
	resp := rec.Result()
	return req, []byte(reqBody), resp, []byte(respBody)
}

// check runs Check on one exchange and returns the failures it reported.
func check(t *testing.T, method, target, reqBody string, status int, header http.Header, respBody string) []string {
	t.Helper()
	v := validator(t)
	ft := &fakeTB{TB: t}
	req, rb, resp, body := exchange(method, target, reqBody, status, header, respBody)
	v.Check(ft, req, rb, resp, body)
	return ft.failures()
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func sampleMessage() *switchboard.Message {
	return &switchboard.Message{
		ID: "m01", ConversationID: "c01", Seq: 7, ClientID: "k-1", Sender: "101",
		Body: "Lunch at noon?", Attachments: []*switchboard.Attachment{},
		Kind: switchboard.MessageText, CreatedAt: time.Date(2025, 1, 31, 9, 30, 0, 123456789, time.UTC),
	}
}

func sampleConversation() *switchboard.Conversation {
	created := time.Date(2025, 1, 30, 8, 0, 0, 0, time.UTC)
	return &switchboard.Conversation{
		ID: "c01", Kind: switchboard.KindChat, Name: "", Direct: true,
		Members: []string{"101", "102"}, Read: map[string]int64{"101": 7, "102": 5},
		CreatedBy: "101", CreatedAt: created, UpdatedAt: created.Add(time.Hour),
		LastSeq: 7, LastMessage: sampleMessage(), Unread: 0, LastReadSeq: 7,
	}
}

// conversationJSON returns a Conversation response as a map, to be broken
// by the test cases.
func conversationJSON(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(mustJSON(t, sampleConversation())), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestDocumentLoads(t *testing.T) {
	v := validator(t)
	if !v.doc.IsOpenAPI31OrLater() {
		t.Errorf("document is OpenAPI %s, want 3.1", v.doc.OpenAPI)
	}
}

func TestOperations(t *testing.T) {
	want := []string{
		"DELETE /api/v1/conversations/{id}",
		"DELETE /api/v1/conversations/{id}/members/{extension}",
		"DELETE /api/v1/conversations/{id}/messages/{mid}",
		"GET /api/v1/attachments/{id}",
		"GET /api/v1/attachments/{id}/thumbnail",
		"GET /api/v1/contacts",
		"GET /api/v1/conversations",
		"GET /api/v1/conversations/{id}",
		"GET /api/v1/conversations/{id}/messages",
		"GET /api/v1/events",
		"GET /api/v1/me",
		"GET /api/v1/openapi.yaml",
		"GET /healthz",
		"GET /media/{domain}/{id}",
		"GET /webhooks/sms/{provider}",
		"PATCH /api/v1/conversations/{id}",
		"PATCH /api/v1/conversations/{id}/messages/{mid}",
		"POST /api/v1/attachments",
		"POST /api/v1/conversations",
		"POST /api/v1/conversations/{id}/members",
		"POST /api/v1/conversations/{id}/messages",
		"POST /api/v1/conversations/{id}/read",
		"POST /api/v1/login",
		"POST /api/v1/logout",
		"POST /api/v1/pbx/events",
		"POST /webhooks/sms/{provider}",
		"PUT /api/v1/me/presence",
	}
	if got := validator(t).Operations(); !slices.Equal(got, want) {
		t.Errorf("Operations() =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestDocumentConventions enforces what the document promises its readers:
// every operation is named and described, every error uses the Error
// schema, and only login and the public endpoints skip authentication.
func TestDocumentConventions(t *testing.T) {
	v := validator(t)
	public := map[string]bool{"POST /api/v1/login": true, "GET /api/v1/openapi.yaml": true, "GET /healthz": true,
		"POST /webhooks/sms/{provider}": true, "GET /webhooks/sms/{provider}": true, "GET /media/{domain}/{id}": true}
	ids := map[string]string{}
	for path, item := range v.doc.Paths.Map() {
		for method, op := range item.Operations() {
			name := method + " " + path
			if op.OperationID == "" || op.Summary == "" || op.Description == "" {
				t.Errorf("%s: operationId, summary and description are all required", name)
			}
			if prev, dup := ids[op.OperationID]; dup {
				t.Errorf("%s: operationId %q is used by %s too", name, op.OperationID, prev)
			}
			ids[op.OperationID] = name
			if public[name] != (op.Security != nil && len(*op.Security) == 0) {
				t.Errorf("%s: security is %v; only login, openapi.yaml and /healthz are public", name, op.Security)
			}
			for code, ref := range op.Responses.Map() {
				if code[0] < '4' {
					continue
				}
				mt := ref.Value.Content.Get("application/json")
				if mt == nil {
					if ref.Value.Content.Get("text/plain") == nil {
						t.Errorf("%s %s: error response without application/json content", name, code)
					}
					continue
				}
				if mt.Schema == nil || mt.Schema.Ref != "#/components/schemas/Error" {
					t.Errorf("%s %s: error response does not use #/components/schemas/Error", name, code)
				}
			}
		}
	}
	if len(v.doc.Security) != 2 {
		t.Errorf("global security = %v, want bearerAuth or cookieAuth", v.doc.Security)
	}
}

func TestValidConversation(t *testing.T) {
	body := mustJSON(t, sampleConversation())
	if f := check(t, "GET", "/api/v1/conversations/c01", "", 200, nil, body); len(f) > 0 {
		t.Errorf("valid conversation rejected:\n%s", strings.Join(f, "\n"))
	}
	// Without a last message, and with an edited message.
	c := sampleConversation()
	c.LastMessage = nil
	if f := check(t, "GET", "/api/v1/conversations/c01", "", 200, nil, mustJSON(t, c)); len(f) > 0 {
		t.Errorf("conversation with last_message null rejected:\n%s", strings.Join(f, "\n"))
	}
	c = sampleConversation()
	edited := c.CreatedAt.Add(time.Minute)
	c.LastMessage.EditedAt = &edited
	c.LastMessage.Attachments = []*switchboard.Attachment{{ID: "a1", Name: "cat.png", ContentType: "image/png",
		Size: 1234, SHA256: strings.Repeat("ab", 32), Width: 640, Height: 480}}
	if f := check(t, "POST", "/api/v1/conversations", `{"members":["102"]}`, 201, nil, mustJSON(t, c)); len(f) > 0 {
		t.Errorf("created conversation rejected:\n%s", strings.Join(f, "\n"))
	}
}

func TestInvalidConversation(t *testing.T) {
	cases := []struct {
		name   string
		status int
		mutate func(m map[string]any)
		want   string // a fragment of the reported failure
	}{
		{"missing required field", 200, func(m map[string]any) { delete(m, "unread") }, "unread"},
		{"missing nested required field", 200, func(m map[string]any) {
			delete(m["last_message"].(map[string]any), "seq")
		}, "seq"},
		{"extra field", 200, func(m map[string]any) { m["colour"] = "blue" }, "colour"},
		{"extra nested field", 200, func(m map[string]any) { m["last_message"].(map[string]any)["reactions"] = []any{} }, "reactions"},
		{"wrong type", 200, func(m map[string]any) { m["unread"] = "3" }, "unread"},
		{"wrong enum", 200, func(m map[string]any) { m["kind"] = "email" }, "kind"},
		{"null array", 200, func(m map[string]any) { m["members"] = nil }, "members"},
		{"bad time", 200, func(m map[string]any) { m["created_at"] = "yesterday" }, "created_at"},
		{"wrong nullable type", 200, func(m map[string]any) { m["last_message"].(map[string]any)["edited_at"] = 5 }, "edited_at"},
		{"missing nullable field", 200, func(m map[string]any) { delete(m["last_message"].(map[string]any), "edited_at") }, "edited_at"},
		{"wrong map value", 200, func(m map[string]any) { m["read"] = map[string]any{"101": "7"} }, "read"},
		{"undocumented status", http.StatusConflict, func(map[string]any) {}, "status is not supported"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := conversationJSON(t)
			tc.mutate(m)
			f := check(t, "GET", "/api/v1/conversations/c01", "", tc.status, nil, mustJSON(t, m))
			if len(f) == 0 {
				t.Fatal("no failure reported")
			}
			if !strings.Contains(f[0], tc.want) {
				t.Errorf("failure does not mention %q:\n%s", tc.want, f[0])
			}
		})
	}
}

func TestRouteNotInDocument(t *testing.T) {
	for _, target := range []string{"/api/v1/nothing", "/api/v2/me"} {
		f := check(t, "GET", target, "", 404, nil, `{"error":{"code":"not_found","message":"No such endpoint."}}`)
		if len(f) != 1 || !strings.Contains(f[0], "route not in document") {
			t.Errorf("GET %s: failures %q, want route not in document", target, f)
		}
	}
	f := check(t, "PUT", "/api/v1/conversations/c01", "{}", 200, nil, "{}")
	if len(f) != 1 || !strings.Contains(f[0], "route not in document") {
		t.Errorf("PUT: failures %q, want route not in document", f)
	}
}

func TestErrors(t *testing.T) {
	notFound := `{"error":{"code":"not_found","message":"Conversation not found."}}`
	if f := check(t, "GET", "/api/v1/conversations/zz", "", 404, nil, notFound); len(f) > 0 {
		t.Errorf("valid error rejected:\n%s", strings.Join(f, "\n"))
	}
	for name, body := range map[string]string{
		"unknown code":    `{"error":{"code":"gone","message":"x"}}`,
		"missing message": `{"error":{"code":"not_found"}}`,
		"not wrapped":     `{"code":"not_found","message":"x"}`,
	} {
		if f := check(t, "GET", "/api/v1/conversations/zz", "", 404, nil, body); len(f) == 0 {
			t.Errorf("%s: not reported", name)
		}
	}
	// rate_limited needs Retry-After.
	limited := `{"error":{"code":"rate_limited","message":"Too many failed sign-ins. Try again in 30 seconds."}}`
	login := `{"username":"101@acme.example","password":"x"}`
	if f := check(t, "POST", "/api/v1/login", login, 429, http.Header{"Retry-After": {"30"}}, limited); len(f) > 0 {
		t.Errorf("429 with Retry-After rejected:\n%s", strings.Join(f, "\n"))
	}
	if f := check(t, "POST", "/api/v1/login", login, 429, nil, limited); len(f) == 0 {
		t.Error("429 without Retry-After not reported")
	}
}

func TestNoContentAndNonJSON(t *testing.T) {
	if f := check(t, "DELETE", "/api/v1/conversations/c01/messages/m01", "", 204, nil, ""); len(f) > 0 {
		t.Errorf("204 rejected:\n%s", strings.Join(f, "\n"))
	}
	if f := check(t, "DELETE", "/api/v1/conversations/c01", "", 200, nil, "{}"); len(f) == 0 {
		t.Error("200 for a 204 operation not reported")
	}
	yaml := http.Header{"Content-Type": {"application/yaml"}}
	if f := check(t, "GET", "/api/v1/openapi.yaml", "", 200, yaml, string(docs.OpenAPI)); len(f) > 0 {
		t.Errorf("openapi.yaml rejected:\n%s", strings.Join(f, "\n"))
	}
	html := http.Header{"Content-Type": {"text/html; charset=utf-8"}}
	if f := check(t, "GET", "/api/v1/openapi.yaml", "", 200, html, "<html>"); len(f) == 0 {
		t.Error("undocumented Content-Type not reported")
	}
	upgrade := http.Header{"Upgrade": {"websocket"}, "Connection": {"Upgrade"}, "Sec-Websocket-Accept": {"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="}}
	if f := check(t, "GET", "/api/v1/events?since=12", "", 101, upgrade, ""); len(f) > 0 {
		t.Errorf("WebSocket upgrade rejected:\n%s", strings.Join(f, "\n"))
	}
	plain := http.Header{"Content-Type": {"text/plain; charset=utf-8"}}
	if f := check(t, "GET", "/api/v1/events", "", 426, plain, "WebSocket protocol violation\n"); len(f) > 0 {
		t.Errorf("426 rejected:\n%s", strings.Join(f, "\n"))
	}
}

// TestGoTypes checks that the JSON of the domain types matches the schemas,
// for the endpoints that return them.
func TestGoTypes(t *testing.T) {
	until := time.Date(2025, 2, 1, 17, 0, 0, 0, time.UTC)
	sms := sampleMessage()
	sms.Sender, sms.Status, sms.Error = "+14155550199", switchboard.StatusFailed, "Carrier rejected the message."
	system := sampleMessage()
	system.Kind, system.Targets, system.Body = switchboard.MessageMemberAdded, []string{"103"}, ""
	renamed := sampleMessage()
	renamed.Kind, renamed.Name, renamed.Body = switchboard.MessageRenamed, "Front desk", ""
	deleted := sampleMessage()
	deleted.Deleted, deleted.Body = true, ""
	cases := []struct {
		method, target string
		status         int
		body           any
	}{
		{"POST", "/api/v1/conversations/c01/messages", 201, sampleMessage()},
		{"POST", "/api/v1/conversations/c01/messages", 200, sms},
		{"GET", "/api/v1/conversations/c01/messages?before=8&limit=2", 200,
			map[string]any{"messages": []*switchboard.Message{system, renamed, deleted}}},
		{"PATCH", "/api/v1/conversations/c01", 200, sampleConversation()},
		{"GET", "/api/v1/conversations", 200, map[string]any{"conversations": []*switchboard.Conversation{sampleConversation()}}},
		{"GET", "/api/v1/conversations", 200, map[string]any{"conversations": []*switchboard.Conversation{}}},
		{"GET", "/api/v1/contacts?q=an", 200, map[string]any{"contacts": []any{
			map[string]any{"extension": "101", "name": "Anna Lee", "presence": switchboard.Presence{Extension: "101", Color: switchboard.Green}},
			map[string]any{"extension": "102", "name": "Ann Bo", "presence": switchboard.Presence{
				Extension: "102", Color: switchboard.Red, DND: true, Message: "In a meeting", Until: &until}},
		}}},
		{"GET", "/api/v1/me", 200, map[string]any{"extension": "101", "domain": "acme.example", "name": "Anna Lee",
			"level": switchboard.LevelOfficeManager, "texting_numbers": []string{"+14155550100"}}},
		{"GET", "/healthz", 200, map[string]string{"status": "ok"}},
	}
	for _, tc := range cases {
		if f := check(t, tc.method, tc.target, "", tc.status, nil, mustJSON(t, tc.body)); len(f) > 0 {
			t.Errorf("%s %s → %d rejected:\n%s", tc.method, tc.target, tc.status, strings.Join(f, "\n"))
		}
	}
	if f := check(t, "GET", "/healthz", "", 200, nil, `{"status":"degraded"}`); len(f) == 0 {
		t.Error("healthz status other than ok not reported")
	}
	// A nil slice encodes as null, which the document does not allow.
	bad := sampleMessage()
	bad.Attachments = nil
	if f := check(t, "POST", "/api/v1/conversations/c01/messages", "", 201, nil, mustJSON(t, bad)); len(f) == 0 {
		t.Error("attachments: null not reported")
	}
}

func TestCoverage(t *testing.T) {
	v := New(t)
	if got := v.Covered(); len(got) != 0 {
		t.Fatalf("new validator has coverage %v", got)
	}
	if got := v.Uncovered(); !slices.Equal(got, v.Operations()) {
		t.Fatalf("Uncovered() = %v, want every operation", got)
	}
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ft := &fakeTB{TB: t}
			req, rb, resp, body := exchange("GET", fmt.Sprintf("/api/v1/conversations/c%02d", i), "", 200, nil, mustJSON(t, sampleConversation()))
			v.Check(ft, req, rb, resp, body)
			req, rb, resp, body = exchange("DELETE", fmt.Sprintf("/api/v1/conversations/c%02d/members/10%d", i, i%10), "", 204, nil, "")
			v.Check(ft, req, rb, resp, body)
			if f := ft.failures(); len(f) > 0 {
				t.Errorf("unexpected failures: %v", f)
			}
		}()
	}
	wg.Wait()
	// A failed check still counts as exercised; an unknown route does not.
	ft := &fakeTB{TB: t}
	req, rb, resp, body := exchange("GET", "/api/v1/me", "", 418, nil, "{}")
	v.Check(ft, req, rb, resp, body)
	req, rb, resp, body = exchange("GET", "/api/v1/nothing", "", 404, nil, "{}")
	v.Check(ft, req, rb, resp, body)
	if n := len(ft.failures()); n != 2 {
		t.Errorf("%d failures, want 2", n)
	}
	want := map[string]bool{
		"GET /api/v1/conversations/{id}":                        true,
		"DELETE /api/v1/conversations/{id}/members/{extension}": true,
		"GET /api/v1/me": true,
	}
	if got := v.Covered(); !maps.Equal(got, want) {
		t.Errorf("Covered() = %v, want %v", got, want)
	}
	if got, n := v.Uncovered(), len(v.Operations())-len(want); len(got) != n {
		t.Errorf("Uncovered() has %d operations, want %d", len(got), n)
	}
}

// TestInvalidDocument checks that a broken document is refused.
func TestInvalidDocument(t *testing.T) {
	for name, doc := range map[string]string{
		"not yaml":        "openapi: [",
		"missing info":    "openapi: 3.1.0\npaths: {}\n",
		"bad reference":   "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths:\n  /x:\n    get:\n      responses:\n        '200': {$ref: '#/components/responses/Nope'}\n",
		"undefined param": "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths:\n  /x/{id}:\n    get:\n      responses:\n        '200': {description: ok}\n",
	} {
		if _, err := newValidator([]byte(doc)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
