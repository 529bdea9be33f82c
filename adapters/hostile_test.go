package adapters

import (
	"bytes"
	"maps"
	"math"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/adapterwasm/adapterwasm/runtime/bert"
	"github.com/adapterwasm/adapterwasm/runtime/weights"
)

// fuzzDirs are the tiny fixture directories FuzzLoadFile mutates (fusion needs seq_bn and
// seq_bn_b loaded first).
var fuzzDirs = []string{"seq_bn", "lora_qv", "prefix", "ia3", "par_bn", "fusion"}

// fixtureCache holds tiny fixture directories read once (fuzz targets run many times a second).
var fixtureCache sync.Map // "variant/dir" -> map[string][]byte

// cachedFiles returns a fresh map over the (shared, read-only) files of a tiny fixture dir.
func cachedFiles(t testing.TB, dir string) map[string][]byte {
	v, ok := fixtureCache.Load(dir)
	if !ok {
		v, _ = fixtureCache.LoadOrStore(dir, tinyFiles(t, dir))
	}
	return maps.Clone(v.(map[string][]byte))
}

// fuzzInput is the first 2 golden sequences cut to 8 tokens: a forward pass of the tiny model on
// all 12×48 tokens takes ~30 ms, too slow to run per fuzz execution.
func fuzzInput(t testing.TB) bert.Input {
	in := tinyInput(t)
	const B, T = 2, 8
	out := bert.Input{B: B, T: T}
	for b := range B {
		out.IDs = append(out.IDs, in.IDs[b*in.T:b*in.T+T]...)
		out.TypeIDs = append(out.TypeIDs, in.TypeIDs[b*in.T:b*in.T+T]...)
		out.AttentionMask = append(out.AttentionMask, in.AttentionMask[b*in.T:b*in.T+T]...)
	}
	return out
}

