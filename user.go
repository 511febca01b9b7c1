package switchboard

import (
	"context"
	"regexp"
	"strings"
	"time"
)

// Level is a permission level of an extension.
type Level string

// The permission levels, lowest first. Manager levels may switch to the
// Manager View; reseller and super-user are operator scope.
const (
	LevelBasic                Level = "basic"
	LevelAdvanced             Level = "advanced"
	LevelCallCenterAgent      Level = "call-center-agent"
	LevelCallCenterSupervisor Level = "call-center-supervisor"
	LevelSiteManager          Level = "site-manager"
	LevelOfficeManager        Level = "office-manager"
	LevelReseller             Level = "reseller"
	LevelSuperUser            Level = "super-user"
)

// Levels lists every valid level, lowest first.
var Levels = []Level{LevelBasic, LevelAdvanced, LevelCallCenterAgent, LevelCallCenterSupervisor,
	LevelSiteManager, LevelOfficeManager, LevelReseller, LevelSuperUser}

// Valid reports whether l is one of Levels.
func (l Level) Valid() bool {
	for _, v := range Levels {
		if l == v {
			return true
		}
	}
	return false
}

// IsManager reports whether l may switch to the Manager View.
func (l Level) IsManager() bool {
	switch l {
	case LevelSiteManager, LevelOfficeManager, LevelReseller, LevelSuperUser, LevelCallCenterSupervisor:
		return true
	}
	return false
}

// Domain is a tenant: one company on the phone system.
type Domain struct {
	Name        string    `json:"domain"`
	DisplayName string    `json:"name"`
	CreatedAt   time.Time `json:"created_at"`
	// Country is the ISO 3166 region for phone numbers typed without a
	// country code (default "US").
	Country string `json:"country"`
	// SMSHelp is the automatic reply to HELP from an external number.
	SMSHelp string `json:"sms_help"`
}

// User is an extension of a domain. PasswordHash is an encoded argon2id hash
// and never leaves the server.
type User struct {
	Domain       string    `json:"domain"`
	Extension    string    `json:"extension"`
	Name         string    `json:"name"`
	Level        Level     `json:"level"`
	PasswordHash string    `json:"-"`
	CreatedAt    time.Time `json:"created_at"`

	// Status is the user's do-not-disturb and status message.
	Status PresenceStatus `json:"-"`
	// SIPHA1MD5 and SIPHA1SHA256 are the digest HA1 values of the SIP
	// secret, H(ext:domain:secret), hex; empty when SIP is not set up.
	SIPHA1MD5    string `json:"-"`
	SIPHA1SHA256 string `json:"-"`
}

// Address returns EXT@DOMAIN.
func (u *User) Address() string { return u.Extension + "@" + u.Domain }

// UserUpdate names the fields of a user to change; nil leaves a field as it is.
type UserUpdate struct {
	Name         *string
	Level        *Level
	PasswordHash *string
	Status       *PresenceStatus
	SIPHA1MD5    *string
	SIPHA1SHA256 *string
}

var (
	domainRe    = regexp.MustCompile(`^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$`)
	extensionRe = regexp.MustCompile(`^[0-9]{2,7}$`)
)

// ValidateDomainName checks that name is a lowercase DNS-style domain name.
func ValidateDomainName(name string) error {
	if len(name) > 253 || !domainRe.MatchString(name) {
		return Errorf(EINVALID, "Domain %q is not a valid domain name (like acme.example).", name)
	}
	return nil
}

// ValidateExtension checks that ext is 2 to 7 digits.
func ValidateExtension(ext string) error {
	if !extensionRe.MatchString(ext) {
		return Errorf(EINVALID, "Extension %q must be 2 to 7 digits.", ext)
	}
	return nil
}

// ValidateName checks a display name of a user or domain.
func ValidateName(name string) error {
	if strings.TrimSpace(name) == "" {
		return Errorf(EINVALID, "Name is required.")
	} else if len([]rune(name)) > 100 {
		return Errorf(EINVALID, "Name must be at most 100 characters.")
	}
	return nil
}

