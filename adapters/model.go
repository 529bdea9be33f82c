package adapters

import (
	"fmt"
	"sort"
	"strings"

	"github.com/adapterwasm/adapterwasm/runtime/bert"
	"github.com/adapterwasm/adapterwasm/runtime/kernels"
)

// Model is one base encoder with any number of loaded adapters, fusions and heads, and the
// active setup. Loading, activating, switching and unloading adapters never copies or re-reads
// the base weights: adapters plug into the encoder's forward pass through bert.Hooks.
// Merge is the one operation that writes into the base weights (as merge_adapter does).
// A Model is not safe for concurrent use; share it read-only between States only when no
// setup changes run concurrently.
type Model struct {
	Base *bert.Model

	adapters map[string]*Adapter
	fusions  map[string]*Fusion
	heads    map[string]*Head

	active   *Block
	names    []string // active.flatten()
	channels int      // active.parallelChannels()
	headSpec []headUse
	headOver string // SetHead override
	specBuf  []headUse
	nameBuf  []string

	merged [][bert.NumSites]string // [layer][site] -> merged adapter name
}

// headUse says which head reads which replica / sequences of the (replicated) batch.
type headUse struct {
	head    *Head
	replica int // Parallel branch (0 when not parallel)
	seq0    int // first sequence within the replica (BatchSplit)
	nseq    int // number of sequences; -1 = all
}

// New returns a Model over base with no adapters.
func New(base *bert.Model) *Model {
	return &Model{Base: base, adapters: map[string]*Adapter{}, fusions: map[string]*Fusion{}, heads: map[string]*Head{},
		merged: make([][bert.NumSites]string, base.Config.NumHiddenLayers)}
}

// Adapter returns a loaded adapter by name.
func (m *Model) Adapter(name string) *Adapter { return m.adapters[name] }

// Head returns a loaded head by name.
func (m *Model) Head(name string) *Head { return m.heads[name] }

// Adapters lists the loaded adapter names, sorted.
func (m *Model) Adapters() []string { return sortedKeys(m.adapters) }

// Fusions lists the loaded fusion names, sorted.
func (m *Model) Fusions() []string { return sortedKeys(m.fusions) }

// Active returns the active setup (nil: none).
func (m *Model) Active() *Block { return m.active }

// Unload removes an adapter, its head and every fusion over it. A merged adapter is unmerged
// first; a setup that uses it is deactivated.
func (m *Model) Unload(name string) error {
	if _, ok := m.adapters[name]; !ok {
		if _, ok := m.fusions[name]; ok {
			delete(m.fusions, name)
			delete(m.heads, name)
			return m.revalidate()
		}
		return &SetupError{Reason: fmt.Sprintf("no adapter %q loaded", name)}
	}
	m.unload(name)
	return nil
}

func (m *Model) unload(name string) {
	for l := range m.merged {
		for s := range m.merged[l] {
			if m.merged[l][s] == name {
				m.unmergeAt(l, bert.Site(s))
			}
		}
	}
	delete(m.adapters, name)
	delete(m.heads, name)
	for fn, f := range m.fusions {
		for _, a := range f.Adapters {
			if a == name {
				delete(m.fusions, fn)
				if f.Head != nil {
					delete(m.heads, f.Head.Name)
				}
			}
		}
	}
	m.revalidate()
}

// revalidate drops the active setup when it names something no longer loaded.
func (m *Model) revalidate() error {
	if m.active != nil && m.checkLoaded(m.active) != nil {
		m.active, m.names, m.headSpec = nil, nil, nil
	}
	return nil
}

// SetActive parses expr (see ParseSetup) and makes it the active setup. An empty expr
// deactivates all adapters. It checks that every adapter and fusion is loaded. The previous
// setup is kept on error.
func (m *Model) SetActive(expr string) error {
	if strings.TrimSpace(expr) == "" {
		m.active, m.names, m.headSpec, m.channels = nil, nil, nil, 1
		if m.headOver != "" {
			m.headSpec = []headUse{{head: m.heads[m.headOver], nseq: -1}}
		}
		return nil
	}
	b, err := ParseSetup(expr)
	if err != nil {
		return err
	}
	return m.Activate(b)
}

