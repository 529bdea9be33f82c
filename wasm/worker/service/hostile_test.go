package service

import (
	"runtime"
	"strings"
	"testing"
)

// TestHostileRequests: setups that would allocate without bound (deep nesting, huge Split or
// BatchSplit sizes) get a JSON 4xx quickly, with little memory, and the isolate keeps serving.
func TestHostileRequests(t *testing.T) {
	root := site(t, "seq_bn", "seq_bn_b")
	s := New(Config{Model: DirSource(root), Adapters: DirSource(root)})
	if code, out := do(t, s, "POST", "/v1/classify", `{"text":"I love this movie","adapters":"seq_bn"}`); code != 200 {
		t.Fatalf("%d %v", code, out)
	}
	deep := strings.Repeat("Stack(", 50_000) + "seq_bn" + strings.Repeat(")", 50_000)
	for _, setup := range []string{
		deep,
		"Split(seq_bn,seq_bn_b,splits=[1000000000,1])",
		"BatchSplit(seq_bn,seq_bn_b,batch_sizes=[1000000000000,1])",
		"Parallel(" + strings.Repeat("seq_bn,", 10_000) + "seq_bn)",
	} {
		var a, b runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&a)
		code, out := do(t, s, "POST", "/v1/classify", `{"text":"x","adapters":"`+setup+`"}`)
		runtime.ReadMemStats(&b)
		e, _ := out["error"].(map[string]any)
		if code < 400 || code >= 500 || e == nil {
			t.Errorf("%.60s: %d %.300v", setup, code, out)
		}
		if grew := b.TotalAlloc - a.TotalAlloc; grew > 64<<20 {
			t.Errorf("%.60s: allocated %d MB", setup, grew>>20)
		}
		t.Logf("%.40s…: %d %.120v", setup, code, e["message"])
	}
	if code, out := do(t, s, "POST", "/v1/classify", `{"text":"I love this movie","adapters":"seq_bn"}`); code != 200 {
		t.Fatalf("after hostile requests: %d %v", code, out)
	}
}
