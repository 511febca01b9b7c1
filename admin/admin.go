// Package admin holds the operator's use cases: domains and extensions. The
// command line calls it; it works whether or not a server is running on the
// same storage.
package admin

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/switchboard-chat/switchboard"
	"github.com/switchboard-chat/switchboard/chat"
)

// Service implements the admin use cases on a directory store.
type Service struct {
	dir switchboard.DirectoryStore
}

// New returns an admin service.
func New(dir switchboard.DirectoryStore) *Service { return &Service{dir: dir} }

// AddDomain creates a domain; name is its display name (default: the domain).
func (s *Service) AddDomain(ctx context.Context, domain, name string) (*switchboard.Domain, error) {
	return s.AddDomainWith(ctx, DomainChange{Name: name}, domain)
}

// DomainChange names the settings of a domain to set; empty ones stay.
type DomainChange struct {
	Name    string
	Country string // ISO 3166 region for phone numbers typed without +
	SMSHelp string // automatic reply to HELP
}

func (ch DomainChange) validate() error {
	if ch.Country != "" && (len(ch.Country) != 2 || strings.ToUpper(ch.Country) != ch.Country && strings.ToLower(ch.Country) != ch.Country) {
		return switchboard.Errorf(switchboard.EINVALID, "Country %q must be a two-letter code like US or GB.", ch.Country)
	}
	if len([]rune(ch.SMSHelp)) > 320 {
		return switchboard.Errorf(switchboard.EINVALID, "The HELP reply has at most 320 characters.")
	}
	return nil
}

// AddDomainWith creates a domain with settings.
func (s *Service) AddDomainWith(ctx context.Context, ch DomainChange, domain string) (*switchboard.Domain, error) {
	if err := ch.validate(); err != nil {
		return nil, err
	}
	d := &switchboard.Domain{Name: strings.ToLower(strings.TrimSpace(domain)), DisplayName: strings.TrimSpace(ch.Name),
		Country: strings.ToUpper(ch.Country), SMSHelp: strings.TrimSpace(ch.SMSHelp)}
	if err := s.dir.CreateDomain(ctx, d); err != nil {
		return nil, err
	}
	return d, nil
}

// SetDomain changes the settings of a domain.
func (s *Service) SetDomain(ctx context.Context, domain string, ch DomainChange) (*switchboard.Domain, error) {
	if err := ch.validate(); err != nil {
		return nil, err
	}
	d, err := s.dir.FindDomain(ctx, strings.ToLower(strings.TrimSpace(domain)))
	if err != nil {
		return nil, err
	}
	if ch.Name != "" {
		d.DisplayName = strings.TrimSpace(ch.Name)
	}
	if ch.Country != "" {
		d.Country = strings.ToUpper(ch.Country)
	}
	if ch.SMSHelp != "" {
		d.SMSHelp = strings.TrimSpace(ch.SMSHelp)
	}
	if err := s.dir.UpdateDomain(ctx, d); err != nil {
		return nil, err
	}
	return d, nil
}

// Domains lists every domain.
func (s *Service) Domains(ctx context.Context) ([]*switchboard.Domain, error) {
	return s.dir.ListDomains(ctx)
}

// ValidatePassword checks a new portal password.
func ValidatePassword(p string) error {
	if len(p) < 8 {
		return switchboard.Errorf(switchboard.EINVALID, "A password needs at least 8 characters.")
	} else if len(p) > 1024 {
		return switchboard.Errorf(switchboard.EINVALID, "A password has at most 1024 characters.")
	}
	return nil
}

// AddUser creates the extension at addr (EXT@DOMAIN).
func (s *Service) AddUser(ctx context.Context, addr, name string, level switchboard.Level, password string) (*switchboard.User, error) {
	return s.AddUserWithSIP(ctx, addr, name, level, password, "")
}

