// Package engine is what the Wasm module exports, in plain Go: a base model built from its files'
// bytes, adapters loaded from theirs, an active setup, and batch tokenize/embed/classify calls
// that return typed errors and never panic across the boundary. It knows nothing of syscall/js
// (wasm/jsapi converts values), so it builds and is tested natively; the browser module
// (wasm/) and the Workers entry share it.
package engine

import (
	"runtime"
	"runtime/debug"
	"sync"

	"github.com/adapterwasm/adapterwasm/adapters"
	"github.com/adapterwasm/adapterwasm/runtime/bert"
	"github.com/adapterwasm/adapterwasm/runtime/pretrained"
	"github.com/adapterwasm/adapterwasm/train"
)

// Limits of one call, so that a hostile caller cannot make the instance allocate without bound.
// A text longer than the model's max length is truncated by the tokenizer, not refused.
const (
	MaxBatch        = 256       // texts per call
	MaxTextBytes    = 16 << 20  // bytes per text (as the CLI's stdin line limit)
	MaxAdapters     = 256       // adapters and fusions loaded at once (each costs its weights' f32 size)
	MaxAdapterBytes = 256 << 20 // bytes of one adapter's files, all together
)

// Model is one loaded base model and the adapters loaded onto it. Calls are serialized: a Model
// is safe for concurrent use, one call runs at a time.
type Model struct {
	mu     sync.Mutex
	base   *pretrained.Model
	st     *bert.State     // scratch of Embed (the plain encoder)
	am     *adapters.Model // the base encoder with its adapters and heads
	ast    *adapters.State // scratch of Classify
	setup  string          // the expression of the active setup, as last set
	head   string          // the head override of the active setup ("" = the setup's own)
	closed bool
	// trained holds the trainers of the adapters trained on this model (SaveAdapter).
	trained map[string]*train.Trainer
}

// Info describes a loaded base model.
type Info struct {
	Name       string `json:"name"`
	ModelType  string `json:"modelType"`
	HiddenSize int    `json:"hiddenSize"`
	NumLayers  int    `json:"numLayers"`
	VocabSize  int    `json:"vocabSize"`
	MaxLength  int    `json:"maxLength"`
}

// New builds a model from the contents of a base model's files, keyed by file name
// (pretrained.Load). The map's byte slices may be retained (weights can alias them): the caller
// must not reuse them. The first New of an instance also loads two tiny adapters and drops them
// (warmLoadPath), so that a Wasm engine compiles the adapter-loading code then and not during
// the caller's first LoadAdapter.
func New(files map[string][]byte) (m *Model, err error) {
	err = Guard(func() error {
		if len(files) == 0 {
			return errorf(CodeInvalidArgument, "no files given")
		}
		base, err := pretrained.Load(files)
		if err != nil {
			return err
		}
		m = &Model{base: base, st: &bert.State{}, am: adapters.New(base.Encoder), ast: &adapters.State{}}
		warmOnce.Do(func() { _ = warmLoadPath() }) // a failure only leaves the first load slower
		return nil
	})
	return m, err
}

// call runs f under the model's lock with panics recovered, refusing a closed model.
func (m *Model) call(f func() error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return errorf(CodeClosed, "model was freed")
	}
	err := Guard(f)
	if _, ok := err.(*Error); !ok && err != nil {
		err = &Error{Code: CodeOf(err), Err: err}
	}
	if err != nil && CodeOf(err) == CodeInternal {
		// A panic may have left the scratch buffers half-written: start from fresh ones.
		m.st, m.ast = &bert.State{}, &adapters.State{}
	}
	return err
}

// Info returns what the model is.
func (m *Model) Info() (info Info, err error) {
	err = m.call(func() error {
		c := m.base.Config
		info = Info{Name: m.base.Name, ModelType: c.ModelType, HiddenSize: c.HiddenSize,
			NumLayers: c.NumHiddenLayers, VocabSize: c.VocabSize, MaxLength: m.base.MaxLength}
		return nil
	})
	return info, err
}

func checkTexts(texts []string) error {
	if len(texts) > MaxBatch {
		return errorf(CodeInvalidArgument, "%d texts in one call; at most %d", len(texts), MaxBatch)
	}
	for i, t := range texts {
		if len(t) > MaxTextBytes {
			return errorf(CodeInvalidArgument, "text %d is %d bytes; at most %d", i, len(t), MaxTextBytes)
		}
	}
	return nil
}

// Tokens is one tokenized text.
type Tokens struct {
	InputIDs      []int32  `json:"inputIds"`
	Tokens        []string `json:"tokens"`
	AttentionMask []int32  `json:"attentionMask"`
}

// Tokenize encodes texts as the model does before a forward pass, padded to the longest and cut to
// maxLength tokens (0: the model's max length).
func (m *Model) Tokenize(texts []string, maxLength int) (out []Tokens, err error) {
	err = m.call(func() error {
		if err := checkTexts(texts); err != nil {
			return err
		}
		if maxLength < 0 {
			return errorf(CodeInvalidArgument, "maxLength %d is negative", maxLength)
		}
		_, encs := m.base.Tokenize(texts, maxLength)
		out = make([]Tokens, len(encs))
		for i, e := range encs {
			out[i] = Tokens{InputIDs: e.IDs, Tokens: e.Tokens, AttentionMask: e.AttentionMask}
		}
		return nil
	})
	return out, err
}

// EmbedOptions choose how a sentence embedding is pooled.
type EmbedOptions struct {
	Pooling   pretrained.Pooling // mean (default) or cls
	Normalize bool               // L2-normalize each embedding
}

// Embed returns one embedding per text, as rows of a flat [len(texts) * dim] slice.
func (m *Model) Embed(texts []string, opt EmbedOptions) (flat []float32, dim int, err error) {
	err = m.call(func() error {
		if err := checkTexts(texts); err != nil {
			return err
		}
		if opt.Pooling != "" && opt.Pooling != pretrained.PoolMean && opt.Pooling != pretrained.PoolCLS {
			return errorf(CodeInvalidArgument, "pooling %q: want mean or cls", opt.Pooling)
		}
		dim = m.base.Config.HiddenSize
		embs, err := m.base.Embed(m.st, texts, opt.Pooling, opt.Normalize)
		if err != nil {
			return err
		}
		flat = make([]float32, len(texts)*dim)
		for i, e := range embs {
			copy(flat[i*dim:], e)
		}
		return nil
	})
	return flat, dim, err
}

// Close frees the model: later calls fail with CodeClosed. The memory goes back to the Go heap
// (a Wasm linear memory never shrinks, but the next model reuses it).
func (m *Model) Close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	m.base, m.st, m.am, m.ast = nil, nil, nil, nil
	debug.FreeOSMemory()
}

// MemStats is the Go heap as the runtime sees it.
type MemStats struct {
	HeapAlloc uint64 `json:"heapAlloc"` // bytes of live objects (and not yet collected garbage)
	HeapSys   uint64 `json:"heapSys"`   // bytes of heap obtained from the linear memory
	Sys       uint64 `json:"sys"`       // every byte the runtime obtained
}

func stack() string {
	s := debug.Stack()
	const max = 4096
	if len(s) > max {
		s = s[:max]
	}
	return string(s)
}

// ReadMemStats returns the Go heap's size now.
func ReadMemStats() MemStats {
	var s runtime.MemStats
	runtime.ReadMemStats(&s)
	return MemStats{HeapAlloc: s.HeapAlloc, HeapSys: s.HeapSys, Sys: s.Sys}
}
