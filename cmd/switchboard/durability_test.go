package main

import (
	"encoding/json"
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Messages acknowledged before a kill -9 are there after a restart, exactly
// once; retrying the unacknowledged ones with their client_id adds each at
// most once.
func TestKillDuringLoad(t *testing.T) {
	s := startServer(t, newData(t))
	a, b := s.login("101@acme.example"), s.login("102@acme.example")
	conv := a.conversation([]string{"102"}, "")
	group := a.conversation([]string{"102", "103"}, "Ops")

	var mu sync.Mutex
	acked := map[string]string{} // client_id → message id
	var attempted []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			snd, convID := a, conv.ID
			if w%2 == 1 {
				snd, convID = b, group.ID
			}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				cid := fmt.Sprintf("k%d-%d", w, i)
				mu.Lock()
				attempted = append(attempted, convID+" "+cid+" "+snd.ext)
				mu.Unlock()
				status, body, err := rawSend(snd, convID, cid)
				if err != nil {
					return // the server is gone
				}
				if status == 201 {
					var m message
					json.Unmarshal(body, &m)
					mu.Lock()
					acked[cid] = m.ID
					mu.Unlock()
				}
			}
		}()
	}
	time.Sleep(700 * time.Millisecond)
	s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.exited
	close(stop)
	wg.Wait()
	s.cmd = nil
	if len(acked) < 10 {
		t.Fatalf("only %d messages acknowledged before the kill", len(acked))
	}

	s.start()
	a2, b2 := s.login("101@acme.example"), s.login("102@acme.example")
	stored := map[string]message{}
	for _, c := range []struct {
		cl *client
		id string
	}{{a2, conv.ID}, {b2, group.ID}} {
		var last int64
		for {
			page := c.cl.messages(c.id, fmt.Sprintf("?after=%d&limit=200", last))
			if len(page) == 0 {
				break
			}
			for _, m := range page {
				if m.Seq != last+1 {
					t.Fatalf("seq gap in %s: %d after %d", c.id, m.Seq, last)
				}
				last = m.Seq
				if m.ClientID != "" {
					if _, dup := stored[m.ClientID]; dup {
						t.Errorf("client_id %s stored twice", m.ClientID)
					}
					stored[m.ClientID] = m
				}
			}
		}
	}
	for cid, id := range acked {
		if m, ok := stored[cid]; !ok || m.ID != id {
			t.Errorf("acknowledged message %s (%s) lost after kill -9", cid, id)
		}
	}
	// Retrying everything that was attempted creates nothing twice.
	for _, att := range attempted {
		var convID, cid, ext string
		fmt.Sscan(att, &convID, &cid, &ext)
		cl := a2
		if ext == "102" {
			cl = b2
		}
		status, _, err := rawSend(cl, convID, cid)
		if err != nil {
			t.Fatal(err)
		}
		_, had := stored[cid]
		if had && status != 200 || !had && status != 201 {
			t.Errorf("retry of %s = %d (stored before: %v)", cid, status, had)
		}
	}
	t.Logf("%d acknowledged before kill -9, %d stored, %d attempted", len(acked), len(stored), len(attempted))
}

// SIGTERM stops the server cleanly, with open streams.
func TestGracefulShutdown(t *testing.T) {
	s := startServer(t, newData(t))
	a := s.login("101@acme.example")
	a.connect("")
	start := time.Now()
	if err := s.stop(); err != nil {
		t.Errorf("exit after SIGTERM: %v\n%s", err, s.stderr.String())
	}
	if d := time.Since(start); d > 12*time.Second {
		t.Errorf("shutdown took %v", d)
	}
}
