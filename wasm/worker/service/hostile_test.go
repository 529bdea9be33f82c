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

// TestErrorsEchoAShortPrefix: an error message repeats at most a short prefix of what the
// client sent (a 900 KB adapter name was echoed whole), and still says what was wrong.
func TestErrorsEchoAShortPrefix(t *testing.T) {
	root := site(t, "seq_bn", "seq_bn_b")
	s := New(Config{Model: DirSource(root), Adapters: DirSource(root)})
	long := strings.Repeat("x", 900_000)
	for _, c := range []struct {
		name, method, path, body string
		status                   int
		code, says               string
	}{
		{"adapter name", "POST", "/v1/classify", `{"text":"a","adapters":"` + long + `"}`, 404, CodeUnknownAdapter, "unknown adapter xxxx"},
		{"name in a setup", "POST", "/v1/classify", `{"text":"a","adapters":"Stack(seq_bn,` + long + `)"}`, 404, CodeUnknownAdapter, "unknown adapter xxxx"},
		{"setup that does not parse", "POST", "/v1/classify", `{"text":"a","adapters":"Stack(seq_bn,` + long + `"}`, 400, CodeInvalidSetup, `adapters "Stack(seq_bn,xxx`},
		{"head", "POST", "/v1/classify", `{"text":"a","adapters":"seq_bn","head":"` + long + `"}`, 400, CodeInvalidSetup, "xxxx"},
		{"field", "POST", "/v1/classify", `{"text":"a","adapters":"seq_bn","` + long + `":1}`, 400, CodeInvalidRequest, `unknown field "xxxx`},
		{"route", "GET", "/" + long, "", 404, CodeNotFound, "no route GET /xxxx"},
		{"method", "GET", "/v1/classify?" + long, "", 405, CodeMethodNotAllowed, "GET /v1/classify: use POST"},
	} {
		code, out := do(t, s, c.method, c.path, c.body)
		e, _ := out["error"].(map[string]any)
		msg, _ := e["message"].(string)
		if code != c.status || e["code"] != c.code {
			t.Errorf("%s: %d %.200v, want %d %s", c.name, code, out, c.status, c.code)
		}
		if len(msg) > maxMessage || strings.Contains(msg, strings.Repeat("x", maxWord+1)) {
			t.Errorf("%s: a %d-byte message echoes too much: %.200q", c.name, len(msg), msg)
		}
		if !strings.Contains(msg, c.says) {
			t.Errorf("%s: message %.300q does not say %q", c.name, msg, c.says)
		}
		t.Logf("%s: %d %s (%d bytes): %s", c.name, code, e["code"], len(msg), msg)
	}
}

// TestParallelDuplicateBranches: Parallel(a,a) runs the whole batch twice to answer the same
// thing twice; it is refused with a 400 before any adapter is fetched. (The adapters library
// accepts it: composition.py checks no duplicates, and its Parallel head runs head "a" twice.)
func TestParallelDuplicateBranches(t *testing.T) {
	root := site(t, "seq_bn", "seq_bn_b")
	src := &countingSource{Source: DirSource(root)}
	s := New(Config{Model: DirSource(root), Adapters: src})
	for _, setup := range []string{
		"Parallel(seq_bn,seq_bn)",
		"Parallel(seq_bn,seq_bn_b,seq_bn)",
		"Parallel(Stack(seq_bn,seq_bn_b),Stack(seq_bn,seq_bn_b))",
		"Stack(seq_bn_b,Parallel(seq_bn,seq_bn))",
	} {
		code, out := do(t, s, "POST", "/v1/classify", `{"text":"a","adapters":"`+setup+`"}`)
		e, _ := out["error"].(map[string]any)
		if msg, _ := e["message"].(string); code != 400 || e["code"] != CodeInvalidSetup || !strings.Contains(msg, "twice") {
			t.Errorf("%s: %d %v, want 400 %s naming the branch given twice", setup, code, out, CodeInvalidSetup)
		}
	}
	if n := src.count("adapters/seq_bn"); n != 0 {
		t.Errorf("adapter files read %d times for refused setups", n)
	}
	// Distinct branches run, and Stack(a,a) is no Parallel.
	for _, setup := range []string{"Parallel(seq_bn,seq_bn_b)", "Parallel(Stack(seq_bn,seq_bn_b),Stack(seq_bn_b,seq_bn))", "Stack(seq_bn,seq_bn)"} {
		if code, out := do(t, s, "POST", "/v1/classify", `{"text":"a","adapters":"`+setup+`"}`); code != 200 {
			t.Errorf("%s: %d %v", setup, code, out)
		}
	}
}

// TestEmptyTexts: an empty or whitespace-only text is refused with a 400 naming it (the demo page
// refuses it too), not classified as [CLS][SEP].
func TestEmptyTexts(t *testing.T) {
	root := site(t, "seq_bn")
	s := New(Config{Model: DirSource(root), Adapters: DirSource(root)})
	for _, body := range []string{
		`{"text":"","adapters":"seq_bn"}`,
		`{"text":"  \t\n\u00a0\u3000","adapters":"seq_bn"}`,
		`{"texts":["fine",""],"adapters":"seq_bn"}`,
		`{"texts":["fine"," "],"adapters":"seq_bn"}`,
	} {
		code, out := do(t, s, "POST", "/v1/classify", body)
		e, _ := out["error"].(map[string]any)
		if msg, _ := e["message"].(string); code != 400 || e["code"] != CodeInvalidRequest || !strings.Contains(msg, "empty") {
			t.Errorf("%s: %d %v, want 400 %s", body, code, out, CodeInvalidRequest)
		}
	}
	if code, out := do(t, s, "POST", "/v1/classify", `{"texts":["fine"," a "],"adapters":"seq_bn"}`); code != 200 {
		t.Errorf("texts with words: %d %v", code, out)
	}
}

// TestWrongTypesSayJSON: a field of the wrong type is described in JSON's words, not Go's
// ("want []string" said Go's type).
func TestWrongTypesSayJSON(t *testing.T) {
	root := site(t, "seq_bn")
	s := New(Config{Model: DirSource(root), Adapters: DirSource(root)})
	for body, says := range map[string]string{
		`{"texts":"a","adapters":"seq_bn"}`:           `field "texts": want an array of strings, got JSON string`,
		`{"texts":[1],"adapters":"seq_bn"}`:           `field "texts": want a string, got JSON number`,
		`{"text":"a","adapters":{}}`:                  `field "adapters": want a string, got JSON object`,
		`{"text":"a","adapters":"seq_bn","head":[1]}`: `field "head": want a string, got JSON array`,
	} {
		code, out := do(t, s, "POST", "/v1/classify", body)
		e, _ := out["error"].(map[string]any)
		if msg, _ := e["message"].(string); code != 400 || msg != says {
			t.Errorf("%s: %d %q, want %q", body, code, msg, says)
		}
	}
}