// loadDirInto loads the tiny fixture dirs needed before dir (a fusion's adapters), then files.
func loadDirInto(t testing.TB, m *Model, variant, dir string, files map[string][]byte) (string, error) {
	if dir == "fusion" {
		for _, d := range []string{"seq_bn", "seq_bn_b"} {
			if _, err := m.Load(cachedFiles(t, variant+"/"+d), LoadOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return m.Load(files, LoadOptions{})
}

// acceptableLoadError: every error Load may return for a hostile file (a weight file that does
// not parse gives the *weights.FormatError naming it).
func acceptableLoadError(err error) bool {
	return isType[*FormatError](err) || isType[*UnsupportedError](err) || isType[*LoadError](err) ||
		isType[*MismatchError](err) || isType[*SetupError](err) ||
		isType[*weights.FormatError](err) || isType[*weights.UnsupportedError](err)
}

// FuzzLoadFile replaces one file of a tiny adapter or fusion directory (head_config.json,
// adapter_fusion_config.json, the weight files in both formats, the config) with arbitrary bytes:
// Load returns a typed error or an adapter that runs, never panics. Seeded from every file of
// testdata/tiny/adapters{,_st}/{fuzzDirs}.
func FuzzLoadFile(f *testing.F) {
	base := tinyBase(f)
	for _, variant := range []string{"adapters", "adapters_st"} {
		for _, d := range fuzzDirs {
			files := tinyFiles(f, variant+"/"+d)
			names := make([]string, 0, len(files))
			for n := range files {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				f.Add(variant+"/"+d, n, files[n])
			}
		}
	}
	inputs := fuzzInput(f)
	f.Fuzz(func(t *testing.T, dir, file string, b []byte) {
		variant, d, ok := strings.Cut(dir, "/")
		if !ok || (variant != "adapters" && variant != "adapters_st") {
			return
		}
		known := false
		for _, k := range fuzzDirs {
			known = known || k == d
		}
		if !known {
			return
		}
		files := cachedFiles(t, dir)
		if _, ok := files[file]; !ok {
			return
		}
		files[file] = b
		m := New(base)
		name, err := loadDirInto(t, m, variant, d, files)
		if err != nil {
			if !acceptableLoadError(err) {
				t.Fatalf("%T %v", err, err)
			}
			return
		}
		if err := m.SetActive(name); err != nil {
			if !acceptableLoadError(err) {
				t.Fatalf("SetActive: %T %v", err, err)
			}
			return
		}
		if _, err := m.Forward(&State{}, inputs); err != nil && !acceptableLoadError(err) {
			t.Fatalf("Forward: %T %v", err, err)
		}
	})
}

// TestHostileAdapterFiles: each broken or hostile adapter file gives a typed error that names the
// file and the reason, and the model keeps working afterwards.
func TestHostileAdapterFiles(t *testing.T) {
	base := tinyBase(t)
	nan := func(v float32) func(t *testing.T, f map[string][]byte) {
		return func(t *testing.T, f map[string][]byte) {
			editTensors(t, f, SafeWeightsFile, func(ts []*weights.Tensor) []*weights.Tensor {
				for _, x := range ts {
					if strings.HasSuffix(x.Name, "layer.1.output.adapters.seq_bn.adapter_up.weight") {
						d := bytes.Clone(x.Data)
						copy(d[8:], f32le(v))
						x.Data = d
					}
				}
				return ts
			})
		}
	}
	deep := func(n int) []byte { return []byte(strings.Repeat("[", n) + strings.Repeat("]", n)) }
	deepConfig := func(n int) []byte {
		return []byte(`{"name":"seq_bn","config":` + strings.Repeat(`{"a":`, n) + "1" + strings.Repeat("}", n) + "}")
	}
	for _, tc := range []struct {
		name  string
		dir   string
		edit  func(t *testing.T, files map[string][]byte)
		check func(error) bool
		msg   string
	}{
		{"NaN weight", "seq_bn", nan(float32(math.NaN())), isType[*LoadError],
			"adapter.safetensors: tensor encoder.layer.1.output.adapters.seq_bn.adapter_up.weight holds NaN at element 2"},
		{"+Inf weight", "seq_bn", nan(float32(math.Inf(1))), isType[*LoadError], "holds +Inf at element 2"},
		{"NaN head weight", "seq_bn", func(t *testing.T, f map[string][]byte) {
			editTensors(t, f, SafeHeadWeightsFile, func(ts []*weights.Tensor) []*weights.Tensor {
				for _, x := range ts {
					if x.Name == "heads.seq_bn.4.weight" {
						d := bytes.Clone(x.Data)
						copy(d, f32le(float32(math.Inf(-1))))
						x.Data = d
					}
				}
				return ts
			})
		}, isType[*LoadError], "model_head.safetensors: tensor heads.seq_bn.4.weight holds -Inf at element 0"},
		{"adapter config nested 100000 deep", "seq_bn", func(t *testing.T, f map[string][]byte) { f[ConfigFile] = deep(100_000) },
			isType[*FormatError], "adapter_config.json: JSON nests deeper than 64 levels"},
		{"adapter config object nested 20000 deep", "seq_bn", func(t *testing.T, f map[string][]byte) { f[ConfigFile] = deepConfig(20_000) },
			isType[*FormatError], "adapter_config.json"},
		{"head config nested 100000 deep", "seq_bn", func(t *testing.T, f map[string][]byte) { f[HeadConfigFile] = deep(100_000) },
			isType[*FormatError], "head_config.json"},
		{"fusion config nested 100000 deep", "fusion", func(t *testing.T, f map[string][]byte) { f[FusionConfigFile] = deep(100_000) },
			isType[*FormatError], "adapter_fusion_config.json"},
		{"truncated weights", "seq_bn", func(t *testing.T, f map[string][]byte) {
			f[SafeWeightsFile] = f[SafeWeightsFile][:len(f[SafeWeightsFile])/2]
		}, func(err error) bool { return isType[*weights.FormatError](err) || isType[*FormatError](err) }, "adapter.safetensors"},
		{"weights of another adapter", "seq_bn", func(t *testing.T, f map[string][]byte) {
			f[SafeWeightsFile] = tinyFiles(t, "adapters_st/lora_qv")[SafeWeightsFile]
		}, isType[*LoadError], "adapter.safetensors: missing tensor"},
		{"weights for hidden size 64", "seq_bn", func(t *testing.T, f map[string][]byte) {
			editTensors(t, f, SafeWeightsFile, func(ts []*weights.Tensor) []*weights.Tensor {
				for i, x := range ts {
					shape := append([]int(nil), x.Shape...)
					for k := range shape {
						if shape[k] == 32 {
							shape[k] = 64
						}
					}
					n := 1
					for _, s := range shape {
						n *= s
					}
					ts[i] = &weights.Tensor{Name: x.Name, DType: x.DType, Shape: shape, Data: make([]byte, n*x.DType.Size())}
				}
				return ts
			})
		}, isType[*LoadError], "has shape [8 64], want [8 32]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := New(base)
			variant := "adapters_st"
			files := tinyFiles(t, variant+"/"+tc.dir)
			tc.edit(t, files)
			_, err := loadDirInto(t, m, variant, tc.dir, files)
			if err == nil || !tc.check(err) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err = %v (%T), want one containing %q", err, err, tc.msg)
			}
			t.Log(err)
			// After the error, the same Model loads and runs the good adapter.
			name, err := m.Load(tinyFiles(t, "adapters_st/seq_bn"), LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if err := m.SetActive(name); err != nil {
				t.Fatal(err)
			}
			if _, err := m.Forward(&State{}, tinyInput(t)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func f32le(v float32) []byte {
	u := math.Float32bits(v)
	return []byte{byte(u), byte(u >> 8), byte(u >> 16), byte(u >> 24)}
}

// TestHostileSetups: deeply nested or very wide setup expressions fail (or parse) fast, with a
// *SetupError, and allocate in proportion to their size: Block.String is quadratic in the depth, so
// depth is refused while parsing.
func TestHostileSetups(t *testing.T) {
	for _, tc := range []struct {
		name, expr, want string
	}{
		{"nested 100000 deep", strings.Repeat("Stack(", 100_000) + "a" + strings.Repeat(")", 100_000), "nest deeper than 16"},
		{"nested 17 deep", strings.Repeat("Stack(", 17) + "a" + strings.Repeat(")", 17), "nest deeper than 16"},
		{"unclosed 100000 deep", strings.Repeat("Parallel(", 100_000), "nest deeper than 16"},
		{"100000 wide", "Stack(" + strings.Repeat("a,", 100_000) + "a)", ""},
		{"Parallel of 100000", "Parallel(" + strings.Repeat("a,", 100_000) + "a)", "replicates the batch 100001 times; at most 16"},
		{"Parallel of 17", "Parallel(" + strings.Repeat("a,", 16) + "a)", "at most 16"},
		{"Parallel of 16", "Parallel(" + strings.Repeat("a,", 15) + "a)", ""},
		{"huge split sizes", "Split(a,b,splits=[1e300,1e300])", "sizes must be non-negative integers"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var a, b runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&a)
			_, err := ParseSetup(tc.expr)
			runtime.ReadMemStats(&b)
			if tc.want == "" && err != nil || tc.want != "" && (!isType[*SetupError](err) || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("err = %.200v, want %q", err, tc.want)
			}
			if grew := b.TotalAlloc - a.TotalAlloc; grew > uint64(128*len(tc.expr)+1<<20) {
				t.Errorf("allocated %d KB for a %d-byte expression", grew>>10, len(tc.expr))
			}
		})
	}
}

// TestHostileConfigStrings: a config-string union of 800,000 parts (4 MB) is refused before a preset
// is cloned for each (it took 1.5 GB and 12 s).
func TestHostileConfigStrings(t *testing.T) {
	base := tinyBase(t)
	files := tinyFiles(t, "adapters_st/lora_qv")
	files[ConfigFile] = []byte(`{"name":"lora_qv","config":"` + strings.Repeat("lora|", 800_000) + `lora"}`)
	var a, b runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	_, err := New(base).Load(files, LoadOptions{})
	runtime.ReadMemStats(&b)
	if !isType[*FormatError](err) || !strings.Contains(err.Error(), "adapter_config.json") || !strings.Contains(err.Error(), "a union has at most 16") {
		t.Fatalf("err = %.300v", err)
	}
	if grew := b.TotalAlloc - a.TotalAlloc; grew > 64<<20 {
		t.Errorf("allocated %d MB", grew>>20)
	}
}
