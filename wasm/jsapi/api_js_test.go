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

// TestClassifyTaskIDs: classify's fourth argument, the task of each text for a MultiTask setup,
// as Python's task_ids (integers or adapter names, an Array or a typed array): hostile values are
// rejected with a code and the model keeps working.
func TestClassifyTaskIDs(t *testing.T) {
	api := New()
	mv, rej := await(api.Call("createModel", tinyFilesJS(t)))
	if !rej.IsUndefined() {
		t.Fatalf("createModel: %s", rej.Get("message"))
	}
	for _, n := range []string{"t1", "t2"} {
		dir := golden.Path("..", "adapters", "testdata", "methods", "mtl", "adapters_st", n)
		files := jsObject.New()
		ents, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			b, err := os.ReadFile(dir + "/" + e.Name())
			if err != nil {
				t.Fatal(err)
			}
			u := jsUint8Array.New(len(b))
			js.CopyBytesToJS(u, b)
			files.Set(e.Name(), u)
		}
		if _, rej := await(mv.Call("loadAdapter", n, files)); !rej.IsUndefined() {
			t.Fatalf("loadAdapter %s: %s", n, rej.Get("message"))
		}
	}
	texts := []any{"good", "bad"}
	setup := "MultiTask(t1,t2)"
	logits := func(ids js.Value) []float64 {
		t.Helper()
		out, rej := await(mv.Call("classify", texts, setup, "t1", ids))
		if !rej.IsUndefined() {
			t.Fatalf("classify %v: %s", ids, rej.Get("message"))
		}
		var l []float64
		for i := 0; i < out.Length(); i++ {
			for j := 0; j < out.Index(i).Get("logits").Length(); j++ {
				l = append(l, out.Index(i).Get("logits").Index(j).Float())
			}
		}
		return l
	}
	a := logits(js.ValueOf([]any{0, 1}))
	b := logits(js.ValueOf([]any{"t1", "t2"}))
	i32 := js.Global().Get("Int32Array").New(2)
	i32.SetIndex(1, 1)
	c := logits(i32)
	d := logits(js.ValueOf([]any{1, 1}))
	for i := range a {
		if a[i] != b[i] || a[i] != c[i] {
			t.Fatalf("ids, names and Int32Array differ: %v %v %v", a, b, c)
		}
	}
	same := func(x, y []float64) bool {
		for i := range x {
			if x[i] != y[i] {
				return false
			}
		}
		return true
	}
	if !same(a[3:], d[3:]) || same(a[:3], d[:3]) {
		t.Fatalf("task ids [0 1] vs [1 1]: %v vs %v (text 0 must change, text 1 not)", a, d)
	}
	for what, ids := range map[string]any{
		"fraction": []any{0, 0.5}, "NaN": []any{0, js.Global().Get("NaN")}, "Infinity": []any{0, js.Global().Get("Infinity")},
		"short": []any{0}, "long": []any{0, 1, 1}, "object": []any{0, map[string]any{}}, "bool": []any{0, true},
		"null element": []any{0, nil}, "empty name": []any{0, ""}, "not an array": "0,1", "number": 3,
		"huge": []any{0, 1e300},
	} {
		wantRejection(t, "classify taskIds "+what, mv.Call("classify", texts, setup, "t1", ids), "invalid_argument")
	}
	for what, ids := range map[string]any{"negative": []any{0, -1}, "out of range": []any{0, 2}, "unknown name": []any{0, "t3"}} {
		wantRejection(t, "classify taskIds "+what, mv.Call("classify", texts, setup, "t1", ids), "setup")
	}
	wantRejection(t, "classify without taskIds", mv.Call("classify", texts, setup, "t1"), "setup")
	// Ignored without a MultiTask block, as the library ignores task_ids.
	if _, rej := await(mv.Call("classify", texts, "t1", "t1", []any{5, -3})); !rej.IsUndefined() {
		t.Fatalf("classify without MultiTask: %s", rej.Get("message"))
	}
	if e := logits(js.ValueOf([]any{0, 1})); e[0] != a[0] || e[3] != a[3] {
		t.Fatalf("after the rejections: %v, want %v", e, a)
	}
}
