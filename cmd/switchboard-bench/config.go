package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// config is the benchmark's configuration; --quick scales it down to a run
// of under a minute.
type config struct {
	Quick      bool
	Out        string
	ServerBin  string
	Data       string
	Keep       bool
	URL        string
	CLI        string
	Sources    int
	Steps      string
	ServerCPU  int
	LoadCPU    int
	Procs      int
	Sync       string
	ServerArgs string
	Profile    bool

	LoadUsers   int     // users of the working set (1:1, groups, presence)
	Clients     int     // connected clients of the latency and reconnect steps
	Idle        int     // idle connections
	HistUsers   int     // history domain size: every pair has a conversation
	HistPerConv int     // messages per history conversation
	StepSeconds float64 // length of one throughput step
	StartRate   float64
	MaxRate     float64
}

func defaultConfig() *config {
	return &config{Sources: 50, ServerCPU: 0, LoadCPU: 1, Procs: 1, LoadUsers: 1000, Clients: 10000, Idle: 100000,
		HistUsers: 201, HistPerConv: 50, StepSeconds: 8, StartRate: 1000, MaxRate: 200000, Steps: "all"}
}

func (c *config) register(fs *flag.FlagSet) {
	fs.BoolVar(&c.Quick, "quick", false, "a CI-sized run of under a minute (fewer clients, messages and shorter steps)")
	fs.StringVar(&c.Out, "out", "", "directory for results.jsonl, results.md and logs (default bench-results/TIME)")
	fs.StringVar(&c.ServerBin, "server-bin", "", "the switchboard binary to start (default: beside this one, else on PATH)")
	fs.StringVar(&c.Data, "data", "", "data directory of the started server (default: a new one under --out); with --url, the running server's, for the CLI")
	fs.BoolVar(&c.Keep, "keep", false, "keep the seeded data directory")
	fs.StringVar(&c.URL, "url", "", "drive this running server instead of starting one (loopback only)")
	fs.StringVar(&c.CLI, "cli", "", "with --url: the switchboard binary used to create the benchmark's users")
	fs.IntVar(&c.Sources, "sources", c.Sources, "client source addresses 127.0.0.1..127.0.0.N")
	fs.StringVar(&c.Steps, "steps", c.Steps, "comma-separated steps: history,one2one,group,presence,latency,reconnect,idle,kill (or all)")
	fs.IntVar(&c.ServerCPU, "server-cpu", c.ServerCPU, "core the server and the relay are pinned to (-1: none)")
	fs.IntVar(&c.LoadCPU, "load-cpu", c.LoadCPU, "core the benchmark itself is pinned to (-1: none)")
	fs.IntVar(&c.Procs, "server-procs", c.Procs, "GOMAXPROCS of the server and the relay")
	fs.StringVar(&c.Sync, "sync", "", "the server's --sync (empty: its default)")
	fs.StringVar(&c.ServerArgs, "server-args", "", "more flags for switchboard serve, space-separated (like --debug-addr 127.0.0.1:6060)")
	fs.BoolVar(&c.Profile, "profile", false, "save CPU and allocation profiles of the server during each of its throughput steps (cpu-STEP-RATE.pprof, allocs-STEP-RATE.pprof under --out)")
	fs.IntVar(&c.LoadUsers, "users", c.LoadUsers, "users of the working set (1:1 pairs, groups of 10, presence)")
	fs.IntVar(&c.Clients, "clients", c.Clients, "connected clients of the latency and reconnect steps")
	fs.IntVar(&c.Idle, "idle", c.Idle, "idle connections of the memory step")
	fs.IntVar(&c.HistUsers, "hist-users", c.HistUsers, "extensions of the history domain; every pair has a conversation")
	fs.IntVar(&c.HistPerConv, "hist-messages", c.HistPerConv, "messages per history conversation")
	fs.Float64Var(&c.StepSeconds, "step-seconds", c.StepSeconds, "length of one throughput step")
	fs.Float64Var(&c.StartRate, "start-rate", c.StartRate, "first rate of the throughput ramps, messages/s")
	fs.Float64Var(&c.MaxRate, "max-rate", c.MaxRate, "highest rate the ramps try")
}

// finish applies --quick to the values not set explicitly and checks the
// configuration.
func (c *config) finish(fs *flag.FlagSet) error {
	if c.Quick {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		quick := func(name string, v *int, q int) {
			if !set[name] {
				*v = q
			}
		}
		quick("clients", &c.Clients, 2000)
		quick("idle", &c.Idle, 3000)
		quick("users", &c.LoadUsers, 200)
		quick("hist-messages", &c.HistPerConv, 5)
		if !set["step-seconds"] {
			c.StepSeconds = 1
		}
		if !set["max-rate"] {
			c.MaxRate = 16000
		}
		if !set["start-rate"] {
			c.StartRate = 2000
		}
	}
	if c.LoadUsers < domainSize || c.LoadUsers%domainSize != 0 {
		return fmt.Errorf("--users must be a multiple of %d", domainSize)
	}
	if c.Clients%2 != 0 || c.HistUsers < 3 || c.Sources < 1 || c.Sources > 250 {
		return fmt.Errorf("--clients must be even, --hist-users at least 3, --sources 1..250")
	}
	if runtime.NumCPU() < 2 {
		c.ServerCPU, c.LoadCPU = -1, -1
	}
	if c.Out == "" {
		c.Out = filepath.Join("bench-results", time.Now().UTC().Format("20060102-150405"))
	}
	if c.URL == "" && c.ServerBin == "" {
		self, _ := os.Executable()
		c.ServerBin = filepath.Join(filepath.Dir(self), "switchboard")
		if _, err := os.Stat(c.ServerBin); err != nil {
			if p, err := exec.LookPath("switchboard"); err == nil {
				c.ServerBin = p
			} else {
				return fmt.Errorf("no switchboard binary beside this one or on PATH; build it (make build) or pass --server-bin")
			}
		}
	}
	if c.URL != "" && c.CLI == "" {
		return fmt.Errorf("--url needs --cli (the switchboard binary) and --data (the running server's) to create users")
	}
	return nil
}

// wants reports whether step is selected.
func (c *config) wants(step string) bool {
	if c.Steps == "all" {
		return true
	}
	for _, s := range strings.Split(c.Steps, ",") {
		if strings.TrimSpace(s) == step {
			return true
		}
	}
	return false
}
