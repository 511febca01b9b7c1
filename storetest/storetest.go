// Package storetest is the conformance suite that every storage backend of
// Switchboard must pass, in the manner of perkeep's pkg/sorted/kvtest: a
// backend's own test calls Run with a function that opens a fresh, empty
// store, and the suite checks the contracts documented on
// switchboard.DirectoryStore and switchboard.ChatStore — outcomes and error
// codes, isolation between domains, the events of every write and their
// cursors, and behaviour under concurrent writers.
package storetest

import (
	"context"
	"encoding/json"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/switchboard-chat/switchboard"
)

// Store is what a backend implements.
type Store interface {
	switchboard.DirectoryStore
	switchboard.ChatStore
	switchboard.AttachmentStore
	switchboard.RegistrationStore
	switchboard.TextingStore
}

// Run runs the suite. For every sub-test it calls open, which must return a
// fresh, empty store that hands its events to pub and that is closed by a
// cleanup registered on t.
func Run(t *testing.T, open func(t *testing.T, pub switchboard.EventPublisher) Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s Store, rec *Recorder)
	}{
		{"Domains", testDomains},
		{"Users", testUsers},
		{"ListUsers", testListUsers},
		{"UpdateUser", testUpdateUser},
		{"Sessions", testSessions},

		{"DirectConversation", testDirectConversation},
		{"GroupConversation", testGroupConversation},
		{"MembersMustExist", testMembersMustExist},
		{"DomainIsolation", testDomainIsolation},
		{"Unauthorized", testUnauthorized},
		{"ListConversations", testListConversations},
		{"LastMessageFollows", testLastMessageFollows},
		{"DeleteForMe", testDeleteForMe},
		{"Rename", testRename},
		{"AddMembers", testAddMembers},
		{"RemoveMember", testRemoveMember},

		{"SendMessage", testSendMessage},
		{"BodyLimits", testBodyLimits},
		{"ClientID", testClientID},
		{"History", testHistory},
		{"EditDelete", testEditDelete},
		{"MarkRead", testMarkRead},

		{"Attachments", testAttachments},
		{"DeleteUnattached", testDeleteUnattached},

		{"PresenceStatus", testPresenceStatus},
		{"APIKeys", testAPIKeys},
		{"Registrations", testRegistrations},

		{"Numbers", testNumbers},
		{"SMSConversation", testSMSConversation},
		{"Outbox", testOutbox},
		{"Inbound", testInbound},

		{"EventsOfWrites", testEventsOfWrites},
		{"EventsSince", testEventsSince},
		{"PruneEvents", testPruneEvents},

		{"ConcurrentSends", testConcurrentSends},
		{"ConcurrentClientIDRetries", testConcurrentClientIDRetries},
		{"ConcurrentDirectCreate", testConcurrentDirectCreate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &Recorder{}
			s := open(t, rec)
			tt.fn(t, s, rec)
		})
	}
}

// Recorder is an EventPublisher that keeps every event it is handed, in
// publish order. It is safe for concurrent use.
type Recorder struct {
	mu     sync.Mutex
	events []*switchboard.Event
}

// Publish implements switchboard.EventPublisher.
func (r *Recorder) Publish(events ...*switchboard.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, events...)
}

// Events returns every event published so far, in publish order.
func (r *Recorder) Events() []*switchboard.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// Len returns how many events were published so far.
func (r *Recorder) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events)
}

// Since returns the events published after the first n, in publish order.
func (r *Recorder) Since(n int) []*switchboard.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n >= len(r.events) {
		return nil
	}
	return slices.Clone(r.events[n:])
}

// The two domains of the fixture. Both have extensions 101 to 103, which
// are different people in each; only domA has 104 and 105.
const (
	domA = "acme.example"
	domB = "globex.example"
)

// fixture is a store seeded with two domains and their extensions.
type fixture struct {
	s   Store
	rec *Recorder
	ctx context.Context
}

