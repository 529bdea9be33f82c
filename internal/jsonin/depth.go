// Package jsonin holds what every JSON entry point of this module needs for files from
// strangers: a nesting bound checked before encoding/json decodes (CheckDepth), and error texts
// without Go type names (Describe).
//
// encoding/json refuses nesting past 10,000 levels, but decoding into any (and every walker of
// the result) recurses once per level: a few thousand levels are harmless natively and a fatal
// "traceback did not unwind completely" in Wasm, whose goroutine stack is far smaller, ending
// the instance every model shares. No file this project reads nests deeper than 6 (a config
// union in adapter_config.json), so MaxDepth leaves ten times that.
package jsonin

import "fmt"

// MaxDepth is the nesting depth every JSON entry point of this module accepts.
const MaxDepth = 64

// DepthError reports a document that nests deeper than its bound.
type DepthError struct {
	Max    int // the bound
	Offset int // byte offset of the bracket that went past it
}

func (e *DepthError) Error() string {
	return fmt.Sprintf("JSON nests deeper than %d levels (at byte %d)", e.Max, e.Offset)
}

// CheckDepth scans b once, without allocating, and returns a *DepthError if its arrays and objects nest
// deeper than max. Brackets inside strings (escapes included) are not counted. It does not
// validate the JSON otherwise: a malformed document passes and is left to the decoder.
func CheckDepth(b []byte, max int) error {
	depth := 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
		case '[', '{':
			if depth++; depth > max {
				return &DepthError{Max: max, Offset: i}
			}
		case ']', '}':
			if depth > 0 {
				depth--
			}
		}
	}
	return nil
}
