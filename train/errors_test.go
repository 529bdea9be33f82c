package train

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/adapterwasm/adapterwasm/adapters"
	"github.com/adapterwasm/adapterwasm/runtime/bert"
)

// TestErrors: bad options and batches are typed errors, never panics.
func TestErrors(t *testing.T) {
	base := tinyBase(t)
	two := HeadSpec{Labels: []string{"a", "b"}}
	var cfgErr *ConfigError
	var unsup *UnsupportedError
	var aFmt *adapters.FormatError
	for _, c := range []struct {
		opt  Options
		want any
	}{
		{Options{Config: "seq_bn", Head: two}, &cfgErr},
		{Options{Name: "x", Head: two}, &cfgErr},
		{Options{Name: "x", Config: "nonsense[", Head: two}, &aFmt},
		{Options{Name: "x", Config: "prefix_tuning", Head: two}, &unsup},
		{Options{Name: "x", Config: "lora|seq_bn", Head: two}, &unsup},
		{Options{Name: "x", Config: "seq_bn[use_gating=True]", Head: two}, &unsup},
		{Options{Name: "x", Config: "seq_bn[ln_before=True]", Head: two}, &unsup},
		{Options{Name: "x", Config: "seq_bn[non_linearity='mish']", Head: two}, &unsup},
		{Options{Name: "x", Config: "houlsby[init_weights='houlsby']", Head: two}, &unsup},
		{Options{Name: "x", Config: "compacter", Head: two}, &unsup},
		{Options{Name: "x", Config: "lora[use_gating=True]", Head: two}, &unsup},
		{Options{Name: "x", Config: "seq_bn[leave_out=[0,1]]", Head: two}, &cfgErr},
		{Options{Name: "x", Config: "seq_bn", Head: HeadSpec{Labels: []string{"a"}}}, &cfgErr},
		{Options{Name: "x", Config: "seq_bn", Head: HeadSpec{Labels: []string{"a", "a"}}}, &cfgErr},
		{Options{Name: "x", Config: "seq_bn", Head: HeadSpec{Type: "tagging", Labels: []string{"a", "b"}}}, &unsup},
		{Options{Name: "x", Config: "seq_bn", Head: HeadSpec{Labels: []string{"a", "b"}, Layers: 65}}, &cfgErr},
		{Options{Name: "x", Config: "seq_bn", Head: HeadSpec{Labels: []string{"a", "b"}, Activation: "nope"}}, &unsup},
	} {
		_, err := New(base, c.opt)
		if err == nil || !errors.As(err, c.want) {
			t.Errorf("%+v: %v, want %T", c.opt, err, c.want)
		}
	}

	tr, err := New(base, Options{Name: "x", Config: "seq_bn", Head: two, MaxActivationBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	ids := []int32{101, 2000, 102, 0}
	in := bert.Input{B: 2, T: 2, IDs: ids}
	var inErr *InputError
	var lim *LimitError
	var bertErr *bert.InputError
	for _, c := range []struct {
		b    Batch
		want any
	}{
		{Batch{Input: in, Labels: []int{0}}, &inErr},
		{Batch{Input: in, Labels: []int{0, 2}}, &inErr},
		{Batch{Input: in, Labels: []int{-1, 0}}, &inErr},
		{Batch{Input: bert.Input{}, Labels: nil}, &inErr},
		{Batch{Input: bert.Input{B: 1, T: 2, IDs: []int32{101, 1 << 30}}, Labels: []int{0}}, &bertErr},
		{Batch{Input: bert.Input{B: 1, T: 3, IDs: []int32{101}}, Labels: []int{0}}, &bertErr},
		{Batch{Input: bert.Input{B: 64, T: 64, IDs: make([]int32, 64*64)}, Labels: make([]int, 64)}, &lim},
	} {
		_, err := tr.Step(c.b)
		if err == nil || !errors.As(err, c.want) {
			t.Errorf("batch %d×%d labels %v: %v, want %T", c.b.Input.B, c.b.Input.T, c.b.Labels, err, c.want)
		}
	}
	// the trainer still works after refusing
	if _, err := tr.Step(Batch{Input: in, Labels: []int{0, 1}}); err != nil {
		t.Fatal(err)
	}
	ml, err := New(base, Options{Name: "x", Config: "par_bn", Head: HeadSpec{Type: HeadMultiLabelClassification, Labels: []string{"a", "b"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ml.Step(Batch{Input: in, Labels: []int{0, 1, 2, 0}}); !errors.As(err, &inErr) {
		t.Errorf("multi-label target 2: %v", err)
	}
	if _, err := ml.Step(Batch{Input: in, Labels: []int{0, 1, 1, 0}}); err != nil {
		t.Error(err)
	}
}

// TestLabelBounds: a head with more than MaxLabels labels, or a label name longer than
// MaxLabelBytes, is a *LabelsError before anything is allocated for it; MaxLabels itself trains.
func TestLabelBounds(t *testing.T) {
	base := tinyBase(t)
	labels := func(n int) []string {
		l := make([]string, n)
		for i := range l {
			l[i] = "label " + strconv.Itoa(i)
		}
		return l
	}
	var le *LabelsError
	for _, c := range []struct {
		head HeadSpec
		msg  string
	}{
		{HeadSpec{Labels: labels(MaxLabels + 1)}, "1025 labels; a trained head may have at most 1024"},
		{HeadSpec{Type: HeadMultiLabelClassification, Labels: labels(1 << 16)}, "65536 labels"},
		{HeadSpec{Labels: labels(1 << 20)}, "1048576 labels"},
		{HeadSpec{Labels: []string{"a", strings.Repeat("é", MaxLabelBytes/2+1)}}, "label 1 is 258 bytes long; at most 256"},
	} {
		_, err := New(base, Options{Name: "x", Config: "seq_bn", Head: c.head})
		if !errors.As(err, &le) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%d labels: %v, want a *LabelsError saying %q", len(c.head.Labels), err, c.msg)
		}
	}
	tr, err := New(base, Options{Name: "x", Config: "seq_bn", Head: HeadSpec{Labels: labels(MaxLabels)}})
	if err != nil {
		t.Fatal(err)
	}
	in := bert.Input{B: 2, T: 2, IDs: []int32{101, 102, 101, 102}}
	if _, err := tr.Step(Batch{Input: in, Labels: []int{0, MaxLabels - 1}}); err != nil {
		t.Fatal(err)
	}
}

// TestActivationBytes: the documented per-token figures (MiniLM's shape: ≈ 130 KB with seq_bn;
// BERT-base's: ≈ 455 KB) and the default bound's batches.
func TestActivationBytes(t *testing.T) {
	for _, c := range []struct {
		H, I, L, heads int
		lo, hi         int64
		fits, refused  [2]int
	}{
		{384, 1536, 6, 12, 120 << 10, 140 << 10, [2]int{16, 256}, [2]int{32, 256}},
		{768, 3072, 12, 12, 440 << 10, 470 << 10, [2]int{8, 128}, [2]int{16, 128}},
	} {
		m := &bert.Model{Config: bert.Config{HiddenSize: c.H, IntermediateSize: c.I, NumHiddenLayers: c.L, NumAttentionHeads: c.heads, HiddenAct: "gelu"}}
		m.Layers = make([]bert.Layer, c.L)
		tr := &Trainer{Base: m, bn: make([][2]*bnModule, c.L), lora: make([][bert.NumSites]*loraModule, c.L), acts: make([]layerActs, c.L)}
		for l := range tr.bn {
			tr.bn[l][bert.ResidualOutput] = &bnModule{d: c.H / 16}
		}
		per := tr.ActivationBytes(1, 1)
		if per < c.lo || per > c.hi {
			t.Errorf("H %d: %d bytes per token", c.H, per)
		}
		if n := tr.ActivationBytes(c.fits[0], c.fits[1]); n > DefaultMaxActivationBytes {
			t.Errorf("H %d: %v needs %d", c.H, c.fits, n)
		}
		if n := tr.ActivationBytes(c.refused[0], c.refused[1]); n <= DefaultMaxActivationBytes {
			t.Errorf("H %d: %v needs only %d", c.H, c.refused, n)
		}
	}
}

// TestPoolerlessBase: a head with use_pooler on DistilBERT (no pooler) is a ConfigError; on
// RoBERTa (pooler) it trains.
func TestPoolerlessBase(t *testing.T) {
	opt := Options{Name: "x", Config: "seq_bn", Head: HeadSpec{Labels: []string{"a", "b"}, UsePooler: true}}
	var ce *ConfigError
	if _, err := New(archBase(t, "distilbert"), opt); !errors.As(err, &ce) || !strings.Contains(err.Error(), "pooler") {
		t.Errorf("use_pooler on DistilBERT: got %v, want a ConfigError about the pooler", err)
	}
	if _, err := New(archBase(t, "roberta"), opt); err != nil {
		t.Errorf("use_pooler on RoBERTa: %v", err)
	}
}
