package train

import (
	"flag"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/adapterwasm/adapterwasm/adapters"
	"github.com/adapterwasm/adapterwasm/internal/golden"
	"github.com/adapterwasm/adapterwasm/runtime/bert"
)

var updateTrained = flag.Bool("update-trained", false, "rewrite testdata/train/trained (then run tools/reference/check_trained.py)")

// trainedCases are the adapters trained here (5 steps on the golden batches, tiny model) and
// committed under testdata/train/trained/<name>, in the format given, for
// tools/reference/check_trained.py to load into the real library.
var trainedCases = []struct{ golden, format string }{
	{"seq_bn", FormatBin},
	{"lora", FormatBin},
	{"ia3", FormatSafetensors},
	{"double_seq_bn", FormatBin},
	{"par_bn", FormatSafetensors},
}

// checkTrained is testdata/train/trained/check.json (tools/reference/check_trained.py): the
// library's logits for each committed directory on a fixed batch.
type checkTrained struct {
	InputIDs      [][]int32 `json:"input_ids"`
	AttentionMask [][]int32 `json:"attention_mask"`
	Cases         map[string]struct {
		Logits [][]float64 `json:"logits"`
	} `json:"cases"`
}

// TestTrainedInLibrary: adapters trained and saved by this package, loaded by the real
// `adapters` library (check_trained.py), give the library the logits our runtime gives (≤ 1e-4).
// With -update-trained it rewrites the directories instead (run check_trained.py after).
func TestTrainedInLibrary(t *testing.T) {
	base := tinyBase(t)
	dir := golden.Path("train", "trained")
	if *updateTrained {
		for _, c := range trainedCases {
			g, _ := loadGolden(t, "tiny", c.golden)
			opt := g.options()
			opt.ModelName = "adapterwasm/tiny-bert"
			tr, err := New(base, opt)
			if err != nil {
				t.Fatal(err)
			}
			for s := 0; s < 5; s++ {
				if _, err := tr.Step(g.batch(t, s)); err != nil {
					t.Fatal(err)
				}
			}
			d := filepath.Join(dir, c.golden)
			os.RemoveAll(d)
			if err := tr.Save(d, c.format); err != nil {
				t.Fatal(err)
			}
		}
		t.Log("rewrote", dir, "- now run tools/reference/check_trained.py")
		return
	}
	var ck checkTrained
	golden.Load(t, &ck, "train", "trained", "check.json")
	B, T := len(ck.InputIDs), len(ck.InputIDs[0])
	in := bert.Input{B: B, T: T, IDs: golden.Flat2(ck.InputIDs), AttentionMask: golden.Flat2(ck.AttentionMask)}
	if len(ck.Cases) != len(trainedCases) {
		t.Errorf("check.json has %d cases, want %d", len(ck.Cases), len(trainedCases))
	}
	for _, c := range trainedCases {
		m := adapters.New(base)
		name, err := m.LoadDir(filepath.Join(dir, c.golden), adapters.LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := m.SetActive(name); err != nil {
			t.Fatal(err)
		}
		out, err := m.Forward(&adapters.State{}, in)
		if err != nil {
			t.Fatal(err)
		}
		got := out.Heads[0].Logits
		want := ck.Cases[c.golden].Logits
		if len(want) != B {
			t.Fatalf("%s: check.json has %d rows", c.golden, len(want))
		}
		N := len(want[0])
		d := 0.0
		for i := range want {
			for j, v := range want[i] {
				d = math.Max(d, math.Abs(float64(got[i*N+j])-v))
			}
		}
		if d > 1e-4 {
			t.Errorf("%s (%s): the library's logits differ from ours by %.3g", c.golden, c.format, d)
		}
		t.Logf("%s (%s): library vs runtime max |Δlogit| %.2g", c.golden, c.format, d)
	}
}
