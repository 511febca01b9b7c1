package http

import (
	"context"
	"net"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/switchboard-chat/switchboard"
)

const (
	// pingInterval is how often a stream is checked for a dead peer.
	pingInterval = 30 * time.Second
	// writeTimeout bounds one frame write, and the wait for a ping's pong; a
	// client that cannot take a frame in that time is disconnected and
	// resumes later with its cursor.
	writeTimeout = 10 * time.Second
	// streamBuffer is how many events a stream queues for a client before
	// it is considered too slow for the live feed: it then forgets the queue
	// and reads the durable events from the store instead, from its cursor.
	// A live client writes each event as it comes, so it is rarely more
	// than a few behind.
	streamBuffer = 64
)

// stream is the event stream of one upgraded connection.
//
// While idle it costs one goroutine, blocked reading the client's frames
// (read), and no buffers beyond the connection's: the bus hands events to
// deliver, which queues them and starts a writer goroutine (drain) only if
// none is running; the writer ends when the queue is empty. Pings come from
// a timer. Exactly one goroutine at a time holds the writer's role (the
// set-up first, then the drains), so frames go out in order, and it alone
// touches cursor. The reader ends the stream (end) when the connection
// fails or closes; the others only close the connection.
type stream struct {
	srv  *Server
	conn *websocket.Conn
	raw  net.Conn // under conn: write deadlines are set here
	id   switchboard.Identity

	// Set by setUp, called by end.
	release     func() // presence
	unsubscribe func()

	cursor int64 // the last durable event written; the writer's

	wmu sync.Mutex // one frame write at a time, with its deadline

	mu         sync.Mutex
	queue      []*switchboard.Event // events for the writer; nil while idle
	overflowed bool                 // the queue was dropped: catch up from the store
	writing    bool                 // a goroutine holds the writer's role
	ended      bool
	ping       *time.Timer

	prev, next *stream // in srv.streams
}

func newStream(srv *Server, conn *websocket.Conn, raw net.Conn, id switchboard.Identity) *stream {
	// The set-up holds the writer's role until run hands it on.
	return &stream{srv: srv, conn: conn, raw: raw, id: id, writing: true}
}

// context returns a context with the stream's identity for the use cases
// and the store. It is never cancelled: a call in progress when the client
// goes away finishes, and its frame write fails.
func (st *stream) context() context.Context {
	return switchboard.NewContextWithIdentity(context.Background(), st.id)
}

// run follows a stream that is set up: it registers it for Shutdown, starts
// its reader and its pings, and writes what was queued meanwhile.
func (st *stream) run() {
	if !st.srv.streams.add(st) {
		st.conn.Close(websocket.StatusGoingAway, "server shutting down")
		st.end()
		return
	}
	go st.read()
	st.mu.Lock()
	if !st.ended {
		st.ping = time.AfterFunc(st.srv.streams.pingInterval(), st.pingPeer)
	}
	st.mu.Unlock()
	st.drain()
}

// read handles the client's frames until the connection ends, then ends
// the stream. Reading also answers the client's pings, takes the pongs of
// ours, and completes a closing handshake.
func (st *stream) read() {
	defer st.end()
	for {
		// A context without a deadline: the connection's closing ends the
		// read, and nothing is allocated per read to watch a context.
		_, b, err := st.conn.Read(context.Background())
		if err != nil {
			return
		}
		st.handle(b)
	}
}

// end releases what the stream holds. Only the reader calls it, once, after
// the connection failed or closed, or the set-up if it failed.
func (st *stream) end() {
	st.mu.Lock()
	st.ended = true
	st.queue = nil
	if st.ping != nil {
		st.ping.Stop()
	}
	st.mu.Unlock()
	st.conn.CloseNow()
	if st.unsubscribe != nil {
		st.unsubscribe()
	}
	if st.release != nil {
		st.release()
	}
	st.srv.streams.remove(st)
}

// deliver queues an event for the client; the bus calls it as events are
// published, so it never blocks.
func (st *stream) deliver(e *switchboard.Event) {
	st.mu.Lock()
	if st.ended {
		st.mu.Unlock()
		return
	}
	if len(st.queue) == streamBuffer {
		// Too far behind for the live feed. What the queue held is
		// forgotten; the writer reads the durable events from the store,
		// after the events it has written, and then goes on with the
		// events queued from now on (duplicates are dropped by cursor).
		clear(st.queue)
		st.queue, st.overflowed = st.queue[:0], true
	}
	st.queue = append(st.queue, e)
	st.wakeLocked()
}

// overflow tells the stream that its subscription dropped events because
// the stream fell behind (a bus without SubscribeFunc); it is called after
// the replacement subscription is in place.
func (st *stream) overflow() {
	st.mu.Lock()
	if st.ended {
		st.mu.Unlock()
		return
	}
	clear(st.queue)
	st.queue, st.overflowed = st.queue[:0], true
	st.wakeLocked()
}

// wakeLocked starts a writer unless one is running, and unlocks st.mu.
func (st *stream) wakeLocked() {
	start := !st.writing
	st.writing = true
	st.mu.Unlock()
	if start {
		go st.drain()
	}
}

