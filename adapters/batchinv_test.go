package adapters

import (
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/adapterwasm/adapterwasm/internal/golden"
	"github.com/adapterwasm/adapterwasm/runtime/bert"
)

// batchInvTol is the most a logit may move with the batch a text runs in (issue #20): nothing,
// in plain Go and with the Wasm SIMD kernels alike (each output's sums run in an order that no
// other row or the padding changes; runtime/kernels/portable.go).
const batchInvTol = 0.0

// invText is one unpadded golden text: its token ids and token types.
type invText struct{ ids, types []int32 }

// invTexts cuts the padded golden batch back into its texts.
func invTexts(ids, types, mask [][]int32) []invText {
	out := make([]invText, len(ids))
	for i := range ids {
		n := 0
		for _, v := range mask[i] {
			n += int(v)
		}
		out[i].ids = ids[i][:n]
		if types != nil {
			out[i].types = types[i][:n]
		} else {
			out[i].types = make([]int32, n)
		}
	}
	return out
}

// filler is a text of n tokens made of the golden texts' own tokens, between the first text's
// first and last token ([CLS] … [SEP], <s> … </s>).
func filler(texts []invText, n int) invText {
	var pool []int32
	for _, x := range texts {
		if len(x.ids) > 2 {
			pool = append(pool, x.ids[1:len(x.ids)-1]...)
		}
	}
	f := invText{ids: make([]int32, n), types: make([]int32, n)}
	for i := range f.ids {
		f.ids[i] = pool[i%len(pool)]
	}
	first := texts[0].ids
	f.ids[0], f.ids[n-1] = first[0], first[len(first)-1]
	return f
}

// batchOf pads texts (right padding, id pad, mask 0) to T tokens.
func batchOf(texts []invText, T int, pad int32) bert.Input {
	in := bert.Input{B: len(texts), T: T, IDs: make([]int32, len(texts)*T), TypeIDs: make([]int32, len(texts)*T),
		AttentionMask: make([]int32, len(texts)*T)}
	for i := range in.IDs {
		in.IDs[i] = pad
	}
	for s, x := range texts {
		copy(in.IDs[s*T:], x.ids)
		copy(in.TypeIDs[s*T:], x.types)
		for t := range x.ids {
			in.AttentionMask[s*T+t] = 1
		}
	}
	return in
}

// invSetup is what a golden case activates: a setup, an optional forced head and merged adapter.
type invSetup struct {
	setup, head, merge string
	noSplit            bool // skip the BatchSplit(S,S) run (MiniLM)
}

func (s invSetup) activate(t *testing.T, m *Model, expr string) error {
	t.Helper()
	if err := m.SetHead(""); err != nil {
		t.Fatal(err)
	}
	if err := m.SetActive(expr); err != nil {
		return err
	}
	if s.head != "" {
		return m.SetHead(s.head)
	}
	return nil
}

// runInv runs texts as one batch padded to T and returns, per head name and text index, the
// text's logits (a tagging head's rows of real tokens only). at[s] is the text index of
// sequence s (-1: a filler).
func runInv(t *testing.T, m *Model, st *State, texts []invText, at []int, T int, got map[string]map[int][]float32) {
	t.Helper()
	in := batchOf(texts, T, int32(m.Base.Config.PadTokenID))
	out, err := m.Forward(st, in)
	if err != nil {
		t.Fatalf("%s on %d texts of %d tokens: %v", m.Active(), len(texts), T, err)
	}
	if len(texts) > 1 {
		checkFirstOnly(t, m, in, out) // the padded batch; each text alone is compared with it
	}
	for _, h := range out.Heads {
		k := h.Head.NumLabels()
		for i := 0; i < h.NSeq; i++ {
			s := h.Seq0 + i
			ti := at[s]
			if ti < 0 {
				continue
			}
			var l []float32
			if h.Head.Type == HeadTagging {
				l = h.Logits[i*T*k : (i*T+len(texts[s].ids))*k]
			} else {
				l = h.Logits[i*k : (i+1)*k]
			}
			if got[h.Head.Name] == nil {
				got[h.Head.Name] = map[int][]float32{}
			}
			got[h.Head.Name][ti] = append([]float32(nil), l...)
		}
	}
}

// invStats is the largest logit change seen, for the log and the issue note.
type invStats struct {
	worst float64
	where string
}

