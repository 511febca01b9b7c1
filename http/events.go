package http

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/coder/websocket"
	"github.com/switchboard-chat/switchboard"
)

const (
	// backlogPage is how many missed events are read from the store at once.
	backlogPage = 500
	// pingInterval is how often an idle stream is checked for a dead peer.
	pingInterval = 30 * time.Second
	// writeTimeout bounds one frame write; a client that cannot take a frame
	// in that time is disconnected and resumes later with its cursor.
	writeTimeout = 10 * time.Second
	// maxClientFrame bounds a frame from the client.
	maxClientFrame = 16 << 10
)

// events serves the real-time stream (SPEC §3 "Real-time events").
//
// Ordering: the subscription to the bus is taken before the store is read,
// and the store publishes each commit's events in commit order after the
// commit. So every durable event after the client's cursor is either in the
// store read, or arrives live afterwards, or both; duplicates are dropped by
// cursor. Nothing is missed, however many senders commit concurrently.
//
// Memory: the handler returns once the connection is upgraded, and the
// stream goes on in its own goroutine with small buffers of its own (see
// leanHijacker), so an idle connection keeps none of net/http's per-request
// state (its 4 KB read and write buffers, the request, the response).
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	id, _ := switchboard.IdentityFromContext(r.Context())
	var since int64
	resume := r.URL.Query().Get("since") != ""
	if resume {
		var err error
		if since, err = switchboard.ParseCursor(r.URL.Query().Get("since")); err != nil {
			Error(w, r, s.logger, err)
			return
		}
	}
	conn, err := websocket.Accept(leanHijacker{w}, r, &websocket.AcceptOptions{CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		return // Accept has answered the request
	}
	// The request's context ends when this handler returns; the stream keeps
	// its values (the identity) and ends on its own.
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	go func() {
		defer cancel()
		s.stream(ctx, conn, id, resume, since)
	}()
}

// stream runs the event stream of one upgraded connection until it ends.
func (s *Server) stream(ctx context.Context, conn *websocket.Conn, id switchboard.Identity, resume bool, since int64) {
	defer conn.CloseNow()
	conn.SetReadLimit(maxClientFrame)

	release := s.chat.Presence().Connect(ctx)
	defer release()
	sub := s.chat.Bus().Subscribe(id.Domain, id.Extension)
	defer func() { sub.Close() }()

	store := s.chat.Store()
	last, err := store.LastCursor(ctx)
	if err != nil {
		s.logger.Error("event stream failed", "err", err)
		conn.Close(websocket.StatusInternalError, "internal error")
		return
	}
	cursor, resync := last, false
	var backlog []*switchboard.Event
	if resume {
		backlog, err = store.EventsSince(ctx, since, backlogPage)
		if errors.Is(err, switchboard.ErrCursorExpired) {
			resync = true
		} else if err != nil {
			s.logger.Error("event stream failed", "err", err)
			conn.Close(websocket.StatusInternalError, "internal error")
			return
		} else {
			cursor = since
		}
	}
	st := &stream{conn: conn, ctx: ctx}
	ready, _ := json.Marshal(map[string]any{"presence": s.chat.PresenceList(ctx)})
	if !st.write(frame(switchboard.EventReady, cursor, ready)) {
		return
	}
	if resync && !st.write(frame(switchboard.EventResync, cursor, nil)) {
		return
	}
	if !st.catchUp(store, &cursor, backlog) {
		return
	}
	backlog = nil

	readErr := make(chan error, 1)
	go s.readFrames(ctx, conn, readErr)
	ping := time.NewTicker(pingInterval)
	defer ping.Stop()
	for {
		select {
		case e, ok := <-sub.C():
			if !ok {
				if !sub.Overflowed() {
					return
				}
				// Too slow for the live feed: take a new subscription, then
				// read what was missed from the store.
				sub = s.chat.Bus().Subscribe(id.Domain, id.Extension)
				if !st.catchUp(store, &cursor, nil) {
					return
				}
				continue
			}
			if e.Cursor > 0 {
				if e.Cursor <= cursor {
					continue
				}
				cursor = e.Cursor
			}
			if !st.write(e.Frame()) {
				return
			}
		case <-ping.C:
			pctx, cancel := context.WithTimeout(ctx, writeTimeout)
			err := conn.Ping(pctx)
			cancel()
			if err != nil {
				return
			}
		case <-readErr:
			return
		case <-s.shutdown:
			conn.Close(websocket.StatusGoingAway, "server shutting down")
			return
		case <-ctx.Done():
			return
		}
	}
}

