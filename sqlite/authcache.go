package sqlite

import (
	"sync"
	"time"

	"github.com/switchboard-chat/switchboard"
)

// Every authenticated request reads its session and its user (two queries
// that cost as much as a third of a message's send, see
// docs/PERFORMANCE.md). authCache keeps what was read for authTTL.
//
// Changes made through this store (logout, a new password, a changed level)
// clear the cache at once; a read that raced with such a change is not
// cached (generation check). Changes made by another process on the same
// database (the CLI) are seen within authTTL: a session ended from the CLI
// may still be accepted for up to that long.
const authTTL = time.Second

// authCacheMax bounds each map; past it the map starts over.
const authCacheMax = 100000

type authCache struct {
	mu       sync.Mutex
	gen      uint64
	sessions map[string]cachedSession
	users    map[[2]string]cachedUser
}

type cachedSession struct {
	sess switchboard.Session
	at   time.Time
}

type cachedUser struct {
	user switchboard.User
	at   time.Time
}

// generation returns the current generation, to pass to a later put.
func (c *authCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// invalidate forgets everything; reads that started before are not cached.
func (c *authCache) invalidate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.sessions, c.users = nil, nil
}

// invalidateUser forgets one user; reads that started before are not
// cached.
func (c *authCache) invalidateUser(domain, ext string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	delete(c.users, [2]string{domain, ext})
}

func (c *authCache) session(tokenHash string, now time.Time) (*switchboard.Session, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.sessions[tokenHash]
	if !ok || now.Sub(e.at) > authTTL || !e.sess.ExpiresAt.After(now) {
		return nil, false
	}
	s := e.sess
	return &s, true
}

func (c *authCache) putSession(gen uint64, s *switchboard.Session, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if c.sessions == nil || len(c.sessions) >= authCacheMax {
		c.sessions = map[string]cachedSession{}
	}
	c.sessions[s.TokenHash] = cachedSession{sess: *s, at: now}
}

func (c *authCache) user(domain, ext string, now time.Time) (*switchboard.User, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.users[[2]string{domain, ext}]
	if !ok || now.Sub(e.at) > authTTL {
		return nil, false
	}
	u := e.user
	return &u, true
}

func (c *authCache) putUser(gen uint64, u *switchboard.User, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if c.users == nil || len(c.users) >= authCacheMax {
		c.users = map[[2]string]cachedUser{}
	}
	c.users[[2]string{u.Domain, u.Extension}] = cachedUser{user: *u, at: now}
}
