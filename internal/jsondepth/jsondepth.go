// Package jsondepth bounds how deeply a JSON document nests before encoding/json decodes it.
//
// encoding/json refuses nesting past 10,000 levels, but decoding into any (and every walker of
// the result) recurses once per level: a few thousand levels are harmless natively and a fatal
// "traceback did not unwind completely" in Wasm, whose goroutine stack is far smaller, ending
// the instance every model shares. No file this project reads nests deeper than 6 (a config
// union in adapter_config.json), so Max leaves ten times that.
package jsondepth

import "fmt"

// Max is the nesting depth every JSON entry point of this module accepts.
const Max = 64

// Error reports a document that nests deeper than its bound.
type Error struct {
	Max    int // the bound
	Offset int // byte offset of the bracket that went past it
}

func (e *Error) Error() string {
	return fmt.Sprintf("JSON nests deeper than %d levels (at byte %d)", e.Max, e.Offset)
}

// Check scans b once, without allocating, and returns an *Error if its arrays and objects nest
// deeper than max. Brackets inside strings (escapes included) are not counted. It does not
// validate the JSON otherwise: a malformed document passes and is left to the decoder.
func Check(b []byte, max int) error {
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
				return &Error{Max: max, Offset: i}
			}
		case ']', '}':
			if depth > 0 {
				depth--
			}
		}
	}
	return nil
}
