package main

import (
	"context"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

// TestReviveAfterRelayDrop checks that a client the relay dropped (as it
// drops one that falls behind) is connected again by revive before the
// next step, and that live clients are left alone.
func TestReviveAfterRelayDrop(t *testing.T) {
	rl, h := newRelay()
	srv := httptest.NewServer(h)
	defer srv.Close()
	tg := &target{name: "relay", addr: srv.Listener.Addr().String(), src: &sources{n: 1},
		conv: func(string, int) string { return "r.1.2" }, token: strconv.Itoa}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	clients, err := tg.connect(ctx, []int{1, 2}, 2)
	if err != nil {
		t.Fatalf("connect() = %v", err)
	}
	defer tg.disconnect(clients)
	connected := func(user string) int {
		rl.mu.RLock()
		defer rl.mu.RUnlock()
		return len(rl.conns[user])
	}

	if n, err := tg.revive(ctx); n != 0 || err != nil {
		t.Fatalf("revive() with every client connected = %d, %v; want 0, nil", n, err)
	}
	// The relay drops user 2's connection.
	rl.mu.RLock()
	for c := range rl.conns["2"] {
		c.close()
	}
	rl.mu.RUnlock()
	select {
	case <-clients[1].ws.done:
	case <-ctx.Done():
		t.Fatal("the dropped client's connection did not end")
	}
	old := clients[1].ws
	if n, err := tg.revive(ctx); n != 1 || err != nil {
		t.Fatalf("revive() after the relay dropped a client = %d, %v; want 1, nil", n, err)
	}
	if clients[1].ws == old {
		t.Fatal("revive() kept the ended connection")
	}
	select {
	case <-clients[1].ws.done:
		t.Fatalf("the redialled connection ended: %v", clients[1].ws.err)
	default:
	}
	if got := connected("2"); got != 1 {
		t.Errorf("relay connections of user 2 after revive = %d, want 1", got)
	}
	if got := connected("1"); got != 1 {
		t.Errorf("relay connections of user 1 after revive = %d, want 1 (left alone)", got)
	}
	if n, err := tg.revive(ctx); n != 0 || err != nil {
		t.Errorf("revive() again = %d, %v; want 0, nil", n, err)
	}
}
