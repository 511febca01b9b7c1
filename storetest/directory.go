package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/switchboard-chat/switchboard"
)

func testDomains(t *testing.T, s Store, _ *Recorder) {
	ctx := t.Context()
	before := time.Now()
	acme := &switchboard.Domain{Name: "acme.example", DisplayName: "Acme Corp"}
	if err := s.CreateDomain(ctx, acme); err != nil {
		t.Fatalf("CreateDomain(%s) = %v", acme.Name, err)
	}
	if acme.CreatedAt.Before(before.Add(-time.Second)) || acme.CreatedAt.After(time.Now().Add(time.Second)) {
		t.Errorf("CreateDomain: CreatedAt = %v, want about %v", acme.CreatedAt, before)
	}
	globex := &switchboard.Domain{Name: "globex.example", DisplayName: "Globex"}
	if err := s.CreateDomain(ctx, globex); err != nil {
		t.Fatalf("CreateDomain(%s) = %v", globex.Name, err)
	}

	got, err := s.FindDomain(ctx, "acme.example")
	if err != nil {
		t.Fatalf("FindDomain(acme.example) = %v", err)
	}
	if diff := cmp.Diff(acme, got, cmpOpts); diff != "" {
		t.Errorf("FindDomain(acme.example) mismatch (-want +got):\n%s", diff)
	}

	for _, tt := range []struct {
		name string
		want string
	}{
		{"acme.example", switchboard.ECONFLICT},
		{"", switchboard.EINVALID},
		{"acme", switchboard.EINVALID},
		{"Acme.Example", switchboard.EINVALID},
		{"-acme.example", switchboard.EINVALID},
		{"acme..example", switchboard.EINVALID},
		{"acme_corp.example", switchboard.EINVALID},
		{"acme.example/x", switchboard.EINVALID},
	} {
		err := s.CreateDomain(ctx, &switchboard.Domain{Name: tt.name, DisplayName: "X"})
		wantCode(t, "CreateDomain("+tt.name+")", err, tt.want)
	}

	_, err = s.FindDomain(ctx, "unknown.example")
	wantCode(t, "FindDomain(unknown.example)", err, switchboard.ENOTFOUND)

	list, err := s.ListDomains(ctx)
	if err != nil {
		t.Fatalf("ListDomains() = %v", err)
	}
	// The failed creations above must have left nothing behind, and the
	// duplicate must not have changed the first.
	if diff := cmp.Diff([]*switchboard.Domain{acme, globex}, list, cmpOpts); diff != "" {
		t.Errorf("ListDomains() mismatch (-want +got):\n%s", diff)
	}
}

