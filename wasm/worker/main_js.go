//go:build js && wasm

// Command worker is adapterwasm's Cloudflare Workers entry: the HTTP API of wasm/worker/service,
// handed each request as bytes by workers/src/worker.mjs (serve_js.go), with the environment and
// bindings read through github.com/syumai/workers. Build it with `./build.sh worker`, which bundles it
// with workers/src/worker.mjs: that entry starts ONE Go instance per isolate and hands it every
// request (syumai's generated worker.mjs starts one per request, which would reload the model
// each time).
//
// Bindings and variables (workers/wrangler.jsonc):
//
//	ASSETS           static assets (the default source of the model and the adapters)
//	MODEL_BUCKET     optional R2 bucket
//	MODEL_SOURCE     "assets" (default) or "r2": where MODEL_PATH is read
//	MODEL_PATH       directory of manifest.json + the model file it lists (default "model/")
//	ADAPTERS_SOURCE  "assets" (default) or "r2": where ADAPTERS_INDEX and the adapter files are read
//	ADAPTERS_INDEX   the index.json of `adapterwasm index` (default "adapters/index.json")
//	ADAPTER_CACHE    "cache-api" (default) keeps fetched adapter files in the Workers Cache API; "off"
//	ADAPTER_BUDGET_MB  megabytes of adapter files kept loaded (default 64)
//	MAX_TOKENS       tokens of all texts of one request, after truncation (default 2048; -1: no limit)
//	HUB_SOURCES, HUB_ALLOW, HUB_PINS, HUB_REVISION, HF_ENDPOINT, HF_TOKEN, HUB_MAX_ADAPTER_MB
//	                 adapters named by hub id in requests (service.HubFromEnv; off unless HUB_SOURCES is set)
package main

import (
	"fmt"
	"net/http"
	"runtime/debug"
	"strconv"
	"syscall/js"

	"github.com/syumai/workers"
	"github.com/syumai/workers/cloudflare"

	"github.com/adapterwasm/adapterwasm/wasm/worker/service"
)

// The isolate has 128 MB for everything: the Wasm linear memory (which grows and never
// shrinks), the JS heap, and the bytes in flight. The base model's weights (~25 MB q8) are live
// for the isolate's life and hold no pointers, so collecting more often is cheap: the heap may
// grow to 1.5× the live data rather than 2×, and never past the soft limit.
const (
	gcPercent   = 50
	memoryLimit = 96 << 20
)

func main() {
	debug.SetGCPercent(gcPercent)
	debug.SetMemoryLimit(memoryLimit)
	cfg := service.Config{
		ModelPath: getenv("MODEL_PATH", "model/"),
		IndexPath: getenv("ADAPTERS_INDEX", "adapters/index.json"),
		LinearMemory: func() int64 {
			if f := js.Global().Get("context").Get("memoryBytes"); f.Type() == js.TypeFunction {
				return int64(f.Invoke().Float())
			}
			return 0
		},
	}
	var err error
	if cfg.Model, err = source(getenv("MODEL_SOURCE", "assets")); err != nil {
		panic(err) // the JS entry answers 500 with this message and starts afresh on the next request
	}
	if cfg.Adapters, err = source(getenv("ADAPTERS_SOURCE", "assets")); err != nil {
		panic(err)
	}
	switch c := getenv("ADAPTER_CACHE", "cache-api"); c {
	case "cache-api":
		cfg.Cache = newCacheAPI()
	case "off":
	default:
		panic(fmt.Sprintf("ADAPTER_CACHE=%q: want cache-api or off", c))
	}
	if t := getenv("MAX_TOKENS", ""); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil {
			panic(fmt.Sprintf("MAX_TOKENS=%q: want an integer (-1: no limit)", t))
		}
		cfg.MaxTokens = n
	}
	if mb := getenv("ADAPTER_BUDGET_MB", ""); mb != "" {
		n, err := strconv.Atoi(mb)
		if err != nil || n <= 0 {
			panic(fmt.Sprintf("ADAPTER_BUDGET_MB=%q: want a positive integer", mb))
		}
		cfg.AdapterBudget = int64(n) << 20
	}
	if cfg.Hub, err = service.HubFromEnv(cloudflare.Getenv); err != nil {
		panic(err.Error())
	}
	if cfg.Hub != nil {
		cfg.Hub.Client.HTTP = &http.Client{Transport: fetchTransport{}}
	}
	// Our own request path (serve_js.go), not workers.ServeNonBlock: syumai/workers v0.33.0 makes
	// two js.FuncOf per response body stream and never releases them (~18-28 KB per request).
	serve(service.New(cfg), service.DefaultMaxBodyBytes)
	workers.Ready()
	select {} // one instance serves every request of its isolate: never return
}

func getenv(name, def string) string {
	if v := cloudflare.Getenv(name); v != "" {
		return v
	}
	return def
}

func source(kind string) (service.Source, error) {
	switch kind {
	case "assets":
		b := cloudflare.GetBinding("ASSETS")
		if b.IsUndefined() {
			return nil, fmt.Errorf(`source "assets": no ASSETS binding (wrangler.jsonc: "assets": {"binding": "ASSETS"})`)
		}
		return assetsSource{b}, nil
	case "r2":
		b := cloudflare.GetBinding("MODEL_BUCKET")
		if b.IsUndefined() {
			return nil, fmt.Errorf(`source "r2": no MODEL_BUCKET binding (wrangler.jsonc: "r2_buckets")`)
		}
		return r2Source{b}, nil
	}
	return nil, fmt.Errorf("source %q: want assets or r2", kind)
}
