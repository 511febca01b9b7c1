package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// bench is one run: its configuration, targets and the results so far.
type bench struct {
	cfg     *config
	out     io.Writer
	jsonl   *os.File
	results []result
	started time.Time

	workers    int
	stepDur    time.Duration
	settle     time.Duration
	factor     float64
	stormLive  time.Duration
	seedStats  *seedStats
	nofile     uint64
	warmup     time.Duration // of each ramp, not recorded
	idleSettle int           // seconds the idle connections stay idle before the memory is read
	refine     bool          // try once between the last pass and the failure
}

// emit records a step: a JSON line in results.jsonl and a line on stdout.
func (b *bench) emit(r result) {
	b.results = append(b.results, r)
	line, _ := json.Marshal(r)
	b.jsonl.Write(append(line, '\n'))
	fmt.Fprintln(b.out, summaryLine(r))
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.out, "[%5.1fs] %s\n", time.Since(b.started).Seconds(), fmt.Sprintf(format, args...))
}

func summaryLine(r result) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%-18s %-20s", r.Step, r.Target)
	if r.Rate > 0 {
		fmt.Fprintf(&sb, " rate=%-7.0f", r.Rate)
	}
	if r.Connections > 0 {
		fmt.Fprintf(&sb, " conns=%d", r.Connections)
	}
	if r.Expected > 0 {
		fmt.Fprintf(&sb, " delivered=%d/%d", r.Delivered, r.Expected)
	}
	if r.Latency != nil {
		fmt.Fprintf(&sb, " p50=%.2fms p99=%.2fms p99.9=%.2fms max=%.2fms", r.Latency.P50, r.Latency.P99, r.Latency.P999, r.Latency.Max)
	}
	if r.ServerCPUPerMsgUS > 0 {
		fmt.Fprintf(&sb, " cpu/msg=%.0fµs", r.ServerCPUPerMsgUS)
	}
	if r.ServerCPUPercent > 0 {
		fmt.Fprintf(&sb, " cpu=%.0f%%", r.ServerCPUPercent)
	}
	if r.LoadCPUPercent > 0 {
		fmt.Fprintf(&sb, " load=%.0f%%", r.LoadCPUPercent)
	}
	if r.Seconds > 0 && r.Rate == 0 {
		fmt.Fprintf(&sb, " %.2fs", r.Seconds)
	}
	if r.Errors > 0 || r.Skipped > 0 {
		fmt.Fprintf(&sb, " errors=%d skipped=%d", r.Errors, r.Skipped)
	}
	if r.Extra["retry"] == true {
		sb.WriteString(" (run again)")
	}
	for _, k := range []string{"bytes_per_connection", "lost_acknowledged"} {
		if v, ok := r.Extra[k]; ok {
			fmt.Fprintf(&sb, " %s=%v", k, v)
		}
	}
	if v, ok := r.Extra["writer_writes_per_commit"]; ok {
		fmt.Fprintf(&sb, " batch=%v writer=%v%% commit=%vµs log=%vKB/write", v, r.Extra["writer_busy_percent"], r.Extra["writer_commit_us"], r.Extra["writer_log_kb_per_write"])
		if v, ok := r.Extra["writer_writes_per_sync"]; ok {
			fmt.Fprintf(&sb, " per-sync=%v sync=%vµs", v, r.Extra["writer_sync_us"])
		}
		if n := count(r.Extra["writer_stalls"]); n > 0 {
			fmt.Fprintf(&sb, " stalls=%d (%vms, %d of 100ms+)", n, r.Extra["writer_stall_ms"], count(r.Extra["writer_slow_syncs"]))
		}
	}
	if r.Pass != nil {
		if *r.Pass {
			sb.WriteString(" PASS")
		} else {
			sb.WriteString(" FAIL")
		}
	}
	if r.Error != "" {
		fmt.Fprintf(&sb, " error=%q", r.Error)
	}
	return sb.String()
}

