package sip

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
	"github.com/switchboard-chat/switchboard"
)

// Digest authentication (RFC 3261 §22, RFC 8760): the realm is the domain,
// the username the extension, and the stored HA1 = H(ext:domain:secret)
// stands in for the secret, which Switchboard never keeps.

// DefaultNonceTTL is how long a nonce may be used before the client is told
// that it is stale.
const DefaultNonceTTL = 5 * time.Minute

// nonceMACSize and friends lay out a nonce: issue time, random bytes, and a
// MAC over realm, time and randomness, so a nonce is bound to its realm and
// forging one needs the server's key.
const (
	nonceTimeSize = 8
	nonceRandSize = 12
	nonceMACSize  = 16
	nonceSize     = nonceTimeSize + nonceRandSize + nonceMACSize
)

// verdict is the outcome of checking credentials.
type verdict int

const (
	verdictOK    verdict = iota
	verdictStale         // right secret, but the nonce expired, is not ours, or was replayed: challenge again
	verdictBad           // wrong secret or malformed credentials
)

// authenticator issues nonces and checks digest responses. A nonce is
// stateless until it is first used successfully; from then on its highest
// nonce count is remembered until it expires, so a response can never be
// replayed.
type authenticator struct {
	key [32]byte
	ttl time.Duration
	now func() time.Time
	// algorithms are challenged in this order.
	algorithms []string

	mu    sync.Mutex
	used  map[string]nonceUse
	sweep time.Time
}

type nonceUse struct {
	nc      int // highest nonce count accepted; -1 once a nonce without qop was used
	expires time.Time
}

// newAuthenticator returns an authenticator whose nonces last ttl. It
// challenges with MD5, and also with SHA-256 (RFC 8760) when sha256 is set:
// MD5 first, since most phones take the first challenge they know.
func newAuthenticator(ttl time.Duration, now func() time.Time, sha256 bool) *authenticator {
	a := &authenticator{ttl: ttl, now: now, algorithms: []string{"MD5"}, used: map[string]nonceUse{}}
	if sha256 {
		a.algorithms = append(a.algorithms, "SHA-256")
	}
	if _, err := rand.Read(a.key[:]); err != nil {
		panic("sip: no randomness: " + err.Error())
	}
	return a
}

// nonce returns a new nonce for realm.
func (a *authenticator) nonce(realm string) string {
	var b [nonceSize]byte
	binary.BigEndian.PutUint64(b[:nonceTimeSize], uint64(a.now().UnixNano()))
	rand.Read(b[nonceTimeSize : nonceTimeSize+nonceRandSize])
	copy(b[nonceTimeSize+nonceRandSize:], a.mac(realm, b[:nonceTimeSize+nonceRandSize]))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (a *authenticator) mac(realm string, data []byte) []byte {
	h := hmac.New(sha256.New, a.key[:])
	h.Write([]byte(realm))
	h.Write([]byte{0})
	h.Write(data)
	return h.Sum(nil)[:nonceMACSize]
}

// issued returns when nonce was issued for realm, or false if it is not a
// nonce of this server for that realm.
func (a *authenticator) issued(realm, nonce string) (time.Time, bool) {
	b, err := base64.RawURLEncoding.DecodeString(nonce)
	if err != nil || len(b) != nonceSize {
		return time.Time{}, false
	}
	if !hmac.Equal(b[nonceTimeSize+nonceRandSize:], a.mac(realm, b[:nonceTimeSize+nonceRandSize])) {
		return time.Time{}, false
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(b[:nonceTimeSize]))), true
}

// challenges returns the values of the WWW-Authenticate headers of a 401
// for realm: one per algorithm, sharing one fresh nonce. Credentials are
// checked whichever of MD5 and SHA-256 they use.
func (a *authenticator) challenges(realm string, stale bool) []string {
	nonce := a.nonce(realm)
	out := make([]string, 0, len(a.algorithms))
	for _, alg := range a.algorithms {
		c := digest.Challenge{Realm: realm, Nonce: nonce, Algorithm: alg, QOP: []string{"auth"}, Stale: stale}
		out = append(out, c.String())
	}
	return out
}