// Buffer sizes of an upgraded connection: client frames are small (typing),
// and a larger server frame is written straight through.
const (
	wsReadBuffer  = 512
	wsWriteBuffer = 1024
)

// leanHijacker hands the WebSocket library a connection with buffers of its
// own, sized for the stream, instead of net/http's 4 KB pair, which stays
// referenced by net/http's connection state for as long as the handler runs
// and is dropped when it returns.
type leanHijacker struct{ http.ResponseWriter }

func (h leanHijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	var rc net.Conn = c
	// Bytes the client sent after its request, already buffered, come first.
	if n := brw.Reader.Buffered(); n > 0 {
		b, _ := brw.Reader.Peek(n)
		rc = &prefixConn{Conn: c, r: io.MultiReader(bytes.NewReader(bytes.Clone(b)), c)}
	}
	return rc, bufio.NewReadWriter(bufio.NewReaderSize(rc, wsReadBuffer), bufio.NewWriterSize(c, wsWriteBuffer)), nil
}

// prefixConn reads from r (buffered bytes, then the connection).
type prefixConn struct {
	net.Conn
	r io.Reader
}

func (c *prefixConn) Read(b []byte) (int, error) { return c.r.Read(b) }

// stream writes frames to one WebSocket client.
type stream struct {
	conn *websocket.Conn
	ctx  context.Context
}

func (st *stream) write(b []byte) bool {
	ctx, cancel := context.WithTimeout(st.ctx, writeTimeout)
	defer cancel()
	return st.conn.Write(ctx, websocket.MessageText, b) == nil
}

// catchUp sends the stored events after *cursor, starting with backlog if
// the first page was read already, and advances *cursor.
func (st *stream) catchUp(store switchboard.ChatStore, cursor *int64, backlog []*switchboard.Event) bool {
	var err error
	if backlog == nil {
		if backlog, err = store.EventsSince(st.ctx, *cursor, backlogPage); err != nil {
			return false
		}
	}
	for {
		for _, e := range backlog {
			if !st.write(e.Frame()) {
				return false
			}
			*cursor = e.Cursor
		}
		if len(backlog) < backlogPage {
			return true
		}
		if backlog, err = store.EventsSince(st.ctx, *cursor, backlogPage); err != nil {
			return false
		}
	}
}

func frame(typ string, cursor int64, data json.RawMessage) []byte {
	if data == nil {
		data = json.RawMessage("{}")
	}
	b, _ := json.Marshal(struct {
		Type   string          `json:"type"`
		Cursor string          `json:"cursor"`
		Data   json.RawMessage `json:"data"`
	}{typ, switchboard.FormatCursor(cursor), data})
	return b
}

type clientFrame struct {
	Type string `json:"type"`
	Data struct {
		ConversationID string `json:"conversation_id"`
	} `json:"data"`
}

// readFrames handles frames from the client until the connection ends.
// Bad frames get an error frame and change nothing.
func (s *Server) readFrames(ctx context.Context, conn *websocket.Conn, done chan<- error) {
	for {
		_, b, err := conn.Read(ctx)
		if err != nil {
			done <- err
			return
		}
		var f clientFrame
		if err := json.Unmarshal(b, &f); err != nil {
			s.sendError(ctx, conn, switchboard.Errorf(switchboard.EINVALID, "Frame is not valid JSON."))
			continue
		}
		switch f.Type {
		case switchboard.EventTyping:
			if err := s.chat.Typing(ctx, f.Data.ConversationID); err != nil {
				s.sendError(ctx, conn, err)
			}
		default:
			s.sendError(ctx, conn, switchboard.Errorf(switchboard.EINVALID, "Unknown frame type %q.", f.Type))
		}
	}
}

func (s *Server) sendError(ctx context.Context, conn *websocket.Conn, err error) {
	code := switchboard.ErrorCode(err)
	if code == switchboard.EINTERNAL {
		s.logger.Error("event stream frame failed", "err", err)
	}
	data, _ := json.Marshal(errorDetail{Code: code, Message: switchboard.ErrorMessage(err)})
	wctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	conn.Write(wctx, websocket.MessageText, frame("error", 0, data))
}
