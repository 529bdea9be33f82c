//go:build js && wasm

package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"syscall/js"

	"github.com/adapterwasm/adapterwasm/wasm/worker/service"
)

var (
	jsUint8Array = js.Global().Get("Uint8Array")
	jsResponse   = js.Global().Get("Response")
	jsObject     = js.Global().Get("Object")
)

// await waits for a JS promise. The goroutine blocks; the Go scheduler returns to the event loop.
func await(p js.Value) (js.Value, error) {
	type result struct {
		v   js.Value
		err error
	}
	ch := make(chan result, 1)
	var onOK, onErr js.Func
	onOK = js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- result{v: args[0]}
		return nil
	})
	onErr = js.FuncOf(func(_ js.Value, args []js.Value) any {
		msg := "promise rejected"
		if len(args) > 0 {
			msg = args[0].Call("toString").String()
		}
		ch <- result{err: errors.New(msg)}
		return nil
	})
	p.Call("then", onOK, onErr)
	r := <-ch
	onOK.Release()
	onErr.Release()
	return r.v, r.err
}

// bytesOf copies an ArrayBuffer into Go memory (one copy; workerd cannot share it).
func bytesOf(buf js.Value) []byte {
	u := jsUint8Array.New(buf)
	b := make([]byte, u.Get("byteLength").Int())
	js.CopyBytesToGo(b, u)
	return b
}

// assetsSource reads the Worker's static assets through the ASSETS binding.
type assetsSource struct{ binding js.Value }

func (s assetsSource) Get(_ context.Context, p string) ([]byte, error) {
	res, err := await(s.binding.Call("fetch", "https://assets.invalid/"+p))
	if err != nil {
		return nil, fmt.Errorf("assets %s: %w", p, err)
	}
	if st := res.Get("status").Int(); st != 200 {
		if body := res.Get("body"); !body.IsNull() {
			body.Call("cancel")
		}
		return nil, &service.StatusError{Path: "assets " + p, Status: st}
	}
	buf, err := await(res.Call("arrayBuffer"))
	if err != nil {
		return nil, fmt.Errorf("assets %s: %w", p, err)
	}
	return bytesOf(buf), nil
}

// r2Source reads objects of an R2 bucket binding.
type r2Source struct{ bucket js.Value }

func (s r2Source) Get(_ context.Context, p string) ([]byte, error) {
	obj, err := await(s.bucket.Call("get", p))
	if err != nil {
		return nil, fmt.Errorf("r2 %s: %w", p, err)
	}
	if obj.IsNull() || obj.IsUndefined() {
		return nil, fmt.Errorf("r2 %s: %w", p, fs.ErrNotExist)
	}
	buf, err := await(obj.Call("arrayBuffer"))
	if err != nil {
		return nil, fmt.Errorf("r2 %s: %w", p, err)
	}
	return bytesOf(buf), nil
}

// cacheAPI keeps adapter files in the Workers Cache API (caches.default) under a synthetic URL
// per sha256. The Cache API is per data center and best effort: a miss or an error just means
// the file is read from its source.
type cacheAPI struct{ cache js.Value }

func newCacheAPI() service.Cache {
	caches := js.Global().Get("caches")
	if caches.IsUndefined() {
		return nil
	}
	return cacheAPI{caches.Get("default")}
}

const cachePrefix = "https://adapterwasm.cache/"

func (c cacheAPI) Get(_ context.Context, key string) ([]byte, bool) {
	res, err := await(c.cache.Call("match", cachePrefix+key))
	if err != nil || res.IsUndefined() || res.IsNull() {
		return nil, false
	}
	buf, err := await(res.Call("arrayBuffer"))
	if err != nil {
		return nil, false
	}
	return bytesOf(buf), true
}

func (c cacheAPI) Put(_ context.Context, key string, b []byte) {
	u := jsUint8Array.New(len(b))
	js.CopyBytesToJS(u, b)
	headers := jsObject.New()
	headers.Set("Content-Type", "application/octet-stream")
	headers.Set("Cache-Control", "public, max-age=604800, immutable")
	init := jsObject.New()
	init.Set("headers", headers)
	await(c.cache.Call("put", cachePrefix+key, jsResponse.New(u, init))) // best effort
}
