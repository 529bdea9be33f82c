package tokenizer

import "fmt"

// FormatError reports a tokenizer.json that is not valid: malformed JSON, a missing
// field, or a value of the wrong kind. Like image/png.FormatError.
type FormatError string

func (e FormatError) Error() string { return "tokenizer: invalid tokenizer.json: " + string(e) }

// UnsupportedError reports a valid tokenizer.json that uses a component this package does
// not implement, e.g. a BPE model or a Metaspace pre-tokenizer. It names the component.
type UnsupportedError string

func (e UnsupportedError) Error() string { return "tokenizer: unsupported " + string(e) }

func formatErrorf(format string, args ...any) error {
	return FormatError(fmt.Sprintf(format, args...))
}

func unsupportedf(format string, args ...any) error {
	return UnsupportedError(fmt.Sprintf(format, args...))
}
