package sim_test

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard"
	"github.com/switchboard-chat/switchboard/sms/sim"
)

func TestSim(t *testing.T) {
	reports := make(chan switchboard.DeliveryReport, 1)
	s, err := sim.New(&switchboard.Provider{Name: "sim", Kind: "sim", Credentials: map[string]string{"secret": "s3"}},
		func(r switchboard.DeliveryReport) { reports <- r })
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Send(t.Context(), &switchboard.OutboundSMS{From: "+14155550100", To: "+14155550142", Body: "hi"})
	if err != nil || res.ProviderID == "" {
		t.Fatalf("Send = %+v, %v", res, err)
	}
	select {
	case r := <-reports:
		if r.ProviderID != res.ProviderID || r.Status != switchboard.StatusDelivered {
			t.Errorf("report = %+v", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no delivery report")
	}
	if _, err := s.Send(t.Context(), &switchboard.OutboundSMS{To: sim.Undeliverable}); switchboard.ErrorCode(err) != switchboard.EINVALID {
		t.Errorf("undeliverable = %v", err)
	}
	if phone := s.Phone("+14155550142"); len(phone) != 1 || phone[0].Body != "hi" {
		t.Errorf("phone = %+v", phone)
	}
	for _, tc := range []struct {
		form url.Values
		code string
	}{
		{url.Values{"secret": {"s3"}, "id": {"1"}, "from": {"+14155550142"}, "to": {"+14155550100"}, "body": {"yo"}}, ""},
		{url.Values{"secret": {"s4"}, "id": {"1"}, "from": {"+14155550142"}, "to": {"+14155550100"}}, switchboard.EUNAUTHORIZED},
		{url.Values{"id": {"1"}}, switchboard.EUNAUTHORIZED},
		{url.Values{"secret": {"s3"}}, switchboard.EINVALID},
	} {
		body := tc.form.Encode()
		wh, err := s.ParseWebhook(httptest.NewRequest("POST", "/webhooks/sms/sim", strings.NewReader(body)), []byte(body), "")
		if switchboard.ErrorCode(err) != tc.code {
			t.Errorf("ParseWebhook(%v) = %v, want code %q", tc.form, err, tc.code)
		} else if err == nil && (len(wh.Messages) != 1 || wh.Messages[0].Body != "yo") {
			t.Errorf("ParseWebhook = %+v", wh)
		}
	}
	if _, err := sim.New(&switchboard.Provider{Kind: "sim"}, nil); err == nil {
		t.Errorf("a sim without a secret was accepted")
	}
}
