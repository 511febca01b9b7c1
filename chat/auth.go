package chat

import (
	"context"
	"math"
	"strings"
	"time"

	"github.com/switchboard-chat/switchboard"
)

// SessionTTL is how long a sign-in lasts.
const SessionTTL = 30 * 24 * time.Hour

// RateLimitError is a rate_limited failure that says when to retry.
type RateLimitError struct {
	Err        *switchboard.Error
	RetryAfter time.Duration
}

func (e *RateLimitError) Error() string { return e.Err.Error() }

// Unwrap lets switchboard.ErrorCode see the code.
func (e *RateLimitError) Unwrap() error { return e.Err }

// Login checks an address and password and starts a session. It returns the
// bearer token, shown once: only its hash is stored. Repeated failures for
// an address or from a client address are throttled with rate_limited.
func (s *Service) Login(ctx context.Context, username, password, clientAddr string) (string, *switchboard.User, error) {
	if username == "" || password == "" {
		return "", nil, switchboard.Errorf(switchboard.EINVALID, "Username and password are required.")
	}
	userKey, ipKey := "u:"+strings.ToLower(strings.TrimSpace(username)), "ip:"+clientAddr
	if d := max(s.userThrottle.wait(userKey), s.ipThrottle.wait(ipKey)); d > 0 {
		secs := int(math.Ceil(d.Seconds()))
		return "", nil, &RateLimitError{
			Err:        switchboard.Errorf(switchboard.ERATELIMITED, "Too many failed sign-ins. Try again in %d seconds.", secs),
			RetryAfter: time.Duration(secs) * time.Second,
		}
	}
	fail := func() (string, *switchboard.User, error) {
		s.userThrottle.fail(userKey)
		s.ipThrottle.fail(ipKey)
		s.logger.Info("sign-in failed", "client", clientAddr)
		return "", nil, switchboard.Errorf(switchboard.EUNAUTHORIZED, "Wrong extension or password.")
	}
	ext, domain, err := switchboard.ParseAddress(username)
	if err != nil {
		CheckPassword(dummyHash, password)
		return fail()
	}
	u, err := s.dir.FindUser(ctx, domain, ext)
	if switchboard.ErrorCode(err) == switchboard.ENOTFOUND {
		CheckPassword(dummyHash, password)
		return fail()
	} else if err != nil {
		return "", nil, err
	}
	if !CheckPassword(u.PasswordHash, password) {
		return fail()
	}
	s.userThrottle.succeed(userKey)
	token := switchboard.NewSecret()
	sess := &switchboard.Session{TokenHash: hashToken(token), Domain: u.Domain, Extension: u.Extension,
		ExpiresAt: s.now().Add(SessionTTL)}
	if err := s.dir.CreateSession(ctx, sess); err != nil {
		return "", nil, err
	}
	return token, u, nil
}

// errSignIn is Authenticate's error for a token it does not know, and
// errAPIKey AuthenticateAPIKey's: made once, not on every request (errors
// are not changed once made).
var (
	errSignIn = switchboard.Errorf(switchboard.EUNAUTHORIZED, "Sign in first.")
	errAPIKey = switchboard.Errorf(switchboard.EUNAUTHORIZED, "A valid API key is required.")
)

// Authenticate returns the identity of a session token, or unauthorized.
func (s *Service) Authenticate(ctx context.Context, token string) (switchboard.Identity, error) {
	if token == "" || len(token) > 200 {
		return switchboard.Identity{}, errSignIn
	}
	sess, err := s.dir.FindSession(ctx, hashToken(token))
	if switchboard.ErrorCode(err) == switchboard.ENOTFOUND {
		return switchboard.Identity{}, errSignIn
	} else if err != nil {
		return switchboard.Identity{}, err
	}
	u, err := s.dir.FindUser(ctx, sess.Domain, sess.Extension)
	if switchboard.ErrorCode(err) == switchboard.ENOTFOUND {
		return switchboard.Identity{}, errSignIn
	} else if err != nil {
		return switchboard.Identity{}, err
	}
	return switchboard.Identity{Domain: u.Domain, Extension: u.Extension, Level: u.Level}, nil
}

// Logout ends the session of token.
func (s *Service) Logout(ctx context.Context, token string) error {
	return s.dir.DeleteSession(ctx, hashToken(token))
}

func hashToken(token string) string { return HashKey(token) }
