package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/adapterwasm/adapterwasm/adapters"
	"github.com/adapterwasm/adapterwasm/internal/golden"
	"github.com/adapterwasm/adapterwasm/runtime/bert"
	"github.com/adapterwasm/adapterwasm/runtime/kernels"
	"github.com/adapterwasm/adapterwasm/runtime/pretrained"
)

// Bounds of issue 5 for the demo adapters on a quantized MiniLM.
const (
	// tolF16Logits bounds |logit(f16 base) - logit(reference)| on the golden sentences.
	tolF16Logits = 5e-3
	// minQ8Agreement is the share of held-out inputs on which the q8 base must give the f32 label.
	minQ8Agreement = 0.99
	// tolQ8Logits bounds |logit(q8 base) - logit(reference)| on the golden sentences (measured
	// ≤ 0.038 over the four demo adapters with the converter's error-minimising scales; 0.063
	// with ggml's amax/127). The q8 label must equal the f32 label on every golden sentence,
	// including spam's near tie (f32 margin 0.023, below the logit error the bound allows): that
	// one holds as measured, not by the bound, so a change of the q8 recipe that flips it fails
	// here and has to be looked at.
	tolQ8Logits = 0.05
	// tolQ8U7Logits bounds the same for the q8 base with the 7-bit recipe (the package's opt-in
	// relaxedSimd, the CLI's --relaxed-simd: 7-bit activations): measured 0.041–0.095 over the
	// demo adapters (2026-12-07), over tolQ8Logits, which is why that recipe is not the default.
	// Its labels must equal f32's on every golden sentence too.
	tolQ8U7Logits = 0.12
	// maxQ8AccuracyDrop is the largest held-out accuracy loss of q8 against f32, in points.
	maxQ8AccuracyDrop = 0.5
)

var dtypes = []string{"f32", "f16", "q8"}

var (
	quantOnce   sync.Once
	quantModels map[string]*pretrained.Model
	quantErr    error
)

// miniLMByDType converts the real MiniLM with `adapterwasm convert` into each dtype (once per
// test binary) and loads each converted directory.
func miniLMByDType(t testing.TB) map[string]*pretrained.Model {
	t.Helper()
	in := golden.MiniLMDir(t)
	quantOnce.Do(func() {
		root, err := os.MkdirTemp("", "adapterwasm-convert")
		if err != nil {
			quantErr = err
			return
		}
		defer os.RemoveAll(root)
		quantModels = map[string]*pretrained.Model{}
		for _, d := range dtypes {
			out := filepath.Join(root, d)
			var so, se strings.Builder
			if code := run([]string{"convert", "--in", in, "--out", out, "--dtype", d}, strings.NewReader(""), &so, &se); code != 0 {
				quantErr = fmt.Errorf("convert --dtype %s: exit %d: %s", d, code, se.String())
				return
			}
			if quantModels[d], err = pretrained.LoadDir(out); err != nil {
				quantErr = err
				return
			}
		}
	})
	if quantErr != nil {
		t.Fatal(quantErr)
	}
	return quantModels
}

