package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/adapterwasm/adapterwasm/internal/golden"
	"github.com/adapterwasm/adapterwasm/runtime/modelfile"
	"github.com/adapterwasm/adapterwasm/runtime/pretrained"
)

func TestConvertTiny(t *testing.T) {
	in := golden.Path("tiny", "model")
	for _, dtype := range []string{"f32", "f16", "q8"} {
		out := filepath.Join(t.TempDir(), "out")
		code, stdout, stderr := runCLI(t, "", "convert", "--in", in, "--out", out, "--dtype", dtype)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", dtype, code, stderr)
		}
		var res struct {
			Bytes  int    `json:"bytes"`
			SHA256 string `json:"sha256"`
			DType  string `json:"dtype"`
		}
		if err := json.Unmarshal([]byte(stdout), &res); err != nil || res.DType != dtype {
			t.Fatalf("%s: stdout %q: %v", dtype, stdout, err)
		}
		mb, err := os.ReadFile(filepath.Join(out, modelfile.ManifestName))
		if err != nil {
			t.Fatal(err)
		}
		man, err := modelfile.ParseManifest(mb)
		if err != nil {
			t.Fatal(err)
		}
		if man.Files[0].SHA256 != res.SHA256 || man.Files[0].Size != int64(res.Bytes) || string(man.DType) != dtype {
			t.Fatalf("%s: manifest %+v, stdout %+v", dtype, man, res)
		}
		if _, err := pretrained.LoadDir(out); err != nil {
			t.Fatalf("%s: %v", dtype, err)
		}
		// The converted directory embeds like the original.
		if code, _, stderr := runCLI(t, "a test sentence\n", "embed", "--model", out); code != 0 {
			t.Fatalf("%s: embed: exit %d: %s", dtype, code, stderr)
		}
	}
}

func TestConvertUsageErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		code int
		text string
	}{
		{[]string{"convert"}, 2, "--in and --out are required"},
		{[]string{"convert", "--in", dir, "--out", dir, "--dtype", "q4"}, 2, "unknown dtype"},
		{[]string{"convert", "--in", dir, "--out", dir, "--block", "48"}, 2, "--block 48: want 32, 64 or 128"},
		{[]string{"convert", "--in", dir, "--out", dir, "--dtype", "f16", "--block", "64"}, 2, "with --dtype q8"},
		{[]string{"convert", "--in", dir, "--out", filepath.Join(dir, "o")}, 1, "config.json"},
	} {
		code, _, stderr := runCLI(t, "", c.args...)
		if code != c.code || !strings.Contains(stderr, c.text) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d mentioning %q", c.args, code, stderr, c.code, c.text)
		}
	}
}

