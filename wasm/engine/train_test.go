package engine_test

import (
	"strings"
	"testing"

	"github.com/adapterwasm/adapterwasm/adapters"
	"github.com/adapterwasm/adapterwasm/internal/golden"
	"github.com/adapterwasm/adapterwasm/runtime/bert"
	"github.com/adapterwasm/adapterwasm/runtime/pretrained"
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