func runBench(ctx context.Context, cfg *config, stdout io.Writer) error {
	b := &bench{cfg: cfg, out: stdout, started: time.Now(), workers: 512, stepDur: time.Duration(cfg.StepSeconds * float64(time.Second)),
		settle: 2 * time.Second, factor: 1.5, stormLive: 12 * time.Second, warmup: time.Second, refine: true, idleSettle: 10}
	if cfg.Quick {
		b.settle, b.factor, b.stormLive, b.warmup, b.refine, b.idleSettle = 300*time.Millisecond, 2, 4*time.Second, 500*time.Millisecond, false, 2
	}
	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return err
	}
	out, err := filepath.Abs(cfg.Out)
	if err != nil {
		return err
	}
	if b.jsonl, err = os.Create(filepath.Join(out, "results.jsonl")); err != nil {
		return err
	}
	defer b.jsonl.Close()
	nofile := raiseFileLimit()
	b.nofile = nofile
	if cfg.LoadCPU >= 0 {
		loadCPU = cfg.LoadCPU
		if err := pinSelf(cfg.LoadCPU); err != nil {
			b.logf("could not pin the benchmark to core %d: %v", cfg.LoadCPU, err)
			loadCPU = -1
		}
	}
	b.logf("switchboard-bench: %d cores, server on core %d (GOMAXPROCS=%d), load on core %d, file limit %d, results in %s",
		runtime.NumCPU(), cfg.ServerCPU, cfg.Procs, cfg.LoadCPU, nofile, out)
	src := &sources{n: cfg.Sources}
	env := []string{"GOMAXPROCS=" + strconv.Itoa(cfg.Procs)}

	self, err := os.Executable()
	if err != nil {
		return err
	}
	rp, err := startProc("relay", self, []string{"relay"}, env, cfg.ServerCPU, filepath.Join(out, "relay.log"))
	if err != nil {
		return err
	}
	defer rp.stop()
	relay := &target{name: "relay", addr: rp.addr, proc: rp, src: src,
		token: func(u int) string { return strconv.Itoa(u) },
		conv: func(kind string, u int) string {
			var sb strings.Builder
			sb.WriteString("r")
			for _, m := range membersOf(kind, u) {
				sb.WriteString("." + strconv.Itoa(m))
			}
			return sb.String()
		},
	}

	var sb *target
	var restart func() error
	dbPath := ""
	if cfg.URL != "" {
		if sb, err = b.external(ctx, src); err != nil {
			return err
		}
	} else {
		data := cfg.Data
		if data == "" {
			data = filepath.Join(out, "data")
			if !cfg.Keep {
				defer os.RemoveAll(data)
			}
		}
		if err := os.MkdirAll(data, 0o700); err != nil {
			return err
		}
		dbPath = filepath.Join(data, "switchboard.db")
		users := cfg.LoadUsers + cfg.Clients
		if _, err := os.Stat(dbPath); err == nil {
			b.logf("using the existing database %s", dbPath)
		} else {
			b.logf("seeding %d users, %d history conversations with %d messages each", users, cfg.HistUsers*(cfg.HistUsers-1)/2, cfg.HistPerConv)
			st, err := seed(ctx, data, seedSpec{users: roundUp(users, domainSize), histUsers: cfg.HistUsers, histPerConv: cfg.HistPerConv}, b.logf)
			if err != nil {
				return fmt.Errorf("seed: %w", err)
			}
			b.seedStats = &st
			b.emit(result{Step: "seed", Target: "store", Seconds: round(st.Seconds, 2),
				Extra: map[string]any{"users": st.Users, "conversations": st.Conversations, "messages": st.Messages,
					"messages_per_s": round(float64(st.Messages)/st.Seconds, 0)}})
		}
		args := []string{"serve", "--addr", "127.0.0.1:0", "--data", data, "--sip-addr=", "--log-level", "warn"}
		// The profiler lets the memory step read the Go heap and force a
		// collection; older servers have no such flag.
		debugAddr := ""
		if help, _ := exec.Command(cfg.ServerBin, "serve", "--help").CombinedOutput(); strings.Contains(string(help), "-debug-addr") {
			if debugAddr, err = freeAddr(); err != nil {
				return err
			}
			args = append(args, "--debug-addr", debugAddr)
		}
		if cfg.Sync != "" {
			args = append(args, "--sync", cfg.Sync)
		}
		args = append(args, strings.Fields(cfg.ServerArgs)...)
		sp, err := startProc("switchboard", cfg.ServerBin, args, env, cfg.ServerCPU, filepath.Join(out, "switchboard.log"))
		if err != nil {
			return err
		}
		sb = &target{name: "switchboard", addr: sp.addr, proc: sp, src: src, token: tokenOf, debugAddr: debugAddr,
			conv: func(kind string, u int) string {
				if kind == "group" {
					return groupConv(u)
				}
				return pairConv(u)
			}}
		defer func() { sb.proc.stop() }()
		restart = func() error {
			args[2] = sb.addr
			p, err := startProc("switchboard", cfg.ServerBin, args, env, cfg.ServerCPU, filepath.Join(out, "switchboard-restart.log"))
			if err == nil {
				sb.proc = p
			}
			return err
		}
	}
	b.logf("relay on %s, switchboard on %s", relay.addr, sb.addr)
	if err := b.steps(ctx, sb, relay, dbPath, restart); err != nil {
		return err
	}
	md := b.markdown()
	if err := os.WriteFile(filepath.Join(out, "results.md"), []byte(md), 0o644); err != nil {
		return err
	}
	fmt.Fprintln(stdout)
	fmt.Fprint(stdout, md)
	b.logf("done")
	return nil
}

