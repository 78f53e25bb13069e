package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/backstage-lab/lab/cmd/lab/internal/cli"
	"github.com/backstage-lab/lab/labs"
	"github.com/backstage-lab/lab/provision"
)

// run is the only place that prints errors and picks the exit code.
func run(args []string, getenv func(string) string) int {
	streams := cli.System(getenv)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go cancelOnSignal(sigs, cancel, streams)

	f := cli.NewFactory(streams, getenv)
	root := newRootCmd(f)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	return present(streams, cmd, ctx, err)
}

// cancelOnSignal: the first Ctrl-C cancels the context, so that what runs stops and cleans up (a
// half-started lab is removed); a second one, or a minute without finishing, exits at once.
func cancelOnSignal(sigs <-chan os.Signal, cancel context.CancelFunc, streams *cli.IOStreams) {
	<-sigs
	fmt.Fprintln(streams.ErrOut, "\nInterrupted: cleaning up (press Ctrl-C again to exit at once)")
	cancel()
	select {
	case <-sigs:
	case <-time.After(time.Minute):
	}
	os.Exit(cli.ExitInterrupted)
}

type usager interface{ UsageString() string }

func present(streams *cli.IOStreams, cmd usager, ctx context.Context, err error) int {
	if err == nil {
		return cli.ExitOK
	}
	if code, ok := cli.IsExit(err); ok {
		return code
	}
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		fmt.Fprintln(streams.ErrOut, "lab: interrupted")
		return cli.ExitInterrupted
	}
	var fe *cli.FlagError
	if errors.As(err, &fe) || isCobraUsageError(err) {
		fmt.Fprintf(streams.ErrOut, "lab: %v\n", err)
		if cmd != nil {
			fmt.Fprintf(streams.ErrOut, "\n%s", cmd.UsageString())
		}
		return cli.ExitUsage
	}
	fmt.Fprintf(streams.ErrOut, "lab: %v\n", err)
	if hint := hintFor(err); hint != "" {
		fmt.Fprintf(streams.ErrOut, "hint: %s\n", hint)
	}
	if errors.Is(err, provision.ErrNotReady) {
		return cli.ExitNotReady
	}
	return cli.ExitFailure
}

func isCobraUsageError(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "accepts ", "requires at least", "invalid argument", "flag needs an argument", "requires exactly"} {
		if strings.HasPrefix(msg, p) || strings.Contains(msg, " "+p) {
			return true
		}
	}
	return false
}

// hintFor turns well-known errors into the next thing to do.
func hintFor(err error) string {
	switch {
	case errors.Is(err, provision.ErrDockerUnavailable):
		return "is Docker installed and running? Try `docker info`; on Linux start it with `sudo systemctl start docker` (or `dockerd &`). Set DOCKER_HOST if your daemon is elsewhere."
	case errors.Is(err, provision.ErrNotFound):
		return "start a lab with `lab start <lab>` (see `lab list`)."
	case errors.Is(err, labs.ErrUnknownLab):
		return "`lab list` shows the labs."
	case errors.Is(err, provision.ErrNotReady):
		return "see `lab status` and `lab logs backstage`; `lab restart` restarts the backend."
	}
	return ""
}
