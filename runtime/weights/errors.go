package weights

import (
	"errors"
	"strings"
)

// FormatError reports that a weight file is malformed: truncated, out of
// range, inconsistent, or not the format it claims to be. It mirrors
// image/png's FormatError, with the file and tensor it concerns.
type FormatError struct {
	File   string // file name as given to the parser; may be empty
	Tensor string // tensor name; empty when the error is not about one tensor
	Reason string
}

func (e *FormatError) Error() string {
	return joinError(e.File, e.Tensor, e.Reason)
}

// UnsupportedError reports valid content that this package refuses: a pickle
// opcode or global outside the allow-list, a legacy (pre-1.6, non-zip) torch
// file, a dtype it cannot represent, a conversion it does not do.
type UnsupportedError struct {
	File   string
	Tensor string
	Reason string // what is unsupported, e.g. `pickle GLOBAL "os system"`
}

func (e *UnsupportedError) Error() string {
	return joinError(e.File, e.Tensor, "unsupported: "+e.Reason)
}

// Is makes errors.Is(err, errors.ErrUnsupported) true for an *UnsupportedError.
func (e *UnsupportedError) Is(target error) bool { return target == errors.ErrUnsupported }

func joinError(file, tensor, reason string) string {
	var b strings.Builder
	b.WriteString("weights: ")
	if file != "" {
		b.WriteString(file)
		b.WriteString(": ")
	}
	if tensor != "" {
		b.WriteString("tensor ")
		b.WriteString(tensor)
		b.WriteString(": ")
	}
	b.WriteString(reason)
	return b.String()
}
