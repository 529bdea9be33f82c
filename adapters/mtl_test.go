package adapters

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/adapterwasm/adapterwasm/internal/golden"
	"github.com/adapterwasm/adapterwasm/runtime/bert"
)

// mtlCase is a golden case of testdata/methods/mtl or minilm_mtl (make_methods.py mtl): a setup,
// a head (or the setup's heads), the task ids of the batch (null without a MultiTask block).
type mtlCase struct {
	Case     string          `json:"case"`
	Setup    string          `json:"setup"`
	Adapters []string        `json:"adapters"`
	Head     json.RawMessage `json:"head"`
	TaskIDs  []int           `json:"task_ids"`
	Logits   json.RawMessage `json:"logits"`
}

// mtlAdapters are the adapters make_methods.py saves under mtl/: three MTL-LoRA tasks sharing
// lora_A and lora_B, a plain LoRA, two seq_bn adapters and a gated MTL-LoRA (goldens per text).
var mtlAdapters = []string{"t1", "t2", "t3", "lx", "s1", "s2", "tg"}

func loadMTL(t *testing.T, base *bert.Model, sub string, names []string, root string) *Model {
	t.Helper()
	m := New(base)
	for _, n := range names {
		if _, err := m.LoadDir(methodsDir(root, sub, n), LoadOptions{}); err != nil {
			t.Fatalf("load %s: %v", n, err)
		}
	}
	return m
}

// activateMTL activates the case's setup and, for a single head, forces it (MultiTask implies no
// head: parse_heads_from_composition returns None for it, so the library's goldens pass head=).
func activateMTL(t *testing.T, m *Model, c *mtlCase) (heads []string) {
	t.Helper()
	if err := m.SetHead(""); err != nil {
		t.Fatal(err)
	}
	if err := m.SetActive(c.Setup); err != nil {
		t.Fatal(err)
	}
	var one string
	if json.Unmarshal(c.Head, &one) == nil {
		if err := m.SetHead(one); err != nil {
			t.Fatal(err)
		}
		return []string{one}
	}
	if err := json.Unmarshal(c.Head, &heads); err != nil {
		t.Fatal(err)
	}
	return heads
}

// checkMTL runs a case on in and compares with the library; it returns the max |Δlogit|.
func checkMTL(t *testing.T, m *Model, in bert.Input, c *mtlCase) float64 {
	t.Helper()
	heads := activateMTL(t, m, c)
	out, err := m.ForwardTasks(&State{}, in, c.TaskIDs)
	if err != nil {
		t.Fatal(err)
	}
	var worst float64
	if len(heads) == 1 {
		d, _ := golden.MaxAbsDiff(out.Heads[0].Logits, flatLogits(t, c.Logits))
		checkLogits(t, c.Case, out.Heads[0].Logits, flatLogits(t, c.Logits))
		return d
	}
	var per map[string]json.RawMessage
	if err := json.Unmarshal(c.Logits, &per); err != nil {
		t.Fatal(err)
	}
	for _, h := range out.Heads {
		want := flatLogits(t, per[h.Head.Name])
		checkLogits(t, c.Case+"/"+h.Head.Name, h.Logits, want)
		d, _ := golden.MaxAbsDiff(h.Logits, want)
		worst = max(worst, d)
	}
	return worst
}

// TestMTLGoldens: MTL-LoRA adapters (both copies) alone, under MultiTask with several task-id
// patterns per batch, mixed with plain LoRA and seq_bn adapters, nested (Stack, Average) and in
// Parallel, BatchSplit and Average, against the library.
func TestMTLGoldens(t *testing.T) {
	base := tinyBase(t)
	in := tinyInput(t)
	var index struct{ Cases []string }
	loadMethodsJSON(t, &index, "mtl", "golden", "index.json")
	if len(index.Cases) < 20 {
		t.Fatalf("%d MTL-LoRA cases", len(index.Cases))
	}
	worst := map[string]float64{}
	for _, sub := range []string{"adapters", "adapters_st"} {
		m := loadMTL(t, base, sub, mtlAdapters, "mtl")
		for _, name := range index.Cases {
			var c mtlCase
			loadMethodsJSON(t, &c, "mtl", "golden", name+".json")
			t.Run(name+"/"+sub, func(t *testing.T) {
				worst[name] = max(worst[name], checkMTL(t, m, in, &c))
			})
		}
	}
	logWorst(t, worst)
}

