package adapters

import (
	"fmt"
	"strconv"
	"strings"
)

// Kind is a composition block type of adapters/composition.py.
type Kind uint8

const (
	Single Kind = iota // one adapter by name
	Stack
	Fuse
	Split
	BatchSplit
	Parallel
	Average
	// MultiTask runs each sequence through the child its task id names (model(…, task_ids=…)):
	// compose_multi_task sorts the batch by task id and runs it as a BatchSplit of the children.
	MultiTask
)

var kindNames = [...]string{"str", "Stack", "Fuse", "Split", "BatchSplit", "Parallel", "Average", "MultiTask"}

func (k Kind) String() string { return kindNames[k] }

// allowedNestings is ALLOWED_NESTINGS of adapters/composition.py.
var allowedNestings = map[Kind][]Kind{
	Stack:      {Single, Fuse, Split, Parallel, BatchSplit, Average, MultiTask},
	Fuse:       {Single, Stack},
	Split:      {Single, Split, Stack, BatchSplit, Average},
	Parallel:   {Single, Stack, BatchSplit, Average},
	BatchSplit: {Single, Stack, Split, BatchSplit, Average},
	Average:    {Single, Stack, Split, BatchSplit},
	MultiTask:  {Single, Stack, Average, Fuse},
}

// Block is one node of an adapter setup: a single adapter or a composition block.
type Block struct {
	Kind     Kind
	Name     string // Single: the adapter; Fuse: the fusion name (default "a,b,…")
	Children []*Block
	Sizes    []int     // Split: splits; BatchSplit: batch_sizes
	Weights  []float64 // Average: (normalized) weights
}

// String prints the block as a setup expression.
func (b *Block) String() string {
	if b.Kind == Single {
		return b.Name
	}
	parts := make([]string, 0, len(b.Children)+1)
	for _, c := range b.Children {
		parts = append(parts, c.String())
	}
	switch b.Kind {
	case Split:
		parts = append(parts, "splits="+intList(b.Sizes))
	case BatchSplit:
		parts = append(parts, "batch_sizes="+intList(b.Sizes))
	case Average:
		ws := make([]string, len(b.Weights))
		for i, w := range b.Weights {
			ws[i] = strconv.FormatFloat(w, 'g', -1, 64)
		}
		parts = append(parts, "weights=["+strings.Join(ws, ",")+"]")
		var sum float64
		for _, w := range b.Weights {
			sum += w
		}
		if sum != 1 {
			parts = append(parts, "normalize_weights=False")
		}
	}
	return b.Kind.String() + "(" + strings.Join(parts, ",") + ")"
}

func intList(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return "[" + strings.Join(s, ",") + "]"
}

// first and last are AdapterCompositionBlock.first / last.
func (b *Block) first() string {
	if b.Kind == Single {
		return b.Name
	}
	return b.Children[0].first()
}

func (b *Block) last() string {
	if b.Kind == Single {
		return b.Name
	}
	return b.Children[len(b.Children)-1].last()
}

// flatten appends every adapter name in the block.
func (b *Block) flatten(dst []string) []string {
	if b.Kind == Single {
		for _, n := range dst {
			if n == b.Name {
				return dst
			}
		}
		return append(dst, b.Name)
	}
	for _, c := range b.Children {
		dst = c.flatten(dst)
	}
	return dst
}

// ParallelChannels is how many copies of the batch the setup runs: the widest Parallel in it
// (AdapterCompositionBlock.parallel_channels), 1 without one. The forward pass costs that many
// times the batch's tokens.
func (b *Block) ParallelChannels() int { return b.parallelChannels() }

// parallelChannels is AdapterCompositionBlock.parallel_channels.
func (b *Block) parallelChannels() int {
	if b.Kind == Single {
		return 1
	}
	if b.Kind == Parallel {
		return len(b.Children)
	}
	n := 1
	for _, c := range b.Children {
		if p := c.parallelChannels(); p > n {
			n = p
		}
	}
	return n
}

