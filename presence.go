package switchboard

import (
	"context"
	"time"
)

// Color is the presence colour of an extension.
type Color string

// Presence colours; see PresenceColor for the rules.
const (
	Red   Color = "red"   // unavailable for calls: do-not-disturb or in a call
	Green Color = "green" // available for calls: a device is registered
	Blue  Color = "blue"  // available to chat: a chat client, no device
	Gray  Color = "gray"  // offline
)

// PresenceState is what presence is derived from.
type PresenceState struct {
	DND         bool
	InCall      bool // a device is in a ringing, early or confirmed dialog
	Devices     int  // registered devices
	ChatClients int  // live chat clients, including those within the grace period
}

// PresenceColor applies SPEC §1: the first rule that holds wins.
func PresenceColor(s PresenceState) Color {
	switch {
	case s.DND || s.InCall:
		return Red
	case s.Devices > 0:
		return Green
	case s.ChatClients > 0:
		return Blue
	}
	return Gray
}

// Presence is what others see of an extension.
type Presence struct {
	Extension string     `json:"extension"`
	Color     Color      `json:"color"`
	DND       bool       `json:"dnd"`
	Message   string     `json:"message"`
	Until     *time.Time `json:"until,omitempty"`
}

// PresenceService tracks who is available and announces changes to the
// domain as presence.changed events.
type PresenceService interface {
	// Connect counts a live chat client of the identity in ctx until the
	// returned release is called; after release the client still counts for
	// the grace period.
	Connect(ctx context.Context) (release func())
	// Snapshot returns the presence of every extension of domain that is not
	// gray; extensions missing from it are gray.
	Snapshot(ctx context.Context, domain string) map[string]Presence
}