func logWorst(t *testing.T, worst map[string]float64) {
	names := make([]string, 0, len(worst))
	for n := range worst {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "%s %.2g; ", n, worst[n])
	}
	t.Logf("max |Δlogit| per case (both copies): %s", b.String())
}

// TestMTLErrors: what the library refuses (index.json "errors": MultiTask over an MTL-LoRA and a
// bottleneck adapter, missing, negative, out-of-range, short and long task ids) is refused with a
// typed error, and the model stays usable. Non-integer ids cannot reach the Go API (the CLI and
// JS tests cover them).
func TestMTLErrors(t *testing.T) {
	base := tinyBase(t)
	in := tinyInput(t)
	var index struct {
		Errors []struct {
			Case         string
			Setup        string
			TaskIDs      json.RawMessage `json:"task_ids"`
			ForwardError string          `json:"forward_error"`
		}
	}
	loadMethodsJSON(t, &index, "mtl", "golden", "index.json")
	m := loadMTL(t, base, "adapters_st", mtlAdapters, "mtl")
	st := &State{}
	for _, e := range index.Errors {
		t.Run(e.Case, func(t *testing.T) {
			var ids []int
			if err := json.Unmarshal(e.TaskIDs, &ids); err != nil {
				t.Skipf("task ids %s are no integers (the library: %s)", e.TaskIDs, e.ForwardError)
			}
			if err := m.SetActive(e.Setup); err != nil {
				t.Fatal(err)
			}
			if err := m.SetHead("t1"); err != nil {
				t.Fatal(err)
			}
			_, err := m.ForwardTasks(st, in, ids)
			var se *SetupError
			var ue *UnsupportedError
			if err == nil || !(errors.As(err, &se) || errors.As(err, &ue)) {
				t.Fatalf("err = %v (%T), want a SetupError or UnsupportedError (the library: %s)", err, err, e.ForwardError)
			}
			t.Logf("%v (the library: %s)", err, e.ForwardError)
		})
	}
	// Still usable, and a Fuse child is refused as the library's BatchSplit check refuses it.
	var c mtlCase
	loadMethodsJSON(t, &c, "mtl", "golden", "multitask3_mixed.json")
	checkMTL(t, m, in, &c)
	if _, err := ParseSetup("MultiTask(Fuse(s1,s2),t1)"); err != nil {
		t.Fatalf("MultiTask(Fuse(…),…) is a valid nesting: %v", err)
	}
	for _, bad := range []string{"Parallel(MultiTask(t1,t2))", "BatchSplit(MultiTask(t1,t2),batch_sizes=[1])", "MultiTask(t1,t2,x=1)",
		"MultiTask(Parallel(t1,t2))", "MultiTask()"} {
		var se *SetupError
		if _, err := ParseSetup(bad); !errors.As(err, &se) {
			t.Errorf("%s: err = %v, want a SetupError", bad, err)
		}
	}
	if err := batchSplitChildren(&Block{Kind: MultiTask, Children: []*Block{{Kind: Fuse, Name: "s1,s2"}}}); err == nil ||
		!strings.Contains(err.Error(), "cannot nest Fuse inside BatchSplit") {
		t.Errorf("Fuse under MultiTask: %v", err)
	}
	if err := m.SetActive("MultiTask(t1,lx)"); err != nil {
		t.Fatal(err)
	}
	if ids, err := m.TaskIDs([]string{"t3", "t1"}); err == nil {
		t.Errorf("TaskIDs with setup %s: %v, want an error (t3 is not a child)", m.Active(), ids)
	}
	if err := m.SetActive("MultiTask(t1,t2,t3)"); err != nil {
		t.Fatal(err)
	}
	if ids, err := m.TaskIDs([]string{"t3", "t1", "t2"}); err != nil || fmt.Sprint(ids) != "[2 0 1]" {
		t.Errorf("TaskIDs = %v, %v", ids, err)
	}
	if _, err := m.TaskIDs([]string{"t4"}); err == nil {
		t.Error("TaskIDs(t4): no error")
	}
	if err := m.Merge("t1"); err == nil || !strings.Contains(err.Error(), "unsupported: merging an MTL-LoRA module") {
		t.Errorf("Merge(t1) = %v", err)
	}
}

