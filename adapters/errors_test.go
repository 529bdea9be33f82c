package adapters

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/adapterwasm/adapterwasm/internal/golden"
	"github.com/adapterwasm/adapterwasm/runtime/weights"
)

// tinyFiles reads an adapter directory of testdata/tiny into a file map.
func tinyFiles(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	files, err := ReadDir(golden.Path("tiny", dir))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// editJSON rewrites a JSON file of the map through f.
func editJSON(t testing.TB, files map[string][]byte, name string, f func(map[string]any)) {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(files[name], &v); err != nil {
		t.Fatal(err)
	}
	f(v)
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	files[name] = b
}

// editTensors rewrites the safetensors file of the map through f.
func editTensors(t testing.TB, files map[string][]byte, name string, f func([]*weights.Tensor) []*weights.Tensor) {
	t.Helper()
	wf, err := weights.Parse(name, files[name])
	if err != nil {
		t.Fatal(err)
	}
	var ts []*weights.Tensor
	for _, n := range wf.Order {
		ts = append(ts, wf.Tensors[n])
	}
	ts = f(ts)
	var buf bytes.Buffer
	if err := weights.WriteSafetensors(&buf, ts, nil); err != nil {
		t.Fatal(err)
	}
	files[name] = buf.Bytes()
}

func TestLoadErrors(t *testing.T) {
	base := tinyBase(t)
	for _, tc := range []struct {
		name  string
		dir   string
		edit  func(t *testing.T, files map[string][]byte)
		check func(err error) bool
		msg   string
	}{
		{"peft", "adapters_st/lora_qv", func(t *testing.T, f map[string][]byte) {
			f[ConfigFile] = []byte(`{"peft_type":"LORA","r":8,"lora_alpha":16,"target_modules":["query","value"],"base_model_name_or_path":"bert-base-uncased"}`)
		}, isType[*FormatError], "PEFT"},
		{"hidden size", "adapters_st/seq_bn", func(t *testing.T, f map[string][]byte) {
			editJSON(t, f, ConfigFile, func(v map[string]any) { v["hidden_size"] = 768 })
		}, isType[*MismatchError], "hidden_size is 768 but the base model has 32"},
		{"model type", "adapters_st/seq_bn", func(t *testing.T, f map[string][]byte) {
			editJSON(t, f, ConfigFile, func(v map[string]any) { v["model_type"] = "roberta" })
		}, isType[*MismatchError], `model_type is "roberta"`},
		{"head hidden size", "adapters_st/seq_bn", func(t *testing.T, f map[string][]byte) {
			editJSON(t, f, HeadConfigFile, func(v map[string]any) { v["hidden_size"] = 384 })
		}, isType[*MismatchError], "head_config.json"},
		{"missing and misshaped tensors", "adapters_st/seq_bn", func(t *testing.T, f map[string][]byte) {
			editTensors(t, f, SafeWeightsFile, func(ts []*weights.Tensor) []*weights.Tensor {
				var out []*weights.Tensor
				for _, x := range ts {
					switch {
					case strings.HasSuffix(x.Name, "layer.0.output.adapters.seq_bn.adapter_up.bias"):
						continue // missing
					case strings.HasSuffix(x.Name, "layer.1.output.adapters.seq_bn.adapter_down.0.weight"):
						x = &weights.Tensor{Name: x.Name, DType: x.DType, Shape: []int{x.Shape[1], x.Shape[0]}, Data: x.Data}
					}
					out = append(out, x)
				}
				return out
			})
		}, func(err error) bool {
			var le *LoadError
			return errors.As(err, &le) && len(le.Problems) == 2
		}, "missing tensor encoder.layer.0.output.adapters.seq_bn.adapter_up.bias; tensor encoder.layer.1.output.adapters.seq_bn.adapter_down.0.weight has shape [32 8], want [8 32]"},
		{"unexpected tensor", "adapters_st/seq_bn", func(t *testing.T, f map[string][]byte) {
			editTensors(t, f, SafeWeightsFile, func(ts []*weights.Tensor) []*weights.Tensor {
				x := *ts[0]
				x.Name = "bert.encoder.layer.0.attention.output.adapters.seq_bn.adapter_up.bias"
				return append(ts, &x)
			})
		}, isType[*LoadError], "unexpected tensor encoder.layer.0.attention.output.adapters.seq_bn"},
		{"unknown head type", "adapters_st/seq_bn", func(t *testing.T, f map[string][]byte) {
			editJSON(t, f, HeadConfigFile, func(v map[string]any) { v["config"].(map[string]any)["head_type"] = "question_answering" })
		}, isType[*UnsupportedError], `unsupported: head type "question_answering"`},
		{"phm flag on linear weights", "adapters_st/seq_bn", func(t *testing.T, f map[string][]byte) {
			editJSON(t, f, ConfigFile, func(v map[string]any) { v["config"].(map[string]any)["phm_layer"] = true })
		}, isType[*LoadError], "missing tensor encoder.layer.0.output.adapters.seq_bn.adapter_down.0.W_left"},
		{"phm_dim not dividing", "adapters_st/seq_bn", func(t *testing.T, f map[string][]byte) {
			editJSON(t, f, ConfigFile, func(v map[string]any) {
				v["config"].(map[string]any)["phm_layer"] = true
				v["config"].(map[string]any)["phm_dim"] = 3
			})
		}, isType[*LoadError], "phm_dim 3 does not divide in_features 32"},
		{"dora without magnitudes", "adapters_st/lora_qv", func(t *testing.T, f map[string][]byte) {
			editJSON(t, f, ConfigFile, func(v map[string]any) { v["config"].(map[string]any)["use_dora"] = true })
		}, isType[*LoadError], "missing tensor encoder.layer.0.attention.self.query.loras.lora_qv.m.weight"},
		{"vera without shared matrices", "adapters_st/lora_qv", func(t *testing.T, f map[string][]byte) {
			editJSON(t, f, ConfigFile, func(v map[string]any) { v["config"].(map[string]any)["vera_d"] = 0.1 })
		}, isType[*LoadError], "missing tensor encoder.layer.0.attention.self.query.loras.lora_qv.vera_B"},
		{"reft without its weights", "adapters_st/lora_qv", func(t *testing.T, f map[string][]byte) {
			editJSON(t, f, ConfigFile, func(v map[string]any) { v["config"] = "loreft" })
		}, isType[*LoadError], "missing tensor encoder.layer.0.reft_layer.refts.lora_qv.units.0.learned_source.bias"},
		{"prompt tuning without its prompt", "adapters_st/lora_qv", func(t *testing.T, f map[string][]byte) {
			editJSON(t, f, ConfigFile, func(v map[string]any) { v["config"] = "prompt_tuning" })
		}, isType[*LoadError], "missing tensor prompt_tuning.prompt_tunings.lora_qv.prompt_embedding.weight"},
		{"mtl_lora without its up-projections", "adapters_st/lora_qv", func(t *testing.T, f map[string][]byte) {
			editJSON(t, f, ConfigFile, func(v map[string]any) { v["config"] = "mtl_lora" })
		}, isType[*LoadError], "missing tensor encoder.layer.0.attention.self.query.loras.lora_qv.task_specific.values"},
		{"mtl_lora linear task matrix", "adapters_st/lora_qv", func(t *testing.T, f map[string][]byte) {
			editJSON(t, f, ConfigFile, func(v map[string]any) {
				v["config"] = map[string]any{"architecture": "mtl_lora", "task_specific_matrix_type": "linear"}
			})
		}, isType[*UnsupportedError], `unsupported: mtl_lora task_specific_matrix_type "linear"`},
		{"mtl_lora with dora", "adapters_st/lora_qv", func(t *testing.T, f map[string][]byte) {
			editJSON(t, f, ConfigFile, func(v map[string]any) { v["config"] = "mtl_lora[use_dora=True]" })
		}, isType[*UnsupportedError], "unsupported: mtl_lora with use_dora"},
		{"activation", "adapters_st/seq_bn", func(t *testing.T, f map[string][]byte) {
			editJSON(t, f, ConfigFile, func(v map[string]any) { v["config"].(map[string]any)["non_linearity"] = "swiglu" })
		}, isType[*UnsupportedError], `unsupported: non_linearity "swiglu"`},
		{"bad json", "adapters_st/seq_bn", func(t *testing.T, f map[string][]byte) { f[ConfigFile] = []byte("{") },
			isType[*FormatError], "adapter_config.json: invalid JSON"},
		{"no weights", "adapters_st/seq_bn", func(t *testing.T, f map[string][]byte) { delete(f, SafeWeightsFile) },
			isType[*FormatError], "adapter.safetensors: missing"},
		{"fusion of unloaded adapters", "adapters_st/fusion", func(t *testing.T, f map[string][]byte) {},
			isType[*SetupError], "fusion names adapters that are not loaded: seq_bn, seq_bn_b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := tinyFiles(t, tc.dir)
			tc.edit(t, files)
			_, err := New(base).Load(files, LoadOptions{})
			if err == nil || !tc.check(err) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err = %v (%T), want one containing %q", err, err, tc.msg)
			}
			t.Log(err)
		})
	}
}

