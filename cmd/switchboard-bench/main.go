// Command switchboard-bench measures Switchboard against the performance
// targets of SPEC §5, side by side with a bare WebSocket relay that stores
// nothing, in one run. See docs/PERFORMANCE.md.
//
//	switchboard-bench [--quick] [--out DIR] [--server-bin PATH]
//	switchboard-bench --url http://127.0.0.1:8080 --cli bin/switchboard --data DIR   # a running server
//	switchboard-bench relay [--addr 127.0.0.1:0]                                      # the relay alone
//
// It writes one JSON line per step (results.jsonl) and a markdown table
// (results.md) to --out. Every loop is bounded in count and time, and only
// loopback addresses are ever dialled.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "switchboard-bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "relay" {
		return runRelay(args[1:], stdout)
	}
	cfg := defaultConfig()
	fs := flag.NewFlagSet("switchboard-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if err := cfg.finish(fs); err != nil {
		return err
	}
	return runBench(ctx, cfg, stdout)
}
