package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/switchboard-chat/switchboard"
	"github.com/switchboard-chat/switchboard/sqlite"
	"github.com/switchboard-chat/switchboard/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, pub switchboard.EventPublisher) storetest.Store {
		return mustOpen(t, filepath.Join(t.TempDir(), "db.sqlite"), pub)
	})
}

// mustOpen opens the store at path and closes it when the test ends.
func mustOpen(t *testing.T, path string, pub switchboard.EventPublisher) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path, sqlite.Options{Publisher: pub})
	if err != nil {
		t.Fatalf("Open(%s) = %v", path, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close() = %v", err)
		}
	})
	return s
}

// snapshot is everything a store holds for the fixture of TestReopen.
type snapshot struct {
	Domains       []*switchboard.Domain
	Users         []*switchboard.User
	Session       *switchboard.Session
	Conversations []*switchboard.Conversation
	Messages      []*switchboard.Message
	Events        []*switchboard.Event
	LastCursor    int64
}

func takeSnapshot(t *testing.T, s *sqlite.Store, ctx context.Context, convID string) snapshot {
	t.Helper()
	var snap snapshot
	var err error
	if snap.Domains, err = s.ListDomains(ctx); err != nil {
		t.Fatalf("ListDomains() = %v", err)
	}
	if snap.Users, err = s.ListUsers(ctx, "acme.example", ""); err != nil {
		t.Fatalf("ListUsers() = %v", err)
	}
	if snap.Session, err = s.FindSession(ctx, "token-hash"); err != nil {
		t.Fatalf("FindSession() = %v", err)
	}
	if snap.Conversations, err = s.ListConversations(ctx, 50); err != nil {
		t.Fatalf("ListConversations() = %v", err)
	}
	if snap.Messages, err = s.ListMessages(ctx, convID, switchboard.MessageQuery{}); err != nil {
		t.Fatalf("ListMessages() = %v", err)
	}
	if snap.Events, err = s.EventsSince(ctx, 0, 1000); err != nil {
		t.Fatalf("EventsSince(0) = %v", err)
	}
	if snap.LastCursor, err = s.LastCursor(ctx); err != nil {
		t.Fatalf("LastCursor() = %v", err)
	}
	return snap
}

// TestReopen checks that a store closed and opened again on the same file
// has everything it acknowledged, carries on where it stopped, and that
// opening an up-to-date database applies no migration twice.
func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db.sqlite")
	bg := context.Background()
	ctx := switchboard.NewContextWithIdentity(bg, switchboard.Identity{Domain: "acme.example", Extension: "101", Level: switchboard.LevelBasic})

	s, err := sqlite.Open(bg, path, sqlite.Options{})
	if err != nil {
		t.Fatalf("Open() = %v", err)
	}
	if err := s.CreateDomain(bg, &switchboard.Domain{Name: "acme.example", DisplayName: "Acme"}); err != nil {
		t.Fatalf("CreateDomain() = %v", err)
	}
	for _, ext := range []string{"101", "102", "103"} {
		u := &switchboard.User{Domain: "acme.example", Extension: ext, Name: "User " + ext, Level: switchboard.LevelBasic, PasswordHash: "h" + ext}
		if err := s.CreateUser(bg, u); err != nil {
			t.Fatalf("CreateUser(%s) = %v", ext, err)
		}
	}
	if err := s.CreateSession(bg, &switchboard.Session{TokenHash: "token-hash", Domain: "acme.example", Extension: "101", ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatalf("CreateSession() = %v", err)
	}
	c := &switchboard.Conversation{Name: "Team", Members: []string{"102", "103"}}
	if _, err := s.CreateConversation(ctx, c); err != nil {
		t.Fatalf("CreateConversation() = %v", err)
	}
	var last *switchboard.Message
	for _, body := range []string{"one", "two", "three"} {
		last = &switchboard.Message{ConversationID: c.ID, Body: body, ClientID: "cid-" + body}
		if _, err := s.SendMessage(ctx, last); err != nil {
			t.Fatalf("SendMessage(%q) = %v", body, err)
		}
	}
	if _, err := s.EditMessage(ctx, c.ID, last.ID, "three, edited"); err != nil {
		t.Fatalf("EditMessage() = %v", err)
	}
	if _, err := s.RenameConversation(ctx, c.ID, "Renamed"); err != nil {
		t.Fatalf("RenameConversation() = %v", err)
	}
	before := takeSnapshot(t, s, ctx, c.ID)
	if err := s.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	version := userVersion(t, path)
	if version == 0 {
		t.Fatalf("user_version after Open = 0, want the number of the last migration")
	}

	for i := range 2 {
		rec := &storetest.Recorder{}
		s := mustOpen(t, path, rec)
		after := takeSnapshot(t, s, ctx, c.ID)
		if diff := cmp.Diff(before, after, cmpopts.IgnoreUnexported(switchboard.Event{})); diff != "" {
			t.Errorf("reopen %d: store differs (-before +after):\n%s", i+1, diff)
		}
		// It carries on: the next seq and cursor follow on, and client ids
		// are still remembered.
		retry := &switchboard.Message{ConversationID: c.ID, Body: "one", ClientID: "cid-one"}
		if created, err := s.SendMessage(ctx, retry); err != nil || created || retry.Seq != 1 {
			t.Errorf("reopen %d: retry of cid-one = %v, seq %d, %v; want false, seq 1, nil", i+1, created, retry.Seq, err)
		}
		m := &switchboard.Message{ConversationID: c.ID, Body: "after reopen"}
		if _, err := s.SendMessage(ctx, m); err != nil {
			t.Fatalf("reopen %d: SendMessage() = %v", i+1, err)
		}
		if want := before.Messages[len(before.Messages)-1].Seq + 1; m.Seq != want {
			t.Errorf("reopen %d: Seq = %d, want %d", i+1, m.Seq, want)
		}
		if events := rec.Events(); len(events) != 1 || events[0].Cursor != before.LastCursor+1 {
			t.Errorf("reopen %d: published cursors %v, want [%d]", i+1, cursors(events), before.LastCursor+1)
		}
		before = takeSnapshot(t, s, ctx, c.ID)
		if err := s.Close(); err != nil {
			t.Fatalf("Close() = %v", err)
		}
		if got := userVersion(t, path); got != version {
			t.Errorf("reopen %d: user_version = %d, want %d", i+1, got, version)
		}
	}
}

