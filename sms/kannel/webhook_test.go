package kannel

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/switchboard-chat/switchboard"
)

func TestParseWebhook(t *testing.T) {
	p, _ := newProvider(t, nil)
	const base = "/webhooks/sms/kn?secret=" + testSecret
	mo := func(id, from, to, body string) *switchboard.Webhook {
		return &switchboard.Webhook{Messages: []switchboard.InboundSMS{{ProviderID: id, From: from, To: to, Body: body}}}
	}
	dlr := func(st, e string) *switchboard.Webhook {
		return &switchboard.Webhook{Reports: []switchboard.DeliveryReport{{ProviderID: "msg1.7", Status: st, Error: e}}}
	}
	for _, tc := range []struct {
		name string
		uri  string
		want *switchboard.Webhook
	}{
		// As Kannel 1.4.5 calls the documented get-url for fakesmsc's
		// "+14155550142 +14155550100 text Hello  world é".
		{"MO", base + "&from=%2B14155550142&to=%2B14155550100&text=Hello++world+%C3%A9&coding=0&charset=UTF-8&id=bba2f1d0-1a7e-4b31-9c96-d3ffbc2ea942&ts=1795601221",
			mo("bba2f1d0-1a7e-4b31-9c96-d3ffbc2ea942", "+14155550142", "+14155550100", "Hello  world é")},
		{"MO in UCS-2", base + "&from=%2B14155550142&to=%2B14155550100&text=%00H%00i%00+%20%AC%D8%3D%DE%00&coding=2&charset=UTF-16BE&id=u1",
			mo("u1", "+14155550142", "+14155550100", "Hi €😀")},
		{"MO in UCS-2, no charset", base + "&from=%2B14155550142&to=%2B14155550100&text=%00H%00i&coding=2&id=u2",
			mo("u2", "+14155550142", "+14155550100", "Hi")},
		{"MO recoded to WINDOWS-1252", base + "&from=%2B14155550142&to=%2B14155550100&text=%80+caf%E9+%93ok%94&coding=2&charset=WINDOWS-1252&id=u3",
			mo("u3", "+14155550142", "+14155550100", "€ café “ok”")},
		{"MO in ISO-8859-1", base + "&from=%2B14155550142&to=%2B14155550100&text=caf%E9&charset=ISO-8859-1&id=u4",
			mo("u4", "+14155550142", "+14155550100", "café")},
		{"MO with bad UTF-8", base + "&from=%2B14155550142&to=%2B14155550100&text=ok%FF&charset=UTF-8&id=u5",
			mo("u5", "+14155550142", "+14155550100", "ok\uFFFD")},
		{"MO without id", base + "&from=%2B14155550142&to=%2B14155550100&text=Hi&ts=1795601221",
			mo("kannel-0c234fa56efaf242deb61514070441b7", "+14155550142", "+14155550100", "Hi")},
		{"delivered", base + "&type=dlr&id=msg1.7&status=1", dlr(switchboard.StatusDelivered, "")},
		{"undelivered", base + "&type=dlr&id=msg1.7&status=2", dlr(switchboard.StatusFailed, "The carrier could not deliver the message.")},
		{"buffered", base + "&type=dlr&id=msg1.7&status=4", dlr(switchboard.StatusSent, "")},
		{"SMSC took it", base + "&type=dlr&id=msg1.7&status=8", dlr(switchboard.StatusSent, "")},
		{"SMSC rejected it", base + "&type=dlr&id=msg1.7&status=16", dlr(switchboard.StatusFailed, "The SMS center rejected the message.")},
		{"unknown report type", base + "&type=dlr&id=msg1.7&status=0", &switchboard.Webhook{}},
	} {
		r := httptest.NewRequest(http.MethodGet, tc.uri, nil)
		got, err := p.ParseWebhook(r, nil, "https://sb.example"+tc.uri)
		if err != nil {
			t.Errorf("%s: ParseWebhook: %v", tc.name, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s: ParseWebhook (-want +got):\n%s", tc.name, diff)
		}
	}

	// A derived id is the same for a retry and differs for another message.
	id := func(uri string) string {
		wh, err := p.ParseWebhook(httptest.NewRequest(http.MethodGet, base+uri, nil), nil, "")
		if err != nil {
			t.Fatalf("ParseWebhook(%s): %v", uri, err)
		}
		return wh.Messages[0].ProviderID
	}
	if a, b := id("&from=%2B1&to=%2B2&text=Hi&ts=1"), id("&from=%2B1&to=%2B2&text=Hi&ts=1"); a != b {
		t.Errorf("derived ids of a retry differ: %s, %s", a, b)
	}
	if a, b := id("&from=%2B1&to=%2B2&text=Hi&ts=1"), id("&from=%2B1&to=%2B2&text=Ho&ts=1"); a == b {
		t.Errorf("two messages have the derived id %s", a)
	}

	// A form POST (Kannel's post-url with form content) carries the
	// message in its body; the secret stays in the query.
	r := httptest.NewRequest(http.MethodPost, base, strings.NewReader("from=%2B14155550142&to=%2B14155550100&text=Posted&id=p1"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=UTF-8")
	got, err := p.ParseWebhook(r, []byte("from=%2B14155550142&to=%2B14155550100&text=Posted&id=p1"), "")
	if diff := cmp.Diff(mo("p1", "+14155550142", "+14155550100", "Posted"), got); err != nil || diff != "" {
		t.Errorf("ParseWebhook(form POST): %v (-want +got):\n%s", err, diff)
	}
}

// TestParseWebhookRejects checks the secret and the required parameters.
func TestParseWebhookRejects(t *testing.T) {
	p, _ := newProvider(t, nil)
	for _, tc := range []struct {
		name, method, uri, body, code string
	}{
		{"no secret", "GET", "/w?from=%2B1&to=%2B2&text=Hi&id=1", "", switchboard.EUNAUTHORIZED},
		{"wrong secret", "GET", "/w?secret=guess&from=%2B1&to=%2B2&text=Hi&id=1", "", switchboard.EUNAUTHORIZED},
		{"secret prefix", "GET", "/w?secret=" + testSecret[:5] + "&from=%2B1&to=%2B2&text=Hi&id=1", "", switchboard.EUNAUTHORIZED},
		{"two secrets", "GET", "/w?secret=guess&secret=" + testSecret + "&from=%2B1&to=%2B2&text=Hi&id=1", "", switchboard.EUNAUTHORIZED},
		{"secret in the body only", "POST", "/w", "secret=" + testSecret + "&from=%2B1&to=%2B2&text=Hi&id=1", switchboard.EUNAUTHORIZED},
		{"malformed query", "GET", "/w?secret=" + testSecret + "&text=%zz", "", switchboard.EUNAUTHORIZED},
		{"report with a bad secret", "GET", "/w?secret=guess&type=dlr&id=msg1.7&status=1", "", switchboard.EUNAUTHORIZED},
		{"no sender", "GET", "/w?secret=" + testSecret + "&to=%2B2&text=Hi&id=1", "", switchboard.EINVALID},
		{"no id nor time", "GET", "/w?secret=" + testSecret + "&from=%2B1&to=%2B2&text=Hi", "", switchboard.EINVALID},
		{"report without id", "GET", "/w?secret=" + testSecret + "&type=dlr&status=1", "", switchboard.EINVALID},
		{"report with an unexpanded status", "GET", "/w?secret=" + testSecret + "&type=dlr&id=m&status=%25d", "", switchboard.EINVALID},
	} {
		r := httptest.NewRequest(tc.method, "http://sb.example/", strings.NewReader(tc.body))
		r.URL.RawQuery = strings.TrimPrefix(tc.uri, "/w?")
		if tc.method == "POST" {
			r.URL.RawQuery = ""
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		if _, err := p.ParseWebhook(r, []byte(tc.body), ""); switchboard.ErrorCode(err) != tc.code {
			t.Errorf("%s: ParseWebhook = %v, want code %s", tc.name, err, tc.code)
		}
	}
}
