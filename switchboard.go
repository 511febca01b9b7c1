// Package switchboard holds the domain of Switchboard: team chat, texting and
// presence for a hosted phone system. It defines the types (domains,
// extensions, conversations, messages, events, presence), the error codes,
// the interfaces that storage, event fan-out and other adapters implement,
// and pure rules such as the presence colour. It imports only the standard
// library; adapters live in sub-packages and only cmd/ wires them together.
package switchboard

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"time"
)

// Identity is the signed-in extension on whose behalf a request runs.
type Identity struct {
	Domain    string
	Extension string
	Level     Level
}

// Address returns EXT@DOMAIN.
func (id Identity) Address() string { return id.Extension + "@" + id.Domain }

type identityKey struct{}

// NewContextWithIdentity returns a child of ctx that carries id.
func NewContextWithIdentity(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// IdentityFromContext returns the identity carried by ctx and whether there
// was one. Storage scopes every user-facing query by it, so a request without
// an identity sees nothing.
func IdentityFromContext(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(identityKey{}).(Identity)
	return id, ok && id.Domain != "" && id.Extension != ""
}

var idEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// NewID returns a new opaque identifier: prefix, then 48 bits of time in
// milliseconds and 80 random bits, so identifiers sort roughly by creation.
func NewID(prefix string) string {
	var b [16]byte
	ms := uint64(time.Now().UnixMilli())
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	_, _ = rand.Read(b[6:])
	return prefix + idEncoding.EncodeToString(b[:])
}

// NewSecret returns 32 random bytes encoded for use as a bearer token or key.
func NewSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return idEncoding.EncodeToString(b[:])
}
