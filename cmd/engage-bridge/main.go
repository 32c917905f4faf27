// Command engage-bridge receives Voyado Engage webhooks (through Svix) and
// writes each to Kafka, keyed by contactId, answering 2xx only after Kafka
// acknowledged it. See README.md for the commands.
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
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// run dispatches to a command. Only here, and in the commands it calls, is
// the environment read.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		usage(stderr)
		return &usageError{"no command given"}
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return runServe(ctx, rest, getenv, stdout, stderr)
	case "dev":
		return runDev(ctx, rest, getenv, stdout, stderr)
	case "send":
		return runSend(ctx, rest, getenv, stdout, stderr)
	case "tail":
		return runTail(ctx, rest, getenv, stdout, stderr)
	case "schemas":
		return runSchemas(rest, stdout, stderr)
	case "topics":
		return runTopics(ctx, rest, getenv, stdout, stderr)
	case "redrive":
		return runRedrive(ctx, rest, getenv, stdout, stderr)
	case "replay":
		return runReplay(ctx, rest, getenv, stdout, stderr)
	case "version", "--version", "-version":
		return runVersion(rest, stdout, stderr)
	case "help", "-h", "--help", "-help":
		usage(stdout)
		return nil
	}
	usage(stderr)
	return &usageError{fmt.Sprintf("unknown command %q", cmd)}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `engage-bridge: Voyado Engage webhooks (via Svix) in, acknowledged Kafka records out.

Usage: engage-bridge <command> [flags]

Commands:
  serve     run the bridge (configuration from BRIDGE_* variables or flags)
  dev       run the bridge with everything embedded: a local Kafka, demo secrets
  send      sign sample Engage events as Svix does and post them
  tail      print the records on the bridge's topics
  topics    create the routed topics if missing; report those with other settings
  redrive   send the dead-letter topic through the pipeline again
  replay    move a consumer group's offsets to a time or to the start
  schemas   print the JSON Schema of the envelope or of an event type's payload
  version   print version, commit and Go version

Run 'engage-bridge <command> -h' for a command's flags.
`)
}
