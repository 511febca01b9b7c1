package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// target is a server under load: Switchboard or the relay.
type target struct {
	name string // "switchboard" or "relay"
	addr string
	proc *proc // nil when driving a server the benchmark did not start
	src  *sources
	// conv returns the conversation of kind ("pair" or "group") that user u
	// sends to, token the bearer token of u.
	conv  func(kind string, u int) string
	token func(u int) string
	// members returns the users of u's conversation of kind.
	// users is the size of the working set when it is not the seeded one.
	users int
	// debugAddr serves the server's profiler, when the benchmark started it.
	debugAddr string

	mu    sync.Mutex
	conns map[int][]*client // by user
}

// client is one connected WebSocket of a user.
type client struct {
	user   int
	ws     *wsConn
	cursor atomic.Int64
	ready  chan struct{}
	once   sync.Once
}

// steps maps a step id (in client ids) to its tracker.
var steps struct {
	mu   sync.RWMutex
	byID map[int]*tracker
	next int
}

// tracker follows the sends of one step: when each was scheduled, which
// user sent it, and when each recipient got it.
type tracker struct {
	id       int
	start    time.Time
	interval time.Duration // between two scheduled sends
	sender   []int32
	skipSelf bool // a sender's own copy is not a delivery
	hist     *hist
	got      atomic.Int64
	// worst is the largest latency (µs) of the sends scheduled in each
	// windowOf interval: where in the step the slow ones were.
	worst []atomic.Int64
}

const window = 500 * time.Millisecond

// record adds the latency d of send k.
func (t *tracker) record(k int, d time.Duration) {
	t.hist.add(d)
	t.got.Add(1)
	w := int(time.Duration(k) * t.interval / window)
	if w < len(t.worst) {
		us := d.Microseconds()
		for {
			old := t.worst[w].Load()
			if us <= old || t.worst[w].CompareAndSwap(old, us) {
				break
			}
		}
	}
}

// worstByWindow returns the worst latency of each window in ms.
func (t *tracker) worstByWindow() []float64 {
	out := make([]float64, len(t.worst))
	for i := range t.worst {
		out[i] = float64(t.worst[i].Load()/100) / 10
	}
	return out
}

func newTracker(n int, rate float64, skipSelf bool) *tracker {
	steps.mu.Lock()
	defer steps.mu.Unlock()
	if steps.byID == nil {
		steps.byID = map[int]*tracker{}
	}
	if steps.next == 0 {
		// Client ids must differ from those of earlier runs on the same
		// database, or the server answers them as retries.
		steps.next = int(time.Now().Unix()%100000) * 1000
	}
	steps.next++
	t := &tracker{id: steps.next, interval: time.Duration(float64(time.Second) / rate), sender: make([]int32, n), skipSelf: skipSelf, hist: newHist()}
	t.worst = make([]atomic.Int64, int(time.Duration(n)*t.interval/window)+1)
	steps.byID[t.id] = t
	return t
}

func (t *tracker) scheduled(k int) time.Time { return t.start.Add(time.Duration(k) * t.interval) }

func trackerOf(id int) *tracker {
	steps.mu.RLock()
	defer steps.mu.RUnlock()
	return steps.byID[id]
}

var (
	prefixMessage  = []byte(`{"type":"message.created"`)
	prefixPresence = []byte(`{"type":"presence.changed"`)
	prefixReady    = []byte(`{"type":"ready"`)
	keyClientID    = []byte(`"client_id":"s`)
	keyStatus      = []byte(`"message":"p`)
	keyCursor      = []byte(`"cursor":"`)
)

// parseMark finds key in b followed by STEP-K" and returns them.
func parseMark(b, key []byte) (step, k int, ok bool) {
	i := bytes.Index(b, key)
	if i < 0 {
		return 0, 0, false
	}
	rest := b[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return 0, 0, false
	}
	a, c, found := bytes.Cut(rest[:j], []byte("-"))
	if !found {
		return 0, 0, false
	}
	s, err1 := strconv.Atoi(string(a))
	n, err2 := strconv.Atoi(string(c))
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	return s, n, true
}

// onFrame handles a frame that reached client c at time at.
func (c *client) onFrame(b []byte, at time.Time) {
	if i := bytes.Index(b, keyCursor); i >= 0 && i < 64 {
		rest := b[i+len(keyCursor):]
		if j := bytes.IndexByte(rest, '"'); j > 0 {
			if n, err := strconv.ParseInt(string(rest[:j]), 10, 64); err == nil && n > c.cursor.Load() {
				c.cursor.Store(n)
			}
		}
	}
	var key []byte
	switch {
	case bytes.HasPrefix(b, prefixMessage):
		key = keyClientID
	case bytes.HasPrefix(b, prefixPresence):
		key = keyStatus
	case bytes.HasPrefix(b, prefixReady):
		c.once.Do(func() { close(c.ready) })
		return
	default:
		return
	}
	step, k, ok := parseMark(b, key)
	if !ok {
		return
	}
	t := trackerOf(step)
	if t == nil || k >= len(t.sender) || (t.skipSelf && int(t.sender[k]) == c.user) {
		return
	}
	t.record(k, at.Sub(t.scheduled(k)))
}

// connect opens a WebSocket for each of users (since: resume from the
// client's cursor) with up to par at once, and waits for every ready frame.
func (tg *target) connect(ctx context.Context, users []int, par int) ([]*client, error) {
	out := make([]*client, len(users))
	_, firstErr := inParallel(len(users), par, func(i int) error {
		c := &client{user: users[i], ready: make(chan struct{})}
		if err := tg.dial(ctx, c, ""); err != nil {
			return err
		}
		out[i] = c
		return nil
	})
	if firstErr != nil {
		return out, firstErr
	}
	tg.mu.Lock()
	if tg.conns == nil {
		tg.conns = map[int][]*client{}
	}
	for _, c := range out {
		tg.conns[c.user] = append(tg.conns[c.user], c)
	}
	tg.mu.Unlock()
	return out, nil
}