func compareInv(t *testing.T, what string, want, got map[string]map[int][]float32, stats *invStats) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d heads in the batch, %d alone", what, len(got), len(want))
	}
	worst, at := 0.0, ""
	for h, byText := range want {
		for ti, w := range byText {
			g, ok := got[h][ti]
			if !ok || len(g) != len(w) {
				t.Fatalf("%s: head %s text %d: %d logits, alone %d", what, h, ti, len(g), len(w))
			}
			for j := range w {
				d := math.Abs(float64(g[j]) - float64(w[j]))
				if math.IsNaN(d) {
					d = math.Inf(1)
				}
				if d > worst || at == "" {
					worst, at = d, fmt.Sprintf("head %s text %d logit %d: %v in the batch, %v alone", h, ti, j, g[j], w[j])
				}
			}
		}
	}
	if worst > batchInvTol {
		t.Errorf("%s: max |diff| %.3g > %g (%s)", what, worst, batchInvTol, at)
	} else {
		t.Logf("%s: max |diff| %.2g", what, worst)
	}
	if worst > stats.worst {
		stats.worst, stats.where = worst, what
	}
}

// checkBatchInvariance runs every text of a golden case alone (unpadded, or padded to its
// splits under Split), then all of them in one batch between a much longer and a much shorter
// filler text, and requires the same logits (issue #20: the answer for a text never depends on
// which texts share its batch). Then the same with the setup S run as BatchSplit(S,S), where
// the library's nesting rules allow it: the batch cut in two uneven slices.
func checkBatchInvariance(t *testing.T, m *Model, cs invSetup, texts []invText, longLen int, stats *invStats) {
	t.Helper()
	if err := cs.activate(t, m, cs.setup); err != nil {
		t.Fatal(err)
	}
	if cs.merge != "" {
		if err := m.Merge(cs.merge); err != nil {
			t.Fatal(err)
		}
		defer m.Unmerge()
	}
	active := m.Active()
	checkSetupInvariance(t, m, texts, longLen, stats, false)
	if cs.merge != "" || cs.noSplit || FindBlock(active, BatchSplit) != nil {
		return
	}
	inner := active.String()
	if active.Kind == Stack && len(active.Children) == 1 && active.Children[0].Kind == Single {
		inner = active.Children[0].Name // BatchSplit(Stack(a),…) would run a's pre_forward twice
	}
	half := 1 + len(texts)/3
	expr := fmt.Sprintf("BatchSplit(%s,%s,batch_sizes=[%d,%d])", inner, inner, half, len(texts)-half)
	if err := cs.activate(t, m, expr); err != nil {
		t.Logf("%s: not a valid setup (%v); no BatchSplit run", expr, err)
		return
	}
	checkSetupInvariance(t, m, texts, longLen, stats, true)
}

// checkSetupInvariance checks the active setup. A BatchSplit in it assigns the texts to its
// children by their place in the golden batch (its batch_sizes add up to len(texts)): alone, a
// text runs with batch_sizes 1 for its child and 0 for the others; in the batch, each slice
// gets its texts between the two fillers. optional: a setup the layers refuse (as the library's
// do) is skipped instead of failed.
func checkSetupInvariance(t *testing.T, m *Model, texts []invText, longLen int, stats *invStats, optional bool) {
	t.Helper()
	active := m.Active()
	padTo := 0 // Split: every text is padded to its splits (as Classify does)
	if sp := FindBlock(active, Split); sp != nil {
		padTo = sum(sp.Sizes)
		longLen = padTo
	}
	short := filler(texts, 2)
	long := filler(texts, longLen)
	st := &State{}
	alone := map[string]map[int][]float32{}
	bs := FindBlock(active, BatchSplit)
	var slice []int // BatchSplit: the child each text's place in the golden batch gives it
	var sizes []int
	if bs != nil {
		sizes = append([]int(nil), bs.Sizes...)
		for k, n := range sizes {
			for i := 0; i < n; i++ {
				slice = append(slice, k)
			}
		}
		if len(slice) != len(texts) {
			t.Fatalf("batch_sizes %v for %d texts", sizes, len(texts))
		}
		defer func() { copy(bs.Sizes, sizes); _ = m.Activate(active) }()
	}
	for i, x := range texts {
		if bs != nil {
			for k := range bs.Sizes {
				bs.Sizes[k] = 0
			}
			bs.Sizes[slice[i]] = 1
			if err := m.Activate(active); err != nil {
				t.Fatal(err)
			}
		}
		T := len(x.ids)
		if padTo > 0 {
			T = padTo
		}
		if optional && i == 0 {
			if _, err := m.Forward(st, batchOf([]invText{x}, T, int32(m.Base.Config.PadTokenID))); err != nil {
				if _, ok := err.(*SetupError); ok {
					t.Logf("%s: refused (%v), as the library refuses it", active, err)
					return
				}
			}
		}
		runInv(t, m, st, []invText{x}, []int{i}, T, alone)
	}

	// One batch: long filler, the texts, short filler (BatchSplit: so in each slice).
	var batch []invText
	var at []int
	add := func(x invText, ti int) { batch, at = append(batch, x), append(at, ti) }
	if bs == nil {
		add(long, -1)
		for i, x := range texts {
			add(x, i)
		}
		add(short, -1)
	} else {
		for k := range sizes {
			n := 0
			add(long, -1)
			for i, x := range texts {
				if slice[i] == k {
					add(x, i)
					n++
				}
			}
			add(short, -1)
			bs.Sizes[k] = n + 2
		}
		if err := m.Activate(active); err != nil {
			t.Fatal(err)
		}
	}
	mixed := map[string]map[int][]float32{}
	runInv(t, m, st, batch, at, longLen, mixed)
	compareInv(t, fmt.Sprintf("%s: %d texts alone vs in a batch of %d×%d", active, len(texts), len(batch), longLen), alone, mixed, stats)
}

