package cli

import (
	"errors"
	"fmt"
)

// Exit codes are a documented contract (README "Exit codes").
const (
	ExitOK          = 0
	ExitFailure     = 1
	ExitUsage       = 2
	ExitChecksFail  = 3 // the checks ran and some tasks failed: not a tool error
	ExitNotReady    = 4 // the environment, not the learner, is at fault
	ExitInterrupted = 130
)

// FlagError is a usage mistake: the presenter prints the usage too and exits with ExitUsage.
type FlagError struct{ Err error }

func (e *FlagError) Error() string { return e.Err.Error() }
func (e *FlagError) Unwrap() error { return e.Err }

// FlagErrorf builds a FlagError.
func FlagErrorf(format string, args ...any) error {
	return &FlagError{Err: fmt.Errorf(format, args...)}
}

// ExitError carries an exit code for a result that has already been printed (e.g. failed checks).
type ExitError struct{ Code int }

func (e *ExitError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// Exit returns an error that makes lab exit with code without printing anything more.
func Exit(code int) error {
	if code == ExitOK {
		return nil
	}
	return &ExitError{Code: code}
}

// IsExit reports whether err is an ExitError and returns its code.
func IsExit(err error) (int, bool) {
	var e *ExitError
	if errors.As(err, &e) {
		return e.Code, true
	}
	return 0, false
}
