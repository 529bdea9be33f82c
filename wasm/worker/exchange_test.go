//go:build !js

// Natively only: under GOOS=js this package's imports (syumai/workers) need the Workers globals
// at init. The code under test is plain Go; the Worker runs it under wrangler dev
// (workers/test/soak.test.mjs, limits.test.mjs).

package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/adapterwasm/adapterwasm/wasm/worker/service"
)

func decodeError(t *testing.T, a answer) (code, message string) {
	t.Helper()
	var out struct {
		Error struct{ Code, Message string }
	}
	if err := json.Unmarshal(a.Body, &out); err != nil {
		t.Fatalf("%d: not JSON: %q", a.Status, a.Body)
	}
	return out.Error.Code, out.Error.Message
}

func header(a answer, name string) string {
	for _, kv := range a.Header {
		if http.CanonicalHeaderKey(kv[0]) == name {
			return kv[1]
		}
	}
	return ""
}

// TestServeExchange: the service answers through serveExchange (the bytes the JS entry hands
// over and gets back) as it does over net/http: status, headers and the whole body, a body cut
// at the limit + 1 or not read at all (its Content-Length over the limit) refused with 413, and a
// panicking handler a JSON 500.
func TestServeExchange(t *testing.T) {
	src := service.DirSource("../../testdata/tiny")
	s := service.New(service.Config{Model: src, Adapters: src})
	const max = service.DefaultMaxBodyBytes

	a := serveExchange(s, exchange{Method: "GET", URL: "https://w.example/healthz", Header: [][2]string{{"accept", "application/json"}}})
	var h service.Health
	if err := json.Unmarshal(a.Body, &h); a.Status != 200 || err != nil || !h.OK {
		t.Fatalf("healthz: %d %v %.300s", a.Status, err, a.Body)
	}
	if h.Memory.LiveHeap == 0 || h.Memory.LiveHeap > h.Memory.Sys {
		t.Errorf("healthz: live heap %d bytes (runtime sys %d)", h.Memory.LiveHeap, h.Memory.Sys)
	}
	if ct := header(a, "Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("healthz: Content-Type %q", ct)
	}

	a = serveExchange(s, exchange{Method: "GET", URL: "https://w.example/nope?x=1"})
	if code, _ := decodeError(t, a); a.Status != 404 || code != service.CodeNotFound {
		t.Errorf("404: %d %s", a.Status, a.Body)
	}

	for _, c := range []struct {
		name string
		ex   exchange
	}{
		// A chunked body: the entry read max+1 bytes, then cancelled the rest.
		{"chunked", exchange{Method: "POST", URL: "https://w.example/v1/classify", Body: []byte(strings.Repeat("x", max+1)), HasBody: true}},
		// A declared length over the limit: the entry read nothing.
		{"content-length", exchange{Method: "POST", URL: "https://w.example/v1/classify", Header: [][2]string{{"content-length", "5000000"}}, HasBody: true}},
	} {
		a := serveExchange(s, c.ex)
		if code, msg := decodeError(t, a); a.Status != 413 || code != service.CodeBodyTooLarge {
			t.Errorf("%s: %d %s %s", c.name, a.Status, code, msg)
		}
	}

	a = serveExchange(s, exchange{Method: "POST", URL: "https://w.example/v1/classify", HasBody: false})
	if code, _ := decodeError(t, a); a.Status != 400 || code != service.CodeInvalidJSON {
		t.Errorf("no body: %d %s", a.Status, a.Body)
	}

	a = serveExchange(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }), exchange{Method: "GET", URL: "https://w.example/"})
	if code, msg := decodeError(t, a); a.Status != 500 || code != "internal" || !strings.Contains(msg, "boom") {
		t.Errorf("panic: %d %s", a.Status, a.Body)
	}
	a = serveExchange(s, exchange{Method: "GET", URL: "%%"})
	if code, _ := decodeError(t, a); a.Status != 500 || code != "internal" {
		t.Errorf("bad URL: %d %s", a.Status, a.Body)
	}
}
