package main

import (
	"fmt"
	"runtime"
	"strings"
	"time"
)

// find returns the last result of step (and target, when not empty).
func (b *bench) find(step, target string) (result, bool) {
	for i := len(b.results) - 1; i >= 0; i-- {
		r := b.results[i]
		if r.Step == step && (target == "" || r.Target == target) {
			return r, true
		}
	}
	return result{}, false
}

func verdict(p *bool) string {
	switch {
	case p == nil:
		return "–"
	case *p:
		return "met"
	default:
		return "**not met**"
	}
}

// markdown is the SPEC §5 table of this run.
func (b *bench) markdown() string {
	var sb strings.Builder
	mode := "full"
	if b.cfg.Quick {
		mode = "quick (scaled down: fewer clients and messages, shorter steps; not the SPEC's sizes)"
	}
	fmt.Fprintf(&sb, "## switchboard-bench %s, %s\n\n", mode, time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&sb, "%d cores (%s/%s); server and relay pinned to core %d with GOMAXPROCS=%d, load on core %d.\n\n",
		runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, b.cfg.ServerCPU, b.cfg.Procs, b.cfg.LoadCPU)
	sb.WriteString("| SPEC §5 measure | Target | Measured | Relay (same run) | Verdict |\n|---|---|---|---|---|\n")
	row := func(measure, target, measured, relay string, pass *bool) {
		fmt.Fprintf(&sb, "| %s | %s | %s | %s | %s |\n", measure, target, measured, relay, verdict(pass))
	}
	if r, ok := b.find("one2one-max", ""); ok {
		measured, relay := "no passing step", "–"
		var pass *bool
		if r.Rate > 0 {
			measured = fmt.Sprintf("%.0f msg/s at p99 %.1f ms (%.0f µs server CPU/msg%s)", r.Rate, r.Latency.P99, r.ServerCPUPerMsgUS, relayCPU(r))
		}
		if rr, ok := r.Extra["relay_rate"]; ok {
			relay = fmt.Sprintf("%.0f msg/s", rr) + relayRange(r, 1)
		}
		if ratio, ok := r.Extra["ratio"].(float64); ok {
			measured += fmt.Sprintf("; **%.2f× the relay**", ratio)
			pass = boolp(r.Rate >= 10000 && ratio >= 0.5)
		} else {
			pass = boolp(false)
		}
		row("Persisted 1:1 messages, send → delivered, server on one core", "≥ 10,000/s at p99 ≤ 50 ms and ≥ 0.5× relay", measured, relay, pass)
	}
	if r, ok := b.find("latency-1k", ""); ok {
		// At 1,000 msg/s a second's p99 is ten writes: a stall or two of
		// the disk decides it.
		measured := fmt.Sprintf("p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.1f ms", r.Latency.P50, r.Latency.P99, r.Latency.P999, r.Latency.Max) + stalls(r)
		row(fmt.Sprintf("Latency at 1,000 msg/s with %d connected clients", r.Connections), "p50 ≤ 2 ms, p99 ≤ 10 ms", measured, "–", r.Pass)
	}
	if r, ok := b.find("group10-max", ""); ok {
		measured, relay := "no passing step", "–"
		if r.Rate > 0 {
			measured = fmt.Sprintf("%.0f deliveries/s (%.0f msg/s) at p99 %.1f ms (%.0f µs server CPU/msg%s)", r.DeliveriesPerSec, r.Rate, r.Latency.P99,
				r.ServerCPUPerMsgUS, relayCPU(r))
		}
		if rr, ok := r.Extra["relay_deliveries_per_s"]; ok {
			relay = fmt.Sprintf("%.0f deliveries/s", rr) + relayRange(r, 9)
		}
		if ratio, ok := r.Extra["ratio"].(float64); ok {
			measured += fmt.Sprintf("; %.2f× the relay", ratio)
		}
		row("Group of 10, server on one core", "≥ 50,000 deliveries/s", measured, relay, boolp(r.DeliveriesPerSec >= 50000))
	}
	if r, ok := b.find("idle-connections", ""); ok {
		measured := r.Error
		if r.Error == "" {
			measured = fmt.Sprintf("%.1f KB each over %d connections (%.2f GB per 100k)", r.Extra["bytes_per_connection"].(float64)/1024, r.Connections, r.Extra["gb_per_100k"])
		}
		row("Idle WebSocket connection", "≤ 20 KB each; 100,000 in ≤ 2 GB", measured, "–", r.Pass)
	}
	for _, w := range []string{"store", "api"} {
		if r, ok := b.find("last-50-page", "switchboard-"+w); ok {
			label := map[string]string{"store": "server-side", "api": "over the API (client-side, loopback)"}[w]
			target := "≤ 1 ms p50, ≤ 5 ms p99"
			if w == "api" {
				target = "(reference)"
			}
			row(fmt.Sprintf("Last 50 messages, %d messages stored, %s", b.messagesStored(), label), target,
				fmt.Sprintf("p50 %.3f ms, p99 %.3f ms", r.Latency.P50, r.Latency.P99), "–", r.Pass)
		}
		if r, ok := b.find("list-200", "switchboard-"+w); ok {
			label := map[string]string{"store": "server-side", "api": "over the API (client-side, loopback)"}[w]
			target := "≤ 5 ms p99"
			if w == "api" {
				target = "(reference)"
			}
			row("Conversation list of 200 conversations, "+label, target,
				fmt.Sprintf("p50 %.3f ms, p99 %.3f ms", r.Latency.P50, r.Latency.P99), "–", r.Pass)
		}
	}
	if r, ok := b.find("presence", ""); ok {
		// Each change is a durable write, one at a time, seen by every
		// member: the p99 is the slowest two or three changes of the step,
		// that is its slowest fsyncs.
		row(fmt.Sprintf("Presence change seen by %d members of a domain", r.Connections), "≤ 20 ms p99",
			fmt.Sprintf("p50 %.2f ms, p99 %.2f ms, %.4f delivered", r.Latency.P50, r.Latency.P99, r.DeliveredRatio)+stalls(r), "–", r.Pass)
	}
	if r, ok := b.find("reconnect-storm", ""); ok {
		measured := fmt.Sprintf("%.2f s, %d failed; live p99 %.1f ms", r.Seconds, r.Errors, r.Latency.P99)
		row(fmt.Sprintf("Reconnect of %d clients", r.Connections), "within 10 s, live p99 < 1 s", measured, "–", r.Pass)
	}
	if r, ok := b.find("kill-9", ""); ok {
		measured := r.Error
		if r.Error == "" {
			measured = fmt.Sprintf("%v lost of %d acknowledged", r.Extra["lost_acknowledged"], r.Acked)
		}
		row("Acknowledged messages lost on kill -9 under load", "0", measured, "–", r.Pass)
	}
	if n, steps := b.slowSyncs(); n > 0 {
		fmt.Fprintf(&sb, "\nThe host's disk took 100 ms or more for %d of the log's fsyncs (in %s); every write an fsync covers waits for it, so a step one falls in can fail its p99 whatever the server does. The stalls of 10 ms or more are in each step's line.\n", n, strings.Join(steps, ", "))
	}
	sb.WriteString("\nEvery step, with p50/p90/p99/p99.9/max, delivered/sent, server CPU per message and RSS, is a line of results.jsonl.\n")
	return sb.String()
}

