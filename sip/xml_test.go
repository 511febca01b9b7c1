package sip

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/switchboard-chat/switchboard"
)

func TestDialogInfoRoundTrip(t *testing.T) {
	for _, inCall := range []bool{true, false} {
		doc := busyDialogInfo("sip:103@acme.example", "103", inCall, 7)
		b := doc.marshal()
		if !strings.HasPrefix(string(b), "<?xml") || !strings.Contains(string(b), `xmlns="urn:ietf:params:xml:ns:dialog-info"`) {
			t.Errorf("marshal = %s", b)
		}
		got, err := parseDialogInfo(b)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(doc, got, cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".XMLName" }, cmp.Ignore())); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
		want := "terminated"
		if inCall {
			want = "confirmed"
		}
		if got.Version != 7 || got.State != "full" || len(got.Dialogs) != 1 || got.Dialogs[0].State.Value != want {
			t.Errorf("inCall=%v: %+v", inCall, got)
		}
	}
}

// Documents as phones send them (RFC 4235 §4 examples, and without the
// namespace, as some phones do).
func TestParseDialogInfo(t *testing.T) {
	for _, tc := range []struct {
		doc    string
		state  string
		active map[string]bool
	}{
		{`<?xml version="1.0"?>
<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="1" state="full" entity="sip:alice@example.com">
  <dialog id="as7d900as8" call-id="a84b4c76e66710" local-tag="1928301774" direction="initiator">
    <state event="replaced">confirmed</state>
    <duration>274</duration>
    <local><identity display="Alice">sip:alice@example.com</identity></local>
  </dialog>
  <dialog id="x1" call-id="y"><state code="486" event="rejected">terminated</state></dialog>
</dialog-info>`, "full", map[string]bool{"as7d900as8": true, "x1": false}},
		{`<dialog-info version="4" state="partial" entity="sip:102@acme.example"><dialog id="d"><state> early </state></dialog></dialog-info>`,
			"partial", map[string]bool{"d": true}},
		{`<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="0" state="full" entity="sip:102@acme.example"/>`, "full", map[string]bool{}},
	} {
		d, err := parseDialogInfo([]byte(tc.doc))
		if err != nil {
			t.Fatalf("parse %s: %v", tc.doc, err)
		}
		got := map[string]bool{}
		for _, dlg := range d.Dialogs {
			active, known := dialogActive(dlg.State.Value)
			if !known {
				t.Errorf("state %q unknown", dlg.State.Value)
			}
			got[dlg.key()] = active
		}
		if d.State != tc.state || !cmp.Equal(got, tc.active) {
			t.Errorf("parse %s = %s %v, want %s %v", tc.doc, d.State, got, tc.state, tc.active)
		}
	}
	for _, bad := range []string{"", "not xml", `<presence xmlns="urn:ietf:params:xml:ns:pidf"/>`, `<dialog-info><dialog>`} {
		if _, err := parseDialogInfo([]byte(bad)); err == nil {
			t.Errorf("parse %q: no error", bad)
		}
	}
}

func TestPIDFRoundTrip(t *testing.T) {
	until := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		p        switchboard.Presence
		basic    string
		note     []string
		activity string
	}{
		{switchboard.Presence{Extension: "103", Color: switchboard.Green}, "open", nil, ""},
		{switchboard.Presence{Extension: "103", Color: switchboard.Red}, "closed", nil, "on-the-phone"},
		{switchboard.Presence{Extension: "103", Color: switchboard.Red, DND: true, Message: `Back at 3 <"&">`, Until: &until}, "closed", []string{`Back at 3 <"&">`}, "busy"},
		{switchboard.Presence{Extension: "103", Color: switchboard.Red, DND: true}, "closed", []string{"Do not disturb"}, "busy"},
		{switchboard.Presence{Extension: "103", Color: switchboard.Blue}, "closed", nil, ""},
		{switchboard.Presence{Extension: "103", Color: switchboard.Gray, Message: "On leave"}, "closed", []string{"On leave"}, ""},
	} {
		doc := presencePIDF("sip:103@acme.example", tc.p)
		b := doc.marshal()
		got, err := parsePIDF(b)
		if err != nil {
			t.Fatalf("parse %s: %v", b, err)
		}
		if diff := cmp.Diff(doc, got); diff != "" {
			t.Errorf("round trip of %s (-want +got):\n%s", b, diff)
		}
		if got.Entity != "sip:103@acme.example" || len(got.Tuples) != 1 || got.Tuples[0].Basic != tc.basic ||
			!cmp.Equal(got.Tuples[0].Notes, []string{string(tc.p.Color)}) || !cmp.Equal(got.Notes, tc.note) {
			t.Errorf("%+v: got %s", tc.p, b)
		}
		var activity string
		if got.Person != nil && got.Person.Activities != nil && len(got.Person.Activities.Items) == 1 {
			activity = got.Person.Activities.Items[0].XMLName.Local
			if ns := got.Person.Activities.Items[0].XMLName.Space; ns != rpidNS {
				t.Errorf("activity namespace %q", ns)
			}
		}
		if activity != tc.activity {
			t.Errorf("%+v: activity %q, want %q in %s", tc.p, activity, tc.activity, b)
		}
	}
}
