package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/switchboard-chat/switchboard"
)

// TestAuthCache checks that the sign-in cache never outlives a change made
// through the store: logout, a new password and a new level take effect at
// once.
func TestAuthCache(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "db.sqlite"), nil)
	ctx := context.Background()
	bulkFixture(t, s, 2)
	for range 2 { // the second read is served by the cache
		if sess, err := s.FindSession(ctx, "t101"); err != nil || sess.Extension != "101" {
			t.Fatalf("FindSession(t101) = %v, %v", sess, err)
		}
		if u, err := s.FindUser(ctx, "bulk.example", "101"); err != nil || u.Level != switchboard.LevelBasic {
			t.Fatalf("FindUser(101) = %v, %v", u, err)
		}
	}
	// The user that came along with the session is the user as stored.
	status := switchboard.PresenceStatus{DND: true, Message: "In a meeting"}
	if _, err := s.UpdateUser(ctx, "bulk.example", "101", switchboard.UserUpdate{Status: &status}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.FindSession(ctx, "t101"); err != nil {
		t.Fatal(err)
	}
	viaSession, err := s.FindUser(ctx, "bulk.example", "101")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateUser(ctx, "bulk.example", "101", switchboard.UserUpdate{}); err != nil { // drops the cached user
		t.Fatal(err)
	}
	stored, err := s.FindUser(ctx, "bulk.example", "101")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(stored, viaSession); diff != "" {
		t.Errorf("user cached with the session differs from the stored one (-stored +cached):\n%s", diff)
	}

	if err := s.DeleteSession(ctx, "t101"); err != nil {
		t.Fatal(err)
	}
	if sess, err := s.FindSession(ctx, "t101"); switchboard.ErrorCode(err) != switchboard.ENOTFOUND {
		t.Errorf("FindSession after logout = %v, %v; want not found", sess, err)
	}

	level := switchboard.LevelOfficeManager
	if _, err := s.UpdateUser(ctx, "bulk.example", "101", switchboard.UserUpdate{Level: &level}); err != nil {
		t.Fatal(err)
	}
	if u, err := s.FindUser(ctx, "bulk.example", "101"); err != nil || u.Level != level {
		t.Errorf("FindUser after a new level = %v, %v; want level %s at once", u, err, level)
	}

	if _, err := s.FindSession(ctx, "t102"); err != nil {
		t.Fatal(err)
	}
	hash := "new-hash"
	if _, err := s.UpdateUser(ctx, "bulk.example", "102", switchboard.UserUpdate{PasswordHash: &hash}); err != nil {
		t.Fatal(err)
	}
	if sess, err := s.FindSession(ctx, "t102"); switchboard.ErrorCode(err) != switchboard.ENOTFOUND {
		t.Errorf("FindSession after a new password = %v, %v; want not found", sess, err)
	}
	if u, err := s.FindUser(ctx, "bulk.example", "102"); err != nil || u.PasswordHash != hash {
		t.Errorf("FindUser after a new password = %v, %v; want the new hash at once", u, err)
	}

	// An expired session is not served from the cache either.
	if err := s.BulkSessions(ctx, []*switchboard.Session{{TokenHash: "short", Domain: "bulk.example", Extension: "101", ExpiresAt: time.Now().Add(50 * time.Millisecond)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.FindSession(ctx, "short"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if sess, err := s.FindSession(ctx, "short"); switchboard.ErrorCode(err) != switchboard.ENOTFOUND {
		t.Errorf("FindSession after expiry = %v, %v; want not found", sess, err)
	}
}

// TestAuthCacheOtherProcess checks that a change made by another process
// on the same database (the CLI) reaches a store's sign-in cache: a session
// ended there, a new password or a new level is honoured within the auth
// poll, not when the cached entries would have expired.
func TestAuthCacheOtherProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db.sqlite")
	server := mustOpen(t, path, nil)
	ctx := context.Background()
	bulkFixture(t, server, 3)
	cli := mustOpen(t, path, nil)

	// eventually waits until check holds for the server's store.
	eventually := func(what string, check func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !check() {
			if time.Now().After(deadline) {
				t.Errorf("%s: the server's store still serves the old answer", what)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	warm := func(token string) {
		t.Helper()
		// Long enough for the store's first generation check, so that the
		// answer is cached.
		for range 3 {
			if _, err := server.FindSession(ctx, token); err != nil {
				t.Fatalf("FindSession(%s) = %v", token, err)
			}
			time.Sleep(300 * time.Millisecond)
		}
	}

	warm("t101")
	if err := cli.DeleteSession(ctx, "t101"); err != nil {
		t.Fatal(err)
	}
	eventually("session ended by another process", func() bool {
		_, err := server.FindSession(ctx, "t101")
		return switchboard.ErrorCode(err) == switchboard.ENOTFOUND
	})

	warm("t102")
	hash := "changed-elsewhere"
	if _, err := cli.UpdateUser(ctx, "bulk.example", "102", switchboard.UserUpdate{PasswordHash: &hash}); err != nil {
		t.Fatal(err)
	}
	eventually("password changed by another process", func() bool {
		_, err := server.FindSession(ctx, "t102")
		return switchboard.ErrorCode(err) == switchboard.ENOTFOUND
	})

	warm("t103")
	level := switchboard.LevelOfficeManager
	if _, err := cli.UpdateUser(ctx, "bulk.example", "103", switchboard.UserUpdate{Level: &level}); err != nil {
		t.Fatal(err)
	}
	eventually("level changed by another process", func() bool {
		u, err := server.FindUser(ctx, "bulk.example", "103")
		return err == nil && u.Level == level
	})
}