// TestMTLMiniLM: two MTL-LoRA tasks on the real all-MiniLM-L6-v2, both copies, alone and under
// MultiTask with three task-id patterns.
func TestMTLMiniLM(t *testing.T) {
	cases, in := loadGoldenIndex(t, "minilm_mtl")
	base := miniLMBase(t)
	worst := map[string]float64{}
	for _, sub := range []string{"adapters", "adapters_st"} {
		m := loadMTL(t, base, sub, []string{"m1", "m2"}, "minilm_mtl")
		for _, name := range cases {
			var c mtlCase
			loadMethodsJSON(t, &c, "minilm_mtl", "golden", name+".json")
			t.Run(name+"/"+sub, func(t *testing.T) {
				worst[name] = max(worst[name], checkMTL(t, m, in, &c))
			})
		}
	}
	logWorst(t, worst)
}

// TestMTLBatchInvariance: under MultiTask a text's logits depend on its own task id only: each
// golden MultiTask case gives every text the same logits alone (with its id), in a batch beside
// much longer and much shorter texts on other tasks, and, for LoRA children, as the
// BatchSplit(children…) of the batch sorted by task id that compose_multi_task builds. (Bottleneck
// children are left out of the last: the library runs pre_forward twice under MultiTask, once
// under BatchSplit.)
func TestMTLBatchInvariance(t *testing.T) {
	base := tinyBase(t)
	var b golden.Base
	golden.Load(t, &b, "tiny", "golden", "base.json")
	texts := invTexts(b.InputIDs, b.TokenTypeIDs, b.AttentionMask)
	pad := int32(base.Config.PadTokenID)
	var index struct{ Cases []string }
	loadMethodsJSON(t, &index, "mtl", "golden", "index.json")
	m := loadMTL(t, base, "adapters_st", mtlAdapters, "mtl")
	st := &State{}
	var worst float64
	var where string
	run := func(t *testing.T, batch []invText, ids []int, T int) [][]float32 {
		t.Helper()
		out, err := m.ForwardTasks(st, batchOf(batch, T, pad), ids)
		if err != nil {
			t.Fatalf("%s on %d texts: %v", m.Active(), len(batch), err)
		}
		h := out.Heads[0]
		k := h.Head.NumLabels()
		rows := make([][]float32, len(batch))
		for i := range rows {
			rows[i] = append([]float32(nil), h.Logits[i*k:(i+1)*k]...)
		}
		return rows
	}
	compare := func(t *testing.T, what string, want, got []float32) {
		t.Helper()
		for j := range want {
			d := float64(want[j] - got[j])
			if d < 0 {
				d = -d
			}
			if d > worst {
				worst, where = d, t.Name()+" "+what
			}
			if d > batchInvTol {
				t.Errorf("%s: logit %d moved by %.3g", what, j, d)
			}
		}
	}
	long := filler(texts, base.Config.MaxPositionEmbeddings)
	short := filler(texts, 3)
	for _, name := range index.Cases {
		var c mtlCase
		loadMethodsJSON(t, &c, "mtl", "golden", name+".json")
		if c.TaskIDs == nil {
			continue
		}
		t.Run(name, func(t *testing.T) {
			activateMTL(t, m, &c)
			T := len(b.InputIDs[0])
			ref := run(t, texts, c.TaskIDs, T)
			mt := FindBlock(m.Active(), MultiTask)
			n := len(mt.Children)
			for i, x := range texts {
				alone := run(t, []invText{x}, c.TaskIDs[i:i+1], len(x.ids))
				compare(t, fmt.Sprintf("text %d alone", i), ref[i], alone[0])
				mixed := run(t, []invText{long, x, short}, []int{(c.TaskIDs[i] + 1) % n, c.TaskIDs[i], (c.TaskIDs[i] + n - 1) % n}, len(long.ids))
				compare(t, fmt.Sprintf("text %d beside long and short texts", i), ref[i], mixed[1])
			}
			if mt != m.Active() || strings.Contains(c.Setup, "s1") {
				return
			}
			// BatchSplit of the children over the batch sorted by task id (a stable argsort).
			var order, sizes []int
			sizes = make([]int, n)
			for task := 0; task < n; task++ {
				for i, id := range c.TaskIDs {
					if id == task {
						order = append(order, i)
						sizes[task]++
					}
				}
			}
			sorted := make([]invText, len(order))
			for i, j := range order {
				sorted[i] = texts[j]
			}
			kids := make([]string, n)
			for i, ch := range mt.Children {
				kids[i] = ch.String()
			}
			head := m.headOver
			if err := m.SetActive(fmt.Sprintf("BatchSplit(%s,batch_sizes=%s)", strings.Join(kids, ","), intList(sizes))); err != nil {
				t.Fatal(err)
			}
			if err := m.SetHead(head); err != nil {
				t.Fatal(err)
			}
			split := run(t, sorted, nil, T)
			for i, j := range order {
				compare(t, fmt.Sprintf("text %d under BatchSplit", j), ref[j], split[i])
			}
		})
	}
	if where == "" {
		where = "every run bit-identical"
	}
	t.Logf("largest logit change with the batch: %.2g (%s)", worst, where)
}

