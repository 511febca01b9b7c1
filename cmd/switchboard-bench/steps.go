package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-chat/switchboard"
	"github.com/switchboard-chat/switchboard/sqlite"
)

// result is one step of the benchmark, written as one JSON line.
type result struct {
	Step              string         `json:"step"`
	Target            string         `json:"target"`
	Rate              float64        `json:"rate,omitempty"`
	Seconds           float64        `json:"seconds,omitempty"`
	Connections       int            `json:"connections,omitempty"`
	Sent              int64          `json:"sent,omitempty"`
	Acked             int64          `json:"acked,omitempty"`
	Errors            int64          `json:"errors,omitempty"`
	Skipped           int64          `json:"skipped,omitempty"`
	Expected          int64          `json:"expected,omitempty"`
	Delivered         int64          `json:"delivered,omitempty"`
	DeliveredRatio    float64        `json:"delivered_ratio,omitempty"`
	DeliveriesPerSec  float64        `json:"deliveries_per_s,omitempty"`
	Latency           *latencies     `json:"latency,omitempty"`
	Ack               *latencies     `json:"ack,omitempty"`
	ServerCPUPerMsgUS float64        `json:"server_cpu_us_per_msg,omitempty"`
	ServerCPUPercent  float64        `json:"server_cpu_pct,omitempty"`
	ServerRSSMB       float64        `json:"server_rss_mb,omitempty"`
	LoadCPUPercent    float64        `json:"load_cpu_pct,omitempty"`
	Pass              *bool          `json:"pass,omitempty"`
	Error             string         `json:"error,omitempty"`
	Extra             map[string]any `json:"extra,omitempty"`
}

func boolp(b bool) *bool { return &b }

func round(v float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(v*p) / p
}

// messageBody is the JSON of send k of tracker t.
func messageBody(t *tracker, k int) []byte {
	return fmt.Appendf(nil, `{"client_id":"s%d-%d","body":"benchmark message %d from the load generator, about as long as a line of chat"}`, t.id, k, k)
}

// sendStep sends rate messages a second for dur from senders (in turn) to
// their conversations of kind, each expected to reach fanout connected
// recipients besides the sender, and times send → delivered.
func (b *bench) sendStep(ctx context.Context, tg *target, step, kind string, senders []int, rate float64, dur time.Duration, fanout int) result {
	n := max(int(rate*dur.Seconds()), 1)
	t := newTracker(n, rate, true)
	for k := range n {
		t.sender[k] = int32(senders[k%len(senders)])
	}
	wBefore, wOK := tg.writerStats(ctx)
	before, selfBefore := tg.usage(), selfUsage()
	profiled := b.profile(ctx, tg, "profile", fmt.Sprintf("cpu-%s-%.0f.pprof", step, rate), dur)
	allocs := b.profile(ctx, tg, "allocs", fmt.Sprintf("allocs-%s-%.0f.pprof", step, rate), dur)
	began := time.Now()
	lr := openLoop(ctx, tg, t, n, b.workers, func(ctx context.Context, h *httpConn, k int) (response, error) {
		u := int(t.sender[k])
		return h.do(ctx, "POST", "/api/v1/conversations/"+tg.conv(kind, u)+"/messages", tg.token(u), messageBody(t, k))
	})
	expected := int64(n * fanout)
	drain(t, expected, 5*time.Second)
	elapsed := time.Since(began)
	after, selfAfter := tg.usage(), selfUsage()
	r := result{Step: step, Target: tg.name, Rate: rate, Seconds: round(dur.Seconds(), 2), Sent: lr.sent, Acked: lr.ok,
		Errors: lr.errors, Skipped: lr.skipped, Expected: expected, Delivered: t.got.Load(), Error: lr.firstErr}
	r.DeliveredRatio = round(float64(r.Delivered)/float64(max(expected, 1)), 5)
	r.DeliveriesPerSec = round(float64(r.Delivered)/dur.Seconds(), 0)
	l, a := t.hist.summary(), lr.ack.summary()
	r.Latency, r.Ack = &l, &a
	tg.addUsage(&r, before, after, elapsed, lr.ok)
	r.LoadCPUPercent = round(100*(selfAfter.cpu-selfBefore.cpu).Seconds()/elapsed.Seconds(), 1)
	r.Extra = map[string]any{"worst_ms_per_500ms": t.worstByWindow()}
	wAfter, wOK2 := tg.writerStats(ctx)
	addWriter(&r, wBefore, wAfter, wOK && wOK2, elapsed)
	if path := <-profiled; path != "" {
		r.Extra["cpu_profile"] = path
	}
	if path := <-allocs; path != "" {
		r.Extra["allocs_profile"] = path
	}
	return r
}

