package service

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/adapterwasm/adapterwasm/hub"
	"github.com/adapterwasm/adapterwasm/internal/hubtest"
)

// doH is do with the answer's headers.
func doH(t *testing.T, s *Service, body string) (int, map[string]any, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("POST", "/v1/classify", strings.NewReader(body)))
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("not JSON: %q", rec.Body.String())
	}
	return rec.Code, out, rec.Header().Get("Retry-After")
}

func errCode(out map[string]any) string {
	e, _ := out["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

// hubTexts are the texts the hub id tests classify; hubBody is a request for them under setup.
var hubTexts = []string{"hello world", "the quick brown fox"}

func hubBody(setup string) string {
	b, _ := json.Marshal(map[string]any{"texts": hubTexts, "adapters": setup})
	return string(b)
}

// checkSetup asks s to classify hubTexts under setup and holds the logits to those of wantSetup
// over the named adapters of the site root (loaded from disk, no hub).
func checkSetup(t *testing.T, s *Service, root, setup, wantSetup string, names ...string) {
	t.Helper()
	code, out, _ := doH(t, s, hubBody(setup))
	if code != 200 {
		t.Fatalf("%s: %d %v", setup, code, out)
	}
	exp := want(t, root, wantSetup, hubTexts, names...)
	for i, r := range out["results"].([]any) {
		for j, g := range logits(t, r) {
			if math.Abs(g-float64(exp[i].Logits[j])) > 1e-6 {
				t.Errorf("%s text %d logit %d: %v, want %v", setup, i, j, g, exp[i].Logits[j])
			}
		}
	}
}

// TestHubIDs: a setup may name adapters by hub id where the configuration allows them; they are
// fetched once per isolate (kept in the LRU), pinned by commit, and the hub's refusals become
// typed API errors.
func TestHubIDs(t *testing.T) {
	root := site(t, "seq_bn", "lora_qv") // lora_qv's files for want; the hub serves it as org/lora_qv
	tiny := "../../../testdata/tiny/adapters"
	h := hubtest.New(t)
	h.Token = "hf_ok"
	h.AddDir(t, "org/seq_bn", filepath.Join(tiny, "seq_bn"))
	pinned := h.AddDir(t, "org/lora_qv", filepath.Join(tiny, "lora_qv"))
	h.AddDir(t, "org/lora_qv", filepath.Join(tiny, "seq_bn_b")) // main moves on; the pin stays
	h.AddDir(t, "org/gated", filepath.Join(tiny, "seq_bn"))
	h.SetGated("org/gated", true)
	h.AddDir(t, "other/seq_bn", filepath.Join(tiny, "seq_bn"))

	env := map[string]string{"HUB_SOURCES": "hf", "HUB_ALLOW": "org/*", "HUB_PINS": "org/lora_qv@" + pinned, "HF_ENDPOINT": h.Endpoint.URL}
	hc, err := HubFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	src := DirSource(root)
	s := New(Config{Model: src, Adapters: src, Hub: hc})
	check := func(setup, wantSetup string, names ...string) {
		t.Helper()
		checkSetup(t, s, root, setup, wantSetup, names...)
	}
	hubFetches := func() int64 {
		s.statsMu.Lock()
		defer s.statsMu.Unlock()
		return s.stats.HubFetches
	}

	check("org/seq_bn", "seq_bn", "seq_bn")
	n := len(h.Requests())
	check("org/seq_bn", "seq_bn", "seq_bn")
	if len(h.Requests()) != n || hubFetches() != 1 {
		t.Errorf("the second request asked the hub again (%d requests, %d fetches)", len(h.Requests())-n, hubFetches())
	}
	check("hf:org/seq_bn@main", "seq_bn", "seq_bn")
	// Pinned: main now holds another adapter, the pin loads the first commit's lora_qv.
	check("Stack(org/lora_qv,seq_bn)", "Stack(lora_qv,seq_bn)", "lora_qv", "seq_bn")
	check("org/lora_qv@"+pinned, "lora_qv", "lora_qv")

	for _, c := range []struct {
		setup, code string
		status      int
	}{
		{"other/seq_bn", CodeNotAllowed, 403},
		{"hf:seq_bn_x", CodeNotAllowed, 403},
		{"org/lora_qv@main", CodeNotAllowed, 403},
		{"org/nope", CodeUnknownAdapter, 404},
		{"org/seq_bn@v9", CodeUnknownAdapter, 404},
		{"org/gated", CodeHubUnauthorized, 403},
		{"xx:org/seq_bn", CodeInvalidSetup, 400},
		{"org/bad..id", CodeInvalidSetup, 400},
		{"nope", CodeUnknownAdapter, 404},
	} {
		code, out, _ := doH(t, s, hubBody(c.setup))
		if code != c.status || errCode(out) != c.code {
			t.Errorf("%s: %d %v, want %d %s", c.setup, code, out, c.status, c.code)
		}
	}

	h.RateLimit = 9
	code, out, ra := doH(t, s, hubBody("org/seq_bn_b"))
	h.RateLimit = 0
	if code != 503 || errCode(out) != CodeHubRateLimited || ra != "9" {
		t.Errorf("rate limited: %d %v Retry-After %q", code, out, ra)
	}

	// Bounded: an adapter over HUB_MAX_ADAPTER_MB is refused before its weights are read.
	small := *hc
	small.MaxAdapterBytes = 1000
	s2 := New(Config{Model: src, Adapters: src, Hub: &small})
	if code, out, _ := doH(t, s2, hubBody("org/seq_bn")); code != 502 || errCode(out) != CodeAdapterLoad || !strings.Contains(out["error"].(map[string]any)["message"].(string), "too large") {
		t.Errorf("over the limit: %d %v", code, out)
	}
	// Unreachable hub. Natively only: under GOOS=js the test binary's network is Go's in-process
	// simulation (it is what serves the mock hub here), where 127.0.0.1:1 answered (CI, 2026-12-06);
	// the Worker's real transport is wasm/worker's fetch, tested in workers/test/hub.test.mjs.
	if runtime.GOOS != "js" {
		down := *hc
		down.Client = &hub.Client{Endpoint: "http://127.0.0.1:1"}
		s3 := New(Config{Model: src, Adapters: src, Hub: &down})
		if code, out, _ := doH(t, s3, hubBody("org/seq_bn")); code != 502 || errCode(out) != CodeHubUnavailable {
			t.Errorf("unreachable: %d %v", code, out)
		}
	}
	// Without a hub configuration an id is an unknown name, as before.
	s4 := New(Config{Model: src, Adapters: src})
	if code, out, _ := doH(t, s4, hubBody("org/seq_bn")); code != 404 || errCode(out) != CodeUnknownAdapter {
		t.Errorf("no hub: %d %v", code, out)
	}
	// The service keeps serving after all of it.
	check("org/seq_bn", "seq_bn", "seq_bn")
}

func TestHubFromEnv(t *testing.T) {
	if c, err := HubFromEnv(func(string) string { return "" }); c != nil || err != nil {
		t.Fatalf("unset: %v %v", c, err)
	}
	for _, env := range []map[string]string{
		{"HUB_SOURCES": "hf,s3"},
		{"HUB_SOURCES": "hf", "HUB_ALLOW": "org/[x"},
		{"HUB_SOURCES": "hf", "HUB_PINS": "org/x"},
		{"HUB_SOURCES": "hf", "HUB_PINS": "../x@main"},
		{"HUB_SOURCES": "hf", "HUB_MAX_ADAPTER_MB": "0"},
	} {
		if _, err := HubFromEnv(func(k string) string { return env[k] }); err == nil {
			t.Errorf("%v: no error", env)
		} else {
			t.Log(err)
		}
	}
	env := map[string]string{"HUB_SOURCES": " hf ", "HUB_ALLOW": "AdapterHub/*, org/x", "HUB_PINS": "org/x@abc", "HUB_REVISION": "v1", "HF_ENDPOINT": "http://e", "HF_TOKEN": "t", "HUB_MAX_ADAPTER_MB": "8"}
	c, err := HubFromEnv(func(k string) string { return env[k] })
	if err != nil || len(c.Allow) != 2 || c.Pins["org/x"] != "abc" || c.Revision != "v1" || c.Client.Endpoint != "http://e" || c.Client.Token != "t" || c.MaxAdapterBytes != 8<<20 {
		t.Fatalf("%+v %v", c, err)
	}
}

// TestAHIDs: "ah:IDENTIFIER" names an AdapterHub adapter where HUB_SOURCES has ah: resolved on the
// base model's AdapterHub index (HUB_AH_MODEL) as pull_from_hub does, then fetched as the hf id
// it names, to which HUB_ALLOW and HUB_PINS apply; what the library refuses and hostile index
// files (over the bound, too deep, wrong types, entries naming no repository) are typed errors.
func TestAHIDs(t *testing.T) {
	root := site(t, "seq_bn", "lora_qv")
	tiny := "../../../testdata/tiny/adapters"
	h := hubtest.New(t)
	h.AddDir(t, "AdapterHub/tiny-seq-bn", filepath.Join(tiny, "seq_bn"))
	pinned := h.AddDir(t, "AdapterHub/tiny-lora", filepath.Join(tiny, "lora_qv"))
	h.AddDir(t, "AdapterHub/tiny-lora", filepath.Join(tiny, "seq_bn_b")) // main moves on; the pin stays
	h.AddDir(t, "AdapterHub/other-x", filepath.Join(tiny, "seq_bn"))
	h.AHFiles = map[string][]byte{
		"index/org/tiny-bert.json": []byte(`{"sentiment": {"sst-2": {"default": "adapters/ukp/tiny-seq-bn.json"},
			"imdb": {"default": "adapters/ukp/tiny-lora.json"}},
			"other": {"z": {"default": "adapters/ukp/other-x.json"}},
			"odd": {"x": {"default": "adapters/ukp/..json"}}, "bad": {"y": {"default": 5}}}`),
		"index/org/huge.json": []byte(`{"a": "` + strings.Repeat("x", MaxAHIndexBytes) + `"}`),
		"index/org/deep.json": []byte(strings.Repeat(`{"a":`, 1000) + "1" + strings.Repeat("}", 1000)),
		"index/org/list.json": []byte(`[1]`),
	}
	service := func(env map[string]string) *Service {
		t.Helper()
		base := map[string]string{"HUB_SOURCES": "hf,ah", "HUB_ALLOW": "AdapterHub/tiny-*", "HUB_PINS": "AdapterHub/tiny-lora@" + pinned,
			"HF_ENDPOINT": h.Endpoint.URL, "HUB_AH_URL": h.AH.URL + hubtest.AHPrefix, "HUB_AH_MODEL": "org/tiny-bert"}
		for k, v := range env {
			base[k] = v
		}
		hc, err := HubFromEnv(func(k string) string { return base[k] })
		if err != nil {
			t.Fatal(err)
		}
		src := DirSource(root)
		return New(Config{Model: src, Adapters: src, Hub: hc})
	}
	s := service(nil)
	check := func(setup, wantSetup string, names ...string) {
		t.Helper()
		checkSetup(t, s, root, setup, wantSetup, names...)
	}
	check("ah:sentiment/sst-2@ukp", "seq_bn", "seq_bn")
	n := len(h.Requests())
	check("ah:sentiment/sst-2@ukp", "seq_bn", "seq_bn")
	if len(h.Requests()) != n {
		t.Errorf("the second request asked again: %v", h.Requests()[n:])
	}
	check("ah:imdb", "lora_qv", "lora_qv") // a subtask alone; pinned: main holds another adapter
	n = len(h.Requests())
	check("Stack(ah:@ukp/tiny-seq-bn,lora_qv)", "Stack(seq_bn,lora_qv)", "seq_bn", "lora_qv")
	for _, r := range h.Requests()[n:] {
		if strings.Contains(r.Path, "/index/") {
			t.Errorf("@org/file read the index: %s", r.Path)
		}
	}

	for _, c := range []struct {
		s           *Service
		setup, code string
		status      int
	}{
		{s, "ah:sentiment", CodeInvalidSetup, 400}, // sst-2 and imdb: "Found multiple possible adapters"
		{s, "ah:nope/x", CodeUnknownAdapter, 404},
		{s, "ah:other/z", CodeNotAllowed, 403}, // resolves to AdapterHub/other-x, outside HUB_ALLOW
		{s, "ah:odd/x", CodeHubUnavailable, 502},
		{s, "ah:bad/y", CodeHubUnavailable, 502},
		{s, "ah:@ukp/..", CodeUnknownAdapter, 404},
		{s, "ah: ", CodeInvalidSetup, 400},
		{service(map[string]string{"HUB_SOURCES": "hf"}), "ah:imdb", CodeNotAllowed, 403},
		{service(map[string]string{"HUB_AH_MODEL": "org/none"}), "ah:imdb", CodeUnknownAdapter, 404},
		{service(map[string]string{"HUB_AH_MODEL": "org/huge"}), "ah:imdb", CodeAdapterLoad, 502},
		{service(map[string]string{"HUB_AH_MODEL": "org/deep"}), "ah:imdb", CodeHubUnavailable, 502},
		{service(map[string]string{"HUB_AH_MODEL": "org/list"}), "ah:imdb", CodeHubUnavailable, 502},
	} {
		code, out, _ := doH(t, c.s, hubBody(c.setup))
		if code != c.status || errCode(out) != c.code || strings.Contains(fmt.Sprint(out), "interface") {
			t.Errorf("%s: %d %v, want %d %s", c.setup, code, out, c.status, c.code)
		} else {
			t.Logf("%s: %d %v", c.setup, code, out["error"])
		}
	}
	if _, err := HubFromEnv(func(k string) string {
		return map[string]string{"HUB_SOURCES": "ah", "HUB_AH_MODEL": "../x"}[k]
	}); err == nil {
		t.Error("HUB_AH_MODEL ../x: no error")
	}
	check("ah:sentiment/sst-2@ukp", "seq_bn", "seq_bn") // serving on
}