// demoAdapter loads testdata/minilm/<dir> onto base and activates it.
func demoAdapter(t testing.TB, base *bert.Model, dir string, requires []string, setup string) *adapters.Model {
	t.Helper()
	m := adapters.New(base)
	for _, d := range requires {
		if _, err := m.LoadDir(golden.Path("minilm", filepath.FromSlash(d)), adapters.LoadOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	name, err := m.LoadDir(golden.Path("minilm", filepath.FromSlash(dir)), adapters.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if setup != "" {
		name = setup
	}
	if err := m.SetActive(name); err != nil {
		t.Fatal(err)
	}
	return m
}

// headLogits runs one batch and returns the single head's logits [B, n] and its predictions.
func headLogits(t testing.TB, m *adapters.Model, st *adapters.State, in bert.Input) ([]float32, []string) {
	t.Helper()
	out, err := m.Forward(st, in)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Heads) != 1 {
		t.Fatalf("%d heads", len(out.Heads))
	}
	h := out.Heads[0]
	n := h.Head.NumLabels()
	labels := make([]string, in.B)
	for i := range labels {
		labels[i] = h.Head.Predict(h.Logits[i*n : (i+1)*n]).Label
	}
	return append([]float32(nil), h.Logits[:in.B*n]...), labels
}

// TestQuantizedBaseDemoAdapters: the demo adapters on the converted f16 and q8 MiniLM, on the
// committed golden sentences: f16 gives the reference label everywhere with logits within
// tolF16Logits; q8 logits are within tolQ8Logits, and its label is f32's everywhere; with the
// 7-bit recipe (opt-in) within tolQ8U7Logits, the labels again f32's.
func TestQuantizedBaseDemoAdapters(t *testing.T) {
	if testing.Short() {
		t.Skip("-short (the Wasm passes of build.sh test): plain-Go numerics are the same on every GOARCH and run natively; the SIMD path is held to the CLI by js/test")
	}
	cases := golden.MiniLMAdapterCases()
	if len(cases) == 0 {
		t.Skip("no adapter goldens in testdata/minilm/golden")
	}
	models := miniLMByDType(t)
	for _, c := range cases {
		t.Run(c, func(t *testing.T) {
			var g struct {
				Adapter       string      `json:"adapter"`
				Requires      []string    `json:"requires"` // a fusion: the adapters it fuses, loaded first
				Setup         string      `json:"setup"`
				InputIDs      [][]int32   `json:"input_ids"`
				AttentionMask [][]int32   `json:"attention_mask"`
				Logits        [][]float64 `json:"logits"`
				Predicted     []string    `json:"predicted"`
			}
			golden.Load(t, &g, "minilm", "golden", c+".json")
			if g.Adapter == "" || len(g.Logits) == 0 {
				t.Skip("not an adapter golden")
			}
			B := len(g.InputIDs)
			got := map[string][]string{}
			var margins []float64 // f32 reference: top logit minus the runner-up
			var q8Logits []float32
			for _, d := range dtypes {
				m := demoAdapter(t, models[d].Encoder, g.Adapter, g.Requires, g.Setup)
				// One sentence at a time, without its padding: one golden sentence is 128 tokens.
				var logits []float32
				var labels []string
				st := &adapters.State{}
				for i := range B {
					l, p := headLogits(t, m, st, trimPadding(g.InputIDs[i:i+1], g.AttentionMask[i:i+1]))
					logits, labels = append(logits, l...), append(labels, p...)
				}
				got[d] = labels
				if d == "q8" {
					q8Logits = logits
				}
				n := len(g.Logits[0])
				var worst float64
				for i, row := range g.Logits {
					for j, w := range row {
						worst = max(worst, math.Abs(float64(logits[i*n+j])-w))
					}
				}
				t.Logf("%s: max |logit - reference| %.3g over %d sentences", d, worst, B)
				if d == "q8" && worst > tolQ8Logits {
					t.Errorf("q8: logits differ from the reference by %.3g > %g", worst, tolQ8Logits)
				}
				if d == "f32" {
					margins = make([]float64, B)
					for i := range B {
						top := append([]float64(nil), g.Logits[i]...)
						sort.Sort(sort.Reverse(sort.Float64Slice(top)))
						if len(top) > 1 {
							margins[i] = top[0] - top[1]
						} else {
							margins[i] = math.Inf(1)
						}
					}
				}
				if d == "f16" {
					if worst > tolF16Logits {
						t.Errorf("f16: logits differ from the reference by %.3g > %g", worst, tolF16Logits)
					}
					for i, l := range labels {
						if l != g.Predicted[i] {
							t.Errorf("f16: sentence %d: label %s, reference %s", i, l, g.Predicted[i])
						}
					}
				}
			}
			agree := 0
			for i := range got["q8"] {
				if got["q8"][i] == got["f32"][i] {
					agree++
				} else {
					t.Errorf("q8: sentence %d: label %s, f32 %s, with an f32 margin of %.3g", i, got["q8"][i], got["f32"][i], margins[i])
				}
				if margins[i] < 2*tolQ8Logits { // how close q8 came: the reference's top logit minus q8's best other one
					n := len(g.Logits[0])
					ref, row := g.Logits[i], q8Logits[i*n:(i+1)*n]
					top := 0
					for j := range ref {
						if ref[j] > ref[top] {
							top = j
						}
					}
					other := math.Inf(-1)
					for j, v := range row {
						if j != top {
							other = max(other, float64(v))
						}
					}
					t.Logf("q8: sentence %d: f32 margin %.3g, q8 margin %.3g for the same label", i, margins[i], float64(row[top])-other)
				}
			}
			t.Logf("q8: label agrees with f32 on %d of %d golden sentences", agree, B)

			// The 7-bit recipe (opt-in) on the same q8 base.
			kernels.RequestRelaxed(true)
			defer kernels.RequestRelaxed(false)
			m := demoAdapter(t, models["q8"].Encoder, g.Adapter, g.Requires, g.Setup)
			st := &adapters.State{}
			var worst float64
			same := true // as the 16-bit recipe's, every logit: the 7-bit one did not run
			for i := range B {
				l, p := headLogits(t, m, st, trimPadding(g.InputIDs[i:i+1], g.AttentionMask[i:i+1]))
				for j, w := range g.Logits[i] {
					worst = max(worst, math.Abs(float64(l[j])-w))
					same = same && l[j] == q8Logits[i*len(l)+j]
				}
				if p[0] != got["f32"][i] {
					t.Errorf("q8 7-bit: sentence %d: label %s, f32 %s, with an f32 margin of %.3g", i, p[0], got["f32"][i], margins[i])
				}
			}
			t.Logf("q8 7-bit: max |logit - reference| %.3g over %d sentences", worst, B)
			if same {
				t.Error("q8 7-bit: the 16-bit recipe's logits: RequestRelaxed had no effect")
			}
			if worst > tolQ8U7Logits {
				t.Errorf("q8 7-bit: logits differ from the reference by %.3g > %g", worst, tolQ8U7Logits)
			}
		})
	}
}

// trimPadding builds a batch without the columns that are padding in every row (the goldens are
// padded to max_length; the logits of real tokens do not depend on it).
func trimPadding(ids, mask [][]int32) bert.Input {
	T := 0
	for _, r := range mask {
		for t, v := range r {
			if v != 0 {
				T = max(T, t+1)
			}
		}
	}
	in := bert.Input{B: len(ids), T: T}
	for i := range ids {
		in.IDs = append(in.IDs, ids[i][:T]...)
		in.AttentionMask = append(in.AttentionMask, mask[i][:T]...)
	}
	return in
}

// taskMaxLength is the max_length the demo adapters were trained and referenced with
// (TASK_MAX_LENGTH in tools/reference/make_minilm.py).
const taskMaxLength = 128

type heldoutExample struct {
	Text         string `json:"text"`
	Label        string `json:"label"`
	RefByAdapter map[string]struct {
		Label string `json:"label"`
	} `json:"ref_by_adapter"`
}

// heldoutDTypes are dtypes and "q8u7": the q8 base with the 7-bit activations of the package's
// relaxedSimd option (the CLI's --relaxed-simd), reported beside q8 (the bounds are q8's).
var heldoutDTypes = append(append([]string(nil), dtypes...), "q8u7")

// BenchmarkHeldoutQuantized prints, for every held-out set in testdata/minilm/heldout and every
// adapter with reference labels there, the held-out accuracy of the f32, f16 and q8 bases, their
// label agreement with f32 and the exact McNemar p-value of each one's accuracy difference to
// f32, and checks the q8 bounds of issue 5 on each set. sentiment_extra is an extra held-out set
// for the sentiment adapters (another source, tools/reference EXTRA_HELDOUT); an adapter measured
// on more than one set is also reported over their union (<first set>_combined). Run it with
//
//	go test ./cmd/adapterwasm -run '^$' -bench HeldoutQuantized -benchtime 1x
//
// (~30 min on 2 shared cores, 14 of them sentiment_extra's 2000 examples; -bench
// HeldoutQuantized/spam for one set; HeldoutQuantized/^sentiment for sentiment, sentiment_extra
// and sentiment_combined).
func BenchmarkHeldoutQuantized(b *testing.B) {
	sets, _ := filepath.Glob(golden.Path("minilm", "heldout", "*.jsonl"))
	if len(sets) == 0 {
		b.Skip("no held-out files in testdata/minilm/heldout")
	}
	models := miniLMByDType(b)
	var results []heldoutResult
	for _, path := range sets {
		set := strings.TrimSuffix(filepath.Base(path), ".jsonl")
		b.Run(set, func(b *testing.B) {
			var rs []heldoutResult
			for b.Loop() {
				rs = heldoutSet(b, models, set, readHeldout(b, path))
			}
			results = append(results, rs...)
		})
	}
	// Combined figures, in a sub-benchmark after the sets (a parent benchmark's log is shown
	// only with -v): every adapter measured on more than one set, e.g. on sentiment and
	// sentiment_extra, as sentiment_combined.
	byAdapter := map[string][]heldoutResult{}
	var names []string
	for _, r := range results {
		if byAdapter[r.adapter] == nil {
			names = append(names, r.adapter)
		}
		byAdapter[r.adapter] = append(byAdapter[r.adapter], r)
	}
	var combined []heldoutResult
	for _, name := range names {
		rs := byAdapter[name]
		if len(rs) < 2 {
			continue
		}
		all := heldoutResult{adapter: name, correct: map[string][]bool{}, labels: map[string][]string{}}
		var setNames []string
		for _, r := range rs {
			setNames = append(setNames, r.set)
			for _, d := range heldoutDTypes {
				all.correct[d] = append(all.correct[d], r.correct[d]...)
				all.labels[d] = append(all.labels[d], r.labels[d]...)
			}
		}
		all.set = strings.Join(setNames, "+")
		combined = append(combined, all)
	}
	if len(combined) > 0 {
		b.Run(strings.SplitN(combined[0].set, "+", 2)[0]+"_combined", func(b *testing.B) {
			for b.Loop() {
			}
			for _, r := range combined {
				b.Log(r.summary())
			}
		})
	}
}

// heldoutResult is one adapter on one held-out set: per example and dtype, the predicted label
// and whether it is the gold label.
type heldoutResult struct {
	set, adapter string
	labels       map[string][]string
	correct      map[string][]bool
}

func (r heldoutResult) accuracy(d string) float64 {
	n := 0
	for _, c := range r.correct[d] {
		if c {
			n++
		}
	}
	return 100 * float64(n) / float64(len(r.correct[d]))
}

func (r heldoutResult) agreement(d string) float64 {
	n := 0
	for i, l := range r.labels[d] {
		if l == r.labels["f32"][i] {
			n++
		}
	}
	return 100 * float64(n) / float64(len(r.labels[d]))
}

// discordant counts the examples f32 gets right and d wrong (worse), and the reverse (better).
func (r heldoutResult) discordant(d string) (worse, better int) {
	for i, c := range r.correct[d] {
		switch f := r.correct["f32"][i]; {
		case f && !c:
			worse++
		case !f && c:
			better++
		}
	}
	return worse, better
}

func (r heldoutResult) summary() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s/%s (%d examples): accuracy f32 %.2f%% f16 %.2f%% q8 %.2f%% q8u7 %.2f%%; label agreement with f32: f16 %.2f%% q8 %.2f%% q8u7 %.2f%%",
		r.set, r.adapter, len(r.correct["f32"]), r.accuracy("f32"), r.accuracy("f16"), r.accuracy("q8"), r.accuracy("q8u7"), r.agreement("f16"), r.agreement("q8"), r.agreement("q8u7"))
	for _, d := range []string{"f16", "q8", "q8u7"} {
		w, c := r.discordant(d)
		fmt.Fprintf(&sb, "; %s-f32 %+.2f points (%d better, %d worse, exact McNemar p=%.3g)", d, r.accuracy(d)-r.accuracy("f32"), c, w, mcNemarExact(w, c))
	}
	return sb.String()
}