// profile, with --profile, saves a profile of the server (it must serve
// its profiler) of kind ("profile": CPU; "allocs": allocations) taken over
// a step of length dur, to name under --out; the channel gives the file's
// path once it is written, or "" if none was taken.
func (b *bench) profile(ctx context.Context, tg *target, kind, name string, dur time.Duration) <-chan string {
	done := make(chan string, 1)
	secs := int(dur.Seconds()) - 1
	if !b.cfg.Profile || tg.debugAddr == "" || secs < 1 {
		done <- ""
		return done
	}
	go func() {
		path := ""
		defer func() { done <- path }()
		h := &httpConn{addr: tg.debugAddr, src: tg.src}
		defer h.close()
		pctx, cancel := context.WithTimeout(ctx, dur+30*time.Second)
		defer cancel()
		resp, err := h.do(pctx, "GET", fmt.Sprintf("/debug/pprof/%s?seconds=%d", kind, secs), "", nil)
		if err != nil || resp.status != 200 {
			b.logf("profile %s: %v (status %d)", name, err, resp.status)
			return
		}
		p := filepath.Join(b.cfg.Out, name)
		if err := os.WriteFile(p, resp.body, 0o644); err != nil {
			b.logf("profile %s: %v", name, err)
			return
		}
		path = p
	}()
	return done
}

// writerStats reads the server's store writer counters from its profiler
// (/debug/store), if it serves one; ok is false otherwise.
func (tg *target) writerStats(ctx context.Context) (st sqlite.WriterStats, ok bool) {
	if tg.debugAddr == "" {
		return st, false
	}
	h := &httpConn{addr: tg.debugAddr, src: tg.src}
	defer h.close()
	resp, err := h.do(ctx, "GET", "/debug/store", "", nil)
	if err != nil || resp.status != 200 || json.Unmarshal(resp.body, &st) != nil {
		return st, false
	}
	return st, true
}

// addWriter records what the store's writer did during a step: the mean
// batch of its group commits, how busy it was, the mean COMMIT (writing the
// WAL's frames) and, with a syncer, its fsyncs: how many, how many writes
// each covered, their mean time, and the stalls among them (10 ms or more:
// how many, their time, and how many took 100 ms or more), and how often
// the syncer lingered.
func addWriter(r *result, before, after sqlite.WriterStats, ok bool, elapsed time.Duration) {
	commits := after.Commits - before.Commits
	if !ok || commits <= 0 {
		return
	}
	r.Extra["writer_commits_per_s"] = round(float64(commits)/elapsed.Seconds(), 0)
	r.Extra["writer_writes_per_commit"] = round(float64(after.Writes-before.Writes)/float64(commits), 2)
	r.Extra["writer_busy_percent"] = round(100*(after.Busy-before.Busy).Seconds()/elapsed.Seconds(), 1)
	r.Extra["writer_commit_us"] = round(float64((after.Commit-before.Commit).Microseconds())/float64(commits), 1)
	// The writer's time a write (its statements and its share of the
	// commit): the store's part of a message, steadier from run to run
	// than the server's CPU a message.
	writes := max(after.Writes-before.Writes, 1)
	r.Extra["writer_busy_us_per_write"] = round(float64((after.Busy-before.Busy).Microseconds())/float64(writes), 1)
	// The share of writes run in a savepoint of their own (sends need none
	// while a transaction holds only sends).
	r.Extra["writer_savepoint_percent"] = round(100*float64(after.Savepoints-before.Savepoints)/float64(writes), 1)
	// What each write cost the log (and later the checkpoint and the
	// disk): the pages it changed, whatever the host's speed.
	r.Extra["writer_log_kb_per_write"] = round(float64(after.LogBytes-before.LogBytes)/1024/float64(writes), 2)
	if syncs := after.Syncs - before.Syncs; syncs > 0 {
		r.Extra["writer_syncs_per_s"] = round(float64(syncs)/elapsed.Seconds(), 0)
		r.Extra["writer_writes_per_sync"] = round(float64(after.Writes-before.Writes)/float64(syncs), 2)
		r.Extra["writer_sync_us"] = round(float64((after.Sync-before.Sync).Microseconds())/float64(syncs), 1)
		// The disk's stalls: every write they covered waited for them.
		r.Extra["writer_stalls"] = after.Stalls - before.Stalls
		r.Extra["writer_stall_ms"] = round(float64((after.Stall-before.Stall).Microseconds())/1000, 1)
		r.Extra["writer_slow_syncs"] = after.SlowSyncs - before.SlowSyncs
		// The share of syncs after which the syncer lingered for more
		// writes (under a load of 2,000 writes a second or more).
		r.Extra["writer_linger_percent"] = round(100*float64(after.Lingers-before.Lingers)/float64(syncs), 1)
	}
}

