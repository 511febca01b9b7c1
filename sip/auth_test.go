package sip

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"github.com/icholy/digest"
)

func hexMD5(s string) string    { b := md5.Sum([]byte(s)); return hex.EncodeToString(b[:]) }
func hexSHA256(s string) string { b := sha256.Sum256([]byte(s)); return hex.EncodeToString(b[:]) }

// The examples of RFC 2617 §3.5 and RFC 7616 §3.9.1, checked through the
// HA1 alone, as Switchboard stores it.
func TestDigestResponseVectors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cred digest.Credentials
		ha1  string
		want string
	}{
		{"RFC 2617 MD5", digest.Credentials{Username: "Mufasa", Realm: "testrealm@host.com", Nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
			URI: "/dir/index.html", QOP: "auth", Nc: 1, Cnonce: "0a4f113b", Opaque: "5ccc069c403ebaf9f0171e9517f40e41"},
			hexMD5("Mufasa:testrealm@host.com:Circle Of Life"), "6629fae49393a05397450978507c4ef1"},
		{"RFC 7616 MD5", digest.Credentials{Username: "Mufasa", Realm: "http-auth@example.org", Algorithm: "MD5",
			Nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", URI: "/dir/index.html", QOP: "auth", Nc: 1,
			Cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"},
			hexMD5("Mufasa:http-auth@example.org:Circle of Life"), "8ca523f5e9506fed4657c9700eebdbec"},
		{"RFC 7616 SHA-256", digest.Credentials{Username: "Mufasa", Realm: "http-auth@example.org", Algorithm: "SHA-256",
			Nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", URI: "/dir/index.html", QOP: "auth", Nc: 1,
			Cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"},
			hexSHA256("Mufasa:http-auth@example.org:Circle of Life"), "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"},
	} {
		got, ok := digestResponse(&tc.cred, "GET", tc.ha1)
		if !ok || got != tc.want {
			t.Errorf("%s: digestResponse = %q, %v, want %q", tc.name, got, ok, tc.want)
		}
	}
	bad := []digest.Credentials{
		{Username: "u", Realm: "r", Nonce: "n", URI: "sip:r", QOP: "auth", Nc: 1},                    // no cnonce
		{Username: "u", Realm: "r", Nonce: "n", URI: "sip:r", QOP: "auth", Cnonce: "c"},              // no nc
		{Username: "u", Realm: "r", Nonce: "n", URI: "sip:r", QOP: "auth-int", Nc: 1, Cnonce: "c"},   // not offered
		{Username: "u", Realm: "r", Nonce: "n", URI: "sip:r", Algorithm: "SHA-512-256", Cnonce: "c"}, // not stored
		{Username: "u", Realm: "r", Nonce: "n", URI: "sip:r", Userhash: true},
	}
	for _, c := range bad {
		if algorithmOf(c.Algorithm) == "" {
			continue // refused before a response is computed
		}
		if _, ok := digestResponse(&c, "REGISTER", hexMD5("u:r:p")); ok {
			t.Errorf("digestResponse(%+v) accepted", c)
		}
	}
}

// sign returns credentials answering a challenge of a with the secret.
func sign(t *testing.T, realm, nonce, alg, method, user, secret string, nc int, qop bool) *digest.Credentials {
	t.Helper()
	chal := &digest.Challenge{Realm: realm, Nonce: nonce, Algorithm: alg}
	if qop {
		chal.QOP = []string{"auth"}
	}
	c, err := digest.Digest(chal, digest.Options{Method: method, URI: "sip:" + realm, Username: user, Password: secret, Count: nc})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNonces(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	a := newAuthenticator(5*time.Minute, func() time.Time { return now }, true)
	ha1 := hexMD5("102:acme.example:s3cret-102")
	ha256 := hexSHA256("102:acme.example:s3cret-102")

	n := a.nonce("acme.example")
	if n == a.nonce("acme.example") {
		t.Fatal("two nonces are equal")
	}
	if got := a.verify(sign(t, "acme.example", n, "MD5", "REGISTER", "102", "s3cret-102", 1, true), "REGISTER", ha1); got != verdictOK {
		t.Fatalf("first use = %v, want ok", got)
	}
	// The same nonce count again is a replay; a higher one is fine.
	if got := a.verify(sign(t, "acme.example", n, "MD5", "REGISTER", "102", "s3cret-102", 1, true), "REGISTER", ha1); got != verdictStale {
		t.Errorf("replayed nc = %v, want stale", got)
	}
	if got := a.verify(sign(t, "acme.example", n, "MD5", "REGISTER", "102", "s3cret-102", 2, true), "REGISTER", ha1); got != verdictOK {
		t.Errorf("next nc = %v, want ok", got)
	}
	// SHA-256 with its own HA1.
	n2 := a.nonce("acme.example")
	if got := a.verify(sign(t, "acme.example", n2, "SHA-256", "SUBSCRIBE", "102", "s3cret-102", 1, true), "SUBSCRIBE", ha256); got != verdictOK {
		t.Errorf("SHA-256 = %v, want ok", got)
	}
	// A wrong secret is bad, whatever the nonce.
	if got := a.verify(sign(t, "acme.example", a.nonce("acme.example"), "MD5", "REGISTER", "102", "wrong", 1, true), "REGISTER", ha1); got != verdictBad {
		t.Errorf("wrong secret = %v, want bad", got)
	}
	// Signed for another method: bad.
	if got := a.verify(sign(t, "acme.example", a.nonce("acme.example"), "MD5", "INVITE", "102", "s3cret-102", 1, true), "REGISTER", ha1); got != verdictBad {
		t.Errorf("other method = %v, want bad", got)
	}
	// Without qop a nonce works once.
	n3 := a.nonce("acme.example")
	if got := a.verify(sign(t, "acme.example", n3, "MD5", "REGISTER", "102", "s3cret-102", 0, false), "REGISTER", ha1); got != verdictOK {
		t.Errorf("no qop = %v, want ok", got)
	}
	if got := a.verify(sign(t, "acme.example", n3, "MD5", "REGISTER", "102", "s3cret-102", 0, false), "REGISTER", ha1); got != verdictStale {
		t.Errorf("no qop again = %v, want stale", got)
	}
	// A nonce is bound to its realm: used for another, it is not ours.
	other := a.nonce("globex.example")
	if got := a.verify(sign(t, "acme.example", other, "MD5", "REGISTER", "102", "s3cret-102", 1, true), "REGISTER", ha1); got != verdictStale {
		t.Errorf("nonce of another realm = %v, want stale", got)
	}
	// Made up, or from another server (another key): stale.
	b := newAuthenticator(5*time.Minute, func() time.Time { return now }, true)
	if got := a.verify(sign(t, "acme.example", b.nonce("acme.example"), "MD5", "REGISTER", "102", "s3cret-102", 1, true), "REGISTER", ha1); got != verdictStale {
		t.Errorf("foreign nonce = %v, want stale", got)
	}
	if got := a.verify(sign(t, "acme.example", "made-up", "MD5", "REGISTER", "102", "s3cret-102", 1, true), "REGISTER", ha1); got != verdictStale {
		t.Errorf("made-up nonce = %v, want stale", got)
	}
	// Expiry.
	n4 := a.nonce("acme.example")
	now = now.Add(5*time.Minute + time.Second)
	if got := a.verify(sign(t, "acme.example", n4, "MD5", "REGISTER", "102", "s3cret-102", 1, true), "REGISTER", ha1); got != verdictStale {
		t.Errorf("expired nonce = %v, want stale", got)
	}
	// Used nonces are forgotten once expired.
	now = now.Add(2 * time.Minute)
	a.verify(sign(t, "acme.example", a.nonce("acme.example"), "MD5", "REGISTER", "102", "s3cret-102", 1, true), "REGISTER", ha1)
	if _, ok := a.used[n]; ok {
		t.Errorf("expired nonce still remembered")
	}
}

func TestChallenges(t *testing.T) {
	if got := newAuthenticator(time.Minute, time.Now, false).challenges("acme.example", false); len(got) != 1 {
		t.Errorf("challenges without SHA-256 = %q", got)
	}
	a := newAuthenticator(time.Minute, time.Now, true)
	got := a.challenges("acme.example", true)
	if len(got) != 2 {
		t.Fatalf("challenges = %q", got)
	}
	for i, alg := range []string{"MD5", "SHA-256"} {
		c, err := digest.ParseChallenge(got[i])
		if err != nil {
			t.Fatal(err)
		}
		if c.Realm != "acme.example" || c.Algorithm != alg || !c.SupportsQOP("auth") || !c.Stale {
			t.Errorf("challenge %d = %+v", i, c)
		}
		if _, ok := a.issued("acme.example", c.Nonce); !ok {
			t.Errorf("nonce %q not recognised", c.Nonce)
		}
	}
}

func TestThrottle(t *testing.T) {
	now := time.Unix(1000, 0)
	th := newThrottle(3, time.Minute, func() time.Time { return now })
	for i := range 3 {
		if w := th.wait("ip"); w != 0 {
			t.Fatalf("after %d failures wait = %v", i, w)
		}
		th.fail("ip")
	}
	if w := th.wait("ip"); w != time.Minute {
		t.Errorf("after 3 failures wait = %v, want 1m", w)
	}
	if w := th.wait("other"); w != 0 {
		t.Errorf("other key wait = %v", w)
	}
	now = now.Add(61 * time.Second)
	if w := th.wait("ip"); w != 0 {
		t.Errorf("after the window wait = %v", w)
	}
	th.fail("ip")
	if w := th.wait("ip"); w != 0 {
		t.Errorf("a new window starts: wait = %v", w)
	}
}
