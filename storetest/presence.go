package storetest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/switchboard-chat/switchboard"
)

// A user's status and SIP credentials are stored with the user.
func testPresenceStatus(t *testing.T, s Store, rec *Recorder) {
	f := seed(t, s, rec)
	until := time.Now().Add(time.Hour).UTC().Truncate(time.Millisecond)
	st := switchboard.PresenceStatus{DND: true, Message: "In a meeting", Until: &until}
	md5, sha := "0123456789abcdef0123456789abcdef", "ab"
	if _, err := s.UpdateUser(f.ctx, domA, "102", switchboard.UserUpdate{Status: &st, SIPHA1MD5: &md5, SIPHA1SHA256: &sha}); err != nil {
		t.Fatal(err)
	}
	u, err := s.FindUser(f.ctx, domA, "102")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(st, u.Status); diff != "" || u.SIPHA1MD5 != md5 || u.SIPHA1SHA256 != sha {
		t.Errorf("stored status (-want +got):\n%s sip=%q %q", diff, u.SIPHA1MD5, u.SIPHA1SHA256)
	}
	list, err := s.ListStatuses(f.ctx)
	if err != nil || len(list) != 1 || list[0].Extension != "102" || list[0].Domain != domA {
		t.Errorf("ListStatuses = %v, %v; want only 102@%s", list, err, domA)
	}
	// An update of other fields keeps the status.
	name := "Bob J."
	if u, _ := s.UpdateUser(f.ctx, domA, "102", switchboard.UserUpdate{Name: &name}); !u.Status.DND {
		t.Errorf("name change cleared the status")
	}
	clear := switchboard.PresenceStatus{}
	s.UpdateUser(f.ctx, domA, "102", switchboard.UserUpdate{Status: &clear})
	if list, _ := s.ListStatuses(f.ctx); len(list) != 0 {
		t.Errorf("ListStatuses after clearing = %v", list)
	}
}

func testAPIKeys(t *testing.T, s Store, rec *Recorder) {
	f := seed(t, s, rec)
	k := &switchboard.APIKey{Domain: domA, KeyHash: "hash-1"}
	if err := s.CreateAPIKey(f.ctx, k); err != nil || k.ID == "" {
		t.Fatalf("CreateAPIKey = %v, id %q", err, k.ID)
	}
	got, err := s.FindAPIKey(f.ctx, "hash-1")
	if err != nil || got.Domain != domA || got.ID != k.ID {
		t.Errorf("FindAPIKey = %+v, %v", got, err)
	}
	if _, err := s.FindAPIKey(f.ctx, "hash-2"); switchboard.ErrorCode(err) != switchboard.ENOTFOUND {
		t.Errorf("FindAPIKey(unknown) = %v, want not_found", err)
	}
	if err := s.CreateAPIKey(f.ctx, &switchboard.APIKey{Domain: "nowhere.example", KeyHash: "h"}); switchboard.ErrorCode(err) != switchboard.ENOTFOUND {
		t.Errorf("CreateAPIKey(unknown domain) = %v, want not_found", err)
	}
}

func testRegistrations(t *testing.T, s Store, rec *Recorder) {
	f := seed(t, s, rec)
	now := time.Now().UTC().Truncate(time.Millisecond)
	regs := []*switchboard.Registration{
		{Domain: domA, Extension: "101", Contact: "sip:101@10.0.0.1:5060", Source: "10.0.0.1:5060", Transport: "udp", CallID: "a", CSeq: 1, ExpiresAt: now.Add(time.Hour)},
		{Domain: domA, Extension: "101", Contact: "sip:101@10.0.0.2:5060", Transport: "tcp", CallID: "b", CSeq: 1, ExpiresAt: now.Add(time.Hour)},
		{Domain: domA, Extension: "102", Contact: "sip:102@10.0.0.3", CallID: "c", CSeq: 1, ExpiresAt: now.Add(-time.Second)},
		{Domain: domB, Extension: "101", Contact: "sip:101@10.0.0.4", CallID: "d", CSeq: 1, ExpiresAt: now.Add(time.Hour)},
	}
	for _, r := range regs {
		if err := s.SaveRegistration(f.ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	// Re-registering replaces the binding.
	refreshed := *regs[0]
	refreshed.CSeq, refreshed.ExpiresAt = 2, now.Add(2*time.Hour)
	if err := s.SaveRegistration(f.ctx, &refreshed); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListRegistrations(f.ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	want := []*switchboard.Registration{&refreshed, regs[1], regs[3]}
	if diff := cmp.Diff(want, list); diff != "" {
		t.Errorf("ListRegistrations (-want +got):\n%s", diff)
	}
	s.DeleteRegistration(f.ctx, domA, "101", regs[1].Contact)
	s.DeleteRegistrations(f.ctx, domB, "101")
	if list, _ := s.ListRegistrations(f.ctx, now); len(list) != 1 || list[0].Contact != regs[0].Contact {
		t.Errorf("after deletes = %+v", list)
	}
}
