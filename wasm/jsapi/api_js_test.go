//go:build js

package jsapi

import (
	"os"
	"syscall/js"
	"testing"

	"github.com/adapterwasm/adapterwasm/internal/golden"
)

// await waits for a JS Promise from a test goroutine (not a JS callback, so blocking is fine).
func await(p js.Value) (v js.Value, rejected js.Value) {
	done := make(chan struct{})
	onOK := js.FuncOf(func(this js.Value, args []js.Value) any { v = args[0]; close(done); return nil })
	onErr := js.FuncOf(func(this js.Value, args []js.Value) any { rejected = args[0]; close(done); return nil })
	defer onOK.Release()
	defer onErr.Release()
	p.Call("then", onOK, onErr)
	<-done
	return v, rejected
}

func tinyFilesJS(t *testing.T) js.Value {
	files := jsObject.New()
	for _, name := range []string{"config.json", "tokenizer.json", "model.safetensors"} {
		b, err := os.ReadFile(golden.Path("tiny", "model", name))
		if err != nil {
			t.Fatal(err)
		}
		u := jsUint8Array.New(len(b))
		js.CopyBytesToJS(u, b)
		files.Set(name, u)
	}
	return files
}

func wantRejection(t *testing.T, what string, p js.Value, code string) {
	t.Helper()
	_, rej := await(p)
	if rej.IsUndefined() {
		t.Fatalf("%s: resolved, want a rejection with code %q", what, code)
	}
	if rej.Get("name").String() != ErrorName || rej.Get("code").String() != code {
		t.Fatalf("%s: rejected with %s %q: %s, want code %q", what, rej.Get("name"), rej.Get("code"), rej.Get("message"), code)
	}
}

func TestAPIFailuresLeaveInstanceUsable(t *testing.T) {
	api := New()
	mv, rej := await(api.Call("createModel", tinyFilesJS(t)))
	if !rej.IsUndefined() {
		t.Fatalf("createModel: %s", rej.Get("message"))
	}
	embedOne := func() {
		t.Helper()
		out, rej := await(mv.Call("embed", "I love this movie", map[string]any{"normalize": true}))
		if !rej.IsUndefined() {
			t.Fatalf("embed: %s", rej.Get("message"))
		}
		if out.Get("dim").Int() != 32 || out.Get("data").Length() != 32 {
			t.Fatalf("embed: dim %d, %d floats", out.Get("dim").Int(), out.Get("data").Length())
		}
	}
	embedOne()

	bad := jsObject.New()
	bad.Set("config.json", jsUint8Array.New(3))
	wantRejection(t, "createModel(bad)", api.Call("createModel", bad), "format")
	wantRejection(t, "createModel(42)", api.Call("createModel", 42), "invalid_argument")
	wantRejection(t, "embed(42)", mv.Call("embed", 42), "invalid_argument")
	wantRejection(t, "embed([1])", mv.Call("embed", []any{1}), "invalid_argument")
	wantRejection(t, "_panic", api.Call("_panic"), "internal")
	wantRejection(t, "classify", mv.Call("classify", "x", "seq_bn"), "setup")
	embedOne()

	mv.Call("free")
	wantRejection(t, "embed after free", mv.Call("embed", "x"), "closed")
	// A new model in the same instance still loads.
	if _, rej := await(api.Call("createModel", tinyFilesJS(t))); !rej.IsUndefined() {
		t.Fatalf("createModel after free: %s", rej.Get("message"))
	}
}
