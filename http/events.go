package http

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strconv"
	"sync"

	"github.com/coder/websocket"
	"github.com/switchboard-chat/switchboard"
)

const (
	// backlogPage is how many missed events are read from the store at once.
	backlogPage = 500
	// maxClientFrame bounds a frame from the client.
	maxClientFrame = 16 << 10
	// maxSetUps bounds the streams being upgraded and set up at once. A
	// storm of reconnects (every client of a node coming back after a
	// network blip) otherwise makes thousands of set-ups runnable at once,
	// and the scheduler, which has no priorities, runs the live traffic
	// (sends, the store's writer) behind all of them. The others wait,
	// parked, in the order they came; a set-up takes a fraction of a
	// millisecond, so a few at a time keep the CPU busy.
	maxSetUps = 8
)

// events serves the real-time stream (SPEC §3 "Real-time events").
//
// Ordering: the subscription to the bus is taken before the store is read,
// and the store publishes each commit's events in commit order after the
// commit. So every durable event after the client's cursor is either in the
// store read, or arrives live afterwards, or both; duplicates are dropped by
// cursor. Nothing is missed, however many senders commit concurrently.
//
// Memory: the handler returns once the connection is upgraded, so an idle
// connection keeps none of net/http's per-request state (its 4 KB read and
// write buffers, the request, the response); the stream has small buffers
// of its own (see leanHijacker), and while idle one goroutine (see stream).
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
	// Wait for a set-up slot (see maxSetUps); a client that gives up
	// meanwhile is simply gone.
	select {
	case s.setUps <- struct{}{}:
	case <-r.Context().Done():
		return
	}
	h := &leanHijacker{ResponseWriter: w}
	conn, err := websocket.Accept(h, r, &websocket.AcceptOptions{CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		<-s.setUps
		return // Accept has answered the request
	}
	st := newStream(s, conn, h.raw, id)
	go func() {
		free := sync.OnceFunc(func() { <-s.setUps })
		ok := st.setUp(resume, since, free)
		free()
		if !ok {
			st.end()
			return
		}
		st.run()
	}()
}

// setUp registers the client (presence, subscription), then sends the ready
// frame, a resync if the client's cursor is too old, and the durable events
// after its cursor; it reports whether the stream may go on (if not, it has
// closed the connection when there was anything to tell the client).
//
// It is the costly part of a connection: store reads, the domain's presence
// list, the backlog. Events published meanwhile are queued and written
// after it (it holds the writer's role, see stream). It calls readsDone
// once its first reads are done, before it writes anything: how fast the client
// takes the frames is no reason to keep others from setting up.
func (st *stream) setUp(resume bool, since int64, readsDone func()) bool {
	ctx := st.context()
	chat := st.srv.chat
	st.conn.SetReadLimit(maxClientFrame)
	st.release = chat.Presence().Connect(ctx)
	st.unsubscribe = subscribe(chat.Bus(), st.id, st.deliver, st.overflow)

	store := chat.Store()
	last, err := store.LastCursor(ctx)
	if err != nil {
		st.srv.logger.Error("event stream failed", "err", err)
		readsDone()
		st.conn.Close(websocket.StatusInternalError, "internal error")
		return false
	}
	cursor, resync := last, false
	var backlog []*switchboard.Event
	if resume {
		backlog, err = store.EventsSince(ctx, since, backlogPage)
		if errors.Is(err, switchboard.ErrCursorExpired) {
			resync = true
		} else if err != nil {
			st.srv.logger.Error("event stream failed", "err", err)
			readsDone()
			st.conn.Close(websocket.StatusInternalError, "internal error")
			return false
		} else {
			cursor = since
		}
	}
	st.cursor = cursor
	ready := st.srv.readyData(ctx)
	readsDone()
	if !st.write(frame(switchboard.EventReady, cursor, ready)) {
		return false
	}
	if resync && !st.write(frame(switchboard.EventResync, cursor, nil)) {
		return false
	}
	return st.catchUp(ctx, backlog)
}

// catchUp sends the stored events after st.cursor, starting with backlog if
// the first page was read already, and advances st.cursor. Only the writer
// calls it.
func (st *stream) catchUp(ctx context.Context, backlog []*switchboard.Event) bool {
	store := st.srv.chat.Store()
	var err error
	if backlog == nil {
		if backlog, err = store.EventsSince(ctx, st.cursor, backlogPage); err != nil {
			return false
		}
	}
	for {
		for _, e := range backlog {
			if !st.write(e.Frame()) {
				return false
			}
			st.cursor = e.Cursor
		}
		if len(backlog) < backlogPage {
			return true
		}
		if backlog, err = store.EventsSince(ctx, st.cursor, backlogPage); err != nil {
			return false
		}
	}
}

