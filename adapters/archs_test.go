package adapters

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/adapterwasm/adapterwasm/internal/golden"
	"github.com/adapterwasm/adapterwasm/runtime/bert"
	"github.com/adapterwasm/adapterwasm/runtime/kernels"
	"github.com/adapterwasm/adapterwasm/runtime/modelfile"
	"github.com/adapterwasm/adapterwasm/runtime/pretrained"
	"github.com/adapterwasm/adapterwasm/runtime/weights"
)

// archNames are the architectures of testdata/archs (tools/reference/make_archs.py): small
// random-weight encoders of each real config's shape family, with adapters saved by the library.
var archNames = []string{"roberta", "xlm-roberta", "distilbert"}

// archBase is testdata/archs/<arch>/golden/base.json.
type archBase struct {
	ModelType       string        `json:"model_type"`
	MaxLength       int           `json:"max_length"`
	Sentences       []string      `json:"sentences"`
	InputIDs        [][]int32     `json:"input_ids"`
	AttentionMask   [][]int32     `json:"attention_mask"`
	TokenTypeIDs    [][]int32     `json:"token_type_ids"`
	PadTokenID      int32         `json:"pad_token_id"`
	LastHiddenState [][][]float64 `json:"last_hidden_state"`
}

func (g *archBase) input() bert.Input {
	in := bert.Input{B: len(g.InputIDs), T: len(g.InputIDs[0]), IDs: golden.Flat2(g.InputIDs),
		AttentionMask: golden.Flat2(g.AttentionMask)}
	if g.TokenTypeIDs != nil {
		in.TypeIDs = golden.Flat2(g.TokenTypeIDs)
	}
	return in
}

// loadArch loads an architecture's model directory through runtime/pretrained, as the CLI and
// the Wasm engine do, and its golden batch.
func loadArch(t testing.TB, arch string) (*pretrained.Model, *archBase) {
	t.Helper()
	m, err := pretrained.LoadDir(golden.Path("archs", arch, "model"))
	if err != nil {
		t.Fatal(err)
	}
	var g archBase
	golden.Load(t, &g, "archs", arch, "golden", "base.json")
	if m.Config.ModelType != g.ModelType {
		t.Fatalf("model_type %q, golden %q", m.Config.ModelType, g.ModelType)
	}
	return m, &g
}

func archCases(t testing.TB, arch string) []tinyCase {
	t.Helper()
	var index struct{ Cases []struct{ Case, File string } }
	golden.Load(t, &index, "archs", arch, "golden", "index.json")
	if len(index.Cases) < 12 {
		t.Fatalf("%s: index lists %d cases", arch, len(index.Cases))
	}
	out := make([]tinyCase, len(index.Cases))
	for i, ic := range index.Cases {
		golden.Load(t, &out[i], "archs", arch, "golden", ic.File)
	}
	return out
}

// caseLogits activates case c on m, runs the golden batch and returns each head's logits
// (copies) in the case's order.
func caseLogits(t *testing.T, m *Model, st *State, in bert.Input, c *tinyCase) ([]string, [][]float32) {
	t.Helper()
	defer m.SetHead("")
	if err := m.SetActive(c.Setup); err != nil {
		t.Fatal(err)
	}
	var single string
	_ = json.Unmarshal(c.Head, &single)
	heads := []string{single}
	if single != "" {
		if err := m.SetHead(single); err != nil {
			t.Fatal(err)
		}
	} else {
		_ = json.Unmarshal(c.Head, &heads)
	}
	out, err := m.Forward(st, in)
	if err != nil {
		t.Fatal(err)
	}
	checkFirstOnly(t, m, in, out)
	if len(out.Heads) != len(heads) {
		t.Fatalf("%d head outputs, want %d", len(out.Heads), len(heads))
	}
	logits := make([][]float32, len(heads))
	for i, h := range heads {
		if out.Heads[i].Head.Name != h {
			t.Fatalf("head %d is %s, want %s", i, out.Heads[i].Head.Name, h)
		}
		logits[i] = append([]float32(nil), out.Heads[i].Logits...)
	}
	return heads, logits
}

