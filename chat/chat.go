// Package chat holds the use cases of team chat: signing in, contacts,
// conversations, messages and typing. Every entry point (HTTP, WebSocket,
// CLI, tests) goes through it, so the same rules apply everywhere. It
// depends only on the interfaces of the root package.
package chat

import (
	"context"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-chat/switchboard"
)

// Store is the storage the chat service needs.
type Store interface {
	switchboard.DirectoryStore
	switchboard.ChatStore
	switchboard.AttachmentStore
}

// Deps are what a Service is built from.
type Deps struct {
	Store    Store
	Bus      switchboard.EventBus
	Presence switchboard.PresenceService
	Blobs    switchboard.BlobStore
	Logger   *slog.Logger
	// MaxUpload is the size limit of one attachment (default
	// switchboard.DefaultMaxUpload).
	MaxUpload int64
}

// Service implements the chat use cases.
type Service struct {
	dir         switchboard.DirectoryStore
	store       switchboard.ChatStore
	attachments switchboard.AttachmentStore
	blobs       switchboard.BlobStore
	bus         switchboard.EventBus
	presence    switchboard.PresenceService
	logger      *slog.Logger
	now         func() time.Time
	maxUpload   int64

	userThrottle *throttle
	ipThrottle   *throttle

	typingMu sync.Mutex
	typingAt map[string]time.Time

	// mms checks attachments sent into SMS conversations; nil: no check.
	mms switchboard.MMSChecker

	// blobMu keeps the removal of unreferenced blobs from racing with an
	// upload of the same bytes: uploads hold it shared from storing the
	// bytes until the attachment is recorded.
	blobMu sync.RWMutex
	// decoding bounds how many pictures are decoded at once.
	decoding chan struct{}
}

// New returns a chat service.
func New(d Deps) *Service {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.MaxUpload <= 0 {
		d.MaxUpload = switchboard.DefaultMaxUpload
	}
	s := &Service{dir: d.Store, store: d.Store, attachments: d.Store, blobs: d.Blobs, bus: d.Bus, presence: d.Presence,
		logger: d.Logger, now: time.Now, maxUpload: d.MaxUpload, typingAt: map[string]time.Time{},
		decoding: make(chan struct{}, 2)}
	s.userThrottle = newThrottle(5, 15*time.Minute, s.now)
	s.ipThrottle = newThrottle(50, 15*time.Minute, s.now)
	return s
}

// SetMMSChecker makes SendMessage refuse, before anything is stored,
// attachments that the provider of an SMS conversation could not send by
// MMS. texting.New installs its service; call it before s is used.
func (s *Service) SetMMSChecker(c switchboard.MMSChecker) { s.mms = c }

// Store returns the chat store, for transports that read events.
func (s *Service) Store() switchboard.ChatStore { return s.store }

// Bus returns the event bus.
func (s *Service) Bus() switchboard.EventBus { return s.bus }

// Presence returns the presence service.
func (s *Service) Presence() switchboard.PresenceService { return s.presence }

func identity(ctx context.Context) (switchboard.Identity, error) {
	id, ok := switchboard.IdentityFromContext(ctx)
	if !ok {
		return id, switchboard.Errorf(switchboard.EUNAUTHORIZED, "Sign in first.")
	}
	return id, nil
}

// Me is the signed-in extension as shown to itself.
type Me struct {
	Extension      string            `json:"extension"`
	Domain         string            `json:"domain"`
	Name           string            `json:"name"`
	Level          switchboard.Level `json:"level"`
	TextingNumbers []string          `json:"texting_numbers"`
}

// Me returns the caller's own extension.
func (s *Service) Me(ctx context.Context) (*Me, error) {
	id, err := identity(ctx)
	if err != nil {
		return nil, err
	}
	u, err := s.dir.FindUser(ctx, id.Domain, id.Extension)
	if err != nil {
		return nil, err
	}
	return MeOf(u), nil
}

// MeOf returns the Me view of u.
func MeOf(u *switchboard.User) *Me {
	return &Me{Extension: u.Extension, Domain: u.Domain, Name: u.Name, Level: u.Level, TextingNumbers: []string{}}
}