// ParseSetup parses a setup expression: an adapter name, or a block
// Stack(…), Fuse(…[,name=N]), Parallel(…), BatchSplit(…,batch_sizes=[…]|N),
// Split(…,splits=[…]|N), Average(…[,weights=[…]][,normalize_weights=False]), MultiTask(…) with nested
// blocks as children. As parse_composition does, a bare name at the top becomes Stack(name).
// The result is validated against the library's allowed nestings (validate_composition and
// check_composition_valid).
func ParseSetup(expr string) (*Block, error) {
	p := &setupParser{s: expr}
	b, err := p.block()
	if err == nil {
		p.space()
		if p.i < len(p.s) {
			err = fmt.Errorf("unexpected %q", p.s[p.i:])
		}
	}
	if err != nil {
		return nil, &SetupError{Setup: expr, Reason: err.Error()}
	}
	if b.Kind == Single {
		b = &Block{Kind: Stack, Children: []*Block{b}}
	}
	if err := validateSetup(b, 0); err != nil {
		return nil, &SetupError{Setup: expr, Reason: err.Error()}
	}
	if err := checkNesting(b, 0); err != nil {
		return nil, &SetupError{Setup: expr, Reason: err.Error()}
	}
	if n := b.parallelChannels(); n > MaxParallel {
		return nil, &SetupError{Setup: expr, Reason: fmt.Sprintf("Parallel replicates the batch %d times; at most %d", n, MaxParallel)}
	}
	return b, nil
}

// MaxParallel bounds the copies of the batch a Parallel block runs (its children): each costs a
// forward pass from the first adapter layer on, so Parallel(a,a,…) of 10,000 children asked a
// one-request Worker for 10,000 passes.
const MaxParallel = 16

// validateSetup is validate_composition.
func validateSetup(b *Block, level int) error {
	if level > 1 && b.Kind != Stack && b.Kind != Single {
		return fmt.Errorf("adapter setup is too deep: cannot have %s at level %d", b, level)
	}
	if b.Kind == Single {
		return nil
	}
	for _, c := range b.Children {
		ok := false
		for _, k := range allowedNestings[b.Kind] {
			ok = ok || k == c.Kind
		}
		if !ok {
			return fmt.Errorf("cannot nest %s in %s", c, b)
		}
		if err := validateSetup(c, level+1); err != nil {
			return err
		}
	}
	return nil
}

// checkNesting is ComposableAdapterLayerBase.check_composition_valid, applied ahead of time:
// a block nested in a Stack deeper than level 0 is too deep.
func checkNesting(b *Block, lvl int) error {
	for _, c := range b.Children {
		if c.Kind == Single {
			continue
		}
		if b.Kind == Stack && lvl >= 1 {
			return fmt.Errorf("specified adapter setup is too deep: cannot have %s at level %d", c.Kind, lvl)
		}
		if err := checkNesting(c, lvl+1); err != nil {
			return err
		}
	}
	return nil
}

// maxSetupDepth bounds how deeply blocks nest in a setup expression. The library's nesting rules
// allow three levels at most (Stack(Fuse(a,Stack(b,c))) …); a deeper expression is refused while
// parsing, before anything recurses over it: Block.String is quadratic in the depth (a 70 KB
// Stack(Stack(…)) took 720 MB to print in its error).
const maxSetupDepth = 16

type setupParser struct {
	s     string
	i     int
	depth int
}

func (p *setupParser) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n') {
		p.i++
	}
}