func isType[E error](err error) bool {
	var e E
	return errors.As(err, &e)
}

func TestSetupErrors(t *testing.T) {
	base := tinyBase(t)
	in := tinyInput(t)
	m := New(base)
	for _, d := range []string{"seq_bn", "seq_bn_b", "double_seq_bn", "lora_qv", "prefix"} {
		if _, err := m.LoadDir(golden.Path("tiny", "adapters_st", d), LoadOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for expr, msg := range map[string]string{
		"nope":                            `no adapter "nope" loaded`,
		"Fuse(seq_bn,seq_bn_b)":           `fusion "seq_bn,seq_bn_b" is not loaded`,
		"Stack(seq_bn,Fuse(seq_bn,nope))": "not loaded",
	} {
		err := m.SetActive(expr)
		var se *SetupError
		if !errors.As(err, &se) || !strings.Contains(err.Error(), msg) {
			t.Errorf("%s: err = %v, want SetupError with %q", expr, err, msg)
		}
	}
	// Errors the library raises while running, reported by Forward.
	for expr, msg := range map[string]string{
		"BatchSplit(seq_bn,seq_bn_b,batch_sizes=[5,5])": "not the sum of batch_sizes",
		"Split(seq_bn,seq_bn_b,splits=[10,10])":         "not the sum of splits",
		"Parallel(seq_bn,double_seq_bn)":                "first adapter seq_bn has no module here",
		"Average(lora_qv,prefix)":                       "Average with prefix tuning",
		"Parallel(prefix,seq_bn)":                       "prefixes of different lengths",
	} {
		if err := m.SetActive(expr); err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		_, err := m.Forward(&State{}, in)
		if err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%s: err = %v, want one containing %q", expr, err, msg)
		}
	}
	// A failed forward leaves the model usable.
	if err := m.SetActive("seq_bn"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Forward(&State{}, in); err != nil {
		t.Fatal(err)
	}
}

// TestLoadVariants: load_as renaming, keys without the "bert." prefix, legacy adapter-transformers
// module names, and configs given as config strings all load to the same adapter.
func TestLoadVariants(t *testing.T) {
	base := tinyBase(t)
	in := tinyInput(t)
	var c tinyCase
	golden.Load(t, &c, "tiny", "golden", "seq_bn.json")
	want := flatLogits(t, c.Logits)
	run := func(t *testing.T, files map[string][]byte, opt LoadOptions) {
		m := New(base)
		name, err := m.Load(files, opt)
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
		if len(out.Heads) != 1 || out.Heads[0].Head.Name != name {
			t.Fatalf("heads %v", out.Heads)
		}
		checkLogits(t, name, out.Heads[0].Logits, want)
	}
	t.Run("load_as", func(t *testing.T) { run(t, tinyFiles(t, "adapters/seq_bn"), LoadOptions{Name: "sentiment"}) })
	t.Run("unprefixed", func(t *testing.T) {
		f := tinyFiles(t, "adapters_st/seq_bn")
		editTensors(t, f, SafeWeightsFile, func(ts []*weights.Tensor) []*weights.Tensor {
			for _, x := range ts {
				x.Name = strings.TrimPrefix(x.Name, "bert.")
			}
			return ts
		})
		run(t, f, LoadOptions{})
	})
	t.Run("legacy names", func(t *testing.T) {
		f := tinyFiles(t, "adapters_st/seq_bn")
		editTensors(t, f, SafeWeightsFile, func(ts []*weights.Tensor) []*weights.Tensor {
			for _, x := range ts {
				x.Name = strings.Replace(x.Name, ".output.adapters.", ".output.layer_text_task_adapters.", 1)
			}
			return ts
		})
		run(t, f, LoadOptions{})
	})
	t.Run("config string", func(t *testing.T) {
		f := tinyFiles(t, "adapters_st/seq_bn")
		editJSON(t, f, ConfigFile, func(v map[string]any) { v["config"] = "seq_bn[reduction_factor=4]" })
		run(t, f, LoadOptions{})
	})
}

func TestLegacyConfigFixes(t *testing.T) {
	base := tinyBase(t)
	f := tinyFiles(t, "adapters_st/seq_bn_b") // non_linearity "gelu"
	editJSON(t, f, ConfigFile, func(v map[string]any) { delete(v, "version") })
	m := New(base)
	if _, err := m.Load(f, LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := m.Adapter("seq_bn_b").Config.Bottleneck[0].NonLinearity; got != "gelu_new" {
		t.Errorf("unversioned config: non_linearity %q, want gelu_new (ACTIVATION_RENAME)", got)
	}
	f = tinyFiles(t, "adapters_st/lora_qv") // r=4, alpha=8
	editJSON(t, f, ConfigFile, func(v map[string]any) { v["version"] = "adapters.1.0.1" })
	if _, err := m.Load(f, LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	if a := m.Adapter("lora_qv").Config.LoRA[0].Alpha; a != 4 {
		t.Errorf("adapters 1.0.1 LoRA: alpha %v, want r (4)", a)
	}
}

func TestReadDirErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadDir(dir); !isType[*FormatError](err) {
		t.Errorf("empty dir: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "adapter_config.json"), []byte(`{"config":"seq_bn","name":"x"}`), 0o644)
	if _, err := New(tinyBase(t)).LoadDir(dir, LoadOptions{}); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "adapter.safetensors")) {
		t.Errorf("no weights: %v", err)
	}
}
