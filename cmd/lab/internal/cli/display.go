package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/backstage-lab/lab/provision"
)

// NewReporter returns the progress renderer for mode: auto, tty, plain, json or quiet.
// auto means tty when stderr is a terminal, else plain.
func NewReporter(streams *IOStreams, mode string) (provision.Reporter, error) {
	switch mode {
	case "", "auto":
		if streams.ErrTTY {
			return &lineReporter{w: streams.ErrOut, color: streams.Color, verbose: false}, nil
		}
		return &lineReporter{w: streams.ErrOut}, nil
	case "tty":
		return &lineReporter{w: streams.ErrOut, color: true}, nil
	case "plain":
		return &lineReporter{w: streams.ErrOut}, nil
	case "json":
		return &jsonReporter{enc: json.NewEncoder(streams.ErrOut)}, nil
	case "quiet":
		return provision.Discard, nil
	}
	return nil, FlagErrorf("--progress must be auto, tty, plain, json or quiet, not %q", mode)
}

// lineReporter prints a line when a step starts and when it ends, and build steps in between.
type lineReporter struct {
	mu      sync.Mutex
	w       io.Writer
	color   bool
	verbose bool
}

func (r *lineReporter) Event(e provision.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	green, red, yellow, dim, reset := "", "", "", "", ""
	if r.color {
		green, red, yellow, dim, reset = "\033[32m", "\033[31m", "\033[33m", "\033[2m", "\033[0m"
	}
	switch e.Status {
	case provision.StatusStart:
		fmt.Fprintf(r.w, " • %s ...\n", e.Text)
	case provision.StatusProgress:
		fmt.Fprintf(r.w, "   %s%s%s\n", dim, e.Text, reset)
	case provision.StatusDone:
		fmt.Fprintf(r.w, " %s✓%s %s %s(%s)%s\n", green, reset, e.Text, dim, e.Elapsed.Round(100*time.Millisecond), reset)
	case provision.StatusWarn:
		fmt.Fprintf(r.w, " %s!%s %s\n", yellow, reset, e.Text)
	case provision.StatusFail:
		fmt.Fprintf(r.w, " %s✗%s %s failed\n", red, reset, e.Step)
	}
}

// jsonReporter prints one JSON object per event.
type jsonReporter struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func (r *jsonReporter) Event(e provision.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	_ = r.enc.Encode(e)
}