// usage of the target's process, if the benchmark started it.
func (tg *target) usage() usage {
	if tg.proc == nil {
		return usage{}
	}
	return tg.proc.usage()
}

func (tg *target) addUsage(r *result, before, after usage, elapsed time.Duration, msgs int64) {
	if tg.proc == nil {
		return
	}
	cpu := after.cpu - before.cpu
	if msgs > 0 {
		r.ServerCPUPerMsgUS = round(float64(cpu.Microseconds())/float64(msgs), 1)
	}
	r.ServerCPUPercent = round(100*cpu.Seconds()/elapsed.Seconds(), 1)
	r.ServerRSSMB = round(float64(after.rss)/(1<<20), 1)
}

// passes is the criterion of a throughput step: p99 ≤ 50 ms with every
// message delivered.
func passes(r result) bool {
	return r.Latency != nil && r.Latency.P99 >= 0 && r.Latency.P99 <= 50 && r.DeliveredRatio >= 0.999 && r.Errors == 0 && r.Skipped == 0
}

// revive redials the clients of tg whose connections ended (see
// target.revive) before a step, and logs how many.
func (b *bench) revive(ctx context.Context, tg *target) int {
	n, err := tg.revive(ctx)
	if n > 0 {
		b.logf("%s: redialled %d clients whose connections had ended (error: %v)", tg.name, n, err)
	}
	return n
}

// ramp raises the rate by factor from start until a step fails (or limit),
// then tries once between the last pass and the failure; it returns the
// best passing step.
func (b *bench) ramp(ctx context.Context, tg *target, step, kind string, senders []int, fanout int, start, limit float64) (best result, found bool) {
	once := func(rate float64, retry bool) bool {
		revived := b.revive(ctx, tg)
		r := b.sendStep(ctx, tg, step, kind, senders, rate, b.stepDur, fanout)
		ok := passes(r)
		r.Pass = boolp(ok)
		if retry {
			r.Extra["retry"] = true
		}
		if revived > 0 {
			r.Extra["revived"] = revived
		}
		b.emit(r)
		if ok && (!found || r.Rate > best.Rate) {
			best, found = r, true
		}
		// Let a saturated server catch up before the next step.
		time.Sleep(b.settle)
		return ok
	}
	// A step that fails is run once more before the ramp stops: on a
	// shared host one stall of the disk or the CPU (a 150 ms fsync) fails
	// a step that the server otherwise passes with room. Both runs are
	// recorded; relay and Switchboard are treated alike.
	try := func(rate float64) bool {
		return once(rate, false) || (ctx.Err() == nil && once(rate, true))
	}
	// Warm up (statements prepared, caches and connections filled) at half
	// the first rate; not recorded.
	b.sendStep(ctx, tg, step+"-warmup", kind, senders, start/2, b.warmup, fanout)
	time.Sleep(b.settle)
	rate, failed := start, 0.0
	for rate <= limit && ctx.Err() == nil {
		if !try(rate) {
			failed = rate
			break
		}
		rate *= b.factor
	}
	if b.refine && failed > 0 && found && ctx.Err() == nil {
		mid := math.Round(math.Sqrt(best.Rate*failed)/100) * 100
		if mid > best.Rate && mid < failed {
			try(mid)
		}
	}
	return best, found
}