// freeAddr returns a free loopback address.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func roundUp(n, m int) int { return (n + m - 1) / m * m }

// membersOf returns the seeded members of u's conversation of kind.
func membersOf(kind string, u int) []int {
	if kind == "group" {
		g := u / 10 * 10
		return []int{g, g + 1, g + 2, g + 3, g + 4, g + 5, g + 6, g + 7, g + 8, g + 9}
	}
	return []int{u &^ 1, u | 1}
}

func rangeOf(from, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = from + i
	}
	return out
}

// steps runs the selected steps in an order that keeps them apart: reads and
// idle memory on a fresh server first, kill -9 last.
func (b *bench) steps(ctx context.Context, sb, relay *target, dbPath string, restart func() error) error {
	cfg := b.cfg
	working := rangeOf(0, cfg.LoadUsers)
	if sb.users > 0 {
		working = rangeOf(0, sb.users)
	}
	if cfg.wants("history") && sb.proc != nil {
		samples := 2000
		if cfg.Quick {
			samples = 400
		}
		b.logf("history: %d samples", samples)
		for _, r := range b.historySteps(ctx, sb, dbPath, cfg.HistUsers, samples) {
			b.emit(r)
		}
	}
	if cfg.wants("idle") && sb.proc != nil {
		// First, on a fresh server, so that the growth of its resident set
		// is the connections' and not refilled free memory. Each connection
		// is a file descriptor in the server and here.
		n := min(cfg.Idle, int(b.nofile)-2000)
		b.logf("switchboard: %d idle connections (asked %d, file limit %d)", n, cfg.Idle, b.nofile)
		r := b.idleStep(ctx, sb, rangeOf(cfg.LoadUsers, cfg.Clients), n)
		if n < cfg.Idle {
			r.Extra["capped_by_file_limit"] = b.nofile
		}
		b.emit(r)
	}
	needWorking := cfg.wants("one2one") || cfg.wants("group") || cfg.wants("presence") || cfg.wants("reconnect")
	if needWorking {
		for _, tg := range []*target{relay, sb} {
			b.logf("%s: connecting the working set of %d users", tg.name, len(working))
			if _, err := tg.connect(ctx, working, 100); err != nil {
				return fmt.Errorf("%s: connect: %w", tg.name, err)
			}
		}
	}
	limit := cfg.MaxRate
	if cfg.wants("one2one") {
		best := map[string]result{}
		for _, tg := range []*target{relay, sb} {
			b.logf("%s: 1:1 ramp", tg.name)
			if r, ok := b.ramp(ctx, tg, "one2one", "pair", working, 1, cfg.StartRate, limit); ok {
				best[tg.name] = r
			}
		}
		b.relayAgain(ctx, relay, best, "one2one", "pair", working, 1, limit)
		b.emitBest("one2one-max", best)
	}
	if cfg.wants("group") {
		best := map[string]result{}
		for _, tg := range []*target{relay, sb} {
			b.logf("%s: group-of-10 ramp", tg.name)
			if r, ok := b.ramp(ctx, tg, "group10", "group", working, 9, cfg.StartRate/4, limit); ok {
				best[tg.name] = r
			}
		}
		b.relayAgain(ctx, relay, best, "group10", "group", working, 9, limit)
		b.emitBest("group10-max", best)
	}
	if cfg.wants("presence") {
		watchers := min(domainSize, len(working))
		b.logf("switchboard: presence changes seen by %d members", watchers)
		dur := 10 * time.Second
		if cfg.Quick {
			dur = 2 * time.Second
		}
		b.emit(b.presenceStep(ctx, sb, working[0], watchers, 20, dur))
	}
	var clients []*client
	if (cfg.wants("latency") || cfg.wants("reconnect")) && sb.proc != nil {
		b.logf("switchboard: connecting %d clients", cfg.Clients)
		began := time.Now()
		var err error
		clients, err = sb.connect(ctx, rangeOf(cfg.LoadUsers, cfg.Clients), 256)
		if err != nil {
			return fmt.Errorf("connect clients: %w", err)
		}
		b.logf("connected %d clients in %.1fs", len(clients), time.Since(began).Seconds())
	}
	if cfg.wants("latency") && sb.proc != nil {
		dur := 10 * time.Second
		if cfg.Quick {
			dur = 2 * time.Second
		}
		revived := b.revive(ctx, sb)
		r := b.sendStep(ctx, sb, "latency-1k", "pair", rangeOf(cfg.LoadUsers, cfg.Clients), 1000, dur, 1)
		r.Connections = len(clients) + len(working)
		if revived > 0 {
			r.Extra["revived"] = revived
		}
		r.Pass = boolp(passes(r) && r.Latency.P50 <= 2 && r.Latency.P99 <= 10)
		b.emit(r)
	}
	if cfg.wants("reconnect") && sb.proc != nil {
		b.logf("switchboard: reconnect storm of %d clients", len(clients))
		b.emit(b.reconnectStep(ctx, sb, clients, working, 200))
	}
	if clients != nil {
		sb.disconnect(clients)
	}
	if cfg.wants("kill") && sb.proc != nil && restart != nil {
		b.logf("switchboard: kill -9 under load")
		dur := 4 * time.Second
		if cfg.Quick {
			dur = 2 * time.Second
		}
		b.emit(b.killStep(ctx, sb, working, 2000, dur, restart, dbPath))
	}
	return nil
}

