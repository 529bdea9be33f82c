//go:build js

// Command wasm is the adapterwasm WebAssembly module for browsers, Web Workers and Node. Build it
// with `./build.sh wasm` (GOOS=js GOARCH=wasm) and load it with the js/ package, which runs it
// with Go's wasm_exec.js.
//
// Handshake: the loader puts a function at globalThis[argv[1]] and runs the module; main calls
// it once with the API object (wasm/jsapi.New) and then waits for calls forever. Without that
// argument the API is set as globalThis.adapterwasm.
package main

import (
	"os"
	"syscall/js"

	"github.com/adapterwasm/adapterwasm/wasm/jsapi"
)

func main() {
	key := "adapterwasm"
	if len(os.Args) > 1 && os.Args[1] != "" {
		key = os.Args[1]
	}
	api := jsapi.New()
	if ready := js.Global().Get(key); ready.Type() == js.TypeFunction {
		ready.Invoke(api)
	} else {
		js.Global().Set(key, api)
	}
	select {} // serve calls until the page or process ends
}