// presenceStep has user toggler change its status rate times a second and
// times the change until each of the domain's connected members sees it.
func (b *bench) presenceStep(ctx context.Context, tg *target, toggler int, watchers int, rate float64, dur time.Duration) result {
	n := max(int(rate*dur.Seconds()), 1)
	t := newTracker(n, rate, false)
	wBefore, wOK := tg.writerStats(ctx)
	before := tg.usage()
	began := time.Now()
	lr := openLoop(ctx, tg, t, n, 1, func(ctx context.Context, h *httpConn, k int) (response, error) {
		body := fmt.Appendf(nil, `{"dnd":%v,"message":"p%d-%d"}`, k%2 == 0, t.id, k)
		return h.do(ctx, "PUT", "/api/v1/me/presence", tg.token(toggler), body)
	})
	expected := int64(n * watchers)
	drain(t, expected, 5*time.Second)
	after := tg.usage()
	h := &httpConn{addr: tg.addr, src: tg.src}
	h.do(ctx, "PUT", "/api/v1/me/presence", tg.token(toggler), []byte(`{"dnd":false,"message":""}`))
	h.close()
	r := result{Step: "presence", Target: tg.name, Rate: rate, Seconds: round(dur.Seconds(), 2), Connections: watchers,
		Sent: lr.sent, Acked: lr.ok, Errors: lr.errors, Skipped: lr.skipped, Expected: expected, Delivered: t.got.Load(), Error: lr.firstErr}
	r.DeliveredRatio = round(float64(r.Delivered)/float64(max(expected, 1)), 5)
	l := t.hist.summary()
	r.Latency = &l
	tg.addUsage(&r, before, after, time.Since(began), lr.ok)
	r.Pass = boolp(l.P99 >= 0 && l.P99 <= 20 && r.DeliveredRatio >= 0.999)
	// A change is a write (the status is stored) and waits for its fsync.
	r.Extra = map[string]any{}
	wAfter, wOK2 := tg.writerStats(ctx)
	addWriter(&r, wBefore, wAfter, wOK && wOK2, time.Since(began))
	return r
}

// idleStep opens n idle connections over users and reports the server
// memory each takes: the growth of the resident set and, when the server
// serves its profiler (the benchmark starts it so), of the Go heap and
// stacks, both after a forced garbage collection so that the figures are
// the steady state rather than uncollected garbage.
func (b *bench) idleStep(ctx context.Context, tg *target, users []int, n int) result {
	r := result{Step: "idle-connections", Target: tg.name, Connections: n}
	time.Sleep(time.Second)
	tg.forceGC(ctx)
	before, memBefore := tg.usage(), tg.memStats(ctx)
	list := make([]int, n)
	for i := range list {
		list[i] = users[i%len(users)]
	}
	began := time.Now()
	clients, err := tg.connect(ctx, list, 256)
	r.Seconds = round(time.Since(began).Seconds(), 2)
	defer tg.disconnect(clients)
	if err != nil {
		r.Error = err.Error()
		r.Extra = map[string]any{}
		return r
	}
	// Idle means idle for a while: the runtime returns the memory that the
	// connects' garbage took to the OS in the background, over seconds.
	time.Sleep(2 * time.Second)
	tg.forceGC(ctx)
	rss := []float64{}
	for range b.idleSettle {
		time.Sleep(time.Second)
		rss = append(rss, round(float64(tg.usage().rss)/(1<<20), 1))
	}
	after, memAfter := tg.usage(), tg.memStats(ctx)
	per := float64(after.rss-before.rss) / float64(n)
	r.ServerRSSMB = round(float64(after.rss)/(1<<20), 1)
	r.Extra = map[string]any{"rss_before_mb": round(float64(before.rss)/(1<<20), 1), "bytes_per_connection": round(per, 0),
		"connects_per_s": round(float64(n)/time.Since(began).Seconds(), 0), "gb_per_100k": round(per*100000/(1<<30), 3),
		"rss_mb_each_second": rss}
	for k, v := range memAfter {
		r.Extra["go_"+k+"_per_connection"] = round(float64(v-memBefore[k])/float64(n), 0)
	}
	r.Pass = boolp(per <= 20*1024)
	return r
}

// forceGC has the server collect garbage, when it serves its profiler.
func (tg *target) forceGC(ctx context.Context) {
	if tg.debugAddr == "" {
		return
	}
	h := &httpConn{addr: tg.debugAddr, src: tg.src}
	defer h.close()
	h.do(ctx, "GET", "/debug/pprof/heap?gc=1", "", nil)
	time.Sleep(500 * time.Millisecond)
}