// FuzzTaskIDs: any task ids, for any MultiTask setup over the MTL fixtures, give logits or a
// *SetupError / *UnsupportedError, never a panic; the model stays usable.
func FuzzTaskIDs(f *testing.F) {
	f.Add("MultiTask(t1,t2,t3)", []byte{0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2})
	f.Add("Stack(lx,MultiTask(t2,t3))", []byte{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 255})
	f.Add("MultiTask(Stack(t1,t2),s1)", []byte{0})
	f.Add("Stack(Parallel(t1,t2),MultiTask(t2,t3))", []byte{0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1})
	base := tinyBase(f)
	in := tinyInput(f)
	m := New(base)
	for _, n := range mtlAdapters {
		if _, err := m.LoadDir(methodsDir("mtl", "adapters_st", n), LoadOptions{}); err != nil {
			f.Fatal(err)
		}
	}
	st := &State{}
	f.Fuzz(func(t *testing.T, setup string, raw []byte) {
		if err := m.SetActive(setup); err != nil {
			return
		}
		_ = m.SetHead("t1")
		ids := make([]int, len(raw))
		for i, b := range raw {
			ids[i] = int(int8(b))
		}
		if _, err := m.ForwardTasks(st, in, ids); err != nil && !isType[*SetupError](err) && !isType[*UnsupportedError](err) {
			t.Fatalf("%s %v: %T %v", setup, ids, err, err)
		}
	})
}

// TestMTLNoAllocation: a MultiTask forward pass with a reused State allocates nothing once its
// scratch has grown (the rows' order and sizes, the permuted rows and masks are State scratch).
func TestMTLNoAllocation(t *testing.T) {
	base := tinyBase(t)
	in := tinyInput(t)
	m := loadMTL(t, base, "adapters_st", mtlAdapters, "mtl")
	if err := m.SetActive("Stack(lx,MultiTask(t2,t3))"); err != nil {
		t.Fatal(err)
	}
	if err := m.SetHead("t3"); err != nil {
		t.Fatal(err)
	}
	ids := []int{1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 0, 1}
	st := &State{}
	run := func() {
		if _, err := m.ForwardTasks(st, in, ids); err != nil {
			t.Fatal(err)
		}
	}
	run()
	if n := testing.AllocsPerRun(5, run); n > 0 {
		t.Errorf("%v allocations per MultiTask forward pass", n)
	}
}