// Activate makes a parsed setup active (see SetActive).
func (m *Model) Activate(b *Block) error {
	if err := m.checkLoaded(b); err != nil {
		return &SetupError{Setup: b.String(), Reason: err.Error()}
	}
	spec, err := m.headsFor(m.specBuf[:0], b, m.headOver)
	if err != nil {
		return &SetupError{Setup: b.String(), Reason: err.Error()}
	}
	// Double buffers: switching setups allocates nothing once both have grown.
	m.specBuf, m.headSpec = m.headSpec, spec
	m.nameBuf, m.names = m.names, b.flatten(m.nameBuf[:0])
	m.active, m.channels = b, b.parallelChannels()
	return nil
}

// SetHead makes every forward pass use the named head (as model(…, head=name) does) instead of
// the heads the setup implies; "" restores the default.
func (m *Model) SetHead(name string) error {
	if name != "" && m.heads[name] == nil {
		return &SetupError{Reason: fmt.Sprintf("no head %q loaded", name)}
	}
	var spec []headUse
	switch {
	case m.active != nil:
		var err error
		if spec, err = m.headsFor(nil, m.active, name); err != nil {
			return &SetupError{Setup: m.active.String(), Reason: err.Error()}
		}
	case name != "":
		// No adapters active: the head runs on the bare encoder (model(…, head=name)).
		spec = []headUse{{head: m.heads[name], nseq: -1}}
	}
	m.headOver, m.headSpec = name, spec
	return nil
}

func (m *Model) checkLoaded(b *Block) error {
	switch b.Kind {
	case Single:
		if m.adapters[b.Name] == nil {
			return fmt.Errorf("no adapter %q loaded", b.Name)
		}
		return nil
	case Fuse:
		if m.fusions[b.Name] == nil {
			return fmt.Errorf("fusion %q is not loaded (load its adapter_fusion_config.json directory)", b.Name)
		}
	}
	for _, c := range b.Children {
		if err := m.checkLoaded(c); err != nil {
			return err
		}
	}
	return nil
}

// headsFor is parse_heads_from_composition: the head of the last stacked adapter, one head per
// Parallel branch or BatchSplit child; for a Fuse, the fusion's head.
func (m *Model) headsFor(out []headUse, b *Block, override string) ([]headUse, error) {
	if override != "" {
		if b.parallelChannels() > 1 {
			return nil, fmt.Errorf("a single head cannot be forced on a Parallel setup")
		}
		return append(out, headUse{head: m.heads[override], nseq: -1}), nil
	}
	final := b
	if final.Kind == Stack {
		final = final.Children[len(final.Children)-1]
	}
	lookup := func(name string) (*Head, error) {
		h := m.heads[name]
		if h == nil {
			return nil, fmt.Errorf("no head %q loaded", name)
		}
		return h, nil
	}
	switch final.Kind {
	case Single, Fuse:
		if h := m.heads[final.Name]; h != nil {
			return append(out, headUse{head: h, nseq: -1}), nil
		}
		return out, nil
	case Parallel:
		for i, c := range final.Children {
			h, err := lookup(c.last())
			if err != nil {
				return nil, err
			}
			out = append(out, headUse{head: h, replica: i, nseq: -1})
		}
		return out, nil
	case BatchSplit:
		s0 := 0
		for i, c := range final.Children {
			h, err := lookup(c.last())
			if err != nil {
				return nil, fmt.Errorf("missing at least one head for the given BatchSplit setup: %v", err)
			}
			out = append(out, headUse{head: h, seq0: s0, nseq: final.Sizes[i]})
			s0 += final.Sizes[i]
		}
		return out, nil
	}
	return out, nil
}

// Merge folds the LoRA / (IA)^3 modules of adapter name into the base weights
// (merge_adapter): the base matrices must be plain float32. While merged, LoRA composition is
// skipped in the layers it touched, as in the library.
func (m *Model) Merge(name string) error {
	a := m.adapters[name]
	if a == nil {
		return &SetupError{Reason: fmt.Sprintf("no adapter %q loaded", name)}
	}
	for l := range a.lora {
		for s, mod := range a.lora[l] {
			if mod == nil {
				continue
			}
			switch m.merged[l][s] {
			case name:
				continue
			case "":
			default:
				return &SetupError{Reason: fmt.Sprintf("layer %d %s already has merged LoRA %q; unmerge first", l, bert.Site(s), m.merged[l][s])}
			}
			w, err := m.baseF32(l, bert.Site(s))
			if err != nil {
				return err
			}
			if err := mod.merge(w, false); err != nil {
				return err
			}
			m.merged[l][s] = name
		}
	}
	return nil
}