// ParseAddress splits EXT@DOMAIN, lowercasing the domain, and validates both.
func ParseAddress(addr string) (ext, domain string, err error) {
	ext, domain, ok := strings.Cut(strings.TrimSpace(addr), "@")
	if !ok {
		return "", "", Errorf(EINVALID, "Address %q must look like EXT@DOMAIN (101@acme.example).", addr)
	}
	domain = strings.ToLower(domain)
	if err := ValidateExtension(ext); err != nil {
		return "", "", err
	} else if err := ValidateDomainName(domain); err != nil {
		return "", "", err
	}
	return ext, domain, nil
}

// Session is a signed-in portal or API session. Only the SHA-256 of its
// bearer token is stored.
type Session struct {
	TokenHash string
	Domain    string
	Extension string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// APIKey lets a phone system of a domain report device and call events.
// Only the SHA-256 of the key is stored.
type APIKey struct {
	ID        string
	Domain    string
	KeyHash   string
	CreatedAt time.Time
}

// DirectoryStore keeps domains, users, sessions and API keys.
//
// Methods return ENOTFOUND for a missing domain or user and ECONFLICT for a
// duplicate. They are safe for concurrent use.
type DirectoryStore interface {
	CreateDomain(ctx context.Context, d *Domain) error
	FindDomain(ctx context.Context, name string) (*Domain, error)
	ListDomains(ctx context.Context) ([]*Domain, error)
	// UpdateDomain stores the display name, country and SMS help of d.
	UpdateDomain(ctx context.Context, d *Domain) error

	// CreateUser adds u to its domain, which must exist (else ENOTFOUND).
	CreateUser(ctx context.Context, u *User) error
	// FindUser returns one user; an unknown domain or extension is ENOTFOUND.
	FindUser(ctx context.Context, domain, ext string) (*User, error)
	// ListUsers returns the users of a domain ordered by extension. A query
	// q, when not empty, keeps users whose extension starts with q or any of
	// whose name words starts with q, case-insensitively.
	ListUsers(ctx context.Context, domain, q string) ([]*User, error)
	UpdateUser(ctx context.Context, domain, ext string, upd UserUpdate) (*User, error)

	// ListStatuses returns the users, of every domain, whose Status is not
	// empty (do-not-disturb on or a message set).
	ListStatuses(ctx context.Context) ([]*User, error)

	// CreateAPIKey stores k for its domain (ENOTFOUND if the domain does not
	// exist); FindAPIKey returns the key with the given hash, or ENOTFOUND.
	CreateAPIKey(ctx context.Context, k *APIKey) error
	FindAPIKey(ctx context.Context, keyHash string) (*APIKey, error)

	// CreateSession stores s; FindSession returns it by token hash while it
	// has not expired (else ENOTFOUND); DeleteSession removes it (no error
	// if absent).
	CreateSession(ctx context.Context, s *Session) error
	FindSession(ctx context.Context, tokenHash string) (*Session, error)
	DeleteSession(ctx context.Context, tokenHash string) error
}

// MatchUser reports whether u matches a contact search: q empty, an
// extension prefix, or a case-insensitive prefix of any word of the name.
func MatchUser(u *User, q string) bool {
	q = strings.ToLower(strings.TrimSpace(q))
	if q == "" || strings.HasPrefix(u.Extension, q) {
		return true
	}
	name := strings.ToLower(u.Name)
	if strings.HasPrefix(name, q) {
		return true
	}
	// Whole words ("o'neil") and their parts ("neil", "ann" of "mary-ann").
	for _, w := range strings.Fields(name) {
		if strings.HasPrefix(w, q) {
			return true
		}
		for _, part := range strings.FieldsFunc(w, func(r rune) bool { return r == '-' || r == '.' || r == '\'' }) {
			if strings.HasPrefix(part, q) {
				return true
			}
		}
	}
	return false
}
