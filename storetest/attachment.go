package storetest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/switchboard-chat/switchboard"
)

func (f *fixture) upload(t *testing.T, domain, ext, key string) *switchboard.StoredAttachment {
	t.Helper()
	a := &switchboard.StoredAttachment{
		Attachment: switchboard.Attachment{Name: "photo.jpg", ContentType: "image/jpeg", Size: 1234, SHA256: key, Width: 40, Height: 30},
		BlobKey:    key, ThumbKey: "t" + key, ThumbType: "image/jpeg", ThumbnailSize: 99,
	}
	if err := f.s.CreateAttachment(f.as(domain, ext), a); err != nil {
		t.Fatalf("CreateAttachment = %v", err)
	}
	return a
}

// Attachments are visible to the uploader, then to the members of the
// conversations where they were posted; never to anyone else.
func testAttachments(t *testing.T, s Store, rec *Recorder) {
	f := seed(t, s, rec)
	a101, a102, a103 := f.as(domA, "101"), f.as(domA, "102"), f.as(domA, "103")
	b101 := f.as(domB, "101")
	up := f.upload(t, domA, "101", "k1")
	if up.ID == "" || up.Uploader != "101" || up.Domain != domA || up.Attached {
		t.Fatalf("CreateAttachment filled %+v", up)
	}
	got, err := s.FindAttachment(a101, up.ID)
	if err != nil {
		t.Fatalf("FindAttachment by uploader = %v", err)
	}
	if diff := cmp.Diff(up.Attachment, got.Attachment); diff != "" || got.BlobKey != "k1" || got.ThumbKey != "tk1" || got.ThumbnailSize != 99 {
		t.Errorf("FindAttachment mismatch (-want +got):\n%s", diff)
	}
	if _, err := s.FindAttachment(a102, up.ID); switchboard.ErrorCode(err) != switchboard.ENOTFOUND {
		t.Errorf("FindAttachment by 102 before posting = %v, want not_found", err)
	}
	if _, err := s.FindAttachment(b101, up.ID); switchboard.ErrorCode(err) != switchboard.ENOTFOUND {
		t.Errorf("FindAttachment by another domain = %v, want not_found", err)
	}
	c := f.direct(t, a101, "102")
	// Another member cannot post 101's upload.
	m := &switchboard.Message{ConversationID: c.ID, Attachments: []*switchboard.Attachment{{ID: up.ID}}}
	if _, err := s.SendMessage(a102, m); switchboard.ErrorCode(err) != switchboard.ENOTFOUND {
		t.Errorf("posting another's upload = %v, want not_found", err)
	}
	m = &switchboard.Message{ConversationID: c.ID, Attachments: []*switchboard.Attachment{{ID: up.ID}}}
	if _, err := s.SendMessage(a101, m); err != nil {
		t.Fatalf("SendMessage with attachment = %v", err)
	}
	if len(m.Attachments) != 1 || m.Attachments[0].Name != "photo.jpg" || m.Attachments[0].Width != 40 {
		t.Errorf("message attachments = %+v", m.Attachments)
	}
	msgs, err := s.ListMessages(a102, c.ID, switchboard.MessageQuery{})
	if err != nil || len(msgs) != 1 || len(msgs[0].Attachments) != 1 || msgs[0].Attachments[0].ID != up.ID {
		t.Errorf("history attachments = %+v, %v", msgs, err)
	}
	if _, err := s.FindAttachment(a102, up.ID); err != nil {
		t.Errorf("FindAttachment by member after posting = %v", err)
	}
	if _, err := s.FindAttachment(a103, up.ID); switchboard.ErrorCode(err) != switchboard.ENOTFOUND {
		t.Errorf("FindAttachment by non-member = %v, want not_found", err)
	}
	if _, err := s.FindAttachment(b101, up.ID); switchboard.ErrorCode(err) != switchboard.ENOTFOUND {
		t.Errorf("FindAttachment by another domain after posting = %v, want not_found", err)
	}
	// Too many, twice the same, unknown: refused, nothing stored.
	var many []*switchboard.Attachment
	for range switchboard.MaxAttachments + 1 {
		many = append(many, &switchboard.Attachment{ID: f.upload(t, domA, "101", "k2").ID})
	}
	for _, atts := range [][]*switchboard.Attachment{many, {{ID: up.ID}, {ID: up.ID}}, {{ID: "a_unknown"}}} {
		m := &switchboard.Message{ConversationID: c.ID, Body: "x", Attachments: atts}
		if _, err := s.SendMessage(a101, m); err == nil {
			t.Errorf("SendMessage with attachments %v succeeded", atts)
		}
	}
	if msgs, _ := s.ListMessages(a101, c.ID, switchboard.MessageQuery{}); len(msgs) != 1 {
		t.Errorf("refused sends stored messages: %d", len(msgs))
	}
}

// Uploads never posted are removed after the retention; blob keys are
// returned only when nothing refers to them any more.
func testDeleteUnattached(t *testing.T, s Store, rec *Recorder) {
	f := seed(t, s, rec)
	a101 := f.as(domA, "101")
	posted := f.upload(t, domA, "101", "shared")
	orphan := f.upload(t, domA, "101", "shared") // same bytes as the posted one
	lonely := f.upload(t, domA, "101", "lonely")
	c := f.direct(t, a101, "102")
	if _, err := s.SendMessage(a101, &switchboard.Message{ConversationID: c.ID, Attachments: []*switchboard.Attachment{{ID: posted.ID}}}); err != nil {
		t.Fatal(err)
	}
	keys, err := s.DeleteUnattached(f.ctx, time.Now().Add(-time.Hour))
	if err != nil || len(keys) != 0 {
		t.Errorf("DeleteUnattached(an hour ago) = %v, %v; want nothing", keys, err)
	}
	keys, err = s.DeleteUnattached(f.ctx, time.Now().Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"lonely": true, "tlonely": true}
	if len(keys) != 2 || !want[keys[0]] || !want[keys[1]] {
		t.Errorf("DeleteUnattached returned keys %v, want lonely and tlonely", keys)
	}
	for _, id := range []string{orphan.ID, lonely.ID} {
		if _, err := s.FindAttachment(a101, id); switchboard.ErrorCode(err) != switchboard.ENOTFOUND {
			t.Errorf("unattached %s still found: %v", id, err)
		}
	}
	if _, err := s.FindAttachment(a101, posted.ID); err != nil {
		t.Errorf("posted attachment removed: %v", err)
	}
}
