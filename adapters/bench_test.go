package adapters

import (
	"path/filepath"
	"testing"

	"github.com/adapterwasm/adapterwasm/internal/golden"
)

var tinyNames = []string{"seq_bn", "seq_bn_b", "double_seq_bn", "par_bn", "bn_custom", "lora_qv", "lora_full", "ia3", "prefix"}

// tinyModel loads every tiny adapter (safetensors copies) and the fusion.
func tinyModel(t testing.TB) *Model {
	t.Helper()
	m := New(tinyBase(t))
	for _, n := range append(tinyNames, "fusion") {
		if _, err := m.LoadDir(golden.Path("tiny", "adapters_st", n), LoadOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

// switchSetups are the setups the switching benchmark and allocation test cycle through.
var switchSetups = []string{"seq_bn", "Stack(lora_qv,seq_bn)", "Fuse(seq_bn,seq_bn_b)", "Parallel(seq_bn,seq_bn_b)",
	"BatchSplit(seq_bn,seq_bn_b,batch_sizes=[5,7])", "Stack(prefix,par_bn)", "ia3", "Average(lora_qv,lora_full,weights=[2,1])"}

func parsedSetups(t testing.TB) []*Block {
	var bs []*Block
	for _, s := range switchSetups {
		b, err := ParseSetup(s)
		if err != nil {
			t.Fatal(err)
		}
		bs = append(bs, b)
	}
	return bs
}

// TestSwitchAllocs: activating a parsed setup allocates nothing once warm (it never touches the
// base weights or the adapters' weights).
func TestSwitchAllocs(t *testing.T) {
	m := tinyModel(t)
	bs := parsedSetups(t)
	i := 0
	allocs := testing.AllocsPerRun(100, func() {
		if err := m.Activate(bs[i%len(bs)]); err != nil {
			t.Fatal(err)
		}
		i++
	})
	if allocs != 0 {
		t.Errorf("Activate allocates %v times per switch, want 0", allocs)
	}
}

// TestForwardAllocs: a warm State runs every setup without allocating.
func TestForwardAllocs(t *testing.T) {
	m := tinyModel(t)
	in := tinyInput(t)
	for i, b := range parsedSetups(t) {
		if err := m.Activate(b); err != nil {
			t.Fatal(err)
		}
		if b.Kind == Fuse {
			m.SetHead("seq_bn,seq_bn_b")
		} else if b.Kind == Average {
			m.SetHead("lora_full")
		}
		st := &State{}
		if _, err := m.Forward(st, in); err != nil {
			t.Fatalf("%s: %v", switchSetups[i], err)
		}
		allocs := testing.AllocsPerRun(3, func() {
			if _, err := m.Forward(st, in); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: Forward allocates %v times, want 0", switchSetups[i], allocs)
		}
		m.SetHead("")
	}
}

func BenchmarkSwitchSetup(b *testing.B) {
	m := tinyModel(b)
	bs := parsedSetups(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := m.Activate(bs[i%len(bs)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkSwitchSetupExpr(b *testing.B) {
	m := tinyModel(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := m.SetActive(switchSetups[i%len(switchSetups)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkLoadTiny(b *testing.B) {
	base := tinyBase(b)
	for _, n := range tinyNames {
		for _, dir := range []string{"adapters", "adapters_st"} {
			files, err := ReadDir(golden.Path("tiny", dir, n))
			if err != nil {
				b.Fatal(err)
			}
			b.Run(n+"/"+dir, func(b *testing.B) {
				b.ReportAllocs()
				m := New(base)
				for b.Loop() {
					if _, err := m.Load(files, LoadOptions{}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkLoadMiniLM loads each demo adapter of testdata/minilm from bytes onto the real
// all-MiniLM-L6-v2 (ADAPTERWASM_MINILM_DIR). Under Wasm (Node) the first sub-benchmark runs
// while V8 is still compiling the test binary's hot functions (those of the base model's load)
// in background threads: on a busy 2-core machine that alone made it 17-23 ms/op where the
// same loads take 2-3 ms a second later. Use -count=3 and read the later runs. A fresh
// instance's first load (what a page sees) is measured by timing wasm/engine's LoadAdapter.
func BenchmarkLoadMiniLM(b *testing.B) {
	base := miniLMBase(b)
	dirs, _ := filepath.Glob(golden.Path("minilm", "adapters", "*"))
	if len(dirs) == 0 {
		b.Skip("no testdata/minilm/adapters yet")
	}
	for _, d := range dirs {
		files, err := ReadDir(d)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(filepath.Base(d), func(b *testing.B) {
			b.ReportAllocs()
			var size int
			for _, f := range files {
				size += len(f)
			}
			b.SetBytes(int64(size))
			m := New(base)
			for b.Loop() {
				if _, err := m.Load(files, LoadOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkForwardTiny(b *testing.B) {
	m := tinyModel(b)
	in := tinyInput(b)
	for i, blk := range parsedSetups(b) {
		b.Run(switchSetups[i], func(b *testing.B) {
			if err := m.Activate(blk); err != nil {
				b.Fatal(err)
			}
			if blk.Kind == Fuse {
				m.SetHead("seq_bn,seq_bn_b")
			} else if blk.Kind == Average {
				m.SetHead("lora_full")
			}
			defer m.SetHead("")
			st := &State{}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.Forward(st, in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