// TestBatchInvariance: every golden case of testdata/tiny, adapters/testdata/extra and
// testdata/minilm gives each text the same logits (bit for bit) alone, in a batch with much
// longer and much shorter texts, and under BatchSplit (issue #20).
func TestBatchInvariance(t *testing.T) {
	base := tinyBase(t)
	var b golden.Base
	golden.Load(t, &b, "tiny", "golden", "base.json")
	texts := invTexts(b.InputIDs, b.TokenTypeIDs, b.AttentionMask)
	longLen := base.Config.MaxPositionEmbeddings // 64; the golden texts have 2 to 48 tokens
	stats := &invStats{}

	t.Run("tiny", func(t *testing.T) {
		var index struct {
			Cases []struct{ Case, File, Setup string }
		}
		golden.Load(t, &index, "tiny", "golden", "index.json")
		for _, ic := range index.Cases {
			var c tinyCase
			golden.Load(t, &c, "tiny", "golden", ic.File)
			t.Run(c.Case, func(t *testing.T) {
				m := loadCase(t, base, &c, true)
				cs := invSetup{setup: c.Setup}
				_ = json.Unmarshal(c.Head, &cs.head)
				if c.LogitsUnmerged != nil {
					cs.setup, cs.merge = cs.head, cs.head
				}
				checkBatchInvariance(t, m, cs, texts, longLen, stats)
			})
		}
	})
	t.Run("extra", func(t *testing.T) {
		var index struct{ Cases []string }
		loadExtraJSON(t, &index, "index.json")
		for _, name := range index.Cases {
			var c extraCase
			loadExtraJSON(t, &c, name+".json")
			if c.Raises != "" {
				continue // refused by the library, and by Forward (TestExtraGoldens)
			}
			t.Run(name, func(t *testing.T) {
				m := New(base)
				for _, a := range append(append([]string(nil), c.Adapters...), c.Fusions...) {
					if _, err := m.LoadDir(filepath.Join("testdata", "extra", "adapters_st", a), LoadOptions{}); err != nil {
						t.Fatal(err)
					}
				}
				cs := invSetup{setup: c.Setup, merge: c.Merge}
				_ = json.Unmarshal(c.Head, &cs.head)
				checkBatchInvariance(t, m, cs, texts, longLen, stats)
			})
		}
	})
	t.Run("minilm", func(t *testing.T) {
		cases := golden.MiniLMAdapterCases()
		if len(cases) == 0 {
			t.Skip("no adapter goldens in testdata/minilm/golden")
		}
		mb := miniLMBase(t)
		for _, c := range cases {
			t.Run(c, func(t *testing.T) {
				var g miniLMGolden
				golden.Load(t, &g, "minilm", "golden", c+".json")
				m := New(mb)
				for _, dir := range g.Requires { // a fusion's adapters
					if _, err := m.LoadDir(golden.Path("minilm", filepath.FromSlash(dir)), LoadOptions{}); err != nil {
						t.Fatal(err)
					}
				}
				name, err := m.LoadDir(golden.Path("minilm", filepath.FromSlash(g.Adapter)), LoadOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if g.Setup != "" {
					name = g.Setup
				}
				// The golden sentences have 2 to 128 tokens; those up to 33 (11 of 12) run beside a
				// 64-token filler: a batch of 13×64 tokens (MiniLM costs ~700 times the tiny model
				// per token, and the tiny cases cover BatchSplit). Under -short (Wasm in CI): the
				// SeqBn, LoRA and fusion setups, the texts up to 16 tokens (8), a 40-token filler.
				maxLen, longLen := 33, 64
				if testing.Short() {
					if c != "sentiment" && c != "sentiment_lora" && c != "fusion_sentiment_spam" {
						t.Skip("-short: the bottleneck, the LoRA and the fusion setups only")
					}
					maxLen, longLen = 16, 40
				}
				var texts []invText
				for _, x := range invTexts(g.InputIDs, nil, g.AttentionMask) {
					if len(x.ids) <= maxLen {
						texts = append(texts, x)
					}
				}
				checkBatchInvariance(t, m, invSetup{setup: name, noSplit: true}, texts, longLen, stats)
			})
		}
	})
	t.Logf("largest logit change with the batch: %.2g (%s)", stats.worst, stats.where)
}