// verify checks credentials c of a request with method against ha1, the
// stored H(username:realm:secret) for c's algorithm. The response is
// checked first, so stale is only ever said to a client that knows the
// secret (RFC 2617 §3.2.1).
func (a *authenticator) verify(c *digest.Credentials, method, ha1 string) verdict {
	want, ok := digestResponse(c, method, ha1)
	if !ok || subtle.ConstantTimeCompare([]byte(want), []byte(strings.ToLower(c.Response))) != 1 {
		return verdictBad
	}
	now := a.now()
	at, ours := a.issued(c.Realm, c.Nonce)
	if !ours || now.Sub(at) > a.ttl || at.After(now.Add(time.Minute)) {
		return verdictStale
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.sweepLocked(now)
	u, seen := a.used[c.Nonce]
	switch {
	case c.QOP == "" && seen, seen && (u.nc < 0 || c.Nc <= u.nc):
		return verdictStale // a replay
	case c.QOP == "":
		a.used[c.Nonce] = nonceUse{nc: -1, expires: at.Add(a.ttl)}
	default:
		a.used[c.Nonce] = nonceUse{nc: c.Nc, expires: at.Add(a.ttl)}
	}
	return verdictOK
}

// sweepLocked forgets expired nonces; an expired nonce is refused anyway.
func (a *authenticator) sweepLocked(now time.Time) {
	if now.Sub(a.sweep) < time.Minute {
		return
	}
	a.sweep = now
	for n, u := range a.used {
		if now.After(u.expires) {
			delete(a.used, n)
		}
	}
}

// digestResponse computes the response that credentials c must carry for
// a request with method, given ha1; false if c cannot be valid (an unknown
// algorithm or qop, a missing cnonce or count).
func digestResponse(c *digest.Credentials, method, ha1 string) (string, bool) {
	if c.Userhash || ha1 == "" {
		return "", false
	}
	chal := &digest.Challenge{Realm: c.Realm, Nonce: c.Nonce, Algorithm: c.Algorithm, Opaque: c.Opaque}
	switch c.QOP {
	case "":
	case "auth":
		if c.Cnonce == "" || c.Nc <= 0 {
			return "", false
		}
		chal.QOP = []string{"auth"}
	default:
		return "", false
	}
	cred, err := digest.Digest(chal, digest.Options{Method: method, URI: c.URI, Username: c.Username, A1: ha1, Cnonce: c.Cnonce, Count: c.Nc})
	if err != nil {
		return "", false
	}
	return cred.Response, true
}

// algorithmOf returns the canonical name of the algorithm of credentials,
// or "" if it is not one Switchboard has an HA1 for.
func algorithmOf(alg string) string {
	switch strings.ToUpper(alg) {
	case "", "MD5":
		return "MD5"
	case "SHA-256":
		return "SHA-256"
	}
	return ""
}

// throttle limits failed authentications per key (a source IP, an AOR):
// after free failures within window, the key is refused until the window
// that started with its first failure is over.
type throttle struct {
	free   int
	window time.Duration
	now    func() time.Time

	mu      sync.Mutex
	entries map[string]*throttleEntry
	sweep   time.Time
}

type throttleEntry struct {
	failures int
	first    time.Time
}

func newThrottle(free int, window time.Duration, now func() time.Time) *throttle {
	return &throttle{free: free, window: window, now: now, entries: map[string]*throttleEntry{}}
}

// wait returns how long key must wait before it may try again (0: now).
func (t *throttle) wait(key string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.entries[key]
	if e == nil || e.failures < t.free {
		return 0
	}
	return max(e.first.Add(t.window).Sub(t.now()), 0)
}

// fail records a failed attempt of key.
func (t *throttle) fail(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if now.Sub(t.sweep) > t.window {
		t.sweep = now
		for k, e := range t.entries {
			if now.Sub(e.first) > t.window {
				delete(t.entries, k)
			}
		}
	}
	e := t.entries[key]
	if e == nil || now.Sub(e.first) > t.window {
		e = &throttleEntry{first: now}
		t.entries[key] = e
	}
	e.failures++
}

// dummyHA1 stands in for the HA1 of an extension that does not exist or
// has no SIP secret, so that those take as long to refuse as a wrong secret.
const dummyHA1 = "00000000000000000000000000000000"

// authenticate is the first step of a request that acts for an extension:
// it reads EXT@DOMAIN from addr (the To of a REGISTER, the From of a
// SUBSCRIBE), checks the digest credentials of req for it, and returns the
// domain (lowercased) and the extension when they are good. Otherwise it
// answers req itself and returns false: 404 when addr names no extension
// of a domain, 401 with a challenge when there are no credentials (or the
// nonce is stale), 403 for wrong credentials, an unknown extension or one
// without a SIP secret (not told apart), and 503 with Retry-After while
// the source IP, or the AOR, has failed too often. The AOR's limit spares
// the addresses its phones are registered from, so that someone guessing
// its secret cannot unregister them.
func (s *Server) authenticate(req *sip.Request, tx sip.ServerTransaction, addr sip.Uri) (domain, ext string, ok bool) {
	ext, domain = addr.User, strings.ToLower(addr.Host)
	if switchboard.ValidateExtension(ext) != nil || switchboard.ValidateDomainName(domain) != nil {
		s.respond(tx, req, 404, "Not Found")
		return "", "", false
	}
	if !s.checkCredentials(req, tx, domain, ext) {
		return "", "", false
	}
	return domain, ext, true
}

// checkCredentials is authenticate for ext@domain, which are valid names.
func (s *Server) checkCredentials(req *sip.Request, tx sip.ServerTransaction, domain, ext string) bool {
	ip, aor := sourceIP(req), ext+"@"+domain
	wait := s.failIP.wait(ip)
	if !s.registeredFrom(domain, ext, ip) {
		// Failures against an AOR do not lock out its own phones.
		wait = max(wait, s.failAOR.wait(aor))
	}
	if wait > 0 {
		s.respond(tx, req, 503, "Service Unavailable (too many failed attempts)",
			sip.NewHeader("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds())))))
		return false
	}
	cred := credentialsFor(req, domain)
	if cred == nil {
		s.challenge(req, tx, domain, false)
		return false
	}
	ctx, cancel := s.opContext(storeTimeout)
	defer cancel()
	user, err := s.cfg.Dir.FindUser(ctx, domain, ext)
	if err != nil && switchboard.ErrorCode(err) != switchboard.ENOTFOUND {
		s.log.Error("sip find extension", "err", err)
		s.respond(tx, req, 500, "Server Internal Error")
		return false
	}
	ha1 := dummyHA1
	if user != nil && cred.Username == ext {
		switch algorithmOf(cred.Algorithm) {
		case "MD5":
			ha1 = user.SIPHA1MD5
		case "SHA-256":
			ha1 = user.SIPHA1SHA256
		}
	}
	v := verdictBad
	if ha1 != "" {
		v = s.auth.verify(cred, string(req.Method), ha1)
	}
	if ha1 == dummyHA1 {
		v = verdictBad
	}
	switch v {
	case verdictOK:
		return true
	case verdictStale:
		s.challenge(req, tx, domain, true)
		return false
	}
	s.failIP.fail(ip)
	s.failAOR.fail(aor)
	s.log.Info("sip authentication failed", "aor", aor, "source", ip, "method", string(req.Method))
	s.respond(tx, req, 403, "Forbidden")
	return false
}

// challenge answers req with 401 and a challenge per algorithm.
func (s *Server) challenge(req *sip.Request, tx sip.ServerTransaction, realm string, stale bool) {
	var hdrs []sip.Header
	for _, c := range s.auth.challenges(realm, stale) {
		hdrs = append(hdrs, sip.NewHeader("WWW-Authenticate", c))
	}
	s.respond(tx, req, 401, "Unauthorized", hdrs...)
}

// credentialsFor returns the digest credentials of req for realm, or nil.
func credentialsFor(req *sip.Request, realm string) *digest.Credentials {
	for _, h := range req.GetHeaders("Authorization") {
		c, err := digest.ParseCredentials(h.Value())
		if err == nil && strings.EqualFold(c.Realm, realm) {
			c.Realm = realm
			return c
		}
	}
	return nil
}
