package engine_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/adapterwasm/adapterwasm/adapters"
	"github.com/adapterwasm/adapterwasm/internal/golden"
	"github.com/adapterwasm/adapterwasm/runtime/bert"
	"github.com/adapterwasm/adapterwasm/runtime/pretrained"
	"github.com/adapterwasm/adapterwasm/train"
	"github.com/adapterwasm/adapterwasm/wasm/engine"
)

func toyExamples() []engine.TrainExample {
	var ex []engine.TrainExample
	for i := 0; i < 24; i++ {
		if i%2 == 0 {
			ex = append(ex, engine.TrainExample{Text: "this is great really great", Label: "pos"})
		} else {
			ex = append(ex, engine.TrainExample{Text: "this is awful really awful", Label: "neg"})
		}
	}
	return ex
}

// TestTrainAdapter: a run driven step by step reports progress, ends with the adapter loaded and
// classifying, and SaveAdapter's files load into package adapters; bad arguments are typed.
func TestTrainAdapter(t *testing.T) {
	m := newTiny(t)
	tr, err := m.TrainAdapter("toy", toyExamples(), engine.TrainOptions{Config: "seq_bn[reduction_factor=4]", Epochs: 3, LR: 1e-2, BatchSize: 8})
	if err != nil {
		t.Fatal(err)
	}
	var p engine.TrainProgress
	for n := 0; !p.Done; n++ {
		if n > 100 {
			t.Fatal("no end")
		}
		if p, err = tr.Step(); err != nil {
			t.Fatal(err)
		}
	}
	if p.Steps != 9 || p.Step != 9 || p.Epoch != 3 || p.Examples != 24 || !(p.Loss > 0) {
		t.Errorf("progress %+v", p)
	}
	if err := m.SetActive("toy", ""); err != nil {
		t.Fatal(err)
	}
	res, err := m.Classify([]string{"this is great really great", "this is awful really awful"}, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Label != "pos" || res[1].Label != "neg" {
		t.Errorf("labels %s %s", res[0].Label, res[1].Label)
	}
	for _, f := range []string{"bin", "safetensors"} {
		files, err := m.SaveAdapter("toy", f)
		if err != nil {
			t.Fatal(err)
		}
		am := adapters.New(newTinyBase(t))
		if _, err := am.Load(files, adapters.LoadOptions{}); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	for _, c := range []struct {
		err  error
		code engine.Code
	}{
		{func() error { _, err := m.SaveAdapter("nope", "bin"); return err }(), engine.CodeNotFound},
		{func() error { _, err := m.SaveAdapter("toy", "zip"); return err }(), engine.CodeInvalidArgument},
		{func() error { _, err := m.TrainAdapter("", toyExamples(), engine.TrainOptions{}); return err }(), engine.CodeInvalidArgument},
		{func() error { _, err := m.TrainAdapter("x", nil, engine.TrainOptions{}); return err }(), engine.CodeInvalidArgument},
		{func() error {
			_, err := m.TrainAdapter("x", toyExamples(), engine.TrainOptions{Config: "prefix_tuning"})
			return err
		}(), engine.CodeUnsupported},
		{func() error {
			_, err := m.TrainAdapter("x", toyExamples(), engine.TrainOptions{Config: "nonsense["})
			return err
		}(), engine.CodeFormat},
		{func() error {
			_, err := m.TrainAdapter("x", toyExamples(), engine.TrainOptions{Labels: []string{"pos", "other"}})
			return err
		}(), engine.CodeInvalidArgument},
		{func() error {
			_, err := m.TrainAdapter("x", toyExamples(), engine.TrainOptions{BatchSize: 100000})
			return err
		}(), engine.CodeInvalidArgument},
		{func() error { _, err := m.TrainAdapter("x", toyExamples()[:1], engine.TrainOptions{}); return err }(), engine.CodeInvalidArgument},
		{func() error { _, err := m.TrainAdapterJSON("x", []byte(`[{"text": 1}]`), nil); return err }(), engine.CodeInvalidArgument},
		{func() error {
			_, err := m.TrainAdapterJSON("x", []byte(strings.Repeat("[", 10000)), nil)
			return err
		}(), engine.CodeInvalidArgument},
		{func() error {
			_, err := m.TrainAdapterJSON("x", []byte(`[{"text":"a","label":"p"},{"text":"b","label":"n"}]`), []byte(`{"epochs":1,"lr":0.01}`))
			return err
		}(), ""},
	} {
		if c.code == "" {
			if c.err != nil {
				t.Errorf("%v", c.err)
			}
			continue
		}
		if engine.CodeOf(c.err) != c.code {
			t.Errorf("%v: code %s, want %s", c.err, engine.CodeOf(c.err), c.code)
		}
	}
	if err := m.UnloadAdapter("toy"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.SaveAdapter("toy", "bin"); engine.CodeOf(err) != engine.CodeNotFound {
		t.Errorf("after unload: %v", err)
	}
}

func newTinyBase(t *testing.T) *bert.Model {
	m, err := pretrained.LoadDir(golden.Path("tiny", "model"))
	if err != nil {
		t.Fatal(err)
	}
	return m.Encoder
}

// TestTrainLabelBounds: examples with more distinct labels than train.MaxLabels — up to one per
// example, MaxTrainExamples of them — are refused with invalid_argument before any tokenizing or
// allocation per label; so is an explicit labels list that long. A multi-label head (labels kept
// per example as ids, expanded per batch) trains and classifies.
func TestTrainLabelBounds(t *testing.T) {
	m := newTiny(t)
	many := make([]engine.TrainExample, engine.MaxTrainExamples)
	names := make([]string, train.MaxLabels+1)
	multi := make([]engine.TrainExample, train.MaxLabels+1)
	for i := range many {
		many[i] = engine.TrainExample{Text: "a", Label: "l" + strconv.Itoa(i)}
		if i < len(multi) {
			multi[i] = engine.TrainExample{Text: "a", Labels: []string{"x", many[i].Label}}
		}
		if i < len(names) {
			names[i] = many[i].Label
		}
	}
	for _, c := range []struct {
		ex  []engine.TrainExample
		opt engine.TrainOptions
		msg string
	}{
		{many, engine.TrainOptions{}, "131072 labels; a trained head may have at most 1024"},
		{many[:train.MaxLabels+1], engine.TrainOptions{}, "1025 labels"},
		{multi, engine.TrainOptions{Head: train.HeadMultiLabelClassification}, "1026 labels"},
		{toyExamples(), engine.TrainOptions{Labels: append(names, "pos", "neg")}, "1027 labels"},
		{[]engine.TrainExample{{Text: "a", Label: "x"}, {Text: "b", Label: strings.Repeat("y", 300)}}, engine.TrainOptions{}, "300 bytes long"},
	} {
		_, err := m.TrainAdapter("x", c.ex, c.opt)
		if engine.CodeOf(err) != engine.CodeInvalidArgument || !strings.Contains(fmt.Sprint(err), c.msg) {
			t.Errorf("%d examples: %v, want invalid_argument saying %q", len(c.ex), err, c.msg)
		}
	}
	var ml []engine.TrainExample
	for i := 0; i < 16; i++ {
		ml = append(ml, engine.TrainExample{Text: "this is great really great", Labels: []string{"pos", "a"}},
			engine.TrainExample{Text: "this is awful really awful", Labels: []string{"neg", "b"}})
	}
	tr, err := m.TrainAdapter("ml", ml, engine.TrainOptions{Head: train.HeadMultiLabelClassification, Epochs: 4, LR: 1e-2, BatchSize: 8})
	if err != nil {
		t.Fatal(err)
	}
	for p := (engine.TrainProgress{}); !p.Done; {
		if p, err = tr.Step(); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.SetActive("ml", ""); err != nil {
		t.Fatal(err)
	}
	res, err := m.Classify([]string{"this is great really great"}, "", "")
	if err != nil {
		t.Fatal(err)
	}
	// labels sorted: a, b, neg, pos
	if l := res[0].Logits; len(l) != 4 || !(l[0] > 0 && l[3] > 0 && l[1] < 0 && l[2] < 0) {
		t.Errorf("multi-label logits %v", l)
	}
}

// TestTrainDev: with dev examples, each epoch's last step (and only it) reports the accuracy on
// them, which the toy task reaches 1 on; a dev label outside the training labels is refused.
func TestTrainDev(t *testing.T) {
	m := newTiny(t)
	dev := []engine.TrainExample{{Text: "this is great really great", Label: "pos"}, {Text: "this is awful really awful", Label: "neg"}}
	tr, err := m.TrainAdapter("toy", toyExamples(), engine.TrainOptions{Epochs: 3, LR: 1e-2, BatchSize: 8, Dev: dev})
	if err != nil {
		t.Fatal(err)
	}
	var accs []float64
	for p := (engine.TrainProgress{}); !p.Done; {
		if p, err = tr.Step(); err != nil {
			t.Fatal(err)
		}
		if p.EpochDone != (p.Step%3 == 0) || p.EpochDone != (p.DevAccuracy != nil) {
			t.Errorf("step %d: epochDone %v, devAccuracy %v", p.Step, p.EpochDone, p.DevAccuracy)
		}
		if p.DevAccuracy != nil {
			accs = append(accs, *p.DevAccuracy)
		}
	}
	if len(accs) != 3 || accs[2] != 1 {
		t.Errorf("dev accuracies %v", accs)
	}
	_, err = m.TrainAdapter("x", toyExamples(), engine.TrainOptions{Dev: []engine.TrainExample{{Text: "a", Label: "maybe"}}})
	if engine.CodeOf(err) != engine.CodeInvalidArgument || !strings.Contains(err.Error(), `dev example 0: label "maybe"`) {
		t.Errorf("bad dev label: %v", err)
	}
}
