//go:build js

package jsapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"syscall/js"
	"unsafe"

	"github.com/adapterwasm/adapterwasm/wasm/engine"
)

var (
	jsObject       = js.Global().Get("Object")
	jsArray        = js.Global().Get("Array")
	jsError        = js.Global().Get("Error")
	jsPromise      = js.Global().Get("Promise")
	jsUint8Array   = js.Global().Get("Uint8Array")
	jsFloat32Array = js.Global().Get("Float32Array")
	jsArrayBuffer  = js.Global().Get("ArrayBuffer")
	jsJSON         = js.Global().Get("JSON")
)

// ErrorName is the name of every Error this module rejects with; its code property holds an
// engine.Code.
const ErrorName = "AdapterwasmError"

// ErrorValue turns a Go error into a JS Error with name ErrorName and a code.
func ErrorValue(err error) js.Value {
	code := engine.CodeOf(err)
	e := jsError.New(err.Error())
	e.Set("name", ErrorName)
	e.Set("code", string(code))
	var pe *engine.PanicError
	if errors.As(err, &pe) {
		e.Set("goStack", pe.Stack)
	}
	return e
}

// Promise runs f in a new goroutine and returns a Promise of its result. An error rejects the
// Promise with ErrorValue(err); a panic in f is recovered and rejects it with code "internal",
// and the instance keeps serving.
//
// The executor only keeps resolve and reject; f's goroutine starts after the Promise exists. Run
// inside the executor (a nested call into Go), a fatal end of f (the engine's Wasm stack
// overflowing: a RangeError unwinding through Go's frames) would be caught by the Promise
// constructor, leave a rejected Promise nobody holds (an unhandled rejection that ends Node) and
// let the calling handler go on over a broken stack. Outside it, the error unwinds to the JS
// caller of the method, which the loader (js/src/runtime.js) sees and reports as "exited".
func Promise(f func() (js.Value, error)) js.Value {
	var resolve, reject js.Value
	executor := js.FuncOf(func(this js.Value, args []js.Value) any {
		resolve, reject = args[0], args[1]
		return nil
	})
	p := jsPromise.New(executor) // the executor runs synchronously inside the constructor
	executor.Release()
	go func() {
		var v js.Value
		err := engine.Guard(func() (err error) {
			v, err = f()
			return err
		})
		if err != nil {
			reject.Invoke(ErrorValue(err))
			return
		}
		resolve.Invoke(v)
	}()
	return p
}

// AsyncMethod wraps f as a JS function returning a Promise; f's argument errors reject it too.
func AsyncMethod(f func(args []js.Value) (js.Value, error)) js.Func {
	return js.FuncOf(func(this js.Value, args []js.Value) any {
		return Promise(func() (js.Value, error) { return f(args) })
	})
}

func argError(format string, args ...any) error {
	return &engine.Error{Code: engine.CodeInvalidArgument, Err: fmt.Errorf(format, args...)}
}

func arg(args []js.Value, i int) js.Value {
	if i < len(args) {
		return args[i]
	}
	return js.Undefined()
}

// String reads argument i as a string.
func String(args []js.Value, i int, what string) (string, error) {
	v := arg(args, i)
	if v.Type() != js.TypeString {
		return "", argError("%s must be a string, not %s", what, v.Type())
	}
	return v.String(), nil
}

// optString reads argument i as a string, "" if it is not one.
func optString(args []js.Value, i int) string {
	if v := arg(args, i); v.Type() == js.TypeString {
		return v.String()
	}
	return ""
}

// Strings reads argument i as an array of strings (or one string, as a batch of one).
func Strings(args []js.Value, i int, what string) ([]string, error) {
	v := arg(args, i)
	if v.Type() == js.TypeString {
		if err := checkTextLength(v, what); err != nil {
			return nil, err
		}
		return []string{v.String()}, nil
	}
	if !jsArray.Call("isArray", v).Bool() {
		return nil, argError("%s must be a string or an array of strings, not %s", what, v.Type())
	}
	n := v.Length()
	if n > engine.MaxBatch {
		return nil, argError("%s has %d texts; at most %d per call", what, n, engine.MaxBatch)
	}
	out := make([]string, n)
	for j := range out {
		e := v.Index(j)
		if e.Type() != js.TypeString {
			return nil, argError("%s[%d] must be a string, not %s", what, j, e.Type())
		}
		if err := checkTextLength(e, fmt.Sprintf("%s[%d]", what, j)); err != nil {
			return nil, err
		}
		out[j] = e.String()
	}
	return out, nil
}

