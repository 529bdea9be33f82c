package train

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"io"
	"math"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"testing"

	"github.com/adapterwasm/adapterwasm/adapters"
	"github.com/adapterwasm/adapterwasm/internal/golden"
	"github.com/adapterwasm/adapterwasm/runtime/bert"
	"github.com/adapterwasm/adapterwasm/runtime/pretrained"
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
			tr, _ := trainArch(t, base, "tiny", c.golden, 5)
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
		_, got := runtimeLogits(t, base, in, func(m *adapters.Model) (string, error) {
			return m.LoadDir(filepath.Join(dir, c.golden), adapters.LoadOptions{})
		})
		d := maxDiffRows(t, c.golden, got, ck.Cases[c.golden].Logits, B)
		if d > 1e-4 {
			t.Errorf("%s (%s): the library's logits differ from ours by %.3g", c.golden, c.format, d)
		}
		t.Logf("%s (%s): library vs runtime max |Δlogit| %.2g", c.golden, c.format, d)
	}
}

// checkSite is testdata/train/site/check.json (tools/reference/check_trained.py --site-zip): an
// adapter the demo page trained and zipped (site/test/train.test.js), loaded from that zip by
// the real library into all-MiniLM-L6-v2 (f32), and its logits on the golden sentences.
type checkSite struct {
	Zip           string      `json:"zip"`
	ZipSHA256     string      `json:"zip_sha256"`
	Files         []string    `json:"files"`
	Name          string      `json:"name"`
	InputIDs      [][]int32   `json:"input_ids"`
	AttentionMask [][]int32   `json:"attention_mask"`
	Logits        [][]float64 `json:"logits"`
}

// TestSiteTrainedInLibrary: the zip the demo page's "Download zip" wrote, read with Go's
// archive/zip (CRCs checked), loads into package adapters, which gives the logits the real
// library gave on the directory inside it (≤ 1e-4).
func TestSiteTrainedInLibrary(t *testing.T) {
	if testing.Short() && runtime.GOOS == "js" {
		t.Skip("-short under GOOS=js: a MiniLM pass; run natively")
	}
	var ck checkSite
	golden.Load(t, &ck, "train", "site", "check.json")
	raw, err := os.ReadFile(golden.Path("train", "site", ck.Zip))
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(raw); hex.EncodeToString(sum[:]) != ck.ZipSHA256 {
		t.Fatalf("%s is not the zip check.json was made from", ck.Zip)
	}
	zr, err := zip.NewReader(bytes.NewReader(raw), int64(len(raw)))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	var names []string
	for _, f := range zr.File {
		if f.Method != zip.Store {
			t.Errorf("%s: method %d, want stored", f.Name, f.Method)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc) // checks the CRC-32 at EOF
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		files[path.Base(f.Name)] = b
		names = append(names, f.Name)
	}
	sort.Strings(names)
	if !slices.Equal(names, ck.Files) {
		t.Errorf("zip holds %v, check.json says %v", names, ck.Files)
	}
	m, err := pretrained.LoadDir(golden.MiniLMDir(t))
	if err != nil {
		t.Fatal(err)
	}
	B, T := len(ck.InputIDs), len(ck.InputIDs[0])
	in := bert.Input{B: B, T: T, IDs: golden.Flat2(ck.InputIDs), AttentionMask: golden.Flat2(ck.AttentionMask)}
	name, got := runtimeLogits(t, m.Encoder, in, func(m *adapters.Model) (string, error) { return m.Load(files, adapters.LoadOptions{}) })
	if name != ck.Name {
		t.Errorf("name %q, the library's %q", name, ck.Name)
	}
	d := maxDiffRows(t, "site", got, ck.Logits, B)
	if d > 1e-4 {
		t.Errorf("the library's logits differ from ours by %.3g", d)
	}
	t.Logf("site-trained %s: library vs runtime max |Δlogit| %.2g", name, d)
}

// trainedArchCases are the adapters trained here on each tiny base of testdata/archs (5 steps on
// the golden batches of testdata/train/<arch>) and committed under
// testdata/train/trained_archs/<arch>/<name>, for tools/reference/check_trained.py to load into
// the real library.
var trainedArchCases = []struct{ golden, format string }{
	{"seq_bn", FormatBin},
	{"lora", FormatSafetensors},
}

// archTrainedCases are the trainedArchCases of arch: XLM-R, whose layout is RoBERTa's, has its
// seq_bn only (to keep testdata small).
func archTrainedCases(arch string) []struct{ golden, format string } {
	if arch == "xlm-roberta" {
		return trainedArchCases[:1]
	}
	return trainedArchCases
}

// trainArch trains golden case c of arch ("tiny": testdata/train/tiny's BERT cases) on base for
// steps steps from its seeded init, cycling through the case's batches.
func trainArch(t *testing.T, base *bert.Model, arch, c string, steps int) (*Trainer, *trainGolden) {
	t.Helper()
	g, _ := loadGolden(t, arch, c)
	opt := g.options()
	opt.ModelName = "adapterwasm/tiny-" + arch
	if arch == "tiny" {
		opt.ModelName = "adapterwasm/tiny-bert"
	}
	tr, err := New(base, opt)
	if err != nil {
		t.Fatal(err)
	}
	for s := 0; s < steps; s++ {
		if _, err := tr.Step(g.batch(t, s%len(g.Batches))); err != nil {
			t.Fatal(err)
		}
	}
	return tr, g
}