// TestConvertName: the converted model is called what --name says (the name adapters give as
// model_name), over the checkpoint's _name_or_path, which is kept when no name is given.
func TestConvertName(t *testing.T) {
	in := t.TempDir()
	for _, f := range []string{pretrained.ConfigFile, pretrained.TokenizerFile, pretrained.SafetensorsFile} {
		b, err := os.ReadFile(filepath.Join(golden.Path("tiny", "model"), f))
		if err != nil {
			t.Fatal(err)
		}
		if f == pretrained.ConfigFile {
			var cfg map[string]any
			if err := json.Unmarshal(b, &cfg); err != nil {
				t.Fatal(err)
			}
			cfg["_name_or_path"] = "base/checkpoint"
			if b, err = json.Marshal(cfg); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(in, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct{ flag, want string }{{"org/model", "org/model"}, {"", "base/checkpoint"}} {
		out := filepath.Join(t.TempDir(), "out")
		args := []string{"convert", "--in", in, "--out", out, "--dtype", "f32"}
		if tc.flag != "" {
			args = append(args, "--name", tc.flag)
		}
		if code, _, stderr := runCLI(t, "", args...); code != 0 {
			t.Fatalf("--name %q: exit %d: %s", tc.flag, code, stderr)
		}
		m, err := pretrained.LoadDir(out)
		if err != nil {
			t.Fatal(err)
		}
		if m.Name != tc.want {
			t.Errorf("--name %q: model name %q, want %q", tc.flag, m.Name, tc.want)
		}
	}
}

// TestConvertArchs: `convert` writes RoBERTa, XLM-R and DistilBERT bases (testdata/archs) in every
// dtype, and `classify` on the converted directory with the library's seq_bn adapter, and with
// MAD-X's Stack(lang_inv,seq_bn) (an invertible language adapter under it), gives the library's
// logits: f32 within 1e-4, f16 and q8 within 2e-2 of the largest logit (adapters' TestArchDtypes
// holds the per-dtype bounds).
func TestConvertArchs(t *testing.T) {
	cases := []struct {
		golden, setup string
		adapters      []string
	}{
		{"seq_bn", "", []string{"seq_bn"}},
		{"madx_stack_lang_inv_seq_bn", "Stack(lang_inv,seq_bn)", []string{"lang_inv", "seq_bn"}},
	}
	for _, arch := range []string{"roberta", "xlm-roberta", "distilbert"} {
		var g golden.Base
		golden.Load(t, &g, "archs", arch, "golden", "base.json")
		var in strings.Builder
		for _, s := range g.Sentences {
			b, _ := json.Marshal(map[string]string{"text": s})
			in.Write(b)
			in.WriteByte('\n')
		}
		for _, dtype := range []string{"f32", "f16", "q8"} {
			out := filepath.Join(t.TempDir(), "out")
			if code, _, stderr := runCLI(t, "", "convert", "--in", golden.Path("archs", arch, "model"), "--out", out, "--dtype", dtype); code != 0 {
				t.Fatalf("%s %s: exit %d: %s", arch, dtype, code, stderr)
			}
			for _, c := range cases {
				var want struct{ Logits [][]float64 }
				golden.Load(t, &want, "archs", arch, "golden", c.golden+".json")
				args := []string{"classify", "--jsonl", "--max-length", "48", "--model", out}
				for _, a := range c.adapters {
					args = append(args, "--adapter", golden.Path("archs", arch, "adapters", a))
				}
				if c.setup != "" {
					args = append(args, "--setup", c.setup)
				}
				code, stdout, stderr := runCLI(t, in.String(), args...)
				if code != 0 {
					t.Fatalf("%s %s %s: classify: exit %d: %s", arch, dtype, c.golden, code, stderr)
				}
				lines := strings.Split(strings.TrimSpace(stdout), "\n")
				if len(lines) != len(want.Logits) {
					t.Fatalf("%s %s %s: %d results, want %d", arch, dtype, c.golden, len(lines), len(want.Logits))
				}
				worst, scale := 0.0, 0.0
				for i, l := range lines {
					var p prediction
					if err := json.Unmarshal([]byte(l), &p); err != nil || len(p.Logits) != len(want.Logits[i]) {
						t.Fatalf("%s %s %s: line %d %q: %v", arch, dtype, c.golden, i, l, err)
					}
					for j, w := range want.Logits[i] {
						worst, scale = max(worst, math.Abs(p.Logits[j]-w)), max(scale, math.Abs(w))
					}
				}
				bound := 1e-4
				if dtype != "f32" {
					bound = 2e-2 * scale
				}
				if worst > bound {
					t.Errorf("%s %s %s: max |Δlogit| %.3g > %.3g", arch, dtype, c.golden, worst, bound)
				}
				t.Logf("%s %s %s: max |Δlogit| %.2g (largest logit %.3g)", arch, dtype, c.golden, worst, scale)
			}
		}
	}
}

// TestRelaxedSIMDFlag: --relaxed-simd changes a q8 base's answers (the 7-bit recipe; MiniLM's: the
// tiny model's matrices are too small to be q8), not an f32 base's, and lasts for its own command
// only.
func TestRelaxedSIMDFlag(t *testing.T) {
	if testing.Short() {
		t.Skip("converts MiniLM to q8")
	}
	in := golden.MiniLMDir(t)
	q8 := filepath.Join(t.TempDir(), "q8")
	if code, _, stderr := runCLI(t, "", "convert", "--in", in, "--out", q8, "--dtype", "q8"); code != 0 {
		t.Fatalf("convert: %s", stderr)
	}
	const text = "a test sentence with a few more words\n"
	embed := func(model string, args ...string) string {
		t.Helper()
		code, stdout, stderr := runCLI(t, text, append([]string{"embed", "--model", model}, args...)...)
		if code != 0 {
			t.Fatalf("embed %v: exit %d: %s", args, code, stderr)
		}
		return stdout
	}
	plain := embed(q8)
	if relaxed := embed(q8, "--relaxed-simd"); relaxed == plain {
		t.Fatal("q8: --relaxed-simd gives the default recipe's embedding")
	}
	if again := embed(q8); again != plain {
		t.Fatal("q8: the run after --relaxed-simd still takes the 7-bit recipe")
	}
	tiny := golden.Path("tiny", "model")
	if embed(tiny, "--relaxed-simd") != embed(tiny) {
		t.Fatal("f32: --relaxed-simd changes an f32 base's embedding (it has no q8 products)")
	}
}