// Tasks reads argument i, the task of each of n texts for a MultiTask setup, as the Python
// library's task_ids: an array (or typed array) of n integers (a child's index) or strings (an
// adapter among the children). undefined or null: none (nil). Anything else, a non-integer
// number or a count other than n is an invalid_argument error; ids out of range are left to the
// engine (code setup, as any setup that does not fit the batch).
func Tasks(args []js.Value, i int, what string, n int) ([]engine.Task, error) {
	v := arg(args, i)
	if v.IsUndefined() || v.IsNull() {
		return nil, nil
	}
	if !jsArray.Call("isArray", v).Bool() && !jsArrayBuffer.Call("isView", v).Bool() {
		return nil, argError("%s must be an array of task ids (integers or adapter names), not %s", what, v.Type())
	}
	if k := v.Length(); k != n {
		return nil, argError("%s has %d task ids for %d texts", what, k, n)
	}
	out := make([]engine.Task, n)
	for j := range out {
		e := v.Index(j)
		switch e.Type() {
		case js.TypeNumber:
			f := e.Float()
			if f != math.Trunc(f) || math.Abs(f) > math.MaxInt32 {
				return nil, argError("%s[%d] = %v is not an integer task id", what, j, f)
			}
			out[j].ID = int(f)
		case js.TypeString:
			if err := checkTextLength(e, fmt.Sprintf("%s[%d]", what, j)); err != nil {
				return nil, err
			}
			out[j].Name = e.String()
			if out[j].Name == "" {
				return nil, argError("%s[%d] is an empty task name", what, j)
			}
		default:
			return nil, argError("%s[%d] must be an integer or an adapter name, not %s", what, j, e.Type())
		}
	}
	return out, nil
}

// checkTextLength refuses a JS string over engine.MaxTextBytes before it is copied into Go: its
// UTF-8 form is at least as many bytes as it has UTF-16 units, and a string of 300M characters
// would otherwise take up to 900 MB of Go heap (a fatal out-of-memory) just to be refused.
func checkTextLength(v js.Value, what string) error {
	// Object(s) wraps the string without copying it; Value.Length panics on a primitive.
	if n := jsObject.Invoke(v).Length(); n > engine.MaxTextBytes {
		return argError("%s is %d characters; at most %d bytes per text", what, n, engine.MaxTextBytes)
	}
	return nil
}

// Bytes copies a Uint8Array or ArrayBuffer into Go memory: the one copy a file's bytes make on
// their way in.
func Bytes(v js.Value, what string) ([]byte, error) {
	if v.InstanceOf(jsArrayBuffer) {
		v = jsUint8Array.New(v)
	}
	if !v.InstanceOf(jsUint8Array) {
		return nil, argError("%s must be a Uint8Array or ArrayBuffer", what)
	}
	b := make([]byte, v.Get("byteLength").Int())
	js.CopyBytesToGo(b, v)
	return b, nil
}

// Files reads argument i as an object mapping file names to bytes.
func Files(args []js.Value, i int, what string) (map[string][]byte, error) {
	v := arg(args, i)
	if v.Type() != js.TypeObject || v.IsNull() {
		return nil, argError("%s must be an object of file name → Uint8Array", what)
	}
	keys := jsObject.Call("keys", v)
	files := make(map[string][]byte, keys.Length())
	for j := 0; j < keys.Length(); j++ {
		name := keys.Index(j).String()
		b, err := Bytes(v.Get(name), what+"["+name+"]")
		if err != nil {
			return nil, err
		}
		files[name] = b
	}
	return files, nil
}

// Uint8Array copies b into a new Uint8Array.
func Uint8Array(b []byte) js.Value {
	a := jsUint8Array.New(len(b))
	js.CopyBytesToJS(a, b)
	return a
}

// Float32Array copies x into a new Float32Array.
func Float32Array(x []float32) js.Value {
	a := jsFloat32Array.New(len(x))
	if len(x) == 0 {
		return a
	}
	u := jsUint8Array.New(a.Get("buffer"), a.Get("byteOffset"), a.Get("byteLength"))
	js.CopyBytesToJS(u, unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(x))), len(x)*4))
	return a
}

// JSON converts v to a JS value through JSON, for small structured results.
func JSON(v any) (js.Value, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return js.Undefined(), err
	}
	return jsJSON.Call("parse", string(b)), nil
}
