//go:build !js

// (the mock hub listens on 127.0.0.1, which GOOS=js cannot.)

package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/adapterwasm/adapterwasm/internal/golden"
	"github.com/adapterwasm/adapterwasm/internal/hubtest"
)

// minilmHub serves the real MiniLM and the demo adapters under hub ids.
func minilmHub(t *testing.T) (*hubtest.Hub, map[string]string) {
	h := hubtest.New(t)
	commits := map[string]string{
		"sentence-transformers/all-MiniLM-L6-v2": h.AddDir(t, "sentence-transformers/all-MiniLM-L6-v2", golden.MiniLMDir(t)),
	}
	for _, a := range []string{"sentiment", "spam", "sentiment_lora"} {
		id := "adapterwasm/minilm-" + strings.ReplaceAll(a, "_", "-")
		commits[id] = h.AddDir(t, id, golden.Path("minilm", "adapters", a))
	}
	return h, commits
}

// heldoutJSONL is the first n held-out sentences as JSON lines, plus one text longer than
// MiniLM's 256-token limit (which only sentence_bert_config.json sets: tokenizer.json says 128).
func heldoutJSONL(t *testing.T, n int) string {
	b, err := os.ReadFile(golden.Path("minilm", "heldout", "sentiment.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitN(string(b), "\n", n+1)[:n]
	long, _ := json.Marshal(map[string]string{"text": strings.Repeat("a remarkably long and rather dull film ", 40)})
	return strings.Join(lines, "\n") + "\n" + string(long) + "\n"
}

func TestClassifyByHubIDsEqualsByDirs(t *testing.T) {
	h, commits := minilmHub(t)
	long := heldoutJSONL(t, 5)
	short := long[:strings.LastIndex(strings.TrimSuffix(long, "\n"), "\n")+1] // without the long text
	cache := t.TempDir()
	hubArgs := []string{"--endpoint", h.Endpoint.URL, "--cache", cache}
	for _, tc := range []struct {
		name      string
		dirs, ids []string
		setup     string
		long      bool
	}{
		{"sentiment", []string{"sentiment=" + golden.Path("minilm", "adapters", "sentiment")},
			[]string{"sentiment=adapterwasm/minilm-sentiment"}, "", true},
		{"parallel", []string{"sentiment=" + golden.Path("minilm", "adapters", "sentiment"), "spam=" + golden.Path("minilm", "adapters", "spam")},
			[]string{"sentiment=adapterwasm/minilm-sentiment@main", "spam=adapterwasm/minilm-spam@" + commits["adapterwasm/minilm-spam"]},
			"Parallel(sentiment,spam)", false},
		{"lora", []string{golden.Path("minilm", "adapters", "sentiment_lora")}, []string{"adapterwasm/minilm-sentiment-lora"}, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := short
			if tc.long {
				in = long
			}
			args := func(model string, adapters []string, extra ...string) []string {
				a := []string{"classify", "--jsonl", "--batch", "16", "--model", model}
				for _, d := range adapters {
					a = append(a, "--adapter", d)
				}
				if tc.setup != "" {
					a = append(a, "--setup", tc.setup)
				}
				return append(a, extra...)
			}
			code, byDir, errs := runCLI(t, in, args(golden.MiniLMDir(t), tc.dirs)...)
			if code != 0 {
				t.Fatalf("by dirs: exit %d: %s", code, errs)
			}
			code, byID, errs := runCLI(t, in, args("sentence-transformers/all-MiniLM-L6-v2", tc.ids, hubArgs...)...)
			if code != 0 {
				t.Fatalf("by ids: exit %d: %s", code, errs)
			}
			if byID != byDir {
				t.Fatalf("by ids:\n%s\nby dirs:\n%s", byID, byDir)
			}
			// The long text's logits agree only if both cut it at 256 tokens: the id's snapshot
			// must hold sentence_bert_config.json.
			sb, _ := filepath.Glob(filepath.Join(cache, "hub", "models--sentence-transformers--all-MiniLM-L6-v2", "snapshots", "*", "sentence_bert_config.json"))
			if len(sb) != 1 || tc.long && !strings.Contains(byID, `"truncated":true`) {
				t.Errorf("sentence_bert_config.json in the cache: %v", sb)
			}
			if !strings.Contains(errs, "commit "+commits["sentence-transformers/all-MiniLM-L6-v2"]) {
				t.Errorf("stderr does not name the commit loaded: %s", errs)
			}
			// Offline (servers gone), the same ids load from the cache and give the same output.
			code, offline, errs := runCLI(t, in, args("sentence-transformers/all-MiniLM-L6-v2", tc.ids, append(hubArgs, "--offline")...)...)
			if code != 0 || offline != byDir {
				t.Fatalf("offline: exit %d: %s", code, errs)
			}
			if !strings.Contains(errs, "(from the cache)") {
				t.Errorf("offline stderr: %s", errs)
			}
		})
	}
	// A local path that exists wins over an id of the same spelling.
	wd, _ := os.Getwd()
	t.Chdir(t.TempDir())
	os.MkdirAll("org", 0o755)
	os.Symlink(golden.MiniLMDir(t), filepath.Join("org", "minilm"))
	n := len(h.Requests())
	code, _, errs := runCLI(t, "hello\n", "embed", "--model", "org/minilm", "--endpoint", h.Endpoint.URL, "--cache", cache)
	if code != 0 || len(h.Requests()) != n {
		t.Fatalf("local org/minilm: exit %d, %d requests: %s", code, len(h.Requests())-n, errs)
	}
	t.Chdir(wd)
}

func TestHubErrorsInCLI(t *testing.T) {
	h, _ := minilmHub(t)
	h.SetGated("adapterwasm/minilm-spam", true)
	base := []string{"classify", "--endpoint", h.Endpoint.URL, "--cache", t.TempDir(), "--quiet", "--model", "sentence-transformers/all-MiniLM-L6-v2"}
	for _, tc := range []struct {
		adapter string
		code    int
		want    string
	}{
		{"adapterwasm/minilm-spam", 1, "adapterwasm classify: --adapter adapterwasm/minilm-spam: no such directory; as a hub id: hub: adapterwasm/minilm-spam@main: adapter_config.json: access denied (gated or private repository; set HF_TOKEN) (HTTP 401)"},
		{"adapterwasm/nope", 1, "not found (HTTP 401): no such repository"},
		{"adapterwasm/minilm-spam@v2", 1, "access denied"},
		{"./no/such/dir", 1, "no/such/dir: not an AdapterHub directory"}, // not an id: a path, as before
	} {
		code, _, errs := runCLI(t, "hi\n", append(base, "--adapter", tc.adapter)...)
		if code != tc.code || !strings.Contains(errs, tc.want) {
			t.Errorf("--adapter %s: exit %d, stderr %q; want exit %d and %q", tc.adapter, code, errs, tc.code, tc.want)
		}
	}
	h.RateLimit = 30
	code, _, errs := runCLI(t, "hi\n", "embed", "--endpoint", h.Endpoint.URL, "--cache", t.TempDir(), "--model", "sentence-transformers/all-MiniLM-L6-v2")
	if code != 1 || !strings.Contains(errs, "rate limited (HTTP 429), retry after 30s") {
		t.Errorf("rate limited: exit %d, %s", code, errs)
	}
}

func TestConvertFromHubIDRecordsIDAndCommit(t *testing.T) {
	h := hubtest.New(t)
	commit := h.AddDir(t, "org/tiny", golden.Path("tiny", "model"))
	out := t.TempDir()
	code, _, errs := runCLI(t, "", "convert", "--in", "org/tiny", "--out", out, "--dtype", "f32", "--endpoint", h.Endpoint.URL, "--cache", t.TempDir())
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var man struct{ Source, Revision string }
	b, _ := os.ReadFile(filepath.Join(out, "manifest.json"))
	if err := json.Unmarshal(b, &man); err != nil || man.Source != "org/tiny" || man.Revision != commit {
		t.Fatalf("manifest source %q revision %q (%v), want org/tiny at %s", man.Source, man.Revision, err, commit)
	}
}

func TestListCLI(t *testing.T) {
	h := hubtest.New(t)
	h.AddFiles("AdapterHub/bert-base-uncased-pf-imdb", map[string][]byte{"adapter_config.json": []byte("{}")})
	h.SetInfo("AdapterHub/bert-base-uncased-pf-imdb", map[string]any{"tags": []string{"adapter-transformers"},
		"config": map[string]any{"adapter_transformers": map[string]any{"model_name": "bert-base-uncased"}}})
	h.AHList = []map[string]any{{"source": "ah", "adapter_id": "sentiment/imdb@ukp", "model_name": "bert-base-uncased", "task": "sentiment",
		"subtask": "imdb", "username": "ukp", "adapter_config": map[string]any{"reduction_factor": 16}}}
	idx := filepath.Join(t.TempDir(), "index.json")
	if code, _, errs := runCLI(t, "", "index", "--out", idx, golden.Path("minilm", "adapters")); code != 0 {
		t.Fatalf("index: %s", errs)
	}
	common := []string{"list", "--endpoint", h.Endpoint.URL, "--ah-url", h.AH.URL + hubtest.AHPrefix, "--cache", t.TempDir()}
	code, out, errs := runCLI(t, "", append(common, "--index", idx)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var got []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		got = append(got, m)
	}
	if len(got) != 6 || got[0]["source"] != "index" || got[0]["size"] == nil || got[4]["id"] != "sentiment/imdb@ukp" || got[4]["method"] != "bottleneck" || got[5]["source"] != "hf" {
		t.Fatalf("listing:\n%s", out)
	}
	code, out, _ = runCLI(t, "", append(common, "--index", idx, "--model-name", "bert-base-uncased", "--source", "hf")...)
	if code != 0 || strings.Count(out, "\n") != 1 || !strings.Contains(out, `"id":"AdapterHub/bert-base-uncased-pf-imdb"`) {
		t.Fatalf("hf, bert-base-uncased: %s", out)
	}
	if code, _, errs := runCLI(t, "", "list", "--source", "xx"); code != 2 {
		t.Fatalf("bad source: exit %d %s", code, errs)
	}
}

// TestListRunnable: `list --runnable` keeps the adapters for architectures this runtime runs:
// index entries by the model_type their config records (a RoBERTa, a DistilBERT and MiniLM's
// BERT adapters kept; a BART one left out), hub and AdapterHub entries by their model_name
// (bert-base-uncased, roberta-base, xlm-roberta-base kept; gpt2, facebook/bart-base and a name
// that says nothing left out). Without it everything is listed, as list_adapters does.
func TestListRunnable(t *testing.T) {
	h := hubtest.New(t)
	for id, name := range map[string]string{"AdapterHub/roberta-base-pf-imdb": "roberta-base", "AdapterHub/gpt2-pf-x": "gpt2",
		"org/xlmr-lang": "FacebookAI/xlm-roberta-base", "org/unknown": "org/custom-encoder"} {
		h.AddFiles(id, map[string][]byte{"adapter_config.json": []byte("{}")})
		h.SetInfo(id, map[string]any{"tags": []string{"adapters"}, "config": map[string]any{"adapters": map[string]any{"model_name": name}}})
	}
	h.AHList = []map[string]any{
		{"source": "ah", "adapter_id": "sentiment/imdb@ukp", "model_name": "bert-base-uncased", "adapter_config": map[string]any{}},
		{"source": "ah", "adapter_id": "summarization/xsum@ukp", "model_name": "facebook/bart-base", "adapter_config": map[string]any{}},
	}
	dir := t.TempDir()
	for _, a := range []string{"roberta", "distilbert"} {
		if err := os.CopyFS(filepath.Join(dir, a), os.DirFS(golden.Path("archs", a, "adapters", "seq_bn"))); err != nil {
			t.Fatal(err)
		}
	}
	// a BART adapter's config (the index reads configs only; the weights are never parsed)
	if err := os.MkdirAll(filepath.Join(dir, "bart"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := `{"config": {"architecture": "lora", "r": 8}, "hidden_size": 768, "model_class": "BartAdapterModel", "model_name": "facebook/bart-base", "model_type": "bart", "name": "bart", "version": "adapters.1.3.0"}`
	if err := os.WriteFile(filepath.Join(dir, "bart", "adapter_config.json"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	idx := filepath.Join(dir, "index.json")
	if code, _, errs := runCLI(t, "", "index", "--out", idx, dir); code != 0 {
		t.Fatalf("index: %s", errs)
	}
	common := []string{"list", "--endpoint", h.Endpoint.URL, "--ah-url", h.AH.URL + hubtest.AHPrefix, "--cache", t.TempDir(), "--index", idx}
	ids := func(args ...string) []string {
		t.Helper()
		code, out, errs := runCLI(t, "", append(common, args...)...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errs)
		}
		var got []string
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			var m struct{ ID string }
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatal(err)
			}
			got = append(got, m.ID)
		}
		sort.Strings(got)
		return got
	}
	all := ids()
	if len(all) != 9 {
		t.Fatalf("without --runnable: %v", all)
	}
	want := []string{"AdapterHub/roberta-base-pf-imdb", "distilbert", "org/xlmr-lang", "roberta", "sentiment/imdb@ukp"}
	if got := ids("--runnable"); !slices.Equal(got, want) {
		t.Fatalf("--runnable: %v, want %v", got, want)
	}
	if got := ids("--runnable", "--source", "index"); !slices.Equal(got, []string{"distilbert", "roberta"}) {
		t.Fatalf("--runnable --source index: %v", got)
	}
}

// at3Hub serves the real MiniLM and the adapter-transformers 3.2.1 adapters of testdata/at3 as
// AdapterHub/minilm-pf-<name>, with the AdapterHub index make_at3.py wrote for them.
func at3Hub(t *testing.T) *hubtest.Hub {
	h := hubtest.New(t)
	h.AddDir(t, "sentence-transformers/all-MiniLM-L6-v2", golden.MiniLMDir(t))
	for _, n := range []string{"imdb", "topic", "lora"} {
		h.AddDir(t, "AdapterHub/minilm-pf-"+n, golden.Path("at3", "adapters", n))
	}
	idx, err := os.ReadFile(golden.Path("at3", "ah", "index", "sentence-transformers", "all-MiniLM-L6-v2.json"))
	if err != nil {
		t.Fatal(err)
	}
	h.AHFiles = map[string][]byte{"index/sentence-transformers/all-MiniLM-L6-v2.json": idx}
	return h
}

// at3Input is the golden sentences as JSON lines, and the library's logits for them, without the
// last (256 tokens: the Go adapters test and the JS tests cover it; plain Go f32 is slow on it).
func at3Input(t *testing.T, name string) (string, [][]float64) {
	var g struct {
		Sentences []string    `json:"sentences"`
		Logits    [][]float64 `json:"logits"`
	}
	golden.Load(t, &g, "at3", "golden", name+".json")
	g.Sentences, g.Logits = g.Sentences[:len(g.Sentences)-1], g.Logits[:len(g.Logits)-1]
	var in strings.Builder
	for _, s := range g.Sentences {
		b, _ := json.Marshal(map[string]string{"text": s})
		in.Write(b)
		in.WriteByte('\n')
	}
	return in.String(), g.Logits
}

// TestClassifyByAHIDs: --adapter ah:IDENTIFIER resolves an AdapterHub identifier on the base
// model's index (--model's hub id, or --ah-model-name) as pull_from_hub does, and loads the
// AdapterHub/… repository it names: the library's logits within 1e-5, offline too (the index from
// the listing cache, the repository from the snapshot cache); hf:ID names a hub id outright.
func TestClassifyByAHIDs(t *testing.T) {
	h := at3Hub(t)
	cache := t.TempDir()
	hubArgs := []string{"--endpoint", h.Endpoint.URL, "--ah-url", h.AH.URL + hubtest.AHPrefix, "--cache", cache, "--batch", "16"}
	const model = "sentence-transformers/all-MiniLM-L6-v2"
	check := func(what, out string, want [][]float64) {
		t.Helper()
		worst := 0.0
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != len(want) {
			t.Fatalf("%s: %d lines, want %d", what, len(lines), len(want))
		}
		for i, l := range lines {
			var r struct{ Logits []float64 }
			if err := json.Unmarshal([]byte(l), &r); err != nil || len(r.Logits) != len(want[i]) {
				t.Fatalf("%s line %d: %v %s", what, i, err, l)
			}
			for j := range r.Logits {
				worst = max(worst, math.Abs(r.Logits[j]-want[i][j]))
			}
		}
		if worst > 1e-5 {
			t.Errorf("%s: max |Δlogit| %.3g against adapter-transformers 3.2.1", what, worst)
		}
	}
	for _, tc := range []struct {
		name, model, spec string
		extra             []string
	}{
		{"imdb", model, "ah:sentiment/imdb@ukp", nil},
		{"topic", golden.MiniLMDir(t), "ah:news", []string{"--ah-model-name", model}}, // a subtask alone; the index named for a directory
		{"lora", model, "hf:AdapterHub/minilm-pf-lora@main", nil},
	} {
		in, want := at3Input(t, tc.name)
		args := append(append([]string{"classify", "--jsonl", "--model", tc.model, "--adapter", tc.spec}, hubArgs...), tc.extra...)
		code, byID, errs := runCLI(t, in, args...)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", tc.spec, code, errs)
		}
		check(tc.spec, byID, want)
		if strings.HasPrefix(tc.spec, "ah:") && !strings.Contains(errs, "AdapterHub/minilm-pf-"+tc.name+" in the AdapterHub index of "+model) {
			t.Errorf("stderr does not say what %s resolved to: %s", tc.spec, errs)
		}
		if tc.name == "imdb" {
			code, offline, errs := runCLI(t, in, append(args, "--offline")...)
			if code != 0 || offline != byID || !strings.Contains(errs, "(from the cache)") {
				t.Fatalf("%s offline: exit %d: %s", tc.spec, code, errs)
			}
		}
	}
}

// TestAHIDErrors: what pull_from_hub refuses, bad identifiers and model names, and hostile index
// files (over the bound, declared or chunked; nested past the JSON depth bound; wrong types;
// entries naming no repository, or a path) are typed errors with exit 1 (2 for the command
// line), never a panic, and no repository is asked for.
func TestAHIDErrors(t *testing.T) {
	h := at3Hub(t)
	dir := t.TempDir()
	hostile := map[string][]byte{
		"huge":   []byte(`{"a": "` + strings.Repeat("x", 9<<20) + `"}`),
		"deep":   []byte(strings.Repeat(`{"a":`, 1000) + "1" + strings.Repeat("}", 1000)),
		"types":  []byte(`{"topic": {"news": {"default": 7}}}`),
		"list":   []byte(`[1, 2, 3]`),
		"dotdot": []byte(`{"topic": {"news": {"default": "adapters/ukp/..json"}}}`),
		"space":  []byte(`{"topic": {"news": {"default": "adapters/ukp/a b.json"}}}`),
		"nojson": []byte(`{"topic": `),
	}
	for n, b := range hostile {
		h.AHFiles["index/org/"+n+".json"] = b
	}
	run := func(adapter string, extra ...string) (int, string) {
		t.Helper()
		args := append([]string{"classify", "--quiet", "--model", golden.MiniLMDir(t), "--adapter", adapter, "--endpoint", h.Endpoint.URL,
			"--ah-url", h.AH.URL + hubtest.AHPrefix, "--cache", dir}, extra...)
		code, _, errs := runCLI(t, "hi\n", args...)
		return code, errs
	}
	for _, tc := range []struct {
		adapter, modelName string
		code               int
		want               string
	}{
		{"ah:topic/news", "", 2, "the AdapterHub index is per base model: pass --ah-model-name"},
		{"ah:", "x", 2, "want an AdapterHub identifier"},
		{"ah:" + strings.Repeat("a", 600), "x", 2, "want an AdapterHub identifier"},
		{"hf:a/b/c", "", 2, "not a hub id"},
		{"ah:topic/news", "../x", 1, "AdapterHub index of ../x: not a hub id"},
		{"ah:topic/news", "org/none", 1, "AdapterHub index of org/none: not found (HTTP 404)"},
		{"ah:sentiment", "sentence-transformers/all-MiniLM-L6-v2", 1, "several adapters in the AdapterHub index match"},
		{"ah:sentiment/sst-2", "sentence-transformers/all-MiniLM-L6-v2", 1, "no such adapter in the AdapterHub index"},
		{"ah:@ukp/..", "x", 1, "names no hub repository"},
		{"ah:../../etc/passwd", "sentence-transformers/all-MiniLM-L6-v2", 1, "no such adapter in the AdapterHub index"},
		{"ah:@../../minilm-pf-nothing", "x", 1, "hub: AdapterHub/minilm-pf-nothing@main: adapter_config.json: not found"}, // basename, as the library: a repo name like any other
		{"ah:topic/news", "org/huge", 1, "file too large"},
		{"ah:topic/news", "org/deep", 1, "malformed AdapterHub index: JSON nests deeper than 64 levels"},
		{"ah:topic/news", "org/types", 1, "malformed AdapterHub index"},
		{"ah:topic/news", "org/list", 1, "malformed AdapterHub index"},
		{"ah:topic/news", "org/dotdot", 1, `malformed AdapterHub index: entry "adapters/ukp/..json" names no hub repository`},
		{"ah:topic/news", "org/space", 1, "names no hub repository"},
		{"ah:topic/news", "org/nojson", 1, "unexpected answer: not JSON"},
	} {
		var extra []string
		if tc.modelName != "" {
			extra = []string{"--ah-model-name", tc.modelName}
		}
		n := len(h.Requests())
		code, errs := run(tc.adapter, extra...)
		if code != tc.code || !strings.Contains(errs, tc.want) || strings.Contains(errs, "panic") {
			t.Errorf("%s (%s): exit %d, stderr %q; want exit %d and %q", clipArg(tc.adapter), tc.modelName, code, errs, tc.code, tc.want)
		}
		for _, r := range h.Requests()[n:] {
			if r.Host != strings.TrimPrefix(h.AH.URL, "http://") && !strings.Contains(tc.adapter, "minilm-pf-nothing") {
				t.Errorf("%s (%s): asked the hub for %s", clipArg(tc.adapter), tc.modelName, r.Path)
			}
		}
	}
	h.AHChunked = true
	if code, errs := run("ah:topic/news", "--ah-model-name", "org/huge", "--cache", t.TempDir()); code != 1 || !strings.Contains(errs, "more than 8388608 bytes") {
		t.Errorf("chunked huge index: exit %d: %s", code, errs)
	}
}

// TestAHIDConvertedBaseNamesItsIndex: with --model a converted directory, ah: ids read the index
// of the name its manifest records (convert --name), with no --ah-model-name.
func TestAHIDConvertedBaseNamesItsIndex(t *testing.T) {
	h := hubtest.New(t)
	h.AddDir(t, "AdapterHub/tiny-seq-bn", golden.Path("tiny", "adapters", "seq_bn"))
	h.AHFiles = map[string][]byte{"index/org/tiny-bert.json": []byte(`{"sentiment": {"sst-2": {"default": "adapters/ukp/tiny-seq-bn.json"}}}`)}
	conv := t.TempDir()
	if code, _, errs := runCLI(t, "", "convert", "--in", golden.Path("tiny", "model"), "--out", conv, "--dtype", "f32", "--name", "org/tiny-bert"); code != 0 {
		t.Fatal(errs)
	}
	common := []string{"--endpoint", h.Endpoint.URL, "--ah-url", h.AH.URL + hubtest.AHPrefix, "--cache", t.TempDir()}
	code, byID, errs := runCLI(t, "hello world\n", append([]string{"classify", "--model", conv, "--adapter", "ah:sst-2"}, common...)...)
	if code != 0 || !strings.Contains(errs, "AdapterHub/tiny-seq-bn in the AdapterHub index of org/tiny-bert") {
		t.Fatalf("exit %d: %s", code, errs)
	}
	code, byDir, errs := runCLI(t, "hello world\n", "classify", "--model", conv, "--adapter", golden.Path("tiny", "adapters", "seq_bn"))
	if code != 0 || byDir != byID {
		t.Fatalf("by dir: exit %d %s\n%s\nby id:\n%s", code, errs, byDir, byID)
	}
	// A Hugging Face directory names no index: --ah-model-name is needed.
	code, _, errs = runCLI(t, "hello world\n", append([]string{"classify", "--model", golden.Path("tiny", "model"), "--adapter", "ah:sst-2"}, common...)...)
	if code != 2 || !strings.Contains(errs, "pass --ah-model-name") {
		t.Fatalf("HF directory: exit %d: %s", code, errs)
	}
}
