package service

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/adapterwasm/adapterwasm/adapters"
)

// fuzzSite is site for a fuzz target: testdata/tiny's model and some adapters, with an index.
func fuzzSite(f *testing.F, names ...string) string {
	root := f.TempDir()
	cp := func(from, to string) {
		if err := os.MkdirAll(to, 0o755); err != nil {
			f.Fatal(err)
		}
		ents, err := os.ReadDir(from)
		if err != nil {
			f.Fatal(err)
		}
		for _, e := range ents {
			b, err := os.ReadFile(filepath.Join(from, e.Name()))
			if err == nil {
				err = os.WriteFile(filepath.Join(to, e.Name()), b, 0o644)
			}
			if err != nil {
				f.Fatal(err)
			}
		}
	}
	cp("../../../testdata/tiny/model", filepath.Join(root, "model"))
	for _, n := range names {
		cp(filepath.Join("../../../testdata/tiny/adapters", n), filepath.Join(root, "adapters", n))
	}
	idx, err := adapters.BuildIndex(filepath.Join(root, "adapters"), filepath.Join(root, "adapters"))
	if err != nil {
		f.Fatal(err)
	}
	b, _ := json.Marshal(idx)
	if err := os.WriteFile(filepath.Join(root, "adapters", "index.json"), b, 0o644); err != nil {
		f.Fatal(err)
	}
	return root
}

// FuzzClassifyRequest sends arbitrary bodies to POST /v1/classify (and arbitrary paths): every
// answer is a JSON object with a status the API documents, never a recovered panic (500), and a
// 200 carries one result per text.
func FuzzClassifyRequest(f *testing.F) {
	root := fuzzSite(f, "seq_bn", "seq_bn_b", "lora_qv", "prefix", "fusion")
	s := New(Config{Model: DirSource(root), Adapters: DirSource(root), MaxBodyBytes: 1 << 16, MaxTexts: 8, MaxTextBytes: 4096, MaxTokens: 256})
	for _, body := range []string{
		`{"text":"I love this movie","adapters":"seq_bn"}`,
		`{"texts":["a","b c"],"adapters":"Stack(lora_qv,seq_bn)","head":"seq_bn"}`,
		`{"texts":["a","b"],"adapters":"Parallel(seq_bn,seq_bn_b)"}`,
		`{"text":"x","adapters":"Fuse(seq_bn,seq_bn_b)"}`,
		`{"texts":["a","b","c"],"adapters":"BatchSplit(seq_bn,seq_bn_b,batch_sizes=[1,2])"}`,
		`{"text":"\xff\xfe","adapters":"prefix"}`,
		`{"text":"x","adapters":"Split(seq_bn,seq_bn_b,splits=[2,3])"}`,
		`[1]`, `{"text":1}`, `{"texts":null,"adapters":"seq_bn"}`,
	} {
		f.Add("/v1/classify", body)
	}
	f.Add("/v1/adapters", "")
	f.Add("/healthz", "")
	f.Fuzz(func(t *testing.T, path, body string) {
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " ?#%") {
			return
		}
		if _, err := url.ParseRequestURI(path); err != nil {
			return // no client could send it
		}
		method := http.MethodPost
		if path != "/v1/classify" {
			method = http.MethodGet
		}
		req := httptest.NewRequest(method, "http://w"+path, strings.NewReader(body))
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		var out map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("%s %q: status %d, not a JSON object: %.200q", path, body, rec.Code, rec.Body.String())
		}
		switch rec.Code {
		case 200, 400, 404, 405, 413, 422:
		default:
			t.Fatalf("%s %q: status %d: %v", path, body, rec.Code, out)
		}
		if rec.Code == 200 && path == "/v1/classify" {
			var req ClassifyRequest
			json.Unmarshal([]byte(body), &req)
			n := 1
			if req.Texts != nil {
				n = len(*req.Texts)
			}
			if rs, _ := out["results"].([]any); len(rs) != n {
				t.Fatalf("%q: %d results for %d texts", body, len(rs), n)
			}
		}
	})
}