// caseDiff runs case c on m and returns the largest |logit - reference| over every head the
// case names, and the largest |reference logit|.
func caseDiff(t *testing.T, m *Model, st *State, in bert.Input, c *tinyCase) (diff, scale float64) {
	t.Helper()
	heads, logits := caseLogits(t, m, st, in, c)
	want := map[string]json.RawMessage{}
	if len(heads) == 1 && heads[0] != "" && !strings.HasPrefix(strings.TrimSpace(string(c.Head)), "[") {
		want[heads[0]] = c.Logits
	} else {
		_ = json.Unmarshal(c.Logits, &want)
	}
	for i, h := range heads {
		w := flatLogits(t, want[h])
		if len(logits[i]) != len(w) {
			t.Fatalf("head %s: %d logits, want %d", h, len(logits[i]), len(w))
		}
		d, _ := golden.MaxAbsDiff(logits[i], w)
		diff = max(diff, d)
		for _, v := range w {
			scale = max(scale, math.Abs(v))
		}
	}
	return diff, scale
}

// matrix collects max |Δlogit| per architecture and case for the log (and the issue note).
type matrix map[string]map[string]float64

func (mx matrix) put(arch, c string, d float64) {
	if mx[arch] == nil {
		mx[arch] = map[string]float64{}
	}
	mx[arch][c] = max(mx[arch][c], d)
}