// memStats reads the server's Go memory statistics (bytes) from its
// profiler: heap in use and stacks in use.
func (tg *target) memStats(ctx context.Context) map[string]int64 {
	out := map[string]int64{}
	if tg.debugAddr == "" {
		return out
	}
	h := &httpConn{addr: tg.debugAddr, src: tg.src}
	defer h.close()
	resp, err := h.do(ctx, "GET", "/debug/pprof/heap?debug=1", "", nil)
	if err != nil {
		return out
	}
	for _, line := range strings.Split(string(resp.body), "\n") {
		// "# HeapInuse = N", "# Stack = INUSE / SYS"
		for _, k := range []string{"HeapInuse", "Stack"} {
			if v, ok := strings.CutPrefix(line, "# "+k+" = "); ok {
				n, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
				out[strings.ToLower(k)] = n
			}
		}
	}
	return out
}

// reconnectStep drops clients all at once and reconnects them with their
// cursors, while live traffic flows between other users; the live
// messages' latency is measured meanwhile.
func (b *bench) reconnectStep(ctx context.Context, tg *target, clients []*client, live []int, liveRate float64) result {
	r := result{Step: "reconnect-storm", Target: tg.name, Connections: len(clients)}
	liveDur := b.stormLive
	var lres result
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		lres = b.sendStep(ctx, tg, "reconnect-live", "pair", live, liveRate, liveDur, 1)
	}()
	time.Sleep(time.Second)
	began, before := time.Now(), tg.usage()
	var closeWG sync.WaitGroup
	for _, c := range clients {
		closeWG.Add(1)
		go func() { defer closeWG.Done(); c.ws.close() }()
	}
	closeWG.Wait()
	failed, firstErr := inParallel(len(clients), 1000, func(i int) error { return tg.redial(ctx, clients[i]) })
	storm, after := time.Since(began), tg.usage()
	wg.Wait()
	r.Seconds = round(storm.Seconds(), 3)
	r.Errors = int64(failed)
	if firstErr != nil {
		r.Error = firstErr.Error()
	}
	r.Latency, r.Ack = lres.Latency, lres.Ack
	r.Rate, r.Sent, r.Acked, r.Expected, r.Delivered, r.DeliveredRatio = lres.Rate, lres.Sent, lres.Acked, lres.Expected, lres.Delivered, lres.DeliveredRatio
	r.Extra = map[string]any{"live_errors": lres.Errors, "live_skipped": lres.Skipped, "live_worst_ms_per_500ms": lres.Extra["worst_ms_per_500ms"],
		"storm_starts_at_s": 1}
	if tg.proc != nil {
		// The server's CPU over the storm, the live messages of its
		// seconds included.
		cpu := after.cpu - before.cpu
		r.Extra["storm_server_cpu_s"] = round(cpu.Seconds(), 3)
		r.Extra["storm_server_cpu_us_per_client"] = round(float64(cpu.Microseconds())/float64(max(len(clients), 1)), 1)
	}
	r.ServerRSSMB = lres.ServerRSSMB
	r.Pass = boolp(r.Errors == 0 && storm <= 10*time.Second && r.Latency != nil && r.Latency.P99 >= 0 && r.Latency.P99 < 1000 && r.DeliveredRatio >= 0.999)
	return r
}

