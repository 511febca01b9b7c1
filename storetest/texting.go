package storetest

import (
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard"
)

// texting seeds a provider and the number +14155550100 of domA, shared by
// 101 and 102.
func (f *fixture) texting(t *testing.T) {
	t.Helper()
	if err := f.s.CreateProvider(f.ctx, &switchboard.Provider{Name: "p1", Kind: "sim", Credentials: map[string]string{"secret": "s"}}); err != nil {
		t.Fatal(err)
	}
	if err := f.s.CreateNumber(f.ctx, &switchboard.TextingNumber{Number: "+14155550100", Domain: domA, Provider: "p1", Assigned: []string{"102", "101"}}); err != nil {
		t.Fatal(err)
	}
}

func testNumbers(t *testing.T, s Store, rec *Recorder) {
	f := seed(t, s, rec)
	f.texting(t)
	p, err := s.FindProvider(f.ctx, "p1")
	if err != nil || p.Kind != "sim" || p.Credentials["secret"] != "s" {
		t.Errorf("FindProvider = %+v, %v", p, err)
	}
	if err := s.CreateProvider(f.ctx, &switchboard.Provider{Name: "p1", Kind: "sim"}); switchboard.ErrorCode(err) != switchboard.ECONFLICT {
		t.Errorf("duplicate provider = %v", err)
	}
	for _, n := range []*switchboard.TextingNumber{
		{Number: "+14155550100", Domain: domB, Provider: "p1"},              // taken by another domain
		{Number: "+14155550101", Domain: "nowhere.example", Provider: "p1"}, // no domain
		{Number: "+14155550101", Domain: domA, Provider: "nope"},            // no provider
		{Number: "+14155550101", Domain: domA, Provider: "p1", Assigned: []string{"999"}},
	} {
		if err := s.CreateNumber(f.ctx, n); err == nil {
			t.Errorf("CreateNumber(%+v) succeeded", n)
		}
	}
	n, err := s.FindNumber(f.ctx, "+14155550100")
	if err != nil || n.Domain != domA || len(n.Assigned) != 2 || n.Assigned[0] != "101" {
		t.Errorf("FindNumber = %+v, %v", n, err)
	}
	mine, _ := s.MyNumbers(f.as(domA, "101"))
	others, _ := s.MyNumbers(f.as(domB, "101"))
	if len(mine) != 1 || len(others) != 0 {
		t.Errorf("MyNumbers = %v (acme 101), %v (globex 101)", mine, others)
	}
	list, err := s.ListNumbers(f.ctx, domA)
	if err != nil || len(list) != 1 {
		t.Errorf("ListNumbers = %v, %v", list, err)
	}
}