// Contact is an extension of the caller's domain with its presence.
type Contact struct {
	Extension string               `json:"extension"`
	Name      string               `json:"name"`
	Presence  switchboard.Presence `json:"presence"`
}

// Contacts lists the extensions of the caller's domain matching q (see
// switchboard.MatchUser), ordered by extension, each with its presence.
func (s *Service) Contacts(ctx context.Context, q string) ([]Contact, error) {
	id, err := identity(ctx)
	if err != nil {
		return nil, err
	}
	users, err := s.dir.ListUsers(ctx, id.Domain, q)
	if err != nil {
		return nil, err
	}
	snap := s.presence.Snapshot(ctx, id.Domain)
	out := make([]Contact, 0, len(users))
	for _, u := range users {
		p, ok := snap[u.Extension]
		if !ok {
			p = switchboard.Presence{Extension: u.Extension, Color: switchboard.Gray}
		}
		out = append(out, Contact{Extension: u.Extension, Name: u.Name, Presence: p})
	}
	return out, nil
}

// PresenceList returns the presence of every extension of the caller's
// domain that is not gray, ordered by extension.
func (s *Service) PresenceList(ctx context.Context) []switchboard.Presence {
	id, _ := switchboard.IdentityFromContext(ctx)
	snap := s.presence.Snapshot(ctx, id.Domain)
	out := make([]switchboard.Presence, 0, len(snap))
	for _, p := range snap {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Extension < out[j].Extension })
	return out
}

// CreateConversation starts a conversation with members: one other
// extension and no name is a direct (1:1) conversation, returned as it is
// if it exists; anything else is a group.
func (s *Service) CreateConversation(ctx context.Context, members []string, name string) (*switchboard.Conversation, bool, error) {
	id, err := identity(ctx)
	if err != nil {
		return nil, false, err
	}
	others := map[string]bool{}
	for _, m := range members {
		if m = strings.TrimSpace(m); m != id.Extension {
			others[m] = true
		}
	}
	c := &switchboard.Conversation{Kind: switchboard.KindChat, Members: members, Name: name,
		Direct: len(others) == 1 && strings.TrimSpace(name) == ""}
	created, err := s.store.CreateConversation(ctx, c)
	if err != nil {
		return nil, false, err
	}
	return c, created, nil
}

// Conversation returns one of the caller's conversations.
func (s *Service) Conversation(ctx context.Context, id string) (*switchboard.Conversation, error) {
	return s.store.FindConversation(ctx, id)
}

// Conversations lists the caller's conversations, newest activity first.
func (s *Service) Conversations(ctx context.Context, limit int) ([]*switchboard.Conversation, error) {
	if limit <= 0 || limit > 500 {
		return nil, switchboard.Errorf(switchboard.EINVALID, "limit must be between 1 and 500.")
	}
	return s.store.ListConversations(ctx, limit)
}

// DeleteConversation deletes a conversation for the caller only.
func (s *Service) DeleteConversation(ctx context.Context, id string) error {
	return s.store.DeleteConversation(ctx, id)
}

// RenameConversation renames a group.
func (s *Service) RenameConversation(ctx context.Context, id, name string) (*switchboard.Conversation, error) {
	return s.store.RenameConversation(ctx, id, name)
}

// AddMembers adds extensions to a group.
func (s *Service) AddMembers(ctx context.Context, id string, exts []string) (*switchboard.Conversation, error) {
	return s.store.AddMembers(ctx, id, exts)
}

// RemoveMember removes ext from a group; removing oneself is leaving.
func (s *Service) RemoveMember(ctx context.Context, id, ext string) error {
	_, err := s.store.RemoveMember(ctx, id, ext)
	return err
}

// MarkRead moves the caller's read marker.
func (s *Service) MarkRead(ctx context.Context, id string, seq int64) error {
	return s.store.MarkRead(ctx, id, seq)
}

// Messages returns a page of a conversation's history.
func (s *Service) Messages(ctx context.Context, id string, q switchboard.MessageQuery) ([]*switchboard.Message, error) {
	if q.Before < 0 || q.After < 0 {
		return nil, switchboard.Errorf(switchboard.EINVALID, "before and after must not be negative.")
	} else if q.Before > 0 && q.Forward {
		return nil, switchboard.Errorf(switchboard.EINVALID, "Use before or after, not both.")
	} else if q.Limit < 0 || q.Limit > switchboard.MaxMessagesLimit {
		return nil, switchboard.Errorf(switchboard.EINVALID, "limit must be between 1 and %d.", switchboard.MaxMessagesLimit)
	}
	return s.store.ListMessages(ctx, id, q)
}