func (p *setupParser) take(c byte) bool {
	p.space()
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

// name reads an adapter name: anything up to a delimiter (names may contain '-', '.', '@', '/').
func (p *setupParser) name() string {
	p.space()
	j := p.i
	for j < len(p.s) && !strings.ContainsRune("(),=[] \t\n", rune(p.s[j])) {
		j++
	}
	n := p.s[p.i:j]
	p.i = j
	return n
}

var blockKinds = map[string]Kind{"Stack": Stack, "Fuse": Fuse, "Split": Split, "BatchSplit": BatchSplit, "Parallel": Parallel, "Average": Average, "MultiTask": MultiTask}

func (p *setupParser) block() (*Block, error) {
	n := p.name()
	if n == "" {
		return nil, fmt.Errorf("expected an adapter name or a block at %q", p.s[p.i:])
	}
	k, isBlock := blockKinds[n]
	if !isBlock || !p.take('(') {
		if isBlock {
			return nil, fmt.Errorf("%s needs ( … )", n)
		}
		return &Block{Kind: Single, Name: n}, nil
	}
	if p.depth++; p.depth > maxSetupDepth {
		return nil, fmt.Errorf("blocks nest deeper than %d levels", maxSetupDepth)
	}
	defer func() { p.depth-- }()
	b := &Block{Kind: k}
	kw := map[string]string{}
	for {
		if p.take(')') {
			break
		}
		save := p.i
		key := p.name()
		if p.take('=') {
			v, err := p.kwValue()
			if err != nil {
				return nil, err
			}
			kw[key] = v
		} else {
			p.i = save
			c, err := p.block()
			if err != nil {
				return nil, err
			}
			b.Children = append(b.Children, c)
		}
		if !p.take(',') {
			if !p.take(')') {
				return nil, fmt.Errorf("expected , or ) at %q", p.s[p.i:])
			}
			break
		}
	}
	if len(b.Children) == 0 {
		return nil, fmt.Errorf("%s has no children", k)
	}
	return b, b.applyKwargs(kw)
}

func (p *setupParser) kwValue() (string, error) {
	p.space()
	if p.take('[') {
		j := strings.IndexByte(p.s[p.i:], ']')
		if j < 0 {
			return "", fmt.Errorf("unterminated list")
		}
		v := "[" + p.s[p.i:p.i+j] + "]"
		p.i += j + 1
		return v, nil
	}
	v := p.name()
	if v == "" {
		return "", fmt.Errorf("missing value at %q", p.s[p.i:])
	}
	return v, nil
}

func parseNumbers(v string, n int) ([]float64, error) {
	if !strings.HasPrefix(v, "[") {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return nil, fmt.Errorf("bad number %q", v)
		}
		out := make([]float64, n)
		for i := range out {
			out[i] = f
		}
		return out, nil
	}
	var out []float64
	for _, s := range strings.Split(strings.Trim(v, "[]"), ",") {
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return nil, fmt.Errorf("bad number %q in %s", s, v)
		}
		out = append(out, f)
	}
	return out, nil
}

func (b *Block) applyKwargs(kw map[string]string) error {
	allowed := map[Kind][]string{Fuse: {"name"}, Split: {"splits"}, BatchSplit: {"batch_sizes"}, Average: {"weights", "normalize_weights"}}
	for k := range kw {
		ok := false
		for _, a := range allowed[b.Kind] {
			ok = ok || a == k
		}
		if !ok {
			return fmt.Errorf("%s takes no argument %q", b.Kind, k)
		}
	}
	n := len(b.Children)
	ints := func(key string) error {
		v, ok := kw[key]
		if !ok {
			return fmt.Errorf("%s needs %s=", b.Kind, key)
		}
		fs, err := parseNumbers(v, n)
		if err != nil {
			return err
		}
		for _, f := range fs {
			if f < 0 || f != float64(int(f)) {
				return fmt.Errorf("%s=%s: sizes must be non-negative integers", key, v)
			}
			b.Sizes = append(b.Sizes, int(f))
		}
		if len(b.Sizes) != n {
			return fmt.Errorf("%s has %d children but %d %s", b.Kind, n, len(b.Sizes), key)
		}
		return nil
	}
	switch b.Kind {
	case Fuse:
		if v, ok := kw["name"]; ok {
			b.Name = v
		} else {
			names := make([]string, n)
			for i, c := range b.Children {
				names[i] = c.last()
			}
			b.Name = strings.Join(names, ",")
		}
	case Split:
		return ints("splits")
	case BatchSplit:
		return ints("batch_sizes")
	case Average:
		if v, ok := kw["weights"]; ok {
			ws, err := parseNumbers(v, n)
			if err != nil {
				return err
			}
			if len(ws) != n {
				return fmt.Errorf("Average has %d children but %d weights", n, len(ws))
			}
			if kw["normalize_weights"] != "False" && kw["normalize_weights"] != "false" {
				var sum float64
				for _, w := range ws {
					sum += w
				}
				if sum == 0 {
					return fmt.Errorf("Average weights sum to 0")
				}
				for i := range ws {
					ws[i] /= sum
				}
			}
			b.Weights = ws
		} else {
			b.Weights = make([]float64, n)
			for i := range b.Weights {
				b.Weights[i] = 1 / float64(n)
			}
		}
	}
	return nil
}
