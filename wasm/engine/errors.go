package engine

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/adapterwasm/adapterwasm/runtime/bert"
	"github.com/adapterwasm/adapterwasm/runtime/pretrained"
	"github.com/adapterwasm/adapterwasm/runtime/tokenizer"
	"github.com/adapterwasm/adapterwasm/runtime/weights"
)

// Code classifies an error for callers on the other side of the Wasm boundary, who cannot use
// errors.As: the JS package puts it in Error.code and branches on it.
type Code string

const (
	CodeInvalidArgument Code = "invalid_argument" // a call's arguments are of the wrong kind or out of range
	CodeFormat          Code = "format"           // a file is malformed: weights, config, tokenizer.json, adapter
	CodeUnsupported     Code = "unsupported"      // a valid file uses something not implemented
	CodeMissingFile     Code = "missing_file"     // a required file was not given
	CodeNotFound        Code = "not_found"        // an adapter name that is not loaded
	CodeSetup           Code = "setup"            // an active-adapters setup that cannot run
	CodeClosed          Code = "closed"           // the model was freed
	CodeInternal        Code = "internal"         // a bug: a recovered panic
)

// Error is an engine error with its Code. Err keeps the original error for errors.As.
type Error struct {
	Code Code
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

func errorf(code Code, format string, args ...any) error {
	return &Error{Code: code, Err: fmt.Errorf(format, args...)}
}

// CodeOf returns the code of err: its own if it is (or wraps) an *Error, else one derived from the
// runtime packages' typed errors, else CodeInternal.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	var (
		wf  *weights.FormatError
		wu  *weights.UnsupportedError
		tf  tokenizer.FormatError
		tu  tokenizer.UnsupportedError
		bc  *bert.ConfigError
		bl  *bert.LoadError
		bi  *bert.InputError
		pre *pretrained.Error
	)
	switch {
	case errors.As(err, &wu), errors.As(err, &tu):
		return CodeUnsupported
	case errors.As(err, &wf), errors.As(err, &tf), errors.As(err, &bc), errors.As(err, &bl):
		return CodeFormat
	case errors.As(err, &bi):
		return CodeInvalidArgument
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, pretrained.ErrNoWeights):
		return CodeMissingFile
	case errors.As(err, &pre):
		return CodeFormat
	}
	return CodeInternal
}

// PanicError is a panic recovered at the boundary, turned into an error so that the instance keeps
// serving.
type PanicError struct {
	Value any
	Stack string
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("internal error (recovered panic): %v", e.Value)
}

// Guard runs f and returns its error, or a *PanicError wrapped as CodeInternal if f panics.
func Guard(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &Error{Code: CodeInternal, Err: &PanicError{Value: r, Stack: stack()}}
		}
	}()
	return f()
}
