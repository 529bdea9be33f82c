package bert_test

import (
	"os"
	"slices"
	"testing"

	"github.com/adapterwasm/adapterwasm/internal/golden"
	"github.com/adapterwasm/adapterwasm/runtime/bert"
	"github.com/adapterwasm/adapterwasm/runtime/kernels"
	"github.com/adapterwasm/adapterwasm/runtime/weights"
)

// tolF32 is the bound on |ours - reference| for f32 hidden states and logits (issue: 1e-4).
const tolF32 = 1e-4

func loadTiny(t testing.TB) *bert.Model {
	t.Helper()
	cfgB, err := os.ReadFile(golden.Path("tiny", "model", "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := bert.ParseConfig(cfgB)
	if err != nil {
		t.Fatal(err)
	}
	wb, err := os.ReadFile(golden.Path("tiny", "model", "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := weights.ParseSafetensors("model.safetensors", wb)
	if err != nil {
		t.Fatal(err)
	}
	m, err := bert.FromTensors(cfg, f.Tensors, "model.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func baseInput(g *golden.Base) bert.Input {
	return bert.Input{
		B: len(g.InputIDs), T: len(g.InputIDs[0]),
		IDs:           golden.Flat2(g.InputIDs),
		TypeIDs:       golden.Flat2(g.TokenTypeIDs),
		AttentionMask: golden.Flat2(g.AttentionMask),
	}
}

func TestTinyHiddenStatesMatchReference(t *testing.T) {
	m := loadTiny(t)
	var g golden.Base
	golden.Load(t, &g, "tiny", "golden", "base.json")
	in := baseInput(&g)
	st := &bert.State{KeepHiddenStates: true}
	last, err := m.Forward(st, in, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.HiddenStates) != len(g.HiddenStates) {
		t.Fatalf("got %d hidden states, reference has %d", len(st.HiddenStates), len(g.HiddenStates))
	}
	for l, want := range g.HiddenStates {
		d, at := golden.MaxAbsDiff(st.HiddenStates[l], golden.Flat3(want))
		t.Logf("hidden_states[%d]: max |diff| %.3g", l, d)
		if d > tolF32 {
			t.Errorf("hidden_states[%d]: max |diff| %.3g at %d > %g", l, d, at, tolF32)
		}
	}
	pooled := m.Pool(st, last, in.B, in.T)
	var wantPool []float64
	for _, r := range g.PoolerOutput {
		wantPool = append(wantPool, r...)
	}
	if d, at := golden.MaxAbsDiff(pooled, wantPool); d > tolF32 {
		t.Errorf("pooler_output: max |diff| %.3g at %d", d, at)
	}
}

// A sequence must give the same result alone as inside a padded batch.
func TestBatchEqualsSingle(t *testing.T) {
	m := loadTiny(t)
	var g golden.Base
	golden.Load(t, &g, "tiny", "golden", "base.json")
	in := baseInput(&g)
	st := &bert.State{}
	batch, err := m.Forward(st, in, nil)
	if err != nil {
		t.Fatal(err)
	}
	batch = append([]float32(nil), batch...)
	H := m.Config.HiddenSize
	for b := 0; b < in.B; b++ {
		n := 0
		for _, v := range g.AttentionMask[b] {
			n += int(v)
		}
		one := bert.Input{B: 1, T: n, IDs: g.InputIDs[b][:n]}
		out, err := m.Forward(st, one, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := make([]float64, n*H)
		for i := range want {
			want[i] = float64(batch[b*in.T*H+i])
		}
		if d, _ := golden.MaxAbsDiff(out, want); d > 1e-5 {
			t.Errorf("sentence %d alone differs from the batch by %.3g", b, d)
		}
	}
}

func TestForwardDoesNotAllocate(t *testing.T) {
	m := loadTiny(t)
	var g golden.Base
	golden.Load(t, &g, "tiny", "golden", "base.json")
	in := baseInput(&g)
	st := &bert.State{}
	if _, err := m.Forward(st, in, nil); err != nil {
		t.Fatal(err)
	}
	for _, first := range []bool{false, true} {
		in.FirstOnly = first
		if _, err := m.Forward(st, in, nil); err != nil {
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(3, func() {
			if _, err := m.Forward(st, in, nil); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("Forward (FirstOnly %v) allocated %v times per run on a warm state", first, allocs)
		}
	}
}

func TestInputErrors(t *testing.T) {
	m := loadTiny(t)
	st := &bert.State{}
	cases := map[string]bert.Input{
		"empty":           {B: 0, T: 0},
		"id out of range": {B: 1, T: 2, IDs: []int32{101, 99999}},
		"negative id":     {B: 1, T: 1, IDs: []int32{-1}},
		"too long":        {B: 1, T: 65, IDs: make([]int32, 65)},
		"short ids":       {B: 2, T: 2, IDs: []int32{1, 2, 3}},
		"bad type id":     {B: 1, T: 1, IDs: []int32{1}, TypeIDs: []int32{5}},
	}
	for name, in := range cases {
		_, err := m.Forward(st, in, nil)
		if _, ok := err.(*bert.InputError); !ok {
			t.Errorf("%s: got %v, want *InputError", name, err)
		}
	}
	// The state keeps working after errors.
	if _, err := m.Forward(st, bert.Input{B: 1, T: 2, IDs: []int32{101, 102}}, nil); err != nil {
		t.Fatal(err)
	}
}

func TestMissingAndMisshapedTensorsReportedTogether(t *testing.T) {
	cfgB, _ := os.ReadFile(golden.Path("tiny", "model", "config.json"))
	cfg, _ := bert.ParseConfig(cfgB)
	wb, _ := os.ReadFile(golden.Path("tiny", "model", "model.safetensors"))
	f, err := weights.ParseSafetensors("model.safetensors", wb)
	if err != nil {
		t.Fatal(err)
	}
	ts := map[string]*weights.Tensor{}
	for k, v := range f.Tensors {
		ts[k] = v
	}
	delete(ts, "encoder.layer.1.output.dense.weight")
	q := *ts["encoder.layer.0.attention.self.query.weight"]
	q.Shape = []int{q.Shape[1], q.Shape[0] / 2}
	ts["encoder.layer.0.attention.self.query.weight"] = &q
	_, err = bert.FromTensors(cfg, ts, "model.safetensors")
	le, ok := err.(*bert.LoadError)
	if !ok {
		t.Fatalf("got %v, want *LoadError", err)
	}
	if len(le.Problems) != 2 {
		t.Errorf("want 2 problems, got %q", le.Problems)
	}
}

// opaqueHooks are hooks that do nothing and do not say they are row-local.
type opaqueHooks struct{}

func (opaqueHooks) Linear(int, bert.Site, []float32, []float32, bert.Batch) {}
func (opaqueHooks) Residual(int, bert.Residual, []float32, []float32, *bert.LayerNorm, []float32, bert.Batch) bool {
	return false
}
func (opaqueHooks) Prefix(int, []float32, bert.Batch) (int, []float32, []float32) { return 0, nil, nil }
func (opaqueHooks) Layer(int, []float32, bert.Batch)                              {}
func (opaqueHooks) Prompt(bert.Batch) (int, []float32, bool)                      { return 0, nil, false }
func (opaqueHooks) Embedded([]float32, bert.Batch)                                {}

// localHooks are opaqueHooks that say they are row-local.
type localHooks struct{ opaqueHooks }

func (localHooks) RowLocal(int) bool { return true }

// Input.FirstOnly: the last layer on each sequence's first row gives that row's float32s of the
// full forward (padded batch, with and without a mask, and the pooler on them), and is not
// honored where the hooks do not say they are row-local or every hidden state is kept.
func TestFirstOnly(t *testing.T) {
	m := loadTiny(t)
	var g golden.Base
	golden.Load(t, &g, "tiny", "golden", "base.json")
	H := m.Config.HiddenSize
	for _, masked := range []bool{true, false} {
		in := baseInput(&g)
		if !masked {
			in.AttentionMask = nil
		}
		full, err := m.Forward(&bert.State{}, in, nil)
		if err != nil {
			t.Fatal(err)
		}
		fin := in
		fin.FirstOnly = true
		for _, hooks := range []bert.Hooks{nil, localHooks{}} {
			st := &bert.State{}
			first, err := m.Forward(st, fin, hooks)
			if err != nil {
				t.Fatal(err)
			}
			if len(first) != in.B*H {
				t.Fatalf("masked %v, hooks %T: FirstOnly returned %d floats, want %d", masked, hooks, len(first), in.B*H)
			}
			for s := 0; s < in.B; s++ {
				if !slices.Equal(first[s*H:(s+1)*H], full[s*in.T*H:s*in.T*H+H]) {
					t.Errorf("masked %v, hooks %T: sequence %d's first row differs from the full forward's", masked, hooks, s)
				}
			}
			if !slices.Equal(m.Pool(st, first, in.B, 1), m.Pool(&bert.State{}, full, in.B, in.T)) {
				t.Errorf("masked %v, hooks %T: pooler output differs", masked, hooks)
			}
		}
		for _, c := range []struct {
			st    *bert.State
			hooks bert.Hooks
		}{{&bert.State{}, opaqueHooks{}}, {&bert.State{KeepHiddenStates: true}, nil}} {
			out, err := m.Forward(c.st, fin, c.hooks)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(out, full) {
				t.Errorf("hooks %T, KeepHiddenStates %v: FirstOnly honored (%d floats) or the output differs", c.hooks, c.st.KeepHiddenStates, len(out))
			}
		}
	}
}

// TestEmbeddingsSumInOrder: the embeddings are word + position + token type, summed in that
// order for every value, then LayerNorm. embed makes those sums with kernels calls over runs of
// rows (a sequence's positions at once unless padding breaks their run, one add_bias per run of
// a token type); the float32s must be the per-value sums' exactly, for BERT's and RoBERTa's
// positions (a <pad> inside a text and at its end), mixed, uniform and absent token type ids,
// and an f32 or q8 word table.
func TestEmbeddingsSumInOrder(t *testing.T) {
	ids := [][]int32{{101, 5, 1, 6, 7, 1, 1}, {101, 8, 9, 10, 11, 12, 13}, {101, 14, 15, 1, 1, 1, 1}}
	types := [][]int32{{0, 0, 1, 1, 0, 0, 0}, {1, 1, 1, 1, 1, 1, 1}, {0, 1, 0, 1, 0, 1, 0}}
	for _, c := range []struct {
		name, modelType string
		q8, typeIDs     bool
	}{
		{"bert", "bert", false, true},
		{"bert, q8 word table", "bert", true, true},
		{"bert, no token type ids", "bert", false, false},
		{"roberta positions", "roberta", false, true},
		{"roberta positions, q8 word table", "roberta", true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := loadTiny(t)
			m.Config.ModelType, m.Config.PadTokenID = c.modelType, 1
			e := &m.Embeddings
			if c.q8 {
				w := e.Word.(*kernels.F32)
				e.Word = kernels.QuantizeQ8(w.W, w.Out, w.In, kernels.Q8Block)
			}
			B, T, H := len(ids), len(ids[0]), m.Config.HiddenSize
			in := bert.Input{B: B, T: T, IDs: slices.Concat(ids...)}
			if c.typeIDs {
				in.TypeIDs = slices.Concat(types...)
			}
			st := &bert.State{KeepHiddenStates: true}
			if _, err := m.Forward(st, in, nil); err != nil {
				t.Fatal(err)
			}
			want := make([]float32, B*T*H)
			row := make([]float32, H)
			for b := range B {
				next := int32(1) // RoBERTa: positions count from padding_idx+1, a <pad> gets padding_idx
				for i, id := range ids[b] {
					pos := int32(i)
					if c.modelType == "roberta" {
						if id == 1 {
							pos = 1
						} else {
							next++
							pos = next
						}
					}
					tt := int32(0)
					if c.typeIDs {
						tt = types[b][i]
					}
					e.Word.Row(row, int(id))
					for j := range H {
						v := row[j] + e.Position[int(pos)*H+j]
						want[(b*T+i)*H+j] = v + e.TokenType[int(tt)*H+j]
					}
				}
			}
			e.LayerNorm.Forward(want, want, B*T)
			for i, v := range st.HiddenStates[0] {
				if v != want[i] {
					t.Fatalf("embeddings[%d] = %v, the per-value sums give %v", i, v, want[i])
				}
			}
		})
	}
}