// relayAgain ramps the relay a second time, right after Switchboard, from
// a step below its first best (not in --quick): the relay a minute apart
// has differed by half on this kind of machine, and the two figures say
// how far the machine moved while Switchboard was measured. The ratio is
// taken against the higher, as the ceiling; both are recorded.
func (b *bench) relayAgain(ctx context.Context, relay *target, best map[string]result, step, kind string, senders []int, fanout int, limit float64) {
	first, ok := best["relay"]
	if b.cfg.Quick || !ok || ctx.Err() != nil {
		return
	}
	b.logf("relay: %s ramp again", step)
	again, ok := b.ramp(ctx, relay, step+"-again", kind, senders, fanout, first.Rate/b.factor, limit)
	best["relay"] = higherRelay(first, again, ok)
}

// higherRelay is the better of the relay's two ramps (again counts only if
// it had a passing step), noting both rates in its Extra.
func higherRelay(first, again result, ok bool) result {
	againRate := 0.0
	if ok {
		againRate = again.Rate
	}
	pick := first
	if ok && again.Rate > first.Rate {
		pick = again
	}
	extra := map[string]any{}
	for k, v := range pick.Extra {
		extra[k] = v
	}
	extra["relay_first_rate"], extra["relay_again_rate"] = first.Rate, againRate
	pick.Extra = extra
	return pick
}

// emitBest records the best passing rate of each target and their ratio.
func (b *bench) emitBest(step string, best map[string]result) {
	s, sok := best["switchboard"]
	r, rok := best["relay"]
	res := result{Step: step, Target: "switchboard/relay", Extra: map[string]any{}}
	if sok {
		res.Rate, res.Latency, res.ServerCPUPerMsgUS, res.DeliveriesPerSec = s.Rate, s.Latency, s.ServerCPUPerMsgUS, s.DeliveriesPerSec
		res.Extra["switchboard_rate"] = s.Rate
		res.Extra["switchboard_deliveries_per_s"] = s.DeliveriesPerSec
	}
	if rok {
		for _, k := range []string{"relay_first_rate", "relay_again_rate"} {
			if v, ok := r.Extra[k]; ok {
				res.Extra[k] = v
			}
		}
		res.Extra["relay_rate"] = r.Rate
		res.Extra["relay_deliveries_per_s"] = r.DeliveriesPerSec
		res.Extra["relay_cpu_us_per_msg"] = r.ServerCPUPerMsgUS
	}
	if sok && rok {
		res.Extra["ratio"] = round(s.Rate/r.Rate, 3)
	}
	if sok && s.ServerCPUPerMsgUS > 0 {
		if at, cpu, ok := b.relayCPUAt(s.Step, s.Rate); ok {
			res.Extra["relay_cpu_compared_rate"] = at
			res.Extra["relay_cpu_us_per_msg_compared"] = cpu
			res.Extra["cpu_ratio"] = round(s.ServerCPUPerMsgUS/cpu, 2)
		}
	}
	b.emit(res)
}