// inParallel runs fn(0) .. fn(n-1), up to par at once, and returns how
// many failed and the first error.
func inParallel(n, par int, fn func(i int) error) (failed int, firstErr error) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, par)
	for i := range n {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := fn(i); err != nil {
				mu.Lock()
				failed++
				firstErr = cmpErr(firstErr, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return failed, firstErr
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// dial connects c (with since, when not empty) and waits for its ready
// frame.
func (tg *target) dial(ctx context.Context, c *client, since string) error {
	path := "/api/v1/events"
	if since != "" {
		path += "?since=" + since
	}
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	ws, err := dialWS(dctx, tg.src, tg.addr, path, tg.token(c.user), c.onFrame)
	if err != nil {
		return err
	}
	c.ws = ws
	select {
	case <-c.ready:
		return nil
	case <-ws.done:
		return fmt.Errorf("connection closed before ready: %v", ws.err)
	case <-dctx.Done():
		ws.close()
		return errors.New("no ready frame within 30s")
	}
}

// revive redials, each from its cursor, the target's clients whose
// connections ended, and returns how many it redialled: the relay drops a
// client that falls 256 frames behind, and a server one that takes no
// frame within its write timeout, so that after an overloaded step the
// next would otherwise run with fewer recipients than it expects, and fail
// at any rate. The clients of a step running meanwhile must not be ended
// on purpose (the reconnect storm's are not revived).
func (tg *target) revive(ctx context.Context) (int, error) {
	tg.mu.Lock()
	var dead []*client
	for _, list := range tg.conns {
		for _, c := range list {
			if c.ws == nil {
				continue
			}
			select {
			case <-c.ws.done:
				dead = append(dead, c)
			default:
			}
		}
	}
	tg.mu.Unlock()
	_, firstErr := inParallel(len(dead), 256, func(i int) error { return tg.redial(ctx, dead[i]) })
	return len(dead), firstErr
}

// redial connects c again, resuming from its cursor, once its connection
// has ended (its reader has returned: nothing else touches ready and once).
func (tg *target) redial(ctx context.Context, c *client) error {
	c.ready = make(chan struct{})
	c.once = sync.Once{}
	since := ""
	if n := c.cursor.Load(); n > 0 {
		since = strconv.FormatInt(n, 10)
	}
	return tg.dial(ctx, c, since)
}

// disconnect closes clients.
func (tg *target) disconnect(clients []*client) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 256)
	for _, c := range clients {
		if c == nil || c.ws == nil {
			continue
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			c.ws.close()
		}()
	}
	wg.Wait()
	tg.mu.Lock()
	for _, c := range clients {
		if c == nil {
			continue
		}
		list := tg.conns[c.user]
		for i, x := range list {
			if x == c {
				tg.conns[c.user] = append(list[:i], list[i+1:]...)
				break
			}
		}
	}
	tg.mu.Unlock()
}

// openLoop runs n jobs scheduled every interval from t.start, on workers
// goroutines, each with its own keep-alive HTTP connection. Jobs are
// scheduled by the clock, not by the previous job's end (no coordinated
// omission): a late job is still timed from its scheduled time. A job more
// than maxLag behind its schedule is skipped and counted as lost.
type loopResult struct {
	sent, ok, errors, skipped int64
	firstErr                  string
	ack                       *hist
}

const maxLag = 5 * time.Second

func openLoop(ctx context.Context, tg *target, t *tracker, n, workers int, job func(ctx context.Context, h *httpConn, k int) (response, error)) loopResult {
	var res loopResult
	res.ack = newHist()
	queue := make(chan int, n)
	var sent, ok, errs, skipped atomic.Int64
	var errOnce sync.Once
	var wg, dialed sync.WaitGroup
	for range workers {
		wg.Add(1)
		dialed.Add(1)
		go func() {
			defer wg.Done()
			// Connect before the clock starts: the step measures sends,
			// not a storm of new connections.
			h := &httpConn{addr: tg.addr, src: tg.src}
			if c, err := tg.src.dial(ctx, tg.addr); err == nil {
				h.c, h.br = c, bufio.NewReaderSize(c, 16<<10)
			}
			dialed.Done()
			defer h.close()
			for k := range queue {
				at := t.scheduled(k)
				if time.Since(at) > maxLag || ctx.Err() != nil {
					skipped.Add(1)
					continue
				}
				sent.Add(1)
				rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				r, err := job(rctx, h, k)
				cancel()
				if err == nil && r.status/100 != 2 {
					err = fmt.Errorf("status %d: %s", r.status, bytes.TrimSpace(r.body))
				}
				if err != nil {
					errs.Add(1)
					errOnce.Do(func() { res.firstErr = err.Error() })
					continue
				}
				ok.Add(1)
				res.ack.add(time.Since(at))
			}
		}()
	}
	dialed.Wait()
	t.start = time.Now().Add(20 * time.Millisecond)
	for k := 0; k < n && ctx.Err() == nil; {
		due := int(time.Since(t.start)/t.interval) + 1
		for ; k < min(due, n); k++ {
			queue <- k
		}
		time.Sleep(100 * time.Microsecond)
	}
	close(queue)
	wg.Wait()
	res.sent, res.ok, res.errors, res.skipped = sent.Load(), ok.Load(), errs.Load(), skipped.Load()
	return res
}

// drain waits until t has want deliveries or timeout passes.
func drain(t *tracker, want int64, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for t.got.Load() < want && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
}
