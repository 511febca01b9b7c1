package switchboard

import (
	"context"
	"time"
)

// Registration is a binding of a SIP device to an extension, made by
// REGISTER to Switchboard's registrar.
type Registration struct {
	Domain    string
	Extension string
	Contact   string // the Contact URI the device registered
	Source    string // the address the REGISTER came from, for sending requests back
	Transport string // "udp" or "tcp"
	UserAgent string
	CallID    string
	CSeq      int64
	ExpiresAt time.Time
}

// RegistrationStore keeps SIP registrations so that they survive a
// restart. Safe for concurrent use; needs no identity.
type RegistrationStore interface {
	// SaveRegistration inserts or replaces the binding of r.Contact.
	SaveRegistration(ctx context.Context, r *Registration) error
	// DeleteRegistration removes one binding; DeleteRegistrations every
	// binding of an extension. Missing bindings are not an error.
	DeleteRegistration(ctx context.Context, domain, ext, contact string) error
	DeleteRegistrations(ctx context.Context, domain, ext string) error
	// ListRegistrations returns the bindings that have not expired at now,
	// ordered by domain, extension and contact, and forgets expired ones.
	ListRegistrations(ctx context.Context, now time.Time) ([]*Registration, error)
}