func testUsers(t *testing.T, s Store, _ *Recorder) {
	ctx := t.Context()
	for _, name := range []string{domA, domB} {
		if err := s.CreateDomain(ctx, &switchboard.Domain{Name: name, DisplayName: name}); err != nil {
			t.Fatalf("CreateDomain(%s) = %v", name, err)
		}
	}
	alice := &switchboard.User{Domain: domA, Extension: "101", Name: "Alice Smith", Level: switchboard.LevelBasic, PasswordHash: "h1"}
	if err := s.CreateUser(ctx, alice); err != nil {
		t.Fatalf("CreateUser(%s) = %v", alice.Address(), err)
	}
	if alice.CreatedAt.IsZero() {
		t.Errorf("CreateUser: CreatedAt is zero")
	}

	long := strings.Repeat("n", 101)
	for _, tt := range []struct {
		what string
		u    switchboard.User
		want string
	}{
		{"same extension in another domain", switchboard.User{Domain: domB, Extension: "101", Name: "Xavier Hall", Level: switchboard.LevelBasic}, ""},
		{"seven digits", switchboard.User{Domain: domA, Extension: "1234567", Name: "Long Ext", Level: switchboard.LevelBasic}, ""},
		{"two digits", switchboard.User{Domain: domA, Extension: "10", Name: "Short Ext", Level: switchboard.LevelSuperUser}, ""},
		{"duplicate", switchboard.User{Domain: domA, Extension: "101", Name: "Another", Level: switchboard.LevelBasic}, switchboard.ECONFLICT},
		{"unknown domain", switchboard.User{Domain: "unknown.example", Extension: "101", Name: "Nobody", Level: switchboard.LevelBasic}, switchboard.ENOTFOUND},
		{"one digit", switchboard.User{Domain: domA, Extension: "1", Name: "N", Level: switchboard.LevelBasic}, switchboard.EINVALID},
		{"eight digits", switchboard.User{Domain: domA, Extension: "12345678", Name: "N", Level: switchboard.LevelBasic}, switchboard.EINVALID},
		{"letters", switchboard.User{Domain: domA, Extension: "10a", Name: "N", Level: switchboard.LevelBasic}, switchboard.EINVALID},
		{"empty extension", switchboard.User{Domain: domA, Extension: "", Name: "N", Level: switchboard.LevelBasic}, switchboard.EINVALID},
		{"empty level", switchboard.User{Domain: domA, Extension: "201", Name: "N", Level: ""}, switchboard.EINVALID},
		{"unknown level", switchboard.User{Domain: domA, Extension: "201", Name: "N", Level: "admin"}, switchboard.EINVALID},
		{"empty name", switchboard.User{Domain: domA, Extension: "201", Name: "", Level: switchboard.LevelBasic}, switchboard.EINVALID},
		{"blank name", switchboard.User{Domain: domA, Extension: "201", Name: "  \t", Level: switchboard.LevelBasic}, switchboard.EINVALID},
		{"name too long", switchboard.User{Domain: domA, Extension: "201", Name: long, Level: switchboard.LevelBasic}, switchboard.EINVALID},
	} {
		u := tt.u
		wantCode(t, "CreateUser("+tt.what+")", s.CreateUser(ctx, &u), tt.want)
	}

	got, err := s.FindUser(ctx, domA, "101")
	if err != nil {
		t.Fatalf("FindUser(101@%s) = %v", domA, err)
	}
	if diff := cmp.Diff(alice, got, cmpOpts); diff != "" {
		t.Errorf("FindUser(101@%s) mismatch (-want +got):\n%s", domA, diff)
	}
	got, err = s.FindUser(ctx, domB, "101")
	if err != nil {
		t.Fatalf("FindUser(101@%s) = %v", domB, err)
	} else if got.Name != "Xavier Hall" || got.Domain != domB {
		t.Errorf("FindUser(101@%s) = %s %q, want Xavier Hall of %s", domB, got.Domain, got.Name, domB)
	}

	for _, tt := range []struct{ domain, ext string }{
		{domA, "999"},
		{domB, "10"},
		{"unknown.example", "101"},
		{domA, "201"}, // rejected above
	} {
		_, err := s.FindUser(ctx, tt.domain, tt.ext)
		wantCode(t, "FindUser("+tt.ext+"@"+tt.domain+")", err, switchboard.ENOTFOUND)
	}

	list, err := s.ListUsers(ctx, domA, "")
	if err != nil {
		t.Fatalf("ListUsers(%s) = %v", domA, err)
	}
	var exts []string
	for _, u := range list {
		exts = append(exts, u.Extension)
	}
	if want := []string{"10", "101", "1234567"}; !cmp.Equal(exts, want) {
		t.Errorf("ListUsers(%s) = %v, want %v", domA, exts, want)
	}
	_, err = s.ListUsers(ctx, "unknown.example", "")
	wantCode(t, "ListUsers(unknown.example)", err, switchboard.ENOTFOUND)
}