// An SMS conversation is a shared inbox: its members follow the number's
// assignment.
func testSMSConversation(t *testing.T, s Store, rec *Recorder) {
	f := seed(t, s, rec)
	f.texting(t)
	a101 := f.as(domA, "101")
	c, created, err := s.CreateSMSConversation(a101, "+14155550100", []string{"+14155550142"})
	if err != nil || !created || c.Kind != switchboard.KindSMS || len(c.Members) != 2 || c.External[0] != "+14155550142" {
		t.Fatalf("CreateSMSConversation = %+v, %v, %v", c, created, err)
	}
	if again, created, _ := s.CreateSMSConversation(f.as(domA, "102"), "+14155550100", []string{"+14155550142"}); created || again.ID != c.ID {
		t.Errorf("second create = %v, %v", again, created)
	}
	if _, _, err := s.CreateSMSConversation(f.as(domA, "103"), "+14155550100", []string{"+14155550142"}); switchboard.ErrorCode(err) != switchboard.ENOTFOUND {
		t.Errorf("unassigned extension = %v", err)
	}
	if _, _, err := s.CreateSMSConversation(f.as(domB, "101"), "+14155550100", []string{"+14155550142"}); switchboard.ErrorCode(err) != switchboard.ENOTFOUND {
		t.Errorf("another domain = %v", err)
	}
	if _, err := s.AssignNumber(f.ctx, "+14155550100", []string{"103"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.FindConversation(a101, c.ID); switchboard.ErrorCode(err) != switchboard.ENOTFOUND {
		t.Errorf("101 after unassignment = %v", err)
	}
	got, err := s.FindConversation(f.as(domA, "103"), c.ID)
	if err != nil || len(got.Members) != 1 || got.Members[0] != "103" {
		t.Errorf("103 after assignment = %+v, %v", got, err)
	}
}

// Sending queues outbox items; claiming, completing and delivery reports
// move the message's status; a crash mid-send is never sent again.
func testOutbox(t *testing.T, s Store, rec *Recorder) {
	f := seed(t, s, rec)
	f.texting(t)
	a101 := f.as(domA, "101")
	c, _, _ := s.CreateSMSConversation(a101, "+14155550100", []string{"+14155550142", "+14155550143"})
	m := &switchboard.Message{ConversationID: c.ID, Body: "Hello both"}
	if _, err := s.SendMessage(a101, m); err != nil {
		t.Fatal(err)
	}
	if m.Status != switchboard.StatusQueued {
		t.Errorf("status = %q, want queued", m.Status)
	}
	items, err := s.ClaimOutbox(f.ctx, time.Now(), 10)
	if err != nil || len(items) != 2 || items[0].Body != "Hello both" || items[0].From != "+14155550100" || items[0].Attempts != 1 {
		t.Fatalf("ClaimOutbox = %+v, %v", items, err)
	}
	if again, _ := s.ClaimOutbox(f.ctx, time.Now(), 10); len(again) != 0 {
		t.Errorf("claimed twice: %+v", again)
	}
	status := func() string {
		msgs, _ := s.ListMessages(a101, c.ID, switchboard.MessageQuery{})
		return msgs[len(msgs)-1].Status
	}
	s.CompleteOutbox(f.ctx, items[0].ID, switchboard.OutboxResult{State: switchboard.OutboxSent, ProviderID: "p-1"})
	s.CompleteOutbox(f.ctx, items[1].ID, switchboard.OutboxResult{State: switchboard.OutboxPending, RetryAt: time.Now().Add(time.Hour)})
	if got := status(); got != switchboard.StatusQueued {
		t.Errorf("one sent, one retrying: %q, want queued", got)
	}
	if due, _ := s.ClaimOutbox(f.ctx, time.Now(), 10); len(due) != 0 {
		t.Errorf("an item retrying in an hour was claimed now")
	}
	retry, _ := s.ClaimOutbox(f.ctx, time.Now().Add(2*time.Hour), 10)
	if len(retry) != 1 || retry[0].Attempts != 2 {
		t.Fatalf("retry = %+v", retry)
	}
	s.CompleteOutbox(f.ctx, retry[0].ID, switchboard.OutboxResult{State: switchboard.OutboxSent, ProviderID: "p-2"})
	if got := status(); got != switchboard.StatusSent {
		t.Errorf("both sent: %q", got)
	}
	s.ApplyDeliveryReport(f.ctx, "p1", switchboard.DeliveryReport{ProviderID: "p-1", Status: switchboard.StatusDelivered})
	s.ApplyDeliveryReport(f.ctx, "p1", switchboard.DeliveryReport{ProviderID: "p-2", Status: switchboard.StatusDelivered})
	if got := status(); got != switchboard.StatusDelivered {
		t.Errorf("both delivered: %q", got)
	}
	if err := s.ApplyDeliveryReport(f.ctx, "p1", switchboard.DeliveryReport{ProviderID: "nope"}); switchboard.ErrorCode(err) != switchboard.ENOTFOUND {
		t.Errorf("unknown report = %v", err)
	}
	// A crash while sending: the item is failed, never sent again.
	m2 := &switchboard.Message{ConversationID: c.ID, Body: "Second"}
	s.SendMessage(a101, m2)
	if got, _ := s.ClaimOutbox(f.ctx, time.Now(), 10); len(got) != 2 {
		t.Fatalf("claimed %d", len(got))
	}
	if n, err := s.RecoverOutbox(f.ctx); err != nil || n != 2 {
		t.Errorf("RecoverOutbox = %d, %v", n, err)
	}
	if got := status(); got != switchboard.StatusFailed {
		t.Errorf("after a crash mid-send: %q, want failed", got)
	}
	if got, _ := s.ClaimOutbox(f.ctx, time.Now().Add(time.Hour), 10); len(got) != 0 {
		t.Errorf("recovered items claimed again: %+v", got)
	}
}

// Inbound messages are stored once per provider id; opt-outs fail sends.
func testInbound(t *testing.T, s Store, rec *Recorder) {
	f := seed(t, s, rec)
	f.texting(t)
	in := &switchboard.InboundSMS{ProviderID: "x1", From: "+14155550142", To: "+14155550100", Body: "Hi"}
	res, err := s.ReceiveSMS(f.ctx, "p1", in, nil)
	if err != nil || res.Duplicate || res.Message.Sender != "+14155550142" {
		t.Fatalf("ReceiveSMS = %+v, %v", res, err)
	}
	dup, err := s.ReceiveSMS(f.ctx, "p1", in, nil)
	if err != nil || !dup.Duplicate || dup.Message.ID != res.Message.ID {
		t.Errorf("retry = %+v, %v", dup, err)
	}
	if seen, _ := s.InboundSeen(f.ctx, "p1", "x1"); !seen {
		t.Errorf("InboundSeen = false")
	}
	for _, bad := range []struct{ provider, to string }{{"p1", "+14155550199"}, {"other", "+14155550100"}} {
		if _, err := s.ReceiveSMS(f.ctx, bad.provider, &switchboard.InboundSMS{ProviderID: "x2", From: "+14155550142", To: bad.to}, nil); switchboard.ErrorCode(err) != switchboard.ENOTFOUND {
			t.Errorf("ReceiveSMS(%+v) = %v", bad, err)
		}
	}
	list, _ := s.ListConversations(f.as(domA, "102"), 10)
	if len(list) != 1 || list[0].Unread != 1 || list[0].LastMessage.Body != "Hi" {
		t.Errorf("102's inbox = %+v", list)
	}
	s.SetOptOut(f.ctx, "+14155550100", "+14155550142", true)
	m := &switchboard.Message{ConversationID: list[0].ID, Body: "Still there?"}
	if _, err := s.SendMessage(f.as(domA, "101"), m); err != nil || m.Status != switchboard.StatusFailed || m.Error == "" {
		t.Errorf("send to opted-out = %+v, %v", m, err)
	}
	if got, _ := s.ClaimOutbox(f.ctx, time.Now(), 10); len(got) != 0 {
		t.Errorf("opted-out message queued: %+v", got)
	}
	if _, err := s.SendMessage(f.as(domA, "101"), &switchboard.Message{ConversationID: list[0].ID, Body: string(make([]rune, 1601))}); switchboard.ErrorCode(err) != switchboard.ETOOLARGE {
		t.Errorf("1601 characters = %v", err)
	}
	reply, err := s.AutoReply(f.ctx, list[0].ID, "Reply STOP to opt out")
	if err != nil || reply.Sender != "+14155550100" {
		t.Errorf("AutoReply = %+v, %v", reply, err)
	}
}
