//go:build !js

// (the mock hub listens on 127.0.0.1, which GOOS=js cannot.)

package main

import (
	"encoding/json"
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
