package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coder/websocket"
)

// The relay is the ceiling Switchboard is measured against: a WebSocket
// server with the same API shape (POST a message to a conversation, the
// members' sockets get a message.created frame) on the same HTTP server
// and WebSocket library, which stores nothing, checks nothing and encodes
// almost nothing. It runs as its own process (`switchboard-bench relay`),
// pinned like the server.
//
// A conversation id names its members: "r.12.13" is users 12 and 13; a
// bearer token is the user's number.

type relay struct {
	mu    sync.RWMutex
	conns map[string]map[*relayClient]struct{}
	seq   atomic.Int64
}

type relayClient struct {
	ch     chan []byte
	mu     sync.Mutex
	closed bool
}

func (c *relayClient) deliver(b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	select {
	case c.ch <- b:
	default:
		c.closed = true
		close(c.ch)
	}
}

func (c *relayClient) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		c.closed = true
		close(c.ch)
	}
}

// newRelay returns a relay and its API.
func newRelay() (*relay, http.Handler) {
	r := &relay{conns: map[string]map[*relayClient]struct{}{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/events", r.events)
	mux.HandleFunc("POST /api/v1/conversations/{id}/messages", r.send)
	return r, mux
}

func runRelay(args []string, stdout io.Writer) error {
	addr := "127.0.0.1:0"
	if len(args) == 2 && args[0] == "--addr" {
		addr = args[1]
	}
	_, mux := newRelay()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "relay serving on http://%s\n", ln.Addr())
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		hs.Close()
	}()
	if err := hs.Serve(ln); err != http.ErrServerClosed {
		return err
	}
	return nil
}

func bearer(r *http.Request) string {
	t, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return t
}

func (rl *relay) events(w http.ResponseWriter, r *http.Request) {
	user := bearer(r)
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		return
	}
	defer conn.CloseNow()
	c := &relayClient{ch: make(chan []byte, 256)}
	rl.mu.Lock()
	if rl.conns[user] == nil {
		rl.conns[user] = map[*relayClient]struct{}{}
	}
	rl.conns[user][c] = struct{}{}
	rl.mu.Unlock()
	defer func() {
		rl.mu.Lock()
		delete(rl.conns[user], c)
		if len(rl.conns[user]) == 0 {
			delete(rl.conns, user)
		}
		rl.mu.Unlock()
		c.close()
	}()
	ctx := r.Context()
	write := func(b []byte) bool {
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		return conn.Write(wctx, websocket.MessageText, b) == nil
	}
	if !write([]byte(`{"type":"ready","cursor":"` + strconv.FormatInt(rl.seq.Load(), 10) + `","data":{"presence":[]}}`)) {
		return
	}
	readErr := make(chan error, 1)
	go func() {
		for {
			if _, _, err := conn.Read(ctx); err != nil {
				readErr <- err
				return
			}
		}
	}()
	for {
		select {
		case b, ok := <-c.ch:
			if !ok || !write(b) {
				return
			}
		case <-readErr:
			return
		case <-ctx.Done():
			return
		}
	}
}

type relayMessage struct {
	ID             string    `json:"id"`
	ConversationID string    `json:"conversation_id"`
	Seq            int64     `json:"seq"`
	ClientID       string    `json:"client_id"`
	Sender         string    `json:"sender"`
	Body           string    `json:"body"`
	Attachments    []string  `json:"attachments"`
	Kind           string    `json:"kind"`
	CreatedAt      time.Time `json:"created_at"`
	EditedAt       *string   `json:"edited_at"`
	Deleted        bool      `json:"deleted"`
}

func (rl *relay) send(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ClientID string `json:"client_id"`
		Body     string `json:"body"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
		http.Error(w, `{"error":{"code":"invalid","message":"Malformed JSON."}}`, http.StatusBadRequest)
		return
	}
	id := r.PathValue("id")
	seq := rl.seq.Add(1)
	m := relayMessage{ID: "m_" + strconv.FormatInt(seq, 10), ConversationID: id, Seq: seq, ClientID: req.ClientID,
		Sender: bearer(r), Body: req.Body, Attachments: []string{}, Kind: "text", CreatedAt: time.Now().UTC()}
	data, _ := json.Marshal(m)
	frame := make([]byte, 0, len(data)+64)
	frame = append(frame, `{"type":"message.created","cursor":"`...)
	frame = strconv.AppendInt(frame, seq, 10)
	frame = append(frame, `","data":`...)
	frame = append(frame, data...)
	frame = append(frame, '}')
	members := strings.Split(strings.TrimPrefix(id, "r."), ".")
	rl.mu.RLock()
	for _, u := range members {
		for c := range rl.conns[u] {
			c.deliver(frame)
		}
	}
	rl.mu.RUnlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	w.Write(append(data, '\n'))
}