// mcNemarExact is the two-sided exact McNemar p-value for b and c discordant pairs: the
// binomial test of min(b, c) successes in b+c trials with p = 1/2 (1 when there are none).
func mcNemarExact(b, c int) float64 {
	n, k := b+c, min(b, c)
	if n == 0 {
		return 1
	}
	p := 0.0
	for i := 0; i <= k; i++ {
		lg := func(x int) float64 { v, _ := math.Lgamma(float64(x) + 1); return v }
		p += math.Exp(lg(n) - lg(i) - lg(n-i) - float64(n)*math.Ln2)
	}
	return min(1, 2*p)
}

func TestMcNemarExact(t *testing.T) {
	for _, c := range []struct {
		b, c int
		want float64
	}{
		{0, 0, 1}, {0, 2, 0.5}, {2, 0, 0.5}, {1, 5, 0.21875}, {3, 3, 1}, {0, 10, 2.0 / 1024},
	} {
		if got := mcNemarExact(c.b, c.c); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("mcNemarExact(%d, %d) = %g, want %g", c.b, c.c, got, c.want)
		}
	}
}

// heldoutSet evaluates every adapter with reference labels in one held-out set.
func heldoutSet(b *testing.B, models map[string]*pretrained.Model, set string, exs []heldoutExample) []heldoutResult {
	var names []string
	for n := range exs[0].RefByAdapter {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []heldoutResult
	for _, name := range names {
		r := heldoutResult{set: set, adapter: name, labels: map[string][]string{}, correct: map[string][]bool{}}
		for _, d := range heldoutDTypes {
			if d == "q8u7" { // the q8 base with the 7-bit recipe (the package's relaxedSimd)
				kernels.RequestRelaxed(true)
				r.labels[d] = classifyAll(b, models["q8"], name, exs)
				kernels.RequestRelaxed(false)
			} else {
				r.labels[d] = classifyAll(b, models[d], name, exs)
			}
			for i, l := range r.labels[d] {
				r.correct[d] = append(r.correct[d], l == exs[i].Label)
			}
		}
		refAgree, refCorrect := 0, 0
		for i, e := range exs {
			if e.RefByAdapter[name].Label == r.labels["f32"][i] {
				refAgree++
			}
			if e.RefByAdapter[name].Label == e.Label {
				refCorrect++
			}
		}
		b.Logf("%s; reference accuracy %.2f%%, f32 label agreement with reference %.2f%%",
			r.summary(), 100*float64(refCorrect)/float64(len(exs)), 100*float64(refAgree)/float64(len(exs)))
		if a := r.agreement("q8"); a < 100*minQ8Agreement {
			b.Errorf("%s/%s: q8 agrees with f32 on %.2f%% < %.0f%%", set, name, a, 100*minQ8Agreement)
		}
		if d := r.accuracy("f32") - r.accuracy("q8"); d > maxQ8AccuracyDrop {
			b.Errorf("%s/%s: q8 accuracy %.2f points below f32 (> %.1f)", set, name, d, maxQ8AccuracyDrop)
		}
		out = append(out, r)
	}
	return out
}

func readHeldout(t testing.TB, path string) []heldoutExample {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var exs []heldoutExample
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var e heldoutExample
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		exs = append(exs, e)
	}
	if err := sc.Err(); err != nil || len(exs) == 0 {
		t.Fatalf("%s: %d examples, %v", path, len(exs), err)
	}
	return exs
}

