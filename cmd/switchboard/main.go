// Command switchboard runs the Switchboard server and its admin
// subcommands (SPEC §3 "Command line").
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "switchboard:", err)
		os.Exit(1)
	}
}

const usage = `Switchboard: team chat, texting and presence for a hosted phone system.

Usage:
  switchboard serve [--addr 127.0.0.1:8080] [--data ./switchboard-data] [--demo]
  switchboard domain add DOMAIN [--name "Acme Corp"] [--country US] [--sms-help TEXT]
  switchboard domain set DOMAIN [--name N] [--country CC] [--sms-help TEXT]
  switchboard domain list
  switchboard user add EXT@DOMAIN --name "Full Name" [--level basic] (--password P | --password-stdin) [--sip-secret S]
  switchboard user list DOMAIN
  switchboard user set EXT@DOMAIN [--name N] [--level L] [--password-stdin] [--sip-secret S]
  switchboard apikey add --domain DOMAIN     (prints a key for the PBX event API)
  switchboard provider add NAME --kind sim|twilio|telnyx|kannel [--api-url URL] [credentials]
  switchboard number add +E164 --domain DOMAIN --provider NAME [--assign EXT[,EXT...]]
  switchboard number assign +E164 --to EXT[,EXT...]
  switchboard number list DOMAIN

Every flag can also be set by an environment variable: --data is SWITCHBOARD_DATA,
--addr is SWITCHBOARD_ADDR, and so on. Run a subcommand with -h for its flags.
`

// run is the whole program: it parses args and runs one subcommand.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("no command given")
	}
	env := &environment{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	switch args[0] {
	case "serve":
		return serve(ctx, env, args[1:])
	case "domain":
		return domainCmd(ctx, env, args[1:])
	case "user":
		return userCmd(ctx, env, args[1:])
	case "apikey":
		return apikeyCmd(ctx, env, args[1:])
	case "provider":
		return providerCmd(ctx, env, args[1:])
	case "number":
		return numberCmd(ctx, env, args[1:])
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

// environment is what a subcommand may touch of the outside world.
type environment struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}
