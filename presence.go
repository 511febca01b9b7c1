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

// PresenceStatus is what a user sets about themselves: do-not-disturb and
// a status message, both cleared at Until when it is set.
type PresenceStatus struct {
	DND     bool       `json:"dnd"`
	Message string     `json:"message"`
	Until   *time.Time `json:"until,omitempty"`
}

// MaxStatusMessage is the longest status message, in characters.
const MaxStatusMessage = 100

// PresenceService tracks who is available and announces every change of an
// extension's presence to its domain as a presence.changed event (never to
// another domain). Methods are safe for concurrent use.
type PresenceService interface {
	// Connect counts a live chat client of the identity in ctx until the
	// returned release is called; after release the client still counts for
	// the grace period.
	Connect(ctx context.Context) (release func())

	// Snapshot returns the presence of every extension of domain that is not
	// plain gray; extensions missing from it are gray with no status.
	Snapshot(ctx context.Context, domain string) map[string]Presence

	// Get returns the presence of one extension.
	Get(ctx context.Context, domain, ext string) Presence

	// DeviceUp records that device (an id unique per source, like
	// "sip:<contact>" or "pbx:<id>") of ext is registered, until expires
	// (zero: until DeviceDown). Repeating it refreshes the expiry.
	DeviceUp(domain, ext, device string, expires time.Time)
	// DeviceDown records that device is gone; unknown devices are ignored.
	DeviceDown(domain, ext, device string)
	// CallState records that call (an id unique per source) of ext is
	// ringing, early or confirmed (active) or has ended (not active).
	CallState(domain, ext, call string, active bool)

	// SetStatus sets the caller's do-not-disturb and status message; it is
	// stored, so it survives a restart. A message over MaxStatusMessage or an
	// Until in the past is EINVALID.
	SetStatus(ctx context.Context, s PresenceStatus) (Presence, error)
}
