//go:build js && wasm

package main

import (
	"encoding/json"
	"net/http"
	"syscall/js"
)

// serve registers h as globalThis.context.binding.serve(method, url, headersJSON, body, done) for
// workers/src/worker.mjs, and binding.maxBodyBytes, the most body bytes the entry needs to read
// (a longer body is refused with 413 whatever the rest holds).
//
//	headersJSON  JSON of [[name, value], …]
//	body         a Uint8Array, or null when the request has no body; undefined when it has one
//	             the entry does not pass (its Content-Length is over maxBodyBytes)
//	done         called once, from Go, with (status, headersJSON, Uint8Array body)
//
// serve returns undefined at once (or a string saying what is wrong with its arguments); h runs
// on a goroutine. Its one js.Func lives as long as the instance: nothing is allocated in JS per
// request but the arguments and the answer's bytes. (This replaces workers.ServeNonBlock, whose
// response path makes two js.FuncOf per request for the body stream that are never released:
// ~18-28 KB of Wasm memory per request.)
func serve(h http.Handler, maxBodyBytes int64) {
	binding := js.Global().Get("context").Get("binding")
	binding.Set("maxBodyBytes", maxBodyBytes)
	binding.Set("serve", js.FuncOf(func(_ js.Value, args []js.Value) any {
		if len(args) != 5 || args[4].Type() != js.TypeFunction {
			return "binding.serve: want (method, url, headersJSON, body, done)" // a bug in worker.mjs; it throws this
		}
		ex := exchange{Method: args[0].String(), URL: args[1].String()}
		if err := json.Unmarshal([]byte(args[2].String()), &ex.Header); err != nil {
			ex.Header = nil
		}
		switch body := args[3]; {
		case body.IsUndefined():
			ex.HasBody = true
		case !body.IsNull():
			ex.HasBody = true
			ex.Body = make([]byte, body.Get("byteLength").Int())
			js.CopyBytesToGo(ex.Body, body)
		}
		done := args[4]
		go func() {
			a := serveExchange(h, ex)
			header, _ := json.Marshal(a.Header)
			body := jsUint8Array.New(len(a.Body))
			js.CopyBytesToJS(body, a.Body)
			done.Invoke(a.Status, string(header), body)
		}()
		return js.Undefined()
	}))
}