// AddUserWithSIP creates the extension at addr with a SIP secret for its
// devices (none when empty).
func (s *Service) AddUserWithSIP(ctx context.Context, addr, name string, level switchboard.Level, password, sipSecret string) (*switchboard.User, error) {
	ext, domain, err := switchboard.ParseAddress(addr)
	if err != nil {
		return nil, err
	}
	if level == "" {
		level = switchboard.LevelBasic
	}
	if !level.Valid() {
		return nil, switchboard.Errorf(switchboard.EINVALID, "Level %q is not one of %s.", level, levelList())
	}
	if err := switchboard.ValidateName(name); err != nil {
		return nil, err
	} else if err := ValidatePassword(password); err != nil {
		return nil, err
	}
	hash, err := chat.HashPassword(password)
	if err != nil {
		return nil, err
	}
	u := &switchboard.User{Domain: domain, Extension: ext, Name: strings.TrimSpace(name), Level: level, PasswordHash: hash}
	if sipSecret != "" {
		if err := ValidateSIPSecret(sipSecret); err != nil {
			return nil, err
		}
		u.SIPHA1MD5, u.SIPHA1SHA256 = SIPHA1(ext, domain, sipSecret)
	}
	if err := s.dir.CreateUser(ctx, u); err != nil {
		return nil, err
	}
	return u, nil
}

// UserChange names what SetUser changes; empty fields stay as they are.
type UserChange struct {
	Name      string
	Level     switchboard.Level
	Password  string
	SIPSecret string
}

// SetUser changes an extension. A new password ends its sessions.
func (s *Service) SetUser(ctx context.Context, addr string, ch UserChange) (*switchboard.User, error) {
	ext, domain, err := switchboard.ParseAddress(addr)
	if err != nil {
		return nil, err
	}
	var upd switchboard.UserUpdate
	if ch.Name != "" {
		name := strings.TrimSpace(ch.Name)
		upd.Name = &name
	}
	if ch.Level != "" {
		if !ch.Level.Valid() {
			return nil, switchboard.Errorf(switchboard.EINVALID, "Level %q is not one of %s.", ch.Level, levelList())
		}
		upd.Level = &ch.Level
	}
	if ch.Password != "" {
		if err := ValidatePassword(ch.Password); err != nil {
			return nil, err
		}
		hash, err := chat.HashPassword(ch.Password)
		if err != nil {
			return nil, err
		}
		upd.PasswordHash = &hash
	}
	if ch.SIPSecret != "" {
		if err := ValidateSIPSecret(ch.SIPSecret); err != nil {
			return nil, err
		}
		md5hex, sha256hex := SIPHA1(ext, domain, ch.SIPSecret)
		upd.SIPHA1MD5, upd.SIPHA1SHA256 = &md5hex, &sha256hex
	}
	if upd == (switchboard.UserUpdate{}) {
		return nil, switchboard.Errorf(switchboard.EINVALID, "Nothing to change: give --name, --level, --password-stdin or --sip-secret.")
	}
	return s.dir.UpdateUser(ctx, domain, ext, upd)
}

// Users lists the extensions of a domain.
func (s *Service) Users(ctx context.Context, domain string) ([]*switchboard.User, error) {
	domain = strings.ToLower(strings.TrimSpace(domain))
	if _, err := s.dir.FindDomain(ctx, domain); err != nil {
		return nil, err
	}
	return s.dir.ListUsers(ctx, domain, "")
}

func levelList() string {
	var names []string
	for _, l := range switchboard.Levels {
		names = append(names, string(l))
	}
	return strings.Join(names, ", ")
}

// AddAPIKey creates an API key for the phone system of a domain and
// returns it; only its hash is stored, so it is shown this once.
func (s *Service) AddAPIKey(ctx context.Context, domain string) (string, error) {
	domain = strings.ToLower(strings.TrimSpace(domain))
	if err := switchboard.ValidateDomainName(domain); err != nil {
		return "", err
	}
	key := "sbk_" + switchboard.NewSecret()
	if err := s.dir.CreateAPIKey(ctx, &switchboard.APIKey{Domain: domain, KeyHash: chat.HashKey(key)}); err != nil {
		return "", err
	}
	return key, nil
}

// SIPHA1 returns the digest HA1 values, H(ext:domain:secret) in hex, for
// MD5 and SHA-256: all that digest authentication needs, so the secret
// itself is never stored.
func SIPHA1(ext, domain, secret string) (md5hex, sha256hex string) {
	in := ext + ":" + domain + ":" + secret
	m := md5.Sum([]byte(in))
	s := sha256.Sum256([]byte(in))
	return hex.EncodeToString(m[:]), hex.EncodeToString(s[:])
}

// ValidateSIPSecret checks a new SIP secret.
func ValidateSIPSecret(secret string) error {
	if len(secret) < 8 || len(secret) > 128 {
		return switchboard.Errorf(switchboard.EINVALID, "A SIP secret has 8 to 128 characters.")
	}
	return nil
}