var fixtureUsers = []switchboard.User{
	{Domain: domA, Extension: "101", Name: "Alice Smith", Level: switchboard.LevelBasic},
	{Domain: domA, Extension: "102", Name: "Bob Jones", Level: switchboard.LevelAdvanced},
	{Domain: domA, Extension: "103", Name: "Carol White", Level: switchboard.LevelBasic},
	{Domain: domA, Extension: "104", Name: "Dan Brown", Level: switchboard.LevelOfficeManager},
	{Domain: domA, Extension: "105", Name: "Erin Black", Level: switchboard.LevelBasic},
	{Domain: domB, Extension: "101", Name: "Xavier Hall", Level: switchboard.LevelBasic},
	{Domain: domB, Extension: "102", Name: "Yvonne Ng", Level: switchboard.LevelBasic},
	{Domain: domB, Extension: "103", Name: "Zoe Park", Level: switchboard.LevelBasic},
}

// seed fills s with the fixture's domains and users.
func seed(t *testing.T, s Store, rec *Recorder) *fixture {
	t.Helper()
	ctx := t.Context()
	for _, name := range []string{domA, domB} {
		if err := s.CreateDomain(ctx, &switchboard.Domain{Name: name, DisplayName: name}); err != nil {
			t.Fatalf("CreateDomain(%s) = %v", name, err)
		}
	}
	for _, u := range fixtureUsers {
		u.PasswordHash = "hash-" + u.Extension
		if err := s.CreateUser(ctx, &u); err != nil {
			t.Fatalf("CreateUser(%s) = %v", u.Address(), err)
		}
	}
	return &fixture{s: s, rec: rec, ctx: ctx}
}

// as returns a context acting for ext of domain.
func (f *fixture) as(domain, ext string) context.Context {
	return switchboard.NewContextWithIdentity(f.ctx, switchboard.Identity{Domain: domain, Extension: ext, Level: switchboard.LevelBasic})
}

// create creates a conversation for the caller and fails the test on error.
func (f *fixture) create(t *testing.T, ctx context.Context, c *switchboard.Conversation) *switchboard.Conversation {
	t.Helper()
	if _, err := f.s.CreateConversation(ctx, c); err != nil {
		t.Fatalf("CreateConversation(%v) = %v", c.Members, err)
	}
	return c
}

// direct creates (or finds) the 1:1 conversation of the caller with ext.
func (f *fixture) direct(t *testing.T, ctx context.Context, ext string) *switchboard.Conversation {
	t.Helper()
	return f.create(t, ctx, &switchboard.Conversation{Direct: true, Members: []string{ext}})
}

// group creates a named group of the caller with exts.
func (f *fixture) group(t *testing.T, ctx context.Context, name string, exts ...string) *switchboard.Conversation {
	t.Helper()
	return f.create(t, ctx, &switchboard.Conversation{Name: name, Members: exts})
}

// send sends a text message and fails the test on error.
func (f *fixture) send(t *testing.T, ctx context.Context, convID, body string) *switchboard.Message {
	t.Helper()
	m := &switchboard.Message{ConversationID: convID, Body: body}
	if _, err := f.s.SendMessage(ctx, m); err != nil {
		t.Fatalf("SendMessage(%s, %q) = %v", convID, body, err)
	}
	return m
}

// find returns a conversation as seen by the caller.
func (f *fixture) find(t *testing.T, ctx context.Context, id string) *switchboard.Conversation {
	t.Helper()
	c, err := f.s.FindConversation(ctx, id)
	if err != nil {
		t.Fatalf("FindConversation(%s) = %v", id, err)
	}
	return c
}

// list returns the caller's conversation list.
func (f *fixture) list(t *testing.T, ctx context.Context) []*switchboard.Conversation {
	t.Helper()
	list, err := f.s.ListConversations(ctx, 100)
	if err != nil {
		t.Fatalf("ListConversations() = %v", err)
	}
	return list
}

// messages returns the caller's newest page of a conversation.
func (f *fixture) messages(t *testing.T, ctx context.Context, convID string) []*switchboard.Message {
	t.Helper()
	msgs, err := f.s.ListMessages(ctx, convID, switchboard.MessageQuery{Limit: switchboard.MaxMessagesLimit})
	if err != nil {
		t.Fatalf("ListMessages(%s) = %v", convID, err)
	}
	return msgs
}

// since returns the caller's durable events after cursor.
func (f *fixture) since(t *testing.T, ctx context.Context, cursor int64) []*switchboard.Event {
	t.Helper()
	evs, err := f.s.EventsSince(ctx, cursor, 1000)
	if err != nil {
		t.Fatalf("EventsSince(%d) = %v", cursor, err)
	}
	return evs
}