func (mx matrix) String() string {
	var cases []string
	seen := map[string]bool{}
	for _, a := range archNames {
		for c := range mx[a] {
			if !seen[c] {
				seen[c] = true
				cases = append(cases, c)
			}
		}
	}
	sort.Strings(cases)
	var b strings.Builder
	fmt.Fprintf(&b, "| case | %s |\n|---|---|---|---|\n", strings.Join(archNames, " | "))
	for _, c := range cases {
		fmt.Fprintf(&b, "| %s |", c)
		for _, a := range archNames {
			if d, ok := mx[a][c]; ok {
				fmt.Fprintf(&b, " %.2g |", d)
			} else {
				b.WriteString(" — |")
			}
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// TestArchEncoders: each architecture's encoder, loaded through runtime/pretrained, reproduces
// transformers' last hidden state on the padded golden batch (RoBERTa's position ids from the
// padding index, a <pad> token inside a text included), and runtime/pretrained tokenizes the
// batch to the reference ids, padding included (RoBERTa's pad_token_id, not tokenizer.json's 0).
func TestArchEncoders(t *testing.T) {
	for _, arch := range archNames {
		t.Run(arch, func(t *testing.T) {
			base, g := loadArch(t, arch)
			last, err := base.Encoder.Forward(&bert.State{}, g.input(), nil)
			if err != nil {
				t.Fatal(err)
			}
			d, at := golden.MaxAbsDiff(last, golden.Flat3(g.LastHiddenState))
			if d > tolerance {
				t.Errorf("last hidden state: max |diff| %.3g at %d", d, at)
			}
			t.Logf("last hidden state: max |diff| %.2g", d)
			in, _ := base.Tokenize(g.Sentences, g.MaxLength)
			if in.B != len(g.InputIDs) {
				t.Fatalf("%d encodings, want %d", in.B, len(g.InputIDs))
			}
			want := g.input()
			if in.T != want.T || !slices.Equal(in.IDs, want.IDs) || !slices.Equal(in.AttentionMask, want.AttentionMask) {
				t.Fatalf("ids %v\nwant %v", in.IDs, want.IDs)
			}
		})
	}
}

// TestArchGoldens: every adapter method, head and composition of testdata/archs, from the .bin
// and the safetensors copies, on RoBERTa, XLM-R and DistilBERT, within the tiny goldens'
// tolerance of the library's logits.
func TestArchGoldens(t *testing.T) {
	mx := matrix{}
	for _, arch := range archNames {
		t.Run(arch, func(t *testing.T) {
			base, g := loadArch(t, arch)
			in := g.input()
			for _, c := range archCases(t, arch) {
				for _, variant := range []string{"bin", "safetensors"} {
					t.Run(c.Case+"/"+variant, func(t *testing.T) {
						m := loadCaseFrom(t, base.Encoder, &c, variant == "safetensors", "archs", arch)
						d, _ := caseDiff(t, m, &State{}, in, &c)
						if d > tolerance {
							t.Errorf("max |diff| %.3g > %g", d, tolerance)
						}
						mx.put(arch, c.Case, d)
					})
				}
			}
		})
	}
	t.Logf("f32, max |Δlogit| against adapters 1.3.0:\n%s", mx)
}

// convertArch converts an architecture's model directory to dtype as `adapterwasm convert` does
// (modelfile.Convert, modelfile.Write) and loads the file through runtime/pretrained.
func convertArch(t *testing.T, arch string, dtype modelfile.DType) *pretrained.Model {
	t.Helper()
	read := func(name string) []byte {
		b, err := os.ReadFile(golden.Path("archs", arch, "model", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	wf, err := weights.Parse(pretrained.SafetensorsFile, read(pretrained.SafetensorsFile))
	if err != nil {
		t.Fatal(err)
	}
	tensors, err := modelfile.Convert(wf, dtype)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	h := modelfile.Header{DType: dtype, Source: "adapterwasm/tiny-" + arch, Config: read(pretrained.ConfigFile),
		Tokenizer: read(pretrained.TokenizerFile)}
	if err := modelfile.Write(&buf, h, tensors); err != nil {
		t.Fatal(err)
	}
	m, err := pretrained.Load(map[string][]byte{pretrained.ModelFile: buf.Bytes()})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// bindQ8 binds every weight matrix (linears and the word embeddings) quantized to q8 in blocks
// of kernels.Q8Block, whatever its size (the converter keeps matrices this small in f16:
// modelfile's q8MinElements), as kernels.Q8 or, with dequantized, as the f32 matrix of the same
// rounded weights. It returns a function restoring bert.MatrixFromTensor.
func bindQ8(dequantized bool) func() {
	orig := bert.MatrixFromTensor
	bert.MatrixFromTensor = func(t, scale *weights.Tensor, out, in int) (kernels.Matrix, error) {
		m, err := orig(t, scale, out, in)
		f, ok := m.(*kernels.F32)
		if err != nil || !ok || in%kernels.Q8Block != 0 {
			return m, err
		}
		q := kernels.QuantizeQ8(f.W, out, in, kernels.Q8Block)
		if !dequantized {
			return q, nil
		}
		w := make([]float32, out*in)
		q.Dequantize(w)
		return kernels.NewF32(out, in, w), nil
	}
	return func() { bert.MatrixFromTensor = orig }
}

// Bounds on |logit - reference| for a base converted to f16 or q8, relative to the case's largest
// |reference logit| (these random models' logits reach 10-30; measured: f16 ≤ 3.4e-3, q8 ≤ 1.1e-2
// of it; at this width the converter stores every linear as f16 and q8 only DistilBERT's word
// embeddings).
const (
	tolArchF16 = 5e-3
	tolArchQ8  = 2e-2
	// The SIMD integer Q8 path (activations rounded to int16 per block of 32) against the f32
	// pass on the same dequantized weights, relative to the largest logit: measured ≤ 1.2e-4
	// (CI's GOOS=js run, absolute up to 2.4e-3 on logits of ~20).
	tolArchQ8Int = 1e-3
)

// TestArchDtypes: the goldens on bases converted to f16 and q8 as `convert` writes them (within
// tolArchF16, tolArchQ8 of the largest logit), and with every matrix bound as q8: the q8 kernels
// at every site of each architecture's forward pass give the logits of the f32 pass on the same
// (dequantized) weights within the f32 tolerance.
func TestArchDtypes(t *testing.T) {
	mxs := map[string]matrix{}
	put := func(v, arch, c string, d float64) {
		if mxs[v] == nil {
			mxs[v] = matrix{}
		}
		mxs[v].put(arch, c, d)
	}
	for _, arch := range archNames {
		_, g := loadArch(t, arch)
		in := g.input()
		cases := archCases(t, arch)
		for _, dt := range []modelfile.DType{modelfile.F16, modelfile.Q8} {
			t.Run(arch+"/"+string(dt), func(t *testing.T) {
				base, bound := convertArch(t, arch, dt), tolArchF16
				if dt == modelfile.Q8 {
					bound = tolArchQ8
				}
				for _, c := range cases {
					m := loadCaseFrom(t, base.Encoder, &c, true, "archs", arch)
					d, scale := caseDiff(t, m, &State{}, in, &c)
					if d > bound*scale {
						t.Errorf("%s: max |diff| %.3g > %g × max |logit| %.3g", c.Case, d, bound, scale)
					}
					put(string(dt), arch, c.Case, d)
					put(string(dt)+" relative to max |logit|", arch, c.Case, d/scale)
				}
			})
		}
		t.Run(arch+"/q8-every-matrix", func(t *testing.T) {
			restore := bindQ8(false)
			q8 := convertArch(t, arch, modelfile.F32)
			restore()
			restore = bindQ8(true)
			ref := convertArch(t, arch, modelfile.F32)
			restore()
			for l := range q8.Encoder.Layers {
				for s := bert.Site(0); s < bert.NumSites; s++ {
					if _, ok := q8.Encoder.Layers[l].Linear(s).W.(*kernels.Q8); !ok {
						t.Fatalf("layer %d %s is %T, want q8", l, s, q8.Encoder.Layers[l].Linear(s).W)
					}
				}
			}
			for _, c := range cases {
				_, want := caseLogits(t, loadCaseFrom(t, ref.Encoder, &c, true, "archs", arch), &State{}, in, &c)
				scale := 0.0
				for _, w := range want {
					for _, v := range w {
						scale = max(scale, math.Abs(float64(v)))
					}
				}
				// Under the SIMD kernels Q8 products take the integer path by default, which
				// rounds activations to int16 (kernels.SetQ8Int): the float32 path must give the
				// f32 logits within the f32 tolerance, the integer one within tolArchQ8Int of the
				// largest logit. Natively both are Q8.MulT.
				worst := 0.0
				for _, integer := range []bool{false, true} {
					if integer && !kernels.SIMD() {
						continue
					}
					kernels.SetQ8Int(integer)
					m := loadCaseFrom(t, q8.Encoder, &c, true, "archs", arch)
					heads, got := caseLogits(t, m, &State{}, in, &c)
					kernels.SetQ8Int(true)
					d := 0.0
					for i := range heads {
						w := make([]float64, len(want[i]))
						for j, v := range want[i] {
							w[j] = float64(v)
						}
						di, _ := golden.MaxAbsDiff(got[i], w)
						d = max(d, di)
					}
					if integer {
						if d > tolArchQ8Int*scale {
							t.Errorf("%s: q8 integer kernels vs f32 on the same weights: max |diff| %.3g > %g × max |logit| %.3g", c.Case, d, tolArchQ8Int, scale)
						}
						put("q8 every matrix, SIMD integer path, vs f32 on its dequantized weights, relative to max |logit|", arch, c.Case, d/scale)
						continue
					}
					if d > tolerance {
						t.Errorf("%s: q8 kernels vs f32 on the same weights: max |diff| %.3g > %g", c.Case, d, tolerance)
					}
					worst = d
				}
				put("q8 every matrix vs f32 on its dequantized weights", arch, c.Case, worst)
				d, scale := caseDiff(t, loadCaseFrom(t, q8.Encoder, &c, true, "archs", arch), &State{}, in, &c)
				put("q8 every matrix vs the library (f32), relative to max |logit|; not bounded", arch, c.Case, d/scale)
			}
		})
	}
	names := make([]string, 0, len(mxs))
	for v := range mxs {
		names = append(names, v)
	}
	sort.Strings(names)
	for _, v := range names {
		t.Logf("%s, max |Δlogit|:\n%s", v, mxs[v])
	}
}

// TestArchBatchInvariance: on every architecture, every golden case gives each text the same
// logits alone, in a batch between a much longer and a much shorter text (padded with the
// model's pad id: RoBERTa numbers positions from it), and under BatchSplit (issue #20).
func TestArchBatchInvariance(t *testing.T) {
	stats := &invStats{}
	for _, arch := range archNames {
		t.Run(arch, func(t *testing.T) {
			base, g := loadArch(t, arch)
			texts := invTexts(g.InputIDs, g.TokenTypeIDs, g.AttentionMask)
			for _, c := range archCases(t, arch) {
				t.Run(c.Case, func(t *testing.T) {
					m := loadCaseFrom(t, base.Encoder, &c, true, "archs", arch)
					cs := invSetup{setup: c.Setup}
					_ = json.Unmarshal(c.Head, &cs.head)
					checkBatchInvariance(t, m, cs, texts, base.Config.MaxTokens(), stats)
				})
			}
		})
	}
	t.Logf("worst: %.2g (%s)", stats.worst, stats.where)
}

// TestArchMADX: MAD-X on RoBERTa, XLM-R and DistilBERT (issue #17 step 4). Every case whose
// setup's first adapter has an invertible adapter (the language adapters lang_inv, seq_bn_inv,
// and lang_inv_b, double_seq_bn_inv; alone, under a task adapter, a LoRA and a fusion, and in
// Parallel) matches the library from .bin and safetensors, and taking the coupling out moves
// our logits by what it moved the library's (inv_effect, recorded by make_archs.py): the
// coupling runs on each architecture's embeddings, and only for the setup's first adapter.
// A GLOW coupling, which the library saves but fails to run (its error recorded per
// architecture), is refused as unsupported.
func TestArchMADX(t *testing.T) {
	mx := matrix{}
	for _, arch := range archNames {
		t.Run(arch, func(t *testing.T) {
			base, g := loadArch(t, arch)
			in := g.input()
			n := 0
			for _, c := range archCases(t, arch) {
				var doc struct {
					InvEffect *float64 `json:"inv_effect"`
				}
				golden.Load(t, &doc, "archs", arch, "golden", c.Case+".json")
				lang := strings.Contains(c.Setup, "lang_inv")
				if !lang {
					continue
				}
				n++
				for _, variant := range []string{"bin", "safetensors"} {
					t.Run(c.Case+"/"+variant, func(t *testing.T) {
						m := loadCaseFrom(t, base.Encoder, &c, variant == "safetensors", "archs", arch)
						d, _ := caseDiff(t, m, &State{}, in, &c)
						if d > tolerance {
							t.Errorf("max |diff| %.3g > %g", d, tolerance)
						}
						mx.put(arch, c.Case, d)
						_, with := caseLogits(t, m, &State{}, in, &c)
						first := m.adapters[m.active.first()]
						if doc.InvEffect == nil {
							// the setup's first adapter has no coupling: none may run
							if first.inv != nil {
								t.Fatalf("golden records no invertible effect, but %s has a coupling", first.Name)
							}
							return
						}
						if first.inv == nil {
							t.Fatalf("%s: no invertible module bound", first.Name)
						}
						inv := first.inv
						first.inv = nil
						_, without := caseLogits(t, m, &State{}, in, &c)
						first.inv = inv
						eff := 0.0
						for i := range with {
							for j := range with[i] {
								eff = max(eff, math.Abs(float64(with[i][j]-without[i][j])))
							}
						}
						if math.Abs(eff-*doc.InvEffect) > tolerance {
							t.Errorf("the coupling moves the logits by %.6g, the library's by %.6g", eff, *doc.InvEffect)
						}
					})
				}
			}
			if n < 6 {
				t.Fatalf("%d MAD-X cases, want 6", n)
			}
			var glow struct {
				ForwardError string `json:"forward_error"`
			}
			golden.Load(t, &glow, "archs", arch, "golden", "inv_glow_error.json")
			if !strings.HasPrefix(glow.ForwardError, "RuntimeError") {
				t.Fatalf("recorded library error %q", glow.ForwardError)
			}
			for _, sub := range []string{"adapters", "adapters_st"} {
				_, err := New(base.Encoder).LoadDir(golden.Path("archs", arch, sub, "inv_glow"), LoadOptions{})
				var ue *UnsupportedError
				if !errors.As(err, &ue) || !strings.Contains(err.Error(), `unsupported: inv_adapter "glow"`) ||
					!strings.Contains(err.Error(), "fails on a "+arch+" model's embeddings") {
					t.Fatalf("%s: err = %v, want unsupported glow naming %s", sub, err, arch)
				}
			}
		})
	}
	t.Logf("MAD-X, f32, max |Δlogit| against adapters 1.3.0:\n%s", mx)
}

// TestArchErrorsNameArchitecture: an adapter made for another base names the base's own
// architecture when its hidden size differs (a MiniLM adapter on the DistilBERT of testdata/archs),
// and its model_type when that differs (a RoBERTa adapter on XLM-R: same hidden size).
func TestArchErrorsNameArchitecture(t *testing.T) {
	base, _ := loadArch(t, "distilbert")
	_, err := New(base.Encoder).LoadDir(golden.Path("minilm", "adapters", "sentiment"), LoadOptions{})
	var me *MismatchError
	if !errors.As(err, &me) || !strings.Contains(err.Error(), "hidden_size is 384 but the base model (distilbert) has 32") {
		t.Errorf("err = %v, want a MismatchError naming distilbert", err)
	}
	xlmr, _ := loadArch(t, "xlm-roberta")
	_, err = New(xlmr.Encoder).LoadDir(golden.Path("archs", "roberta", "adapters", "seq_bn"), LoadOptions{})
	if !errors.As(err, &me) || !strings.Contains(err.Error(), `model_type is "roberta" but the base model has "xlm-roberta"`) {
		t.Errorf("err = %v, want a MismatchError naming both model types", err)
	}
}
