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
