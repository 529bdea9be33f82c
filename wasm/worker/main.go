//go:build !js

// Natively, the worker serves the same API from a directory laid out as the Worker's static
// assets (model/, adapters/index.json, …): `go run ./wasm/worker -dir workers/dist/assets`.
// It is for debugging; the Worker is the GOOS=js build (main_js.go).
package main

import (
	"flag"
	"log"
	"net/http"

	"github.com/adapterwasm/adapterwasm/wasm/worker/service"
)

func main() {
	dir := flag.String("dir", "workers/dist/assets", "directory laid out as the Worker's static assets")
	addr := flag.String("addr", "127.0.0.1:8788", "address to listen on")
	flag.Parse()
	src := service.DirSource(*dir)
	log.Printf("serving %s on http://%s", *dir, *addr)
	log.Fatal(http.ListenAndServe(*addr, service.New(service.Config{Model: src, Adapters: src})))
}