// Unmerge restores every merged base weight (reset_adapter).
func (m *Model) Unmerge() {
	for l := range m.merged {
		for s := range m.merged[l] {
			m.unmergeAt(l, bert.Site(s))
		}
	}
}

func (m *Model) unmergeAt(l int, s bert.Site) {
	name := m.merged[l][s]
	if name == "" {
		return
	}
	if w, err := m.baseF32(l, s); err == nil {
		m.adapters[name].lora[l][s].merge(w, true)
	}
	m.merged[l][s] = ""
}

func (m *Model) baseF32(l int, s bert.Site) ([]float32, error) {
	lin := m.Base.Layers[l].Linear(s)
	f, ok := lin.W.(*kernels.F32)
	if !ok {
		return nil, &UnsupportedError{What: fmt.Sprintf("merging into a %T base matrix (merge needs float32 weights)", lin.W)}
	}
	return f.W, nil
}

// HeadOutput is the output of one prediction head.
type HeadOutput struct {
	Head *Head
	// Seq0 and NSeq say which input sequences the logits are for (BatchSplit gives each head a
	// slice of the batch; otherwise all).
	Seq0, NSeq int
	// Logits are [NSeq, NumLabels] for sequence heads and [NSeq*T, NumLabels] for tagging.
	// They belong to the State and are overwritten by its next Forward.
	Logits []float32
	T      int
}

// Output is the result of Forward: the last hidden state of the (replicated, for Parallel)
// batch and one entry per head.
type Output struct {
	Hidden   []float32 // [replicas*B*T, hidden]; [replicas*B, hidden] (first rows) unless State.FullHidden: see there
	Replicas int
	Heads    []HeadOutput
}

// State holds the scratch of Forward: the encoder's run state, the adapters' scratch arena and
// the outputs. Reusing it makes repeated calls allocation-free. Not safe for concurrent use.
type State struct {
	Enc bert.State
	// FullHidden makes Forward compute every row of Output.Hidden. Otherwise, when every head of
	// the setup reads one vector per sequence (no tagging head) and the setup is row-local at the
	// last layer (RowLocal), the last layer computes only the first token's row of each sequence
	// (bert.Input.FirstOnly) and Output.Hidden has one row per sequence: the same logits.
	FullHidden bool

	m        *Model
	err      error
	a, ho    arena
	ids      []int32
	types    []int32
	mask     []int32
	masks    []int32 // Split's parts of the attention mask (gatherMask)
	flat     []string
	seqPre   [][]*prefixModule
	pk, pv   []float32
	ups      [][]float32
	children []bnState
	loraKids []loraState
	sizes    []int
	reftIdx  []int
	out      Output
	// taskIDs are the task ids of the current Forward (ForwardTasks); taskOrd and taskSizes
	// are MultiTask's row order and slice sizes (taskOrder).
	taskIDs, taskOrd, taskSizes []int
}

func (st *State) fail(err error) {
	if st.err == nil {
		st.err = err
	}
}

// Forward runs the encoder with the active setup on a padded batch and applies the heads.
// A setup with a MultiTask block needs ForwardTasks.
func (m *Model) Forward(st *State, in bert.Input) (*Output, error) {
	return m.ForwardTasks(st, in, nil)
}