// heldoutSetup resolves a held-out set's ref_by_adapter key: an adapter name (adapters/<name>),
// or "fusion:<dir>", the demo AdapterFusion (fusions/<dir>, with the adapters and the setup its
// golden names).
func heldoutSetup(t testing.TB, key string) (dir string, requires []string, setup string) {
	d, ok := strings.CutPrefix(key, "fusion:")
	if !ok {
		return "adapters/" + key, nil, ""
	}
	var g struct {
		Adapter  string   `json:"adapter"`
		Requires []string `json:"requires"`
		Setup    string   `json:"setup"`
	}
	golden.Load(t, &g, "minilm", "golden", "fusion_"+d+".json")
	return g.Adapter, g.Requires, g.Setup
}

// classifyAll labels every example with the adapter (or fusion) key names (heldoutSetup) on
// base, in batches of texts of similar length so that short texts are not padded to long ones.
func classifyAll(t testing.TB, base *pretrained.Model, key string, exs []heldoutExample) []string {
	dir, requires, setup := heldoutSetup(t, key)
	m := demoAdapter(t, base.Encoder, dir, requires, setup)
	st := &adapters.State{}
	order := make([]int, len(exs))
	lens := make([]int, len(exs))
	for i, e := range exs {
		order[i] = i
		_, encs := base.Tokenize([]string{e.Text}, taskMaxLength)
		lens[i] = len(encs[0].IDs)
	}
	sort.SliceStable(order, func(a, c int) bool { return lens[order[a]] < lens[order[c]] })
	out := make([]string, len(exs))
	const batch = 16
	for s := 0; s < len(order); s += batch {
		idx := order[s:min(s+batch, len(order))]
		texts := make([]string, len(idx))
		for k, i := range idx {
			texts[k] = exs[i].Text
		}
		in, _ := base.Tokenize(texts, taskMaxLength)
		_, labels := headLogits(t, m, st, in)
		for k, i := range idx {
			out[i] = labels[k]
		}
	}
	return out
}