func testListUsers(t *testing.T, s Store, _ *Recorder) {
	ctx := t.Context()
	for _, name := range []string{domA, domB} {
		if err := s.CreateDomain(ctx, &switchboard.Domain{Name: name, DisplayName: name}); err != nil {
			t.Fatalf("CreateDomain(%s) = %v", name, err)
		}
	}
	// Created out of order: the list is ordered by extension.
	for _, u := range []switchboard.User{
		{Domain: domA, Extension: "2001", Name: "Robert Smithers"},
		{Domain: domA, Extension: "110", Name: "Alan Turing"},
		{Domain: domA, Extension: "102", Name: "Bob Jones"},
		{Domain: domA, Extension: "201", Name: "Mary-Jane Watson"},
		{Domain: domA, Extension: "101", Name: "Alice Smith"},
		{Domain: domA, Extension: "301", Name: "Zoë Çelik"},
		{Domain: domB, Extension: "101", Name: "Alice Other"},
		{Domain: domB, Extension: "105", Name: "Smith Bobson"},
	} {
		u.Level = switchboard.LevelBasic
		if err := s.CreateUser(ctx, &u); err != nil {
			t.Fatalf("CreateUser(%s) = %v", u.Address(), err)
		}
	}
	for _, tt := range []struct {
		q    string
		want []string
	}{
		// Extensions are strings and sort as strings.
		{"", []string{"101", "102", "110", "2001", "201", "301"}},
		{"1", []string{"101", "102", "110"}},
		{"10", []string{"101", "102"}},
		{"2", []string{"2001", "201"}},
		{"2001", []string{"2001"}},
		{"al", []string{"101", "110"}},
		{"AL", []string{"101", "110"}},
		{"smith", []string{"101", "2001"}},
		{"SMITHERS", []string{"2001"}},
		{"jones", []string{"102"}},
		{"jane", []string{"201"}},
		{"zoë", []string{"301"}},
		{"çel", []string{"301"}},
		{"ice", []string{}},
		{"01", []string{}},
		{"nobody", []string{}},
	} {
		list, err := s.ListUsers(ctx, domA, tt.q)
		if err != nil {
			t.Errorf("ListUsers(%s, %q) = %v", domA, tt.q, err)
			continue
		}
		got := []string{}
		for _, u := range list {
			if u.Domain != domA {
				t.Errorf("ListUsers(%s, %q) returned %s", domA, tt.q, u.Address())
			}
			got = append(got, u.Extension)
		}
		if !cmp.Equal(got, tt.want) {
			t.Errorf("ListUsers(%s, %q) = %v, want %v", domA, tt.q, got, tt.want)
		}
	}
}

func testUpdateUser(t *testing.T, s Store, _ *Recorder) {
	ctx := t.Context()
	if err := s.CreateDomain(ctx, &switchboard.Domain{Name: domA, DisplayName: "Acme"}); err != nil {
		t.Fatalf("CreateDomain() = %v", err)
	}
	for _, u := range []switchboard.User{
		{Domain: domA, Extension: "101", Name: "Alice Smith", Level: switchboard.LevelBasic, PasswordHash: "old"},
		{Domain: domA, Extension: "102", Name: "Bob Jones", Level: switchboard.LevelBasic, PasswordHash: "bob"},
	} {
		if err := s.CreateUser(ctx, &u); err != nil {
			t.Fatalf("CreateUser(%s) = %v", u.Address(), err)
		}
	}
	orig, err := s.FindUser(ctx, domA, "101")
	if err != nil {
		t.Fatalf("FindUser() = %v", err)
	}
	expires := time.Now().Add(time.Hour)
	for _, sess := range []switchboard.Session{
		{TokenHash: "alice-1", Domain: domA, Extension: "101", ExpiresAt: expires},
		{TokenHash: "alice-2", Domain: domA, Extension: "101", ExpiresAt: expires},
		{TokenHash: "bob-1", Domain: domA, Extension: "102", ExpiresAt: expires},
	} {
		if err := s.CreateSession(ctx, &sess); err != nil {
			t.Fatalf("CreateSession(%s) = %v", sess.TokenHash, err)
		}
	}

	name, level := "Alice Cooper", switchboard.LevelSiteManager
	got, err := s.UpdateUser(ctx, domA, "101", switchboard.UserUpdate{Name: &name, Level: &level})
	if err != nil {
		t.Fatalf("UpdateUser(name, level) = %v", err)
	}
	want := *orig
	want.Name, want.Level = name, level
	if diff := cmp.Diff(&want, got, cmpOpts); diff != "" {
		t.Errorf("UpdateUser(name, level) mismatch (-want +got):\n%s", diff)
	}
	if found, err := s.FindUser(ctx, domA, "101"); err != nil {
		t.Fatalf("FindUser() = %v", err)
	} else if diff := cmp.Diff(&want, found, cmpOpts); diff != "" {
		t.Errorf("FindUser after UpdateUser mismatch (-want +got):\n%s", diff)
	}
	// Changing the name keeps the sessions.
	if _, err := s.FindSession(ctx, "alice-1"); err != nil {
		t.Errorf("FindSession(alice-1) after a name change = %v, want the session", err)
	}

	empty, bad := "  ", switchboard.Level("boss")
	for _, tt := range []struct {
		what   string
		domain string
		ext    string
		upd    switchboard.UserUpdate
		want   string
	}{
		{"blank name", domA, "101", switchboard.UserUpdate{Name: &empty}, switchboard.EINVALID},
		{"bad level", domA, "101", switchboard.UserUpdate{Level: &bad}, switchboard.EINVALID},
		{"unknown extension", domA, "199", switchboard.UserUpdate{Name: &name}, switchboard.ENOTFOUND},
		{"unknown domain", "unknown.example", "101", switchboard.UserUpdate{Name: &name}, switchboard.ENOTFOUND},
	} {
		_, err := s.UpdateUser(ctx, tt.domain, tt.ext, tt.upd)
		wantCode(t, "UpdateUser("+tt.what+")", err, tt.want)
	}
	if found, err := s.FindUser(ctx, domA, "101"); err != nil {
		t.Fatalf("FindUser() = %v", err)
	} else if diff := cmp.Diff(&want, found, cmpOpts); diff != "" {
		t.Errorf("FindUser after failed updates mismatch (-want +got):\n%s", diff)
	}

	hash := "new"
	got, err = s.UpdateUser(ctx, domA, "101", switchboard.UserUpdate{PasswordHash: &hash})
	if err != nil {
		t.Fatalf("UpdateUser(password) = %v", err)
	}
	want.PasswordHash = hash
	if diff := cmp.Diff(&want, got, cmpOpts); diff != "" {
		t.Errorf("UpdateUser(password) mismatch (-want +got):\n%s", diff)
	}
	for _, tt := range []struct {
		token string
		want  string
	}{
		{"alice-1", switchboard.ENOTFOUND},
		{"alice-2", switchboard.ENOTFOUND},
		{"bob-1", ""},
	} {
		_, err := s.FindSession(ctx, tt.token)
		wantCode(t, "FindSession("+tt.token+") after a password change", err, tt.want)
	}
}