// ForwardTasks is Forward with one task id per sequence, as model(…, task_ids=…): a MultiTask
// block runs sequence i through its child taskIDs[i] (0-based; TaskIDs turns task names into
// ids). With a MultiTask in the active setup, taskIDs must have one id per sequence, each naming a
// child of every MultiTask block; otherwise they are ignored, as the library ignores them.
// Bad ids give a *SetupError before anything runs.
func (m *Model) ForwardTasks(st *State, in bert.Input, taskIDs []int) (*Output, error) {
	if err := m.checkTaskIDs(taskIDs, in.B); err != nil {
		return nil, err
	}
	st.taskIDs = taskIDs
	defer func() { st.taskIDs = nil }()
	st.m, st.err = m, nil
	st.ho.reset()
	n := m.channels
	if m.active == nil || n < 1 {
		n = 1
	}
	run := in
	if n > 1 {
		// Parallel: replicate the batch up front. Rows before the first adapter are identical in
		// every replica, so this equals the library's replication at the first adapter layer.
		run = bert.Input{B: in.B * n, T: in.T}
		st.ids = replicate(st.ids, in.IDs, n)
		run.IDs = st.ids
		if in.TypeIDs != nil {
			st.types = replicate(st.types, in.TypeIDs, n)
			run.TypeIDs = st.types
		}
		if in.AttentionMask != nil {
			st.mask = replicate(st.mask, in.AttentionMask, n)
			run.AttentionMask = st.mask
		}
	}
	var hooks bert.Hooks
	if m.active != nil {
		hooks = st
	}
	run.FirstOnly = !st.FullHidden && m.sequenceHeadsOnly()
	hidden, err := m.Base.Forward(&st.Enc, run, hooks)
	if err != nil {
		return nil, err
	}
	// Prompt tuning lengthens every sequence: the heads read the longer ones. Under FirstOnly
	// the encoder may have returned one row per sequence (T = 1).
	in.T = len(hidden) / (run.B * m.Base.Config.HiddenSize)
	run.T = in.T
	if st.err != nil {
		return nil, st.err
	}
	st.out = Output{Hidden: hidden, Replicas: n, Heads: st.out.Heads[:0]}
	H := m.Base.Config.HiddenSize
	var pooled []float32
	for _, u := range m.headSpec {
		h := u.head
		nseq := u.nseq
		if nseq < 0 {
			nseq = in.B
		}
		if u.seq0+nseq > in.B {
			return nil, &SetupError{Setup: m.active.String(), Reason: fmt.Sprintf("batch_sizes cover %d sequences, the batch has %d", u.seq0+nseq, in.B)}
		}
		s0 := u.replica*in.B + u.seq0
		var logits []float32
		switch {
		case h.Type == HeadTagging:
			rows := nseq * in.T
			logits = h.forward(&st.ho, hidden[s0*in.T*H:(s0*in.T+rows)*H], rows, H)
		default:
			x := st.ho.get(nseq * H)
			if h.UsePooler {
				if pooled == nil {
					pooled = m.Base.Pool(&st.Enc, hidden, run.B, run.T)
					if pooled == nil {
						return nil, &UnsupportedError{What: "head " + h.Name + " uses the pooler but the base model has none"}
					}
				}
				copy(x, pooled[s0*H:(s0+nseq)*H])
			} else {
				for i := 0; i < nseq; i++ {
					copy(x[i*H:(i+1)*H], hidden[(s0+i)*in.T*H:])
				}
			}
			logits = h.forward(&st.ho, x, nseq, H)
		}
		st.out.Heads = append(st.out.Heads, HeadOutput{Head: h, Seq0: u.seq0, NSeq: nseq, Logits: logits, T: in.T})
	}
	return &st.out, nil
}

// sequenceHeadsOnly reports whether the active setup has heads and none of them reads more than
// each sequence's first row (tagging heads read every token).
func (m *Model) sequenceHeadsOnly() bool {
	if len(m.headSpec) == 0 {
		return false
	}
	for _, u := range m.headSpec {
		if u.head.Type == HeadTagging {
			return false
		}
	}
	return true
}

// RowLocal implements bert.RowLocal: whether every hook of layer l after self-attention
// computes each row from that row alone. Not so with a Split block (token ranges), a gated
// bottleneck or LoRA module at l (their gates average over the sequence's tokens), or ReFT at l
// (it intervenes at positions). Prefix tuning and prompts act before or inside attention.
func (st *State) RowLocal(l int) bool {
	m := st.m
	if m == nil || m.active == nil {
		return true
	}
	if FindBlock(m.active, Split) != nil {
		return false
	}
	st.flat = m.active.flatten(st.flat[:0])
	for _, name := range st.flat {
		a := m.adapters[name]
		if a == nil {
			continue
		}
		if l < len(a.reft) && a.reft[l] != nil {
			return false
		}
		if l < len(a.bn) {
			for _, mod := range a.bn[l] {
				if mod != nil && mod.gate != nil {
					return false
				}
			}
		}
		if l < len(a.lora) {
			for _, mod := range a.lora[l] {
				if mod != nil && mod.gate != nil {
					return false
				}
			}
		}
	}
	return true
}

