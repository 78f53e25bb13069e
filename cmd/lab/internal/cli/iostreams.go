// Package cli is the plumbing the lab commands share: I/O streams, the factory of lazy dependencies,
// exit codes, and the progress renderers.
package cli

import (
	"bytes"
	"io"
	"os"
)

// IOStreams are the only way commands write output: data goes to Out, everything else to ErrOut.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	OutTTY bool
	ErrTTY bool
	InTTY  bool
	// Color is true when colours may be used on ErrOut/Out (a terminal, no NO_COLOR, TERM not dumb).
	Color bool
}

// System returns streams on the process's stdin, stdout and stderr.
func System(getenv func(string) string) *IOStreams {
	io := &IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr,
		OutTTY: isTerminal(os.Stdout), ErrTTY: isTerminal(os.Stderr), InTTY: isTerminal(os.Stdin)}
	io.Color = io.ErrTTY && getenv("NO_COLOR") == "" && getenv("TERM") != "dumb"
	return io
}

// Test returns streams on buffers (in, out, errOut) for tests.
func Test() (*IOStreams, *bytes.Buffer, *bytes.Buffer, *bytes.Buffer) {
	in, out, errOut := &bytes.Buffer{}, &bytes.Buffer{}, &bytes.Buffer{}
	return &IOStreams{In: in, Out: out, ErrOut: errOut}, in, out, errOut
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