// SendMessage sends a message; see switchboard.ChatStore.SendMessage for
// client_id idempotency. In an SMS conversation, attachments that its
// provider cannot send by MMS are EINVALID (see SetMMSChecker) and nothing
// is stored.
func (s *Service) SendMessage(ctx context.Context, conversationID, clientID, body string, attachments []string) (*switchboard.Message, bool, error) {
	if len(attachments) > switchboard.MaxAttachments {
		return nil, false, switchboard.Errorf(switchboard.EINVALID, "A message has at most %d attachments.", switchboard.MaxAttachments)
	}
	if len(attachments) > 0 && s.mms != nil {
		if err := s.checkMMS(ctx, conversationID, attachments); err != nil {
			return nil, false, err
		}
	}
	m := &switchboard.Message{ConversationID: conversationID, ClientID: clientID, Body: body}
	for _, id := range attachments {
		m.Attachments = append(m.Attachments, &switchboard.Attachment{ID: id})
	}
	created, err := s.store.SendMessage(ctx, m)
	if err != nil {
		return nil, false, err
	}
	return m, created, nil
}

// checkMMS asks s.mms about attachments sent into conversation id when it
// is an SMS conversation. Errors of the store's are returned as they are; an
// attachment that is not the caller's own upload is left to the store,
// which refuses it.
func (s *Service) checkMMS(ctx context.Context, id string, attachments []string) error {
	caller, err := identity(ctx)
	if err != nil {
		return err
	}
	c, err := s.store.FindConversation(ctx, id)
	if err != nil || c.Kind != switchboard.KindSMS {
		return err
	}
	list := make([]*switchboard.Attachment, 0, len(attachments))
	for _, attID := range attachments {
		a, err := s.attachments.FindAttachment(ctx, attID)
		switch {
		case switchboard.ErrorCode(err) == switchboard.ENOTFOUND:
			return nil
		case err != nil:
			return err
		case a.Uploader != caller.Extension:
			return nil
		}
		list = append(list, &a.Attachment)
	}
	return s.mms.CheckMMS(ctx, c, list)
}

// EditMessage changes the body of the caller's own message.
func (s *Service) EditMessage(ctx context.Context, conversationID, messageID, body string) (*switchboard.Message, error) {
	return s.store.EditMessage(ctx, conversationID, messageID, body)
}

// DeleteMessage deletes the caller's own message.
func (s *Service) DeleteMessage(ctx context.Context, conversationID, messageID string) error {
	_, err := s.store.DeleteMessage(ctx, conversationID, messageID)
	return err
}

// typingInterval is the least time between two typing events of one
// extension in one conversation.
const typingInterval = 2 * time.Second

// Typing tells the other members of a conversation that the caller is
// typing. Repeats within typingInterval are dropped.
func (s *Service) Typing(ctx context.Context, conversationID string) error {
	id, err := identity(ctx)
	if err != nil {
		return err
	}
	key := id.Domain + "\x00" + id.Extension + "\x00" + conversationID
	now := s.now()
	s.typingMu.Lock()
	if now.Sub(s.typingAt[key]) < typingInterval {
		s.typingMu.Unlock()
		return nil
	}
	s.typingAt[key] = now
	if len(s.typingAt) > 10000 {
		for k, t := range s.typingAt {
			if now.Sub(t) > typingInterval {
				delete(s.typingAt, k)
			}
		}
	}
	s.typingMu.Unlock()
	c, err := s.store.FindConversation(ctx, conversationID)
	if err != nil {
		return err
	}
	var to []string
	for _, m := range c.Members {
		if m != id.Extension {
			to = append(to, m)
		}
	}
	e, err := switchboard.NewEvent(switchboard.EventTyping, id.Domain, c.ID, to,
		map[string]string{"conversation_id": c.ID, "extension": id.Extension})
	if err != nil {
		return err
	}
	s.bus.Publish(e)
	return nil
}
