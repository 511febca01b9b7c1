package sqlite

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/switchboard-chat/switchboard"
)

// Every authenticated request reads its session and its user (two queries
// that cost as much as a third of a message's send, see
// docs/PERFORMANCE.md). authCache keeps what was read.
//
// Changes made through this store (logout, a new password, a changed level
// or status) clear the cache at once; a read that raced with such a change
// is not cached (generation check). Every such change also bumps the
// database's auth generation (meta key auth_generation) in its own
// transaction, from whichever process made it: the CLI changes the same
// database from another process. The store reads that generation every
// authPoll and clears the cache when it moved, so a session ended or a
// password changed from the CLI is refused within authPoll. The cache is
// trusted only while that check keeps succeeding: if it has not succeeded
// for authFresh, every request reads the database again.
const (
	authPoll  = 250 * time.Millisecond
	authFresh = 2 * time.Second
	// authTTL bounds how long one entry is served in any case.
	authTTL = time.Minute
)

// authCacheMax bounds each map; past it the map starts over.
const authCacheMax = 100000

type authCache struct {
	mu       sync.Mutex
	gen      uint64
	sessions map[string]cachedSession
	users    map[[2]string]cachedUser

	dbGen     int64     // the database's auth generation last read
	checkedAt time.Time // when it was last read (wall clock, not the store's)
}

// observe records the database's auth generation read at checked, clearing
// the cache if it moved.
func (c *authCache) observe(dbGen int64, checked time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if dbGen != c.dbGen {
		c.dbGen = dbGen
		c.gen++
		c.sessions, c.users = nil, nil
	}
	c.checkedAt = checked
}

// fresh reports whether the cross-process check is recent enough for the
// cache to be used. c.mu must be held.
func (c *authCache) fresh() bool {
	return !c.checkedAt.IsZero() && time.Since(c.checkedAt) < authFresh
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
	if !ok || !c.fresh() || now.Sub(e.at) > authTTL || !e.sess.ExpiresAt.After(now) {
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
	if !ok || !c.fresh() || now.Sub(e.at) > authTTL {
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

// watchAuth reads the database's auth generation every authPoll (see
// authCache) until the store closes.
func (s *Store) watchAuth() {
	defer close(s.authDone)
	t := time.NewTicker(authPoll)
	defer t.Stop()
	for {
		var gen int64
		err := s.queryRow(context.Background(), `SELECT coalesce((SELECT value FROM meta WHERE key = 'auth_generation'), 0)`).Scan(&gen)
		if err != nil {
			s.logger.Warn("auth generation check", "err", err)
		} else {
			s.auth.observe(gen, time.Now())
		}
		select {
		case <-s.closed:
			return
		case <-t.C:
		}
	}
}

// authChanged bumps the database's auth generation in w's transaction, so
// that every process caching sign-ins on this database drops them.
func (w *wtx) authChanged() error {
	if _, err := w.exec(`INSERT INTO meta (key, value) VALUES ('auth_generation', 1)
		ON CONFLICT (key) DO UPDATE SET value = value + 1`); err != nil {
		return fmt.Errorf("bump auth generation: %w", err)
	}
	return nil
}
