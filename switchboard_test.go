package switchboard_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/switchboard-chat/switchboard"
)

func TestPresenceColor(t *testing.T) {
	for _, tc := range []struct {
		s    switchboard.PresenceState
		want switchboard.Color
	}{
		{switchboard.PresenceState{}, switchboard.Gray},
		{switchboard.PresenceState{ChatClients: 1}, switchboard.Blue},
		{switchboard.PresenceState{Devices: 1}, switchboard.Green},
		{switchboard.PresenceState{Devices: 2, ChatClients: 3}, switchboard.Green},
		{switchboard.PresenceState{DND: true}, switchboard.Red},
		{switchboard.PresenceState{DND: true, Devices: 1, ChatClients: 1}, switchboard.Red},
		{switchboard.PresenceState{InCall: true, Devices: 1}, switchboard.Red},
	} {
		if got := switchboard.PresenceColor(tc.s); got != tc.want {
			t.Errorf("PresenceColor(%+v) = %s, want %s", tc.s, got, tc.want)
		}
	}
}

func TestParseAddress(t *testing.T) {
	for _, tc := range []struct {
		in, ext, domain string
		ok              bool
	}{
		{"101@acme.example", "101", "acme.example", true},
		{" 1234567@Acme.Example ", "1234567", "acme.example", true},
		{"1@acme.example", "", "", false},
		{"12345678@acme.example", "", "", false},
		{"abc@acme.example", "", "", false},
		{"101", "", "", false},
		{"101@localhost", "", "", false},
		{"101@acme..example", "", "", false},
		{"101@-acme.example", "", "", false},
	} {
		ext, domain, err := switchboard.ParseAddress(tc.in)
		if (err == nil) != tc.ok || ext != tc.ext || domain != tc.domain {
			t.Errorf("ParseAddress(%q) = %q, %q, %v; want %q, %q, ok=%v", tc.in, ext, domain, err, tc.ext, tc.domain, tc.ok)
		}
		if err != nil && switchboard.ErrorCode(err) != switchboard.EINVALID {
			t.Errorf("ParseAddress(%q) error code = %s, want invalid", tc.in, switchboard.ErrorCode(err))
		}
	}
}

func TestMatchUser(t *testing.T) {
	u := &switchboard.User{Extension: "1042", Name: "Mary-Ann O'Neil"}
	for _, tc := range []struct {
		q    string
		want bool
	}{
		{"", true}, {"10", true}, {"1042", true}, {"042", false},
		{"mary", true}, {"MARY", true}, {"ann", true}, {"neil", true}, {"o'n", true},
		{"ary", false}, {"smith", false},
	} {
		if got := switchboard.MatchUser(u, tc.q); got != tc.want {
			t.Errorf("MatchUser(%q) = %v, want %v", tc.q, got, tc.want)
		}
	}
}

func TestValidateBody(t *testing.T) {
	for _, tc := range []struct {
		body        string
		attachments int
		code        string
	}{
		{"hello", 0, ""},
		{"", 1, ""},
		{"", 0, switchboard.EINVALID},
		{" \n\t", 0, switchboard.EINVALID},
		{strings.Repeat("ü", 10000), 0, ""},
		{strings.Repeat("ü", 10001), 0, switchboard.ETOOLARGE},
		{"\xff\xfe", 0, switchboard.EINVALID},
	} {
		err := switchboard.ValidateBody(tc.body, tc.attachments, switchboard.MaxBodyLength)
		if got := switchboard.ErrorCode(err); got != tc.code {
			t.Errorf("ValidateBody(%.20q, %d) code = %q, want %q", tc.body, tc.attachments, got, tc.code)
		}
	}
}

func TestEventFrame(t *testing.T) {
	e, err := switchboard.NewEvent(switchboard.EventMessageCreated, "acme.example", "c1", []string{"101"}, map[string]string{"body": `say "hi"`})
	if err != nil {
		t.Fatal(err)
	}
	e.Cursor = 42
	var f struct {
		Type, Cursor string
		Data         map[string]string
	}
	if err := json.Unmarshal(e.Frame(), &f); err != nil {
		t.Fatalf("Frame() = %s: %v", e.Frame(), err)
	}
	if f.Type != "message.created" || f.Cursor != "42" || f.Data["body"] != `say "hi"` {
		t.Errorf("Frame() = %+v", f)
	}
	if !e.For("101") || e.For("102") {
		t.Errorf("For: recipients not honoured")
	}
}

func TestErrors(t *testing.T) {
	err := switchboard.Errorf(switchboard.ENOTFOUND, "Conversation %s not found.", "x")
	if switchboard.ErrorCode(err) != switchboard.ENOTFOUND || switchboard.ErrorMessage(err) != "Conversation x not found." {
		t.Errorf("Errorf: %v", err)
	}
	other := strings.NewReader("").UnreadByte()
	if switchboard.ErrorCode(other) != switchboard.EINTERNAL || switchboard.ErrorMessage(other) != "Internal error." {
		t.Errorf("internal error leaks: %q", switchboard.ErrorMessage(other))
	}
	if switchboard.ErrorCode(nil) != "" {
		t.Errorf("ErrorCode(nil) not empty")
	}
}