// TestMigrations checks that every embedded migration is applied once, in
// order, and recorded in user_version.
func TestMigrations(t *testing.T) {
	entries, err := os.ReadDir("migrations")
	if err != nil {
		t.Fatalf("ReadDir(migrations) = %v", err)
	}
	var want int
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		want++
		if prefix, _, _ := strings.Cut(e.Name(), "_"); prefix != fmt.Sprintf("%03d", want) {
			t.Errorf("migration %s, want number %03d: migrations are numbered 001, 002, ... without gaps", e.Name(), want)
		}
	}
	path := filepath.Join(t.TempDir(), "db.sqlite")
	for i := range 3 {
		s, err := sqlite.Open(context.Background(), path, sqlite.Options{})
		if err != nil {
			t.Fatalf("Open() #%d = %v", i+1, err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("Close() #%d = %v", i+1, err)
		}
		if got := userVersion(t, path); got != want {
			t.Errorf("user_version after Open #%d = %d, want %d", i+1, got, want)
		}
	}
}

// userVersion reads the schema version of the closed database at path.
func userVersion(t *testing.T, path string) int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer db.Close()
	var v int
	if err := db.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
		t.Fatalf("read user_version: %v", err)
	}
	return v
}

func cursors(events []*switchboard.Event) []int64 {
	var out []int64
	for _, e := range events {
		out = append(out, e.Cursor)
	}
	return out
}

// TestOpenLeavesNothingOpen: stores that could not be opened (the file is
// not a database; a database whose migration fails) and a store opened and
// closed leave no file descriptor of the process's open, however many
// times.
func TestOpenLeavesNothingOpen(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.sqlite")
	if err := os.WriteFile(bad, []byte(strings.Repeat("not a database ", 400)), 0o600); err != nil {
		t.Fatal(err)
	}
	// A table of the first migration's name, there already.
	clash := filepath.Join(dir, "clash.sqlite")
	db, err := sql.Open("sqlite", clash)
	if err == nil {
		_, err = db.Exec("CREATE TABLE users (x)")
		db.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good.sqlite")
	openFDs := func() int {
		fds, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Fatalf("counting open files: %v", err)
		}
		return len(fds)
	}
	// A first round opens what stays open for the process (io_uring's
	// and the runtime's own).
	cycle := func() {
		if s, err := sqlite.Open(context.Background(), bad, sqlite.Options{}); err == nil {
			s.Close()
			t.Fatal("Open(a file that is not a database) succeeded")
		} else if !strings.Contains(err.Error(), "not a database") {
			t.Fatalf("Open(a file that is not a database) = %v; want it to say so", err)
		}
		if s, err := sqlite.Open(context.Background(), clash, sqlite.Options{}); err == nil {
			s.Close()
			t.Fatal("Open(a database whose migration fails) succeeded")
		} else if !strings.Contains(err.Error(), "already exists") {
			t.Fatalf("Open(a database whose migration fails) = %v; want the migration's error", err)
		}
		s, err := sqlite.Open(context.Background(), good, sqlite.Options{})
		if err != nil {
			t.Fatalf("Open(good) = %v", err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("Close() = %v", err)
		}
	}
	cycle()
	before := openFDs()
	for range 5 {
		cycle()
	}
	if after := openFDs(); after != before {
		t.Errorf("%d file descriptors open after five more rounds of a failed and a closed store, %d before", after, before)
	}
}