func (b *bench) messagesStored() int {
	if b.seedStats != nil {
		return b.seedStats.Messages
	}
	return b.cfg.HistUsers * (b.cfg.HistUsers - 1) / 2 * b.cfg.HistPerConv
}

// relayRange says, when the relay was ramped twice, what each ramp reached
// (in the unit of the row: messages, or deliveries of fanout each).
func relayRange(r result, fanout float64) string {
	first, ok1 := r.Extra["relay_first_rate"].(float64)
	again, ok2 := r.Extra["relay_again_rate"].(float64)
	if !ok1 || !ok2 {
		return ""
	}
	return fmt.Sprintf(" (ramped before and after Switchboard: %.0f, %.0f)", first*fanout, again*fanout)
}

// stalls names the disk's stalls during step r, if any, for its row.
func stalls(r result) string {
	switch n := count(r.Extra["writer_stalls"]); n {
	case 0:
		return ""
	case 1:
		return fmt.Sprintf("; the disk stalled once (%v ms)", r.Extra["writer_stall_ms"])
	default:
		return fmt.Sprintf("; the disk stalled %d times (%v ms)", n, r.Extra["writer_stall_ms"])
	}
}

// relayCPUAt finds the relay's CPU per message to compare with
// Switchboard's at rate in the ramps of step: at the same rate, or else at
// the highest rate below it that the relay ran (the lower of its two
// ramps' at that rate). Unlike the rates the ramps reach, the ratio hardly
// moves with the host's stalls.
func (b *bench) relayCPUAt(step string, rate float64) (at, cpu float64, ok bool) {
	for _, rr := range b.results {
		if rr.Target != "relay" || (rr.Step != step && rr.Step != step+"-again") || rr.Rate > rate || rr.ServerCPUPerMsgUS <= 0 {
			continue
		}
		if rr.Rate > at || (rr.Rate == at && rr.ServerCPUPerMsgUS < cpu) {
			at, cpu = rr.Rate, rr.ServerCPUPerMsgUS
		}
	}
	return at, cpu, cpu > 0
}

// relayCPU says how Switchboard's CPU per message in its best step r of a
// ramp compares with the relay's (emitBest), for its row.
func relayCPU(r result) string {
	ratio := number(r.Extra["cpu_ratio"])
	if ratio <= 0 {
		return ""
	}
	at := "this rate"
	if rate := number(r.Extra["relay_cpu_compared_rate"]); rate != r.Rate {
		at = fmt.Sprintf("%.0f msg/s", rate)
	}
	return fmt.Sprintf(", %.1f× the relay's %.0f µs at %s", ratio, number(r.Extra["relay_cpu_us_per_msg_compared"]), at)
}

// slowSyncs counts the log's fsyncs of 100 ms or more over the steps of
// this run, and names the steps they fell in.
func (b *bench) slowSyncs() (n int64, steps []string) {
	for _, r := range b.results {
		if k := count(r.Extra["writer_slow_syncs"]); k > 0 {
			n += k
			step := r.Step
			if r.Rate > 0 {
				step += fmt.Sprintf(" at %.0f msg/s", r.Rate)
			}
			steps = append(steps, fmt.Sprintf("%s: %d", step, k))
		}
	}
	return n, steps
}

// count is a whole number of Extra: an int64 as recorded, or a float64 as
// read back from JSON; 0 if absent.
func count(v any) int64 { return int64(number(v)) }

func number(v any) float64 {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case float64:
		return x
	}
	return 0
}
