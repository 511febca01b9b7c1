package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/switchboard-chat/switchboard"
	"github.com/switchboard-chat/switchboard/chat"
	"github.com/switchboard-chat/switchboard/sqlite"
)

// The seeded world: load domains of domainSize extensions (1000..1099)
// whose users are numbered globally (user u is extension 1000+u%100 of
// domain dNNN.bench); user u and u+1 (u even) share a direct conversation,
// users u..u+9 (u a multiple of 10) a group; every user has a session with
// a known token. A history domain, hist.bench, holds the stored messages
// for the read measurements.
const domainSize = 100

func domainOf(u int) string { return fmt.Sprintf("d%03d.bench", u/domainSize) }
func extOf(u int) string    { return fmt.Sprint(1000 + u%domainSize) }
func tokenOf(u int) string  { return fmt.Sprintf("bench-token-%d", u) }

// Ids of the seeded conversations: chosen, not generated, so that a second
// process can name them.
func pairConv(u int) string  { return fmt.Sprintf("c_pair%06d", u&^1) }
func groupConv(u int) string { return fmt.Sprintf("c_grp%06d", u/10*10) }

const histDomain = "hist.bench"

func histExt(i int) string     { return fmt.Sprint(100 + i) }
func histToken(i int) string   { return fmt.Sprintf("hist-token-%d", i) }
func histConv(a, b int) string { return fmt.Sprintf("c_h%04d_%04d", a, b) }

// seedSpec says how much to seed.
type seedSpec struct {
	users       int // load users, a multiple of domainSize
	histUsers   int // extensions of the history domain; each pair has a conversation
	histPerConv int // messages per history conversation
}

// seedStats is what seeding took.
type seedStats struct {
	Seconds       float64 `json:"seconds"`
	Users         int     `json:"users"`
	Conversations int     `json:"conversations"`
	Messages      int     `json:"messages"`
}

// seed creates the database of dir with the bulk path of the store. The
// fixture users share one argon2id hash of a random password: nobody signs
// in with it; the sessions are what the load uses.
func seed(ctx context.Context, dir string, spec seedSpec, logf func(string, ...any)) (seedStats, error) {
	start := time.Now()
	var st seedStats
	s, err := sqlite.Open(ctx, filepath.Join(dir, "switchboard.db"), sqlite.Options{})
	if err != nil {
		return st, err
	}
	defer s.Close()
	hash, err := chat.HashPassword(switchboard.NewSecret())
	if err != nil {
		return st, err
	}
	expires := time.Now().Add(24 * time.Hour)
	var domains []*switchboard.Domain
	for d := 0; d < spec.users/domainSize; d++ {
		domains = append(domains, &switchboard.Domain{Name: domainOf(d * domainSize)})
	}
	domains = append(domains, &switchboard.Domain{Name: histDomain})
	if err := s.BulkDomains(ctx, domains); err != nil {
		return st, err
	}
	var users []*switchboard.User
	var sessions []*switchboard.Session
	for u := range spec.users {
		users = append(users, &switchboard.User{Domain: domainOf(u), Extension: extOf(u), Name: fmt.Sprintf("Load User %d", u), PasswordHash: hash})
		sessions = append(sessions, &switchboard.Session{TokenHash: chat.HashKey(tokenOf(u)), Domain: domainOf(u), Extension: extOf(u), ExpiresAt: expires})
	}
	for i := range spec.histUsers {
		users = append(users, &switchboard.User{Domain: histDomain, Extension: histExt(i), Name: fmt.Sprintf("History User %d", i), PasswordHash: hash})
		sessions = append(sessions, &switchboard.Session{TokenHash: chat.HashKey(histToken(i)), Domain: histDomain, Extension: histExt(i), ExpiresAt: expires})
	}
	if err := s.BulkUsers(ctx, users); err != nil {
		return st, err
	}
	if err := s.BulkSessions(ctx, sessions); err != nil {
		return st, err
	}
	st.Users = len(users)
	for d := 0; d < spec.users/domainSize; d++ {
		var convs []*switchboard.Conversation
		for u := d * domainSize; u < (d+1)*domainSize; u++ {
			if u%2 == 0 {
				convs = append(convs, &switchboard.Conversation{ID: pairConv(u), Direct: true, CreatedBy: extOf(u), Members: []string{extOf(u), extOf(u + 1)}})
			}
			if u%10 == 0 {
				var members []string
				for i := range 10 {
					members = append(members, extOf(u+i))
				}
				convs = append(convs, &switchboard.Conversation{ID: groupConv(u), Name: fmt.Sprintf("Group %d", u/10), CreatedBy: extOf(u), Members: members})
			}
		}
		if err := s.BulkConversations(ctx, domainOf(d*domainSize), convs); err != nil {
			return st, err
		}
		st.Conversations += len(convs)
	}
	// History: every pair of the history domain, each with histPerConv
	// messages, loaded in chunks so that the WAL is checkpointed as it goes.
	var convs []*switchboard.Conversation
	for a := range spec.histUsers {
		for b := a + 1; b < spec.histUsers; b++ {
			convs = append(convs, &switchboard.Conversation{ID: histConv(a, b), Direct: true, CreatedBy: histExt(a), Members: []string{histExt(a), histExt(b)}})
		}
	}
	for i := 0; i < len(convs); i += 5000 {
		if err := s.BulkConversations(ctx, histDomain, convs[i:min(i+5000, len(convs))]); err != nil {
			return st, err
		}
	}
	st.Conversations += len(convs)
	body := "A stored message of the history, long enough to look like a real line of chat between two colleagues."
	t0 := time.Now().Add(-30 * 24 * time.Hour)
	var msgs []*switchboard.Message
	flush := func() error {
		err := s.BulkMessages(ctx, msgs)
		st.Messages += len(msgs)
		msgs = msgs[:0]
		return err
	}
	for ci, c := range convs {
		for j := range spec.histPerConv {
			msgs = append(msgs, &switchboard.Message{ConversationID: c.ID, Sender: c.Members[j%2], Body: body,
				CreatedAt: t0.Add(time.Duration(ci*spec.histPerConv+j) * time.Millisecond)})
		}
		// Small writes: inside one, SQLite's in-memory statement journal
		// is walked from its start at the end of every statement, so a
		// write of 50,000 messages spent 77% of the seed there (15 s
		// for 100,000 messages in 20,100 conversations; 3.3 s now).
		if len(msgs) >= 2000 {
			if err := flush(); err != nil {
				return st, err
			}
			if st.Messages%100000 == 0 {
				logf("seeded %d messages", st.Messages)
			}
		}
	}
	if len(msgs) > 0 {
		if err := flush(); err != nil {
			return st, err
		}
	}
	st.Seconds = time.Since(start).Seconds()
	return st, nil
}