// checkTrainedArchs is testdata/train/trained_archs/check.json (tools/reference/check_trained.py):
// per architecture, a fixed batch and the library's logits for each committed directory.
type checkTrainedArchs map[string]checkTrained

// TestTrainedArchsInLibrary: adapters trained and saved by this package on RoBERTa, XLM-R and
// DistilBERT, loaded unchanged by the real library (check_trained.py, into the matching
// <Arch>AdapterModel, every weight used), give the library the logits our runtime gives
// (≤ 1e-4). With -update-trained it rewrites the directories instead.
func TestTrainedArchsInLibrary(t *testing.T) {
	dir := golden.Path("train", "trained_archs")
	if *updateTrained {
		for _, arch := range archs {
			base := archBase(t, arch)
			for _, c := range archTrainedCases(arch) {
				tr, _ := trainArch(t, base, arch, c.golden, 5)
				d := filepath.Join(dir, arch, c.golden)
				os.RemoveAll(d)
				if err := tr.Save(d, c.format); err != nil {
					t.Fatal(err)
				}
			}
		}
		t.Log("rewrote", dir, "- now run tools/reference/check_trained.py")
		return
	}
	var ck checkTrainedArchs
	golden.Load(t, &ck, "train", "trained_archs", "check.json")
	if len(ck) != len(archs) {
		t.Errorf("check.json has %d architectures, want %d", len(ck), len(archs))
	}
	for _, arch := range archs {
		base := archBase(t, arch)
		a, ok := ck[arch]
		if !ok {
			t.Errorf("check.json has no %s", arch)
			continue
		}
		if len(a.Cases) != len(archTrainedCases(arch)) {
			t.Errorf("%s: check.json has %d cases, want %d", arch, len(a.Cases), len(archTrainedCases(arch)))
		}
		B, T := len(a.InputIDs), len(a.InputIDs[0])
		in := bert.Input{B: B, T: T, IDs: golden.Flat2(a.InputIDs), AttentionMask: golden.Flat2(a.AttentionMask)}
		for _, c := range archTrainedCases(arch) {
			_, got := runtimeLogits(t, base, in, func(m *adapters.Model) (string, error) {
				return m.LoadDir(filepath.Join(dir, arch, c.golden), adapters.LoadOptions{})
			})
			d := maxDiffRows(t, arch+"/"+c.golden, got, a.Cases[c.golden].Logits, B)
			if d > 1e-4 {
				t.Errorf("%s/%s (%s): the library's logits differ from ours by %.3g", arch, c.golden, c.format, d)
			}
			t.Logf("%s/%s (%s): library vs runtime max |Δlogit| %.2g", arch, c.golden, c.format, d)
		}
	}
}

// TestTrainedArchsLoad: on each tiny non-BERT base, what the trainer saves after a couple of
// steps (both formats) loads into package adapters, every tensor bound, and gives the logits
// the trainer's own forward gives.
func TestTrainedArchsLoad(t *testing.T) {
	for _, arch := range archs {
		base := archBase(t, arch)
		for _, c := range archGoldenCases(arch) {
			for _, format := range []string{FormatBin, FormatSafetensors} {
				t.Run(arch+"/"+c+"/"+format, func(t *testing.T) {
					tr, g := trainArch(t, base, arch, c, 2)
					b := g.batch(t, 2)
					_, want, err := tr.Gradients(b)
					if err != nil {
						t.Fatal(err)
					}
					files, err := tr.Files(format)
					if err != nil {
						t.Fatal(err)
					}
					_, got := runtimeLogits(t, base, b.Input, func(m *adapters.Model) (string, error) { return m.Load(files, adapters.LoadOptions{}) })
					if len(got) != len(want) {
						t.Fatalf("%d logits, the trainer's %d", len(got), len(want))
					}
					if d := maxAbs(got, want); d > 1e-5 {
						t.Errorf("runtime logits differ from the trainer's by %.3g", d)
					} else {
						t.Logf("runtime vs trainer max |Δlogit| %.2g", d)
					}
				})
			}
		}
	}
}

// runtimeLogits loads an adapter into package adapters on base with load, activates it and
// returns its name and the logits of its head on in.
func runtimeLogits(t *testing.T, base *bert.Model, in bert.Input, load func(*adapters.Model) (string, error)) (string, []float32) {
	t.Helper()
	m := adapters.New(base)
	name, err := load(m)
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
	return name, out.Heads[0].Logits
}

// maxDiffRows is max |got - want| for want given as B rows of a reference file (check.json of
// case) and got flat, after checking the shapes agree.
func maxDiffRows(t *testing.T, name string, got []float32, want [][]float64, B int) float64 {
	t.Helper()
	if len(want) != B || len(want[0])*B != len(got) {
		t.Fatalf("%s: check.json has %d rows for a batch of %d, %d logits", name, len(want), B, len(got))
	}
	N := len(want[0])
	d := 0.0
	for i := range want {
		for j, v := range want[i] {
			d = math.Max(d, math.Abs(float64(got[i*N+j])-v))
		}
	}
	return d
}
