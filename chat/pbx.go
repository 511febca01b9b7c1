package chat

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"github.com/switchboard-chat/switchboard"
)

// SetStatus sets the caller's do-not-disturb and status message.
func (s *Service) SetStatus(ctx context.Context, st switchboard.PresenceStatus) (switchboard.Presence, error) {
	return s.presence.SetStatus(ctx, st)
}

// PBX event types: how a phone system beside Switchboard reports what its
// devices and calls do.
const (
	PBXDeviceRegistered   = "device.registered"
	PBXDeviceUnregistered = "device.unregistered"
	PBXCallStarted        = "call.started"
	PBXCallEnded          = "call.ended"
)

// PBXEvent is one report of a phone system.
type PBXEvent struct {
	Type      string `json:"type"`
	Extension string `json:"extension"`
	Device    string `json:"device"`
	CallID    string `json:"call_id"`
	// Expires is how many seconds a device registration lasts unless
	// reported again (0: until device.unregistered).
	Expires int64 `json:"expires"`
}

// AuthenticateAPIKey returns the domain of a PBX API key, or unauthorized.
func (s *Service) AuthenticateAPIKey(ctx context.Context, key string) (string, error) {
	if key == "" || len(key) > 200 {
		return "", errAPIKey
	}
	k, err := s.dir.FindAPIKey(ctx, HashKey(key))
	if switchboard.ErrorCode(err) == switchboard.ENOTFOUND {
		return "", errAPIKey
	} else if err != nil {
		return "", err
	}
	return k.Domain, nil
}

// HashKey returns the stored form of an API key or token.
func HashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// maxID bounds device and call ids from a PBX.
const maxID = 200

// ReportPBXEvent applies a PBX event of domain to the presence of one of
// its extensions (an extension of another domain is not found).
func (s *Service) ReportPBXEvent(ctx context.Context, domain string, ev PBXEvent) error {
	ev.Extension = strings.TrimSpace(ev.Extension)
	if err := switchboard.ValidateExtension(ev.Extension); err != nil {
		return err
	}
	if _, err := s.dir.FindUser(ctx, domain, ev.Extension); err != nil {
		return err
	}
	switch ev.Type {
	case PBXDeviceRegistered, PBXDeviceUnregistered:
		if ev.Device == "" || len(ev.Device) > maxID {
			return switchboard.Errorf(switchboard.EINVALID, "device is required (at most %d characters).", maxID)
		}
		if ev.Expires < 0 || ev.Expires > 7*24*3600 {
			return switchboard.Errorf(switchboard.EINVALID, "expires must be between 0 and 604800 seconds.")
		}
		if ev.Type == PBXDeviceUnregistered {
			s.presence.DeviceDown(domain, ev.Extension, "pbx:"+ev.Device)
			return nil
		}
		var until time.Time
		if ev.Expires > 0 {
			until = s.now().Add(time.Duration(ev.Expires) * time.Second)
		}
		s.presence.DeviceUp(domain, ev.Extension, "pbx:"+ev.Device, until)
	case PBXCallStarted, PBXCallEnded:
		if ev.CallID == "" || len(ev.CallID) > maxID {
			return switchboard.Errorf(switchboard.EINVALID, "call_id is required (at most %d characters).", maxID)
		}
		s.presence.CallState(domain, ev.Extension, "pbx:"+ev.CallID, ev.Type == PBXCallStarted)
	default:
		return switchboard.Errorf(switchboard.EINVALID, "Unknown event type %q: use device.registered, device.unregistered, call.started or call.ended.", ev.Type)
	}
	return nil
}
