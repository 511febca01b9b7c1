package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard"
	"github.com/switchboard-chat/switchboard/sqlite"
)

// TestUpgradeToEventLogByConversation opens a database that a store of
// schema 007 wrote (events copied to every recipient, the list ordered by
// each member's activity) and checks that nothing a client sees changes
// with migration 008: the list keeps its order and moves with new
// messages, and a resume from before the upgrade delivers the old events
// and the new ones, once each, in order.
func TestUpgradeToEventLogByConversation(t *testing.T) {
	bg := context.Background()
	path := filepath.Join(t.TempDir(), "db.sqlite")
	if err := sqlite.MigrateTo(bg, path, 7); err != nil {
		t.Fatalf("MigrateTo(7) = %v", err)
	}
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	// Two direct conversations of 101, c_old older than c_new, each with a
	// message.created event for both members; and 103's group that 101
	// left (its event reached 101 while it was a member).
	for _, q := range []string{
		`INSERT INTO domains (name, display_name, created_at) VALUES ('acme.example', 'Acme', 1)`,
		`INSERT INTO conversations (id, domain, kind, direct_key, created_by, created_at, updated_at) VALUES
			('c_old', 'acme.example', 'chat', '101:102', '101', 1000, 1000),
			('c_new', 'acme.example', 'chat', '101:103', '101', 2000, 2000),
			('c_grp', 'acme.example', 'chat', NULL, '103', 2500, 2500)`,
		`INSERT INTO members (conversation_id, domain, extension, activity_at) VALUES
			('c_old', 'acme.example', '101', 1000000), ('c_old', 'acme.example', '102', 1000000),
			('c_new', 'acme.example', '101', 2000000), ('c_new', 'acme.example', '103', 2000000),
			('c_grp', 'acme.example', '103', 2500000)`,
		`INSERT INTO events (id, domain, type, conversation_id, data, created_at) VALUES
			(1, 'acme.example', 'message.created', 'c_old', '{"seq":1}', 1000),
			(2, 'acme.example', 'message.created', 'c_new', '{"seq":1}', 2000),
			(3, 'acme.example', 'message.created', 'c_grp', '{"seq":1}', 2500)`,
		`INSERT INTO event_recipients VALUES
			('acme.example', '101', 1), ('acme.example', '102', 1),
			('acme.example', '101', 2), ('acme.example', '103', 2),
			('acme.example', '101', 3), ('acme.example', '103', 3)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()

	s := mustOpen(t, path, nil)
	as := func(ext string) context.Context {
		return switchboard.NewContextWithIdentity(bg, switchboard.Identity{Domain: "acme.example", Extension: ext, Level: switchboard.LevelBasic})
	}
	if got := listIDs(t, s, as("101")); !slices.Equal(got, []string{"c_new", "c_old"}) {
		t.Errorf("list of 101 after the upgrade = %v, want [c_new c_old]", got)
	}
	m := &switchboard.Message{ConversationID: "c_old", Body: "after the upgrade"}
	if _, err := s.SendMessage(as("102"), m); err != nil {
		t.Fatalf("SendMessage() = %v", err)
	}
	if got := listIDs(t, s, as("101")); !slices.Equal(got, []string{"c_old", "c_new"}) {
		t.Errorf("list of 101 after a message in c_old = %v, want [c_old c_new]", got)
	}
	// The new message is event 4, to both members of c_old.
	for ext, want := range map[string][]int64{"101": {1, 2, 3, 4}, "102": {1, 4}, "103": {2, 3}} {
		events, err := s.EventsSince(as(ext), 0, 100)
		if err != nil {
			t.Fatalf("EventsSince(0) by %s = %v", ext, err)
		}
		if got := cursors(events); !slices.Equal(got, want) {
			t.Errorf("EventsSince(0) by %s = cursors %v, want %v", ext, got, want)
		}
	}
}

func listIDs(t *testing.T, s *sqlite.Store, ctx context.Context) []string {
	t.Helper()
	list, err := s.ListConversations(ctx, 200)
	if err != nil {
		t.Fatalf("ListConversations() = %v", err)
	}
	var out []string
	for _, c := range list {
		out = append(out, c.ID)
	}
	return out
}

// TestEventsSinceInWindows checks that reading the log a window of event
// ids at a time (here 3, so that most windows hold none of a member's
// events) returns the same events as in one read, page by page without a
// gap or a repeat, whatever the page size.
func TestEventsSinceInWindows(t *testing.T) {
	bg := context.Background()
	s := mustOpen(t, filepath.Join(t.TempDir(), "db.sqlite"), nil)
	if err := s.CreateDomain(bg, &switchboard.Domain{Name: "acme.example", DisplayName: "Acme"}); err != nil {
		t.Fatal(err)
	}
	for _, ext := range []string{"101", "102", "103", "104"} {
		if err := s.CreateUser(bg, &switchboard.User{Domain: "acme.example", Extension: ext, Name: "User " + ext, Level: switchboard.LevelBasic, PasswordHash: "h"}); err != nil {
			t.Fatal(err)
		}
	}
	as := func(ext string) context.Context {
		return switchboard.NewContextWithIdentity(bg, switchboard.Identity{Domain: "acme.example", Extension: ext, Level: switchboard.LevelBasic})
	}
	// 101 talks to 102 now and then among the traffic of others, and is
	// in a group for a while: added, messages, removed, more messages.
	direct := &switchboard.Conversation{Direct: true, Members: []string{"102"}}
	if _, err := s.CreateConversation(as("101"), direct); err != nil {
		t.Fatal(err)
	}
	others := &switchboard.Conversation{Direct: true, Members: []string{"104"}}
	if _, err := s.CreateConversation(as("103"), others); err != nil {
		t.Fatal(err)
	}
	group := &switchboard.Conversation{Name: "G", Members: []string{"104"}}
	if _, err := s.CreateConversation(as("103"), group); err != nil {
		t.Fatal(err)
	}
	send := func(ext, conv string, n int) {
		t.Helper()
		for i := range n {
			if _, err := s.SendMessage(as(ext), &switchboard.Message{ConversationID: conv, Body: fmt.Sprint("m", i)}); err != nil {
				t.Fatalf("SendMessage(%s) = %v", conv, err)
			}
		}
	}
	send("103", others.ID, 10)
	send("102", direct.ID, 2)
	send("103", group.ID, 5)
	if _, err := s.AddMembers(as("103"), group.ID, []string{"101"}); err != nil {
		t.Fatal(err)
	}
	send("104", group.ID, 3)
	send("103", others.ID, 7)
	if _, err := s.RemoveMember(as("103"), group.ID, "101"); err != nil {
		t.Fatal(err)
	}
	send("103", group.ID, 4)
	send("101", direct.ID, 1)
	send("104", others.ID, 6)

	for _, ext := range []string{"101", "102", "103", "104", "105"} {
		all, err := s.EventsSince(as(ext), 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		restore := sqlite.SetEventWindow(3)
		for _, page := range []int{1, 2, 5, 1000} {
			var got []*switchboard.Event
			for cursor := int64(0); ; {
				events, err := s.EventsSince(as(ext), cursor, page)
				if err != nil {
					t.Fatalf("EventsSince(%d, %d) by %s = %v", cursor, page, ext, err)
				}
				got = append(got, events...)
				if len(events) < page {
					break
				}
				cursor = events[len(events)-1].Cursor
			}
			if !slices.Equal(cursors(got), cursors(all)) {
				t.Errorf("%s, windows of 3, pages of %d: cursors %v, want %v", ext, page, cursors(got), cursors(all))
			}
		}
		restore()
	}
}

// TestListOrderWithLaggingEntries checks that the list is in the order of
// the conversations' last messages, newest first, for any length, when
// the members' entries it reads in order lag their conversations (a slack
// of 20 ms here, so that messages a few milliseconds apart leave some
// entries behind and move others); a conversation deleted for oneself
// comes back on top with its next message.
func TestListOrderWithLaggingEntries(t *testing.T) {
	bg := context.Background()
	defer sqlite.SetActivitySlack(20_000)()
	s := mustOpen(t, filepath.Join(t.TempDir(), "db.sqlite"), nil)
	if err := s.CreateDomain(bg, &switchboard.Domain{Name: "acme.example", DisplayName: "Acme"}); err != nil {
		t.Fatal(err)
	}
	as := func(ext string) context.Context {
		return switchboard.NewContextWithIdentity(bg, switchboard.Identity{Domain: "acme.example", Extension: ext, Level: switchboard.LevelBasic})
	}
	const n = 40
	var order []string // newest first
	for i := range n + 1 {
		ext := fmt.Sprint(101 + i)
		if err := s.CreateUser(bg, &switchboard.User{Domain: "acme.example", Extension: ext, Name: "User " + ext, Level: switchboard.LevelBasic, PasswordHash: "h"}); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			continue
		}
		c := &switchboard.Conversation{Direct: true, Members: []string{ext}}
		if _, err := s.CreateConversation(as("101"), c); err != nil {
			t.Fatal(err)
		}
		order = append([]string{c.ID}, order...)
	}
	moveUp := func(id string) {
		order = append([]string{id}, slices.DeleteFunc(order, func(o string) bool { return o == id })...)
	}
	check := func(when string) {
		t.Helper()
		for _, limit := range []int{1, 2, 7, 20, n, 200} {
			list, err := s.ListConversations(as("101"), limit)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range list {
				got = append(got, c.ID)
			}
			if want := order[:min(limit, len(order))]; !slices.Equal(got, want) {
				t.Fatalf("%s: ListConversations(%d) = %v, want %v", when, limit, got, want)
			}
		}
	}
	check("before any message")
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 150 {
		k := rng.IntN(n)
		if rng.IntN(3) == 0 {
			k = rng.IntN(5) // some conversations are busier
		}
		convID := order[len(order)-1-k%len(order)]
		from := "101"
		if rng.IntN(2) == 0 {
			c, err := s.FindConversation(as("101"), convID)
			if err != nil {
				t.Fatal(err)
			}
			from = c.Members[1]
		}
		if _, err := s.SendMessage(as(from), &switchboard.Message{ConversationID: convID, Body: fmt.Sprint("m", i)}); err != nil {
			t.Fatal(err)
		}
		moveUp(convID)
		check(fmt.Sprintf("after message %d", i))
		time.Sleep(time.Duration(rng.IntN(2000)) * time.Microsecond)
	}
	check("after the messages")
	gone := order[3]
	if err := s.DeleteConversation(as("101"), gone); err != nil {
		t.Fatal(err)
	}
	order = slices.DeleteFunc(order, func(o string) bool { return o == gone })
	check("after deleting one")
	c, err := s.FindConversation(as("101"), gone)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SendMessage(as(c.Members[1]), &switchboard.Message{ConversationID: gone, Body: "back"}); err != nil {
		t.Fatal(err)
	}
	order = append([]string{gone}, order...)
	check("after a message in the deleted one")
}
