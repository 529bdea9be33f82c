package adapters

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/adapterwasm/adapterwasm/internal/golden"
	"github.com/adapterwasm/adapterwasm/runtime/bert"
)

// methodsDir is adapters/testdata/methods (tools/reference/make_methods.py).
func methodsDir(parts ...string) string {
	return filepath.Join(append([]string{"testdata", "methods"}, parts...)...)
}

func loadMethodsJSON(t *testing.T, v any, parts ...string) {
	t.Helper()
	b, err := os.ReadFile(methodsDir(parts...))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

// loadGoldenIndex reads testdata/methods/<dir>/golden/index.json: the golden cases' names and the
// library's padded batch they were computed on.
func loadGoldenIndex(t *testing.T, dir string) ([]string, bert.Input) {
	t.Helper()
	var index struct {
		Cases         []string
		InputIDs      [][]int32 `json:"input_ids"`
		AttentionMask [][]int32 `json:"attention_mask"`
		TokenTypeIDs  [][]int32 `json:"token_type_ids"`
	}
	loadMethodsJSON(t, &index, dir, "golden", "index.json")
	in := bert.Input{B: len(index.InputIDs), T: len(index.InputIDs[0])}
	for i := range index.InputIDs {
		in.IDs = append(in.IDs, index.InputIDs[i]...)
		in.AttentionMask = append(in.AttentionMask, index.AttentionMask[i]...)
		in.TypeIDs = append(in.TypeIDs, index.TokenTypeIDs[i]...)
	}
	return index.Cases, in
}

// TestActivationGoldens: a seq_bn adapter and a 2-layer head with every activation of the
// library's table (transformers' ACT2FN as Activation_Function_Class uses it, plus "leakyrelu"),
// the learned prelu and xielu included, from both copies.
func TestActivationGoldens(t *testing.T) {
	base := tinyBase(t)
	in := tinyInput(t)
	var index struct{ Cases []string }
	loadMethodsJSON(t, &index, "activations", "golden", "index.json")
	if len(index.Cases) < 23 {
		t.Fatalf("%d activation cases", len(index.Cases))
	}
	for _, name := range index.Cases {
		var c extraCase
		loadMethodsJSON(t, &c, "activations", "golden", name+".json")
		for _, sub := range []string{"adapters", "adapters_st"} {
			t.Run(name+"/"+sub, func(t *testing.T) {
				m := New(base)
				if _, err := m.LoadDir(methodsDir("activations", sub, name), LoadOptions{}); err != nil {
					t.Fatal(err)
				}
				if err := m.SetActive(c.Setup); err != nil {
					t.Fatal(err)
				}
				out, err := m.Forward(&State{}, in)
				if err != nil {
					t.Fatal(err)
				}
				checkFirstOnly(t, m, in, out)
				checkLogits(t, name, out.Heads[0].Logits, flatLogits(t, c.Logits))
			})
		}
	}
}

// registryRefused lists the named configs of ADAPTER_CONFIG_MAP this package still refuses, and
// the "unsupported: …" text that says why. Every other preset must load and match the library.
var registryRefused = map[string]string{}

// TestRegistrySweep loads every named config the library has (ADAPTER_CONFIG_MAP), as the library
// saved it after adding it to the tiny model: each loads and gives the library's logits, or is
// refused with a clear "unsupported: <method>" error listed in registryRefused. A new preset in
// a new library version shows up here first.
func TestRegistrySweep(t *testing.T) {
	base := tinyBase(t)
	in := tinyInput(t)
	var index struct {
		Cases []struct {
			Preset       string          `json:"preset"`
			Dir          string          `json:"dir"`
			AddError     string          `json:"add_error"`
			ForwardError string          `json:"forward_error"`
			ReloadError  string          `json:"reload_error"`
			Reloaded     json.RawMessage `json:"logits_reloaded"`
			Weights      bool            `json:"weights"`
			Logits       json.RawMessage `json:"logits"`
		}
	}
	loadMethodsJSON(t, &index, "registry", "golden", "index.json")
	if len(index.Cases) != len(presets) {
		t.Fatalf("%d registry cases, %d presets in presets.json", len(index.Cases), len(presets))
	}
	for _, c := range index.Cases {
		t.Run(c.Preset, func(t *testing.T) {
			if c.AddError != "" {
				t.Skipf("the library cannot add %s to the tiny model: %s", c.Preset, c.AddError)
			}
			dir := methodsDir("registry", "adapters", c.Dir)
			want, refused := registryRefused[c.Preset]
			var err error
			if c.Weights {
				_, err = New(base).LoadDir(dir, LoadOptions{})
			} else {
				// Config only (large default weights, covered by other cases): parse it as LoadDir would.
				var mt struct{ Config json.RawMessage }
				b, rerr := os.ReadFile(filepath.Join(dir, ConfigFile))
				if rerr != nil {
					t.Fatal(rerr)
				}
				if jerr := json.Unmarshal(b, &mt); jerr != nil {
					t.Fatal(jerr)
				}
				raw, derr := decodePy(mt.Config)
				if derr != nil {
					t.Fatal(derr)
				}
				_, err = ParseConfig(raw, ConfigFile)
			}
			if refused {
				var ue *UnsupportedError
				if !errors.As(err, &ue) || !strings.Contains(err.Error(), "unsupported: ") || !strings.Contains(err.Error(), want) {
					t.Fatalf("want an unsupported error naming %q, got %v", want, err)
				}
				t.Logf("refused: %v", err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !c.Weights {
				t.Logf("config parses; weights not committed (see make_methods.py)")
				return
			}
			if c.Logits == nil && c.Reloaded != nil {
				// The library's reload of what it saved differs from the model that saved it
				// (DiReFT: subtract_projection is not saved): loading must give the reload's logits.
				t.Logf("%s; comparing with the library's reload", c.ReloadError)
				c.Logits = c.Reloaded
			}
			if c.Logits == nil {
				t.Skipf("no reference logits: %s", c.ForwardError)
			}
			m := New(base)
			name, err := m.LoadDir(dir, LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if err := m.SetActive(name); err != nil {
				t.Fatal(err)
			}
			out, err := m.Forward(&State{}, in)
			if err != nil {
				t.Fatal(err)
			}
			checkFirstOnly(t, m, in, out)
			checkLogits(t, c.Preset, out.Heads[0].Logits, flatLogits(t, c.Logits))
		})
	}
}

// TestMethodGoldens: VeRA (shared matrices, gating, merge), DoRA (on every linear, in Stack
// before and after a LoRA, in Average), DVoRA, Parallel/BatchSplit of them, and AdapterFusion
// with temperature, from both copies (tools/reference/make_methods.py).
func TestMethodGoldens(t *testing.T) {
	base := tinyBase(t)
	in := tinyInput(t)
	var index struct{ Cases []string }
	loadMethodsJSON(t, &index, "methods", "golden", "index.json")
	if len(index.Cases) < 14 {
		t.Fatalf("%d method cases", len(index.Cases))
	}
	for _, name := range index.Cases {
		var c extraCase
		loadMethodsJSON(t, &c, "methods", "golden", name+".json")
		for _, sub := range []string{"adapters", "adapters_st"} {
			t.Run(name+"/"+sub, func(t *testing.T) {
				if name == "fuse_temperature" {
					// The whole sequence of calls from the .bin copy; the first calls from the other.
					checkTemperature(t, base, in, methodsDir("methods", sub), sub == "adapters")
					return
				}
				runGoldenCase(t, base, in, methodsDir("methods", sub), &c)
			})
		}
	}
}

// checkTemperature compares the temperature fusion with the library's recorded calls. The
// library lowers BertFusion.T after every call; we keep T at its first call's value (50), so the
// first call matches as loaded, every later Forward gives the same answer again, and the other
// recorded calls match once each fusion layer's T is set to the library's value at that call.
func checkTemperature(t *testing.T, base *bert.Model, in bert.Input, dir string, all bool) {
	var c struct {
		extraCase
		Batch         int               `json:"batch"`
		Calls         []int             `json:"calls"`
		LogitsPerCall []json.RawMessage `json:"logits_per_call"`
	}
	loadMethodsJSON(t, &c, "methods", "golden", "fuse_temperature.json")
	m := New(base)
	for _, a := range append(c.Adapters, c.Fusions...) {
		if _, err := m.LoadDir(filepath.Join(dir, a), LoadOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	var head string
	if err := json.Unmarshal(c.Head, &head); err != nil {
		t.Fatal(err)
	}
	if err := m.SetActive(c.Setup); err != nil {
		t.Fatal(err)
	}
	if err := m.SetHead(head); err != nil {
		t.Fatal(err)
	}
	// The first c.Batch sequences of the batch.
	in.B = c.Batch
	in.IDs, in.TypeIDs, in.AttentionMask = in.IDs[:in.B*in.T], in.TypeIDs[:in.B*in.T], in.AttentionMask[:in.B*in.T]
	st := &State{}
	if c.Calls[0] != 1 {
		t.Fatalf("recorded calls %v do not start with the first", c.Calls)
	}
	setT := func(call int) {
		for _, f := range m.fusions {
			for _, layer := range f.layers {
				for _, fm := range layer {
					if fm != nil {
						fm.t = fusionTemperature(f.Config.Temperature, call)
					}
				}
			}
		}
	}
	var first []float32
	for i := 0; i < 3; i++ { // as loaded: the library's first call, every time
		out, err := m.Forward(st, in)
		if err != nil {
			t.Fatal(err)
		}
		checkLogits(t, fmt.Sprintf("call 1, forward %d", i+1), out.Heads[0].Logits, flatLogits(t, c.LogitsPerCall[0]))
		if i == 0 {
			first = slices.Clone(out.Heads[0].Logits)
		} else if !slices.Equal(first, out.Heads[0].Logits) {
			t.Fatalf("forward %d differs from the first: %v vs %v", i+1, out.Heads[0].Logits, first)
		}
	}
	calls := c.Calls
	if !all {
		calls = calls[:2]
	}
	for k, call := range calls[1:] {
		setT(call)
		out, err := m.Forward(st, in)
		if err != nil {
			t.Fatal(err)
		}
		checkLogits(t, fmt.Sprintf("T of call %d (%g)", call, fusionTemperature(true, call)), out.Heads[0].Logits, flatLogits(t, c.LogitsPerCall[k+1]))
	}
}

// TestDoRAMergeRefused: the library's merge of a DoRA module is not its forward (no alpha/r) and
// its reset_adapter does not restore the weights, so Merge refuses it and leaves the model as it was.
func TestDoRAMergeRefused(t *testing.T) {
	base := tinyBase(t)
	in := tinyInput(t)
	var c extraCase
	loadMethodsJSON(t, &c, "methods", "golden", "dora.json")
	m := New(base)
	if _, err := m.LoadDir(methodsDir("methods", "adapters", "dora"), LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	err := m.Merge("dora")
	var ue *UnsupportedError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "unsupported: merging a DoRA module") {
		t.Fatalf("Merge(dora) = %v, want unsupported", err)
	}
	if err := m.SetActive("dora"); err != nil {
		t.Fatal(err)
	}
	out, err := m.Forward(&State{}, in)
	if err != nil {
		t.Fatal(err)
	}
	checkLogits(t, "dora after refused merge", out.Heads[0].Logits, flatLogits(t, c.Logits))
}

// TestReftErrors: where the library fails while running ReFT, Forward returns a typed error and
// the model stays usable: suffix positions past the start of a short sequence (the golden batch
// has a 2-token sequence; torch.gather gets index -1, checked with the library); and Parallel is
// refused (the library caches its position index from the unreplicated batch, so replicas made by
// other adapters before the intervention are left alone).
func TestReftErrors(t *testing.T) {
	base := tinyBase(t)
	in := tinyInput(t)
	files, err := ReadDir(methodsDir("methods", "adapters", "loreft"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(files[ConfigFile], &cfg); err != nil {
		t.Fatal(err)
	}
	cfg["config"].(map[string]any)["suffix_positions"] = 3
	if files[ConfigFile], err = json.Marshal(cfg); err != nil {
		t.Fatal(err)
	}
	m := New(base)
	if _, err := m.Load(files, LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.LoadDir(methodsDir("methods", "adapters", "noreft_tied"), LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	st := &State{}
	for setup, want := range map[string]string{
		"loreft":                       "fewer than suffix_positions 3",
		"Parallel(noreft_tied,loreft)": "unsupported: ReFT in a Parallel setup",
	} {
		if err := m.SetActive(setup); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Forward(st, in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", setup, err, want)
		}
	}
	var c extraCase
	loadMethodsJSON(t, &c, "methods", "golden", "noreft_tied.json")
	if err := m.SetActive("noreft_tied"); err != nil {
		t.Fatal(err)
	}
	out, err := m.Forward(st, in)
	if err != nil {
		t.Fatal(err)
	}
	checkLogits(t, "noreft_tied after the errors", out.Heads[0].Logits, flatLogits(t, c.Logits))
}

// TestMiniLMMethods: the new methods on the real all-MiniLM-L6-v2 (xielu activation, Compacter,
// Compacter++, DoRA, NoReFT, UniPELT), both copies, on the library's padded batch of golden
// sentences (padding matters: UniPELT's prefix gates average over every position).
func TestMiniLMMethods(t *testing.T) {
	cases, in := loadGoldenIndex(t, "minilm")
	if len(cases) < 6 {
		t.Fatalf("%d MiniLM method cases", len(cases))
	}
	base := miniLMBase(t)
	for _, name := range cases {
		var c extraCase
		loadMethodsJSON(t, &c, "minilm", "golden", name+".json")
		for _, sub := range []string{"adapters", "adapters_st"} {
			t.Run(name+"/"+sub, func(t *testing.T) {
				runGoldenCase(t, base, in, methodsDir("minilm", sub), &c)
			})
		}
	}
}

// TestPHMBound: a PHM layer whose dense matrix would exceed MaxPHMValues is refused before its
// tensors are read or the matrix allocated (a tiny reduction factor with a small file).
func TestPHMBound(t *testing.T) {
	bd := newBinder(nil)
	l := bindPHM(bd, "p.", "s.", "down", &PHMConfig{Dim: 4, Rank: 1, FactorizedW: true, SharedRule: true}, 4096, 8192)
	if l.W != nil || len(bd.problems) != 1 || !strings.Contains(bd.problems[0], "exceeds 16777216 values") {
		t.Fatalf("problems %v", bd.problems)
	}
}

// TestMethodsBatchInvariance: every case of TestMethodGoldens (the fusion temperature too: its T
// does not change from call to call) gives each text the same logits alone, beside much longer
// and shorter texts, and under BatchSplit, as TestBatchInvariance checks for the older methods:
// ReFT positions, prefix gates and prompts are per text.
func TestMethodsBatchInvariance(t *testing.T) {
	base := tinyBase(t)
	var b golden.Base
	golden.Load(t, &b, "tiny", "golden", "base.json")
	texts := invTexts(b.InputIDs, b.TokenTypeIDs, b.AttentionMask)
	stats := &invStats{}
	var index struct{ Cases []string }
	loadMethodsJSON(t, &index, "methods", "golden", "index.json")
	for _, name := range index.Cases {
		var c extraCase
		loadMethodsJSON(t, &c, "methods", "golden", name+".json")
		t.Run(name, func(t *testing.T) {
			m := New(base)
			for _, a := range append(append([]string(nil), c.Adapters...), c.Fusions...) {
				if _, err := m.LoadDir(methodsDir("methods", "adapters_st", a), LoadOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			cs := invSetup{setup: c.Setup, merge: c.Merge}
			_ = json.Unmarshal(c.Head, &cs.head)
			checkBatchInvariance(t, m, cs, texts, base.Config.MaxPositionEmbeddings, stats)
		})
	}
	t.Logf("largest logit change with the batch: %.2g (%s)", stats.worst, stats.where)
}

// TestNewMethodConfigBounds: the sizes of the new methods' configs are integers in range, refused
// with a FormatError naming the key otherwise (before anything is allocated for them).
func TestNewMethodConfigBounds(t *testing.T) {
	for s, key := range map[string]string{
		"compacter[phm_dim=65]":                       "phm_dim",
		"compacter[phm_rank=0]":                       "phm_rank",
		"compacter[phm_dim=2.5]":                      "phm_dim",
		"loreft[r=257]":                               "r",
		"loreft[suffix_positions=-1]":                 "suffix_positions",
		"prompt_tuning[prompt_length=0]":              "prompt_length",
		"prompt_tuning[prompt_length=1e9]":            "prompt_length",
		"prompt_tuning[combine='middle']":             "combine",
		"seq_bn_inv[inv_adapter_reduction_factor=0]":  "inv_adapter_reduction_factor",
		"seq_bn_inv[inv_adapter_reduction_factor=-2]": "inv_adapter_reduction_factor",
		"seq_bn[inv_adapter='real_nvp']":              "inv_adapter",
	} {
		_, err := ParseConfig(s, "x")
		var fe *FormatError
		if !errors.As(err, &fe) || !strings.Contains(err.Error(), "config "+key+" = ") {
			t.Errorf("%s: err = %v, want a FormatError on %s", s, err, key)
		}
	}
}
