package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/sqlite"
)

func TestParseMark(t *testing.T) {
	for _, tt := range []struct {
		frame   string
		key     []byte
		step, k int
		ok      bool
	}{
		{`{"type":"message.created","cursor":"9","data":{"id":"m_1","client_id":"s12-345","body":"x"}}`, keyClientID, 12, 345, true},
		{`{"type":"presence.changed","cursor":"","data":{"extension":"1000","message":"p7-0"}}`, keyStatus, 7, 0, true},
		{`{"type":"message.created","data":{"client_id":"other"}}`, keyClientID, 0, 0, false},
		{`{"type":"message.created","data":{"client_id":"s1-x"}}`, keyClientID, 0, 0, false},
	} {
		step, k, ok := parseMark([]byte(tt.frame), tt.key)
		if step != tt.step || k != tt.k || ok != tt.ok {
			t.Errorf("parseMark(%s) = %d, %d, %v; want %d, %d, %v", tt.frame, step, k, ok, tt.step, tt.k, tt.ok)
		}
	}
}

// TestOnFrame checks that a delivery is timed from its scheduled send time
// and that a sender's own copy is not counted.
func TestOnFrame(t *testing.T) {
	tr := newTracker(3, 1000, true)
	tr.start = time.Now().Add(-time.Second)
	tr.sender[1] = 5
	c := &client{user: 6, ready: make(chan struct{})}
	frame := func(k int) []byte {
		return []byte(`{"type":"message.created","cursor":"` + "42" + `","data":{"client_id":"s` + itoa(tr.id) + `-` + itoa(k) + `"}}`)
	}
	c.onFrame(frame(1), tr.scheduled(1).Add(3*time.Millisecond))
	self := &client{user: 5, ready: make(chan struct{})}
	self.onFrame(frame(1), tr.scheduled(1).Add(time.Millisecond))
	if got := tr.got.Load(); got != 1 {
		t.Fatalf("deliveries = %d, want 1 (the sender's own copy is not one)", got)
	}
	if got := tr.hist.quantile(1); got < 2.9 || got > 3.1 {
		t.Errorf("latency = %v ms, want 3 ms from the scheduled time", got)
	}
	if got := c.cursor.Load(); got != 42 {
		t.Errorf("cursor = %d, want 42", got)
	}
	c.onFrame([]byte(`{"type":"ready","cursor":"42","data":{}}`), time.Now())
	select {
	case <-c.ready:
	default:
		t.Errorf("ready frame did not mark the client ready")
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// TestReport checks the JSON lines and the markdown table of a run.
func TestReport(t *testing.T) {
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "results.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	b := &bench{cfg: defaultConfig(), out: &out, jsonl: f, started: time.Now()}
	h := newHist()
	h.add(2 * time.Millisecond)
	l := h.summary()
	b.emit(result{Step: "one2one-max", Target: "switchboard/relay", Rate: 12000, Latency: &l, ServerCPUPerMsgUS: 80,
		Extra: map[string]any{"relay_rate": 20000.0, "ratio": 0.6}})
	b.emit(result{Step: "kill-9", Target: "switchboard", Acked: 10, Pass: boolp(true), Extra: map[string]any{"lost_acknowledged": int64(0)}})
	// The disk's stalls, as a step records them and as read back from
	// results.jsonl (numbers become float64).
	b.emit(result{Step: "latency-1k", Target: "switchboard", Rate: 1000, Connections: 11000, Latency: &l, Pass: boolp(false),
		Extra: map[string]any{"writer_writes_per_commit": 1.03, "writer_busy_percent": 20.0, "writer_commit_us": 50.0, "writer_writes_per_sync": 1.04,
			"writer_sync_us": 450.0, "writer_stalls": int64(3), "writer_stall_ms": 420.5, "writer_slow_syncs": int64(2)}})
	b.emit(result{Step: "presence", Target: "switchboard", Rate: 20, Connections: 100, Latency: &l, DeliveredRatio: 1, Pass: boolp(true),
		Extra: map[string]any{"writer_stalls": int64(1), "writer_stall_ms": 15.1}})
	b.results = append(b.results, result{Step: "one2one", Target: "switchboard", Rate: 2250, Extra: map[string]any{"writer_stalls": 2.0, "writer_stall_ms": 160.0, "writer_slow_syncs": 1.0}},
		result{Step: "one2one", Target: "switchboard", Rate: 3375, Extra: map[string]any{"writer_stalls": 1.0, "writer_stall_ms": 12.0, "writer_slow_syncs": 0.0}})
	f.Close()
	data, err := os.ReadFile(filepath.Join(dir, "results.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 4 {
		t.Fatalf("results.jsonl has %d lines, want 4", len(lines))
	}
	for _, line := range lines {
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Errorf("line %q is not JSON: %v", line, err)
		} else if r["step"] == nil || r["target"] == nil {
			t.Errorf("line %q lacks step or target", line)
		}
	}
	md := b.markdown()
	for _, want := range []string{"| Persisted 1:1 messages", "12000 msg/s", "0.60× the relay", "| met |", "0 lost of 10 acknowledged",
		"the disk stalled 3 times (420.5 ms)", "1.0000 delivered; the disk stalled once (15.1 ms)", "The host's disk took 100 ms or more for 3 of the log's fsyncs (in latency-1k at 1000 msg/s: 2, one2one at 2250 msg/s: 1)"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	if !strings.Contains(out.String(), "stalls=3 (420.5ms, 2 of 100ms+)") {
		t.Errorf("stdout lacks the latency step's stalls: %s", out.String())
	}
	if !strings.Contains(out.String(), "one2one-max") {
		t.Errorf("stdout lacks the step line: %s", out.String())
	}
}

// TestAddWriter: a step's writer figures are the differences of the
// store's counters over the step, per commit, per sync and per write.
func TestAddWriter(t *testing.T) {
	before := sqlite.WriterStats{Commits: 100, Writes: 150, Busy: time.Second, Commit: 100 * time.Millisecond, Syncs: 90, Sync: 90 * time.Millisecond, LogBytes: 1 << 20}
	after := sqlite.WriterStats{Commits: 600, Writes: 3150, Busy: 1500 * time.Millisecond, Commit: 150 * time.Millisecond, Syncs: 590, Sync: 590 * time.Millisecond,
		Stalls: 2, Stall: 30 * time.Millisecond, LogBytes: 1<<20 + 3000*16*1024}
	r := result{Step: "one2one", Target: "switchboard", Rate: 3000, Extra: map[string]any{}}
	addWriter(&r, before, after, true, 2*time.Second)
	want := map[string]any{"writer_commits_per_s": 250.0, "writer_writes_per_commit": 6.0, "writer_busy_percent": 25.0, "writer_commit_us": 100.0,
		"writer_syncs_per_s": 250.0, "writer_writes_per_sync": 6.0, "writer_sync_us": 1000.0, "writer_stalls": int64(2), "writer_stall_ms": 30.0,
		"writer_slow_syncs": int64(0), "writer_log_kb_per_write": 16.0}
	for k, v := range want {
		if r.Extra[k] != v {
			t.Errorf("%s = %v (%T), want %v", k, r.Extra[k], r.Extra[k], v)
		}
	}
	if line := summaryLine(r); !strings.Contains(line, "batch=6 writer=25% commit=100µs log=16KB/write per-sync=6 sync=1000µs stalls=2") {
		t.Errorf("step line = %q", line)
	}
}

func TestConfigQuick(t *testing.T) {
	c := defaultConfig()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	c.register(fs)
	if err := fs.Parse([]string{"--quick", "--clients", "100", "--server-bin", "/bin/true"}); err != nil {
		t.Fatal(err)
	}
	if err := c.finish(fs); err != nil {
		t.Fatal(err)
	}
	if c.Clients != 100 || c.Idle != 3000 || c.StepSeconds != 1 {
		t.Errorf("quick config = clients %d idle %d step %v; want 100 (set), 3000 and 1 (quick defaults)", c.Clients, c.Idle, c.StepSeconds)
	}
}

// TestRelayTwice: with the relay ramped before and after Switchboard, the
// ratio is against the higher of the two and the table gives both, and
// Switchboard's CPU per message against the relay's at the same rate.
func TestRelayTwice(t *testing.T) {
	var out bytes.Buffer
	b := &bench{cfg: defaultConfig(), out: &out, started: time.Now()}
	h := newHist()
	h.add(2 * time.Millisecond)
	l := h.summary()
	step := func(target string, rate float64) result {
		return result{Step: "one2one", Target: target, Rate: rate, Latency: &l, Extra: map[string]any{}}
	}
	if got := higherRelay(step("relay", 14000), step("relay", 9000), false); got.Rate != 14000 || got.Extra["relay_again_rate"] != 0.0 {
		t.Errorf("higherRelay with no passing second ramp = %v %v, want 14000 and 0", got.Rate, got.Extra)
	}
	relay := higherRelay(step("relay", 14000), step("relay", 20000), true)
	if relay.Rate != 20000 {
		t.Errorf("higherRelay(14000, 20000) = %v, want 20000", relay.Rate)
	}
	// The relay's steps at Switchboard's best rate, one in each ramp: the
	// CPU per message is compared with the lower. (A faster step costs
	// less a message; one above the rate does not count.)
	for i, cpu := range []float64{120, 100, 60} {
		r := step("relay", []float64{2800, 2800, 4200}[i])
		r.ServerCPUPerMsgUS = cpu
		if i == 1 {
			r.Step = "one2one-again"
		}
		b.results = append(b.results, r)
	}
	// In groups the relay ran no step at Switchboard's rate: the one below.
	for _, rate := range []float64{1898, 2848} {
		r := step("relay", rate)
		r.Step, r.ServerCPUPerMsgUS = "group10", 300+rate/100
		b.results = append(b.results, r)
	}
	sg := step("switchboard", 2300)
	sg.Step, sg.ServerCPUPerMsgUS, sg.DeliveriesPerSec = "group10", 377, 20700
	b.emitBest("group10-max", map[string]result{"switchboard": sg, "relay": relay})
	sb := step("switchboard", 2800)
	sb.ServerCPUPerMsgUS = 250
	b.emitBest("one2one-max", map[string]result{"switchboard": sb, "relay": relay})
	if r, _ := b.find("one2one-max", ""); r.Extra["cpu_ratio"] != 2.5 || r.Extra["relay_cpu_compared_rate"] != 2800.0 {
		t.Errorf("one2one-max records cpu_ratio %v at relay rate %v, want 2.5 at 2800", r.Extra["cpu_ratio"], r.Extra["relay_cpu_compared_rate"])
	}
	md := b.markdown()
	for _, want := range []string{"0.14× the relay", "20000 msg/s (ramped before and after Switchboard: 14000, 20000)",
		"(250 µs server CPU/msg, 2.5× the relay's 100 µs at this rate)", "(377 µs server CPU/msg, 1.2× the relay's 319 µs at 1898 msg/s)"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}
