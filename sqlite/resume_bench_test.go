package sqlite_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/switchboard-chat/switchboard"
)

// BenchmarkResume: what a client's resume costs the store. Extension 101
// has 50 direct conversations, each with 200 earlier messages; while it was
// away 2,000 messages came to them and 2,000 more to others' conversations
// in between. gap=all reads everything it missed by pages of 500, as the
// events endpoint does (http/events.go, backlogPage); gap=20 is a reconnect that missed the last 20
// events of the store.
func BenchmarkResume(b *testing.B) {
	bg := context.Background()
	s := openSendStore(b)
	if err := s.CreateDomain(bg, &switchboard.Domain{Name: "acme.example", DisplayName: "Acme"}); err != nil {
		b.Fatal(err)
	}
	as := func(ext string) context.Context {
		return switchboard.NewContextWithIdentity(bg, switchboard.Identity{Domain: "acme.example", Extension: ext, Level: switchboard.LevelBasic})
	}
	var mine, others []*switchboard.Conversation
	for i := range 102 {
		ext := fmt.Sprint(101 + i)
		if err := s.CreateUser(bg, &switchboard.User{Domain: "acme.example", Extension: ext, Name: "User " + ext, Level: switchboard.LevelBasic, PasswordHash: "h"}); err != nil {
			b.Fatal(err)
		}
	}
	for i := range 50 {
		c := &switchboard.Conversation{Direct: true, Members: []string{fmt.Sprint(102 + i)}}
		if _, err := s.CreateConversation(as("101"), c); err != nil {
			b.Fatal(err)
		}
		mine = append(mine, c)
		o := &switchboard.Conversation{Direct: true, Members: []string{fmt.Sprint(153 + i)}}
		if _, err := s.CreateConversation(as(fmt.Sprint(152+i)), o); err != nil {
			b.Fatal(err)
		}
		others = append(others, o)
	}
	bulkHistory(b, s, mine, 50*200)
	cursor, err := s.LastCursor(as("101"))
	if err != nil {
		b.Fatal(err)
	}
	for i := range 2000 {
		for _, c := range []*switchboard.Conversation{mine[i%50], others[i%50]} {
			if _, err := s.SendMessage(as(c.Members[i%2]), &switchboard.Message{ConversationID: c.ID, Body: "while you were away"}); err != nil {
				b.Fatal(err)
			}
		}
	}
	last, err := s.LastCursor(as("101"))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("gap=all", func(b *testing.B) {
		for b.Loop() {
			n := 0
			for c := cursor; ; {
				page, err := s.EventsSince(as("101"), c, 500)
				if err != nil {
					b.Fatal(err)
				}
				n += len(page)
				if len(page) < 500 {
					break
				}
				c = page[len(page)-1].Cursor
			}
			if n != 2000 {
				b.Fatalf("resumed %d events, want 2000", n)
			}
		}
	})
	b.Run("gap=20", func(b *testing.B) {
		for b.Loop() {
			page, err := s.EventsSince(as("101"), last-20, 500)
			if err != nil {
				b.Fatal(err)
			}
			if len(page) != 10 {
				b.Fatalf("resumed %d events, want 10", len(page))
			}
		}
	})
}