// historySteps measure the newest page of 50 and the list of 200
// conversations, in the store (server-side: the same code and database
// file as the server, in this process) and over the API.
func (b *bench) historySteps(ctx context.Context, tg *target, dbPath string, users, samples int) []result {
	rnd := rand.New(rand.NewPCG(7, 9))
	pick := func() (int, int) {
		a := rnd.IntN(users)
		c := rnd.IntN(users - 1)
		if c >= a {
			c++
		}
		return a, c
	}
	convOf := func(a, c int) string { return histConv(min(a, c), max(a, c)) }
	var out []result
	if dbPath != "" {
		s, err := sqlite.Open(ctx, dbPath, sqlite.Options{})
		if err != nil {
			return []result{{Step: "history", Target: tg.name, Error: err.Error()}}
		}
		page, list := newHist(), newHist()
		var firstErr error
		for i := range samples {
			a, c := pick()
			id := switchboard.Identity{Domain: histDomain, Extension: histExt(a), Level: switchboard.LevelBasic}
			sctx := switchboard.NewContextWithIdentity(ctx, id)
			t0 := time.Now()
			msgs, err := s.ListMessages(sctx, convOf(a, c), switchboard.MessageQuery{Limit: 50})
			page.add(time.Since(t0))
			if err == nil && len(msgs) == 0 {
				err = fmt.Errorf("no messages in %s", convOf(a, c))
			}
			firstErr = cmpErr(firstErr, err)
			if i%4 == 0 {
				t0 = time.Now()
				_, err := s.ListConversations(sctx, 200)
				list.add(time.Since(t0))
				firstErr = cmpErr(firstErr, err)
			}
		}
		s.Close()
		out = append(out, b.readResult("last-50-page", "store", page, firstErr, 1, 5), b.readResult("list-200", "store", list, firstErr, -1, 5))
	}
	page, list := newHist(), newHist()
	h := &httpConn{addr: tg.addr, src: tg.src}
	defer h.close()
	var firstErr error
	for i := range samples {
		a, c := pick()
		t0 := time.Now()
		r, err := h.do(ctx, "GET", "/api/v1/conversations/"+convOf(a, c)+"/messages?limit=50", histToken(a), nil)
		page.add(time.Since(t0))
		if err == nil && r.status != 200 {
			err = fmt.Errorf("status %d: %s", r.status, r.body)
		}
		firstErr = cmpErr(firstErr, err)
		if i%4 == 0 {
			t0 = time.Now()
			r, err := h.do(ctx, "GET", "/api/v1/conversations?limit=200", histToken(a), nil)
			list.add(time.Since(t0))
			if err == nil && (r.status != 200 || strings.Count(string(r.body), `"kind":"chat"`) < min(200, users-1)) {
				err = fmt.Errorf("list: status %d, want %d conversations", r.status, min(200, users-1))
			}
			firstErr = cmpErr(firstErr, err)
		}
	}
	out = append(out, b.readResult("last-50-page", "api", page, firstErr, -1, -1), b.readResult("list-200", "api", list, firstErr, -1, -1))
	return out
}

func (b *bench) readResult(step, where string, h *hist, err error, p50, p99 float64) result {
	l := h.summary()
	r := result{Step: step, Target: "switchboard-" + where, Latency: &l, Sent: int64(h.count())}
	if err != nil {
		r.Error = err.Error()
	}
	if p99 > 0 {
		r.Pass = boolp(err == nil && l.P99 <= p99 && (p50 <= 0 || l.P50 <= p50))
	}
	return r
}

// killStep sends at rate, kills the server with SIGKILL halfway, restarts
// it on the same data and counts acknowledged messages that are missing.
func (b *bench) killStep(ctx context.Context, tg *target, senders []int, rate float64, dur time.Duration, restart func() error, dbPath string) result {
	n := max(int(rate*dur.Seconds()), 1)
	t := newTracker(n, rate, true)
	acked := make([]atomic.Bool, n)
	for k := range n {
		t.sender[k] = int32(senders[k%len(senders)])
	}
	go func() {
		time.Sleep(dur / 2)
		tg.proc.kill()
	}()
	lr := openLoop(ctx, tg, t, n, b.workers, func(ctx context.Context, h *httpConn, k int) (response, error) {
		u := int(t.sender[k])
		r, err := h.do(ctx, "POST", "/api/v1/conversations/"+tg.conv("pair", u)+"/messages", tg.token(u), messageBody(t, k))
		if err == nil && r.status == 201 {
			acked[k].Store(true)
		}
		return r, err
	})
	r := result{Step: "kill-9", Target: tg.name, Rate: rate, Seconds: dur.Seconds(), Sent: lr.sent, Acked: lr.ok, Errors: lr.errors}
	if err := restart(); err != nil {
		r.Error = "restart: " + err.Error()
		return r
	}
	db, err := sql.Open("sqlite", "file:"+dbPath+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		r.Error = err.Error()
		return r
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT client_id FROM messages WHERE client_id LIKE ?`, fmt.Sprintf("s%d-%%", t.id))
	if err != nil {
		r.Error = err.Error()
		return r
	}
	found := map[string]bool{}
	for rows.Next() {
		var id string
		rows.Scan(&id)
		found[id] = true
	}
	rows.Close()
	var lost int64
	for k := range n {
		if acked[k].Load() && !found[fmt.Sprintf("s%d-%d", t.id, k)] {
			lost++
		}
	}
	r.Extra = map[string]any{"lost_acknowledged": lost, "stored": len(found)}
	r.Pass = boolp(lost == 0 && lr.ok > 0)
	return r
}

var _ = filepath.Join
