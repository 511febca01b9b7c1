package switchboard_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard"
)

// BenchmarkNewEventFrame measures what the store does for every message:
// encode it once as an event and build the frame every recipient shares.
func BenchmarkNewEventFrame(b *testing.B) {
	m := &switchboard.Message{ID: "m_01HZX0000000000000000000", ConversationID: "c_01HZX0000000000000000000", Seq: 42,
		ClientID: "k-42", Sender: "101", Body: "See you at the stand-up in five minutes, bring the numbers.",
		Attachments: []*switchboard.Attachment{}, Kind: switchboard.MessageText, CreatedAt: time.Now()}
	b.ReportAllocs()
	for b.Loop() {
		e, err := switchboard.NewEvent(switchboard.EventMessageCreated, "acme.example", m.ConversationID, []string{"101", "102"}, m)
		if err != nil {
			b.Fatal(err)
		}
		e.Cursor = 7
		if f := e.Frame(); !json.Valid(f) {
			b.Fatalf("Frame() = %s, not JSON", f)
		}
	}
}