// frame encodes a frame of the server's own: typ and the cursor need no
// escaping, and data is JSON already (an object; nil for {}), so the frame
// is put together as it is rather than re-validated by encoding/json, which
// for the ready frame's presence list cost more than encoding the list.
func frame(typ string, cursor int64, data json.RawMessage) []byte {
	if data == nil {
		data = json.RawMessage("{}")
	}
	b := make([]byte, 0, len(`{"type":"","cursor":"","data":}`)+len(typ)+20+len(data))
	b = append(b, `{"type":"`...)
	b = append(b, typ...)
	b = append(b, `","cursor":"`...)
	b = strconv.AppendInt(b, cursor, 10)
	b = append(b, `","data":`...)
	b = append(b, data...)
	return append(b, '}')
}

type clientFrame struct {
	Type string `json:"type"`
	Data struct {
		ConversationID string `json:"conversation_id"`
	} `json:"data"`
}

// handle acts on one frame from the client. A bad frame gets an error
// frame and changes nothing.
func (st *stream) handle(b []byte) {
	var f clientFrame
	if err := json.Unmarshal(b, &f); err != nil {
		st.sendError(switchboard.Errorf(switchboard.EINVALID, "Frame is not valid JSON."))
		return
	}
	switch f.Type {
	case switchboard.EventTyping:
		if err := st.srv.chat.Typing(st.context(), f.Data.ConversationID); err != nil {
			st.sendError(err)
		}
	default:
		st.sendError(switchboard.Errorf(switchboard.EINVALID, "Unknown frame type %q.", f.Type))
	}
}

func (st *stream) sendError(err error) {
	code := switchboard.ErrorCode(err)
	if code == switchboard.EINTERNAL {
		st.srv.logger.Error("event stream frame failed", "err", err)
	}
	data, _ := json.Marshal(errorDetail{Code: code, Message: switchboard.ErrorMessage(err)})
	if !st.write(frame("error", 0, data)) {
		st.conn.CloseNow()
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
// and is dropped when it returns. It keeps the hijacked connection in raw,
// on which the stream sets its write deadlines.
//
// It also holds back the 101 response that upgrades the connection: net/http
// would write it alone, at the hijack, and the ready frame would follow in
// a write of its own. Instead the response is put in the stream's write
// buffer, and goes out with the first frame (the ready frame, or the close
// frame of a set-up that failed): one system call less per connection,
// which a storm of reconnects makes ten thousand of.
type leanHijacker struct {
	http.ResponseWriter
	raw     net.Conn
	upgrade bool // WriteHeader(101) was held back
}

// WriteHeader holds back 101 Switching Protocols (see leanHijacker).
func (h *leanHijacker) WriteHeader(code int) {
	if code == http.StatusSwitchingProtocols && h.raw == nil {
		h.upgrade = true
		return
	}
	h.ResponseWriter.WriteHeader(code)
}

func (h *leanHijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	h.raw = c
	var rc net.Conn = c
	// Bytes the client sent after its request, already buffered, come first.
	if n := brw.Reader.Buffered(); n > 0 {
		b, _ := brw.Reader.Peek(n)
		rc = &prefixConn{Conn: c, prefix: bytes.Clone(b)}
	}
	bw := bufio.NewWriterSize(c, wsWriteBuffer)
	if h.upgrade {
		// The response net/http would have written: the status line and
		// the headers set for it (the security headers, and the
		// upgrade's own). A 101 needs no Date (RFC 9110, 6.6.1).
		bw.WriteString("HTTP/1.1 101 Switching Protocols\r\n")
		h.Header().Write(bw)
		bw.WriteString("\r\n")
	}
	return rc, bufio.NewReadWriter(bufio.NewReaderSize(rc, wsReadBuffer), bw), nil
}

// prefixConn reads prefix, then the connection.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (c *prefixConn) Read(b []byte) (int, error) {
	if len(c.prefix) == 0 {
		return c.Conn.Read(b)
	}
	n := copy(b, c.prefix)
	c.prefix = c.prefix[n:]
	if len(c.prefix) == 0 {
		c.prefix = nil
	}
	return n, nil
}