// checkTaskIDs checks taskIDs against the active setup's MultiTask blocks (compose_multi_task:
// the library asserts task_ids is given, bincount refuses negative ids, an id past the children
// fails in indexing, and a length other than the batch's fails or, for one id, broadcasts the
// first sequence's result to all: refused here).
func (m *Model) checkTaskIDs(ids []int, nseq int) error {
	if m.active == nil {
		return nil
	}
	var err error
	walkBlocks(m.active, func(b *Block) {
		if b.Kind != MultiTask || err != nil {
			return
		}
		fail := func(format string, args ...any) {
			err = &SetupError{Setup: m.active.String(), Reason: "task_ids: " + fmt.Sprintf(format, args...)}
		}
		switch {
		case ids == nil:
			fail("MultiTask needs one task id per sequence")
		case len(ids) != nseq:
			fail("%d task ids for a batch of %d sequences", len(ids), nseq)
		default:
			for i, id := range ids {
				if id < 0 || id >= len(b.Children) {
					fail("task id %d (sequence %d) is not one of MultiTask's %d children (0 to %d)", id, i, len(b.Children), len(b.Children)-1)
					return
				}
			}
		}
	})
	return err
}

// walkBlocks calls f on b and every block nested in it.
func walkBlocks(b *Block, f func(*Block)) {
	f(b)
	for _, c := range b.Children {
		walkBlocks(c, f)
	}
}

// TaskIDs turns task names into task ids for ForwardTasks, as compose_multi_task does with a list
// of strings (children.index(task)): the index of the adapter among the children of the active
// setup's (first) MultiTask block. A name that is not one of its children gives a *SetupError.
func (m *Model) TaskIDs(names []string) ([]int, error) {
	mt := FindBlock(m.active, MultiTask)
	if mt == nil {
		return nil, &SetupError{Setup: blockString(m.active), Reason: "task names need a MultiTask block in the active setup"}
	}
	ids := make([]int, len(names))
	for i, n := range names {
		ids[i] = -1
		for j, c := range mt.Children {
			if c.Kind == Single && c.Name == n {
				ids[i] = j
				break
			}
		}
		if ids[i] < 0 {
			return nil, &SetupError{Setup: m.active.String(), Reason: fmt.Sprintf("task_ids: %q is not an adapter among %s's children", n, mt)}
		}
	}
	return ids, nil
}

func blockString(b *Block) string {
	if b == nil {
		return ""
	}
	return b.String()
}

func replicate(dst, src []int32, n int) []int32 {
	dst = dst[:0]
	for i := 0; i < n; i++ {
		dst = append(dst, src...)
	}
	return dst
}

// hasBn, hasLoRA and hasPrefix report whether any active adapter has a module there
// (AdapterLayerBase.get_active_setup).
func (m *Model) hasBn(l int, r bert.Residual) bool {
	for _, n := range m.names {
		if m.adapters[n].bn[l][r] != nil {
			return true
		}
	}
	return false
}

func (m *Model) hasLoRA(l int, s bert.Site) bool {
	for _, n := range m.names {
		if m.adapters[n].lora[l][s] != nil {
			return true
		}
	}
	return false
}

func (m *Model) hasPrefix(l int) bool {
	for _, n := range m.names {
		if p := m.adapters[n].prefix; p != nil && p.keys[l] != nil {
			return true
		}
	}
	return false
}

// Describe lists loaded adapters, fusions and heads, one per line (for CLIs and errors).
func (m *Model) Describe() string {
	var b strings.Builder
	for _, n := range m.Adapters() {
		a := m.adapters[n]
		fmt.Fprintf(&b, "adapter %s: %s (config %s)", n, a.Config.Method(), a.Config.ConfigID())
		if a.Head != nil {
			fmt.Fprintf(&b, ", head %s %v", a.Head.Type, a.Head.Labels)
		}
		b.WriteByte('\n')
	}
	fs := m.Fusions()
	sort.Strings(fs)
	for _, n := range fs {
		fmt.Fprintf(&b, "fusion %s\n", n)
	}
	return b.String()
}