// drain writes the queue until it is empty, then gives up the writer's
// role. The caller holds the role. If a write fails, it closes the
// connection and keeps the role, so no other writer starts; the reader then
// ends the stream.
func (st *stream) drain() {
	var batch []*switchboard.Event
	for {
		st.mu.Lock()
		if st.ended || len(st.queue) == 0 && !st.overflowed {
			st.writing = false
			st.queue = nil // an idle stream holds no queue
			st.mu.Unlock()
			return
		}
		// The queue is taken whole; the drained batch's array becomes the
		// next queue, so a busy stream allocates nothing per event.
		batch, st.queue = st.queue, batch[:0]
		catchUp := st.overflowed
		st.overflowed = false
		st.mu.Unlock()

		if catchUp && !st.catchUp(st.context(), nil) {
			st.conn.CloseNow()
			return
		}
		for i, e := range batch {
			batch[i] = nil
			if e.Cursor > 0 {
				if e.Cursor <= st.cursor {
					continue
				}
				st.cursor = e.Cursor
			}
			if !st.write(e.Frame()) {
				st.conn.CloseNow()
				return
			}
		}
	}
}

// write writes one frame within the write timeout and reports whether it
// was written. The deadline is set on the connection rather than through
// a context, which would cost a timer and a context per frame, and would
// stay referenced by the connection until the next write.
func (st *stream) write(b []byte) bool {
	st.wmu.Lock()
	defer st.wmu.Unlock()
	st.raw.SetWriteDeadline(time.Now().Add(st.srv.streams.writeTimeout()))
	err := st.conn.Write(context.Background(), websocket.MessageText, b)
	// Pongs and pings written later carry their own timeouts.
	st.raw.SetWriteDeadline(time.Time{})
	return err == nil
}

// pingPeer pings the client from the stream's timer, and closes the
// connection if the pong does not come within the write timeout (the
// reader then ends the stream).
func (st *stream) pingPeer() {
	ctx, cancel := context.WithTimeout(context.Background(), st.srv.streams.writeTimeout())
	err := st.conn.Ping(ctx)
	cancel()
	if err != nil {
		st.conn.CloseNow()
		return
	}
	st.mu.Lock()
	if !st.ended {
		st.ping.Reset(st.srv.streams.pingInterval())
	}
	st.mu.Unlock()
}

// funcBus is an event bus that hands events to a function as they are
// published (inmem.Bus does), so that a stream needs no goroutine waiting
// for them.
type funcBus interface {
	SubscribeFunc(domain, ext string, deliver func(*switchboard.Event)) (cancel func())
}

// subscribe has deliver called with the events of id's extension until
// cancel is called. On a bus with channel subscriptions only, a goroutine
// forwards them; when the bus drops the subscription for falling behind,
// it takes a new one and then calls overflow.
func subscribe(bus switchboard.EventBus, id switchboard.Identity, deliver func(*switchboard.Event), overflow func()) (cancel func()) {
	if fb, ok := bus.(funcBus); ok {
		return fb.SubscribeFunc(id.Domain, id.Extension, deliver)
	}
	var mu sync.Mutex
	sub, closed := bus.Subscribe(id.Domain, id.Extension), false
	go func() {
		for feed := sub; ; {
			for e := range feed.C() {
				deliver(e)
			}
			mu.Lock()
			if closed || !feed.Overflowed() {
				mu.Unlock()
				return
			}
			feed = bus.Subscribe(id.Domain, id.Extension)
			sub = feed
			mu.Unlock()
			overflow()
		}
	}()
	return func() {
		mu.Lock()
		closed = true
		feed := sub
		mu.Unlock()
		feed.Close()
	}
}

// streamSet holds a server's live streams, so that Shutdown can close them
// (an idle stream has no goroutine that could watch for it), and their
// timing.
type streamSet struct {
	// ping and write, when set, replace pingInterval and writeTimeout
	// (tests).
	ping, write time.Duration

	mu     sync.Mutex
	head   *stream
	closed bool
}

func (ss *streamSet) pingInterval() time.Duration {
	if ss.ping > 0 {
		return ss.ping
	}
	return pingInterval
}

func (ss *streamSet) writeTimeout() time.Duration {
	if ss.write > 0 {
		return ss.write
	}
	return writeTimeout
}

// add registers st, unless the server is shutting down.
func (ss *streamSet) add(st *stream) bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.closed {
		return false
	}
	st.next = ss.head
	if ss.head != nil {
		ss.head.prev = st
	}
	ss.head = st
	return true
}

// remove unregisters st if it was registered.
func (ss *streamSet) remove(st *stream) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	switch {
	case st.prev != nil:
		st.prev.next = st.next
	case ss.head == st:
		ss.head = st.next
	default:
		return
	}
	if st.next != nil {
		st.next.prev = st.prev
	}
	st.prev, st.next = nil, nil
}

// len returns the number of registered streams.
func (ss *streamSet) len() int {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	n := 0
	for st := ss.head; st != nil; st = st.next {
		n++
	}
	return n
}

// shutdown closes every stream with StatusGoingAway, without waiting for
// the closing handshakes, and refuses new ones.
func (ss *streamSet) shutdown() {
	ss.mu.Lock()
	ss.closed = true
	var all []*stream
	for st := ss.head; st != nil; st = st.next {
		all = append(all, st)
	}
	ss.mu.Unlock()
	for _, st := range all {
		go st.conn.Close(websocket.StatusGoingAway, "server shutting down")
	}
}