// lastCursor returns the store's newest cursor.
func (f *fixture) lastCursor(t *testing.T) int64 {
	t.Helper()
	c, err := f.s.LastCursor(f.as(domA, "101"))
	if err != nil {
		t.Fatalf("LastCursor() = %v", err)
	}
	return c
}

// pause lets the clock move on. Activity times may have millisecond
// resolution, so two writes whose order a test checks are kept apart.
func pause() { time.Sleep(3 * time.Millisecond) }

// wantCode reports an error unless err has the code want ("" for nil).
func wantCode(t *testing.T, what string, err error, want string) {
	t.Helper()
	if got := switchboard.ErrorCode(err); got != want {
		t.Errorf("%s: error code = %q, want %q (err: %v)", what, got, want, err)
	}
}

// cmpOpts compares domain values without caring how a backend rounds
// times or whether it returns nil or empty slices.
// Lists of extensions (members, targets) are compared as sets.
var cmpOpts = cmp.Options{
	cmpopts.EquateApproxTime(time.Second),
	cmpopts.EquateEmpty(),
	cmpopts.SortSlices(func(a, b string) bool { return a < b }),
	// A store's copy of its encoding, checked by checkEncoded.
	cmpopts.IgnoreFields(switchboard.Message{}, "Encoded"),
}

// checkEncoded checks that m.Encoded, when a store set it, is m as
// encoding/json writes it.
func checkEncoded(t *testing.T, what string, m *switchboard.Message) {
	t.Helper()
	if m.Encoded == nil {
		return
	}
	want, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Encoded) != string(want) {
		t.Errorf("%s: Encoded = %s, want %s", what, m.Encoded, want)
	}
}

// viewerFields are the fields of a conversation that differ by member.
var viewerFields = cmpopts.IgnoreFields(switchboard.Conversation{}, "LastMessage", "Unread", "LastReadSeq")

// ids returns the ids of conversations, in order.
func ids(list []*switchboard.Conversation) []string {
	out := []string{}
	for _, c := range list {
		out = append(out, c.ID)
	}
	return out
}

// seqs returns the seqs of messages, in order.
func seqs(msgs []*switchboard.Message) []int64 {
	out := []int64{}
	for _, m := range msgs {
		out = append(out, m.Seq)
	}
	return out
}

// bodies returns the bodies of messages, in order.
func bodies(msgs []*switchboard.Message) []string {
	out := []string{}
	for _, m := range msgs {
		out = append(out, m.Body)
	}
	return out
}

// sorted returns a sorted copy of ss.
func sorted(ss []string) []string {
	out := slices.Clone(ss)
	sort.Strings(out)
	return out
}

// ev is the gist of an event for comparisons: its type, conversation and
// sorted recipients.
type ev struct {
	Type string
	Conv string
	To   []string
}

// gist summarises events, sorting those of one write by type so that a
// backend may emit them in any order within a commit.
func gist(events []*switchboard.Event) []ev {
	out := []ev{}
	for _, e := range events {
		out = append(out, ev{Type: e.Type, Conv: e.ConversationID, To: sorted(e.Recipients)})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Type < out[j].Type })
	return out
}

// checkCursors reports events whose cursors are not positive and strictly
// increasing after prev.
func checkCursors(t *testing.T, what string, prev int64, events []*switchboard.Event) {
	t.Helper()
	for _, e := range events {
		if e.Cursor <= prev {
			t.Errorf("%s: event %s cursor %d after %d, want strictly increasing", what, e.Type, e.Cursor, prev)
		}
		prev = e.Cursor
	}
}

// decodeMessage decodes the data of a message.* event.
func decodeMessage(t *testing.T, e *switchboard.Event) *switchboard.Message {
	t.Helper()
	var m switchboard.Message
	if err := json.Unmarshal(e.Data, &m); err != nil {
		t.Fatalf("decode %s event data %s: %v", e.Type, e.Data, err)
	}
	return &m
}

// decodeConversation decodes the data of a conversation.updated event.
func decodeConversation(t *testing.T, e *switchboard.Event) *switchboard.Conversation {
	t.Helper()
	var c switchboard.Conversation
	if err := json.Unmarshal(e.Data, &c); err != nil {
		t.Fatalf("decode %s event data %s: %v", e.Type, e.Data, err)
	}
	return &c
}