func testSessions(t *testing.T, s Store, _ *Recorder) {
	ctx := t.Context()
	if err := s.CreateDomain(ctx, &switchboard.Domain{Name: domA, DisplayName: "Acme"}); err != nil {
		t.Fatalf("CreateDomain() = %v", err)
	}
	if err := s.CreateUser(ctx, &switchboard.User{Domain: domA, Extension: "101", Name: "Alice", Level: switchboard.LevelBasic}); err != nil {
		t.Fatalf("CreateUser() = %v", err)
	}
	live := &switchboard.Session{TokenHash: "live", Domain: domA, Extension: "101", ExpiresAt: time.Now().Add(time.Hour).UTC()}
	if err := s.CreateSession(ctx, live); err != nil {
		t.Fatalf("CreateSession(live) = %v", err)
	}
	if live.CreatedAt.IsZero() {
		t.Errorf("CreateSession: CreatedAt is zero")
	}
	expired := &switchboard.Session{TokenHash: "expired", Domain: domA, Extension: "101", ExpiresAt: time.Now().Add(-time.Second).UTC()}
	if err := s.CreateSession(ctx, expired); err != nil {
		t.Fatalf("CreateSession(expired) = %v", err)
	}

	got, err := s.FindSession(ctx, "live")
	if err != nil {
		t.Fatalf("FindSession(live) = %v", err)
	}
	if diff := cmp.Diff(live, got, cmpOpts); diff != "" {
		t.Errorf("FindSession(live) mismatch (-want +got):\n%s", diff)
	}
	_, err = s.FindSession(ctx, "expired")
	wantCode(t, "FindSession(expired)", err, switchboard.ENOTFOUND)
	_, err = s.FindSession(ctx, "unknown")
	wantCode(t, "FindSession(unknown)", err, switchboard.ENOTFOUND)

	if err := s.DeleteSession(ctx, "live"); err != nil {
		t.Fatalf("DeleteSession(live) = %v", err)
	}
	_, err = s.FindSession(ctx, "live")
	wantCode(t, "FindSession(live) after DeleteSession", err, switchboard.ENOTFOUND)
	wantCode(t, "DeleteSession(live) again", s.DeleteSession(ctx, "live"), "")
	wantCode(t, "DeleteSession(unknown)", s.DeleteSession(ctx, "unknown"), "")
}
