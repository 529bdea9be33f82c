//go:build js && adapterwasm_fataltest

package jsapi

import (
	"sync"
	"syscall/js"
)

// Test hooks that kill the instance the two ways a hostile input can, built only with
// -tags adapterwasm_fataltest (js/test/helpers/fataltest.js builds that module into a temp dir):
//
//	_fatal()     a Go fatal error ("fatal error: sync: unlock of unlocked mutex"): the runtime
//	             cannot recover it and ends the program, as it does on running out of memory
//	_overflow()  recursion without bound: the engine's Wasm stack overflows first, and its
//	             RangeError unwinds through Go's frames, leaving the program dead mid-call
func init() {
	testHooks = append(testHooks, func(api js.Value) {
		api.Set("_fatal", AsyncMethod(func(args []js.Value) (js.Value, error) {
			var mu sync.Mutex
			mu.Unlock()
			return js.Undefined(), nil
		}))
		api.Set("_overflow", AsyncMethod(func(args []js.Value) (js.Value, error) {
			return js.ValueOf(recurse(0)), nil
		}))
	})
}

//go:noinline
func recurse(n int) int {
	if n < 0 {
		return n
	}
	return recurse(n+1) + 1
}
