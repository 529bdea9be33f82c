package bert

import (
	"fmt"
	"sort"
	"strings"

	"github.com/adapterwasm/adapterwasm/runtime/kernels"
	"github.com/adapterwasm/adapterwasm/runtime/weights"
)

// LoadError lists every missing or misshaped tensor found while binding a checkpoint, so that
// one run tells the whole story.
type LoadError struct {
	File     string
	Problems []string
}

func (e *LoadError) Error() string {
	const show = 8
	p := e.Problems
	more := ""
	if len(p) > show {
		more = fmt.Sprintf(" (and %d more)", len(p)-show)
		p = p[:show]
	}
	return fmt.Sprintf("bert: %s: %s%s", e.File, strings.Join(p, "; "), more)
}

// binder looks tensors up by checkpoint name and records every problem it meets.
type binder struct {
	ts       map[string]*weights.Tensor
	prefix   string
	used     map[string]bool
	problems []string
}

func (bd *binder) tensor(name string, shape ...int) *weights.Tensor {
	full := bd.prefix + name
	t, ok := bd.ts[full]
	if !ok {
		bd.problems = append(bd.problems, "missing tensor "+full)
		return nil
	}
	bd.used[full] = true
	if !sameShape(t.Shape, shape) {
		bd.problems = append(bd.problems, fmt.Sprintf("tensor %s has shape %v, want %v", full, t.Shape, shape))
		return nil
	}
	return t
}

func sameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// vec returns a float32 copy of the named tensor, or nil after recording a problem.
func (bd *binder) vec(name string, shape ...int) []float32 {
	t := bd.tensor(name, shape...)
	if t == nil {
		return nil
	}
	v, err := t.Float32()
	if err != nil {
		bd.problems = append(bd.problems, fmt.Sprintf("tensor %s: %v", bd.prefix+name, err))
		return nil
	}
	return v
}

func (bd *binder) linear(name string, out, in int) Linear {
	var l Linear
	if t := bd.tensor(name+".weight", out, in); t != nil {
		m, err := MatrixFromTensor(t, out, in)
		if err != nil {
			bd.problems = append(bd.problems, fmt.Sprintf("tensor %s: %v", bd.prefix+name+".weight", err))
		} else {
			l.W = m
		}
	}
	l.B = bd.vec(name+".bias", out)
	return l
}

func (bd *binder) layerNorm(name string, n int, eps float64) LayerNorm {
	return LayerNorm{Weight: bd.vec(name+".weight", n), Bias: bd.vec(name+".bias", n), Eps: float32(eps)}
}

// MatrixFromTensor turns a [out, in] weight tensor into a kernels.Matrix. Float tensors become
// F32; it is a variable so that quantized formats can register themselves.
var MatrixFromTensor = func(t *weights.Tensor, out, in int) (kernels.Matrix, error) {
	w, err := t.Float32()
	if err != nil {
		return nil, err
	}
	return kernels.NewF32(out, in, w), nil
}

// checkpointPrefix finds the prefix under which a checkpoint stores BertModel's keys:
// "" for a BertModel save, "bert." for BertFor*/AdapterHub model classes.
func checkpointPrefix(ts map[string]*weights.Tensor) string {
	for _, p := range []string{"", "bert.", "model."} {
		if _, ok := ts[p+"embeddings.word_embeddings.weight"]; ok {
			return p
		}
	}
	return ""
}

// FromTensors builds a Model from checkpoint tensors named as in modeling_bert.py
// (BertModel.state_dict()), with or without a "bert." prefix. file names the source in errors.
// Tensors that belong to no module of the encoder (heads, buffers) are ignored.
func FromTensors(cfg Config, ts map[string]*weights.Tensor, file string) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	act, err := kernels.ActivationByName(cfg.HiddenAct)
	if err != nil {
		return nil, &ConfigError{Reason: err.Error()}
	}
	H, I := cfg.HiddenSize, cfg.IntermediateSize
	bd := &binder{ts: ts, prefix: checkpointPrefix(ts), used: map[string]bool{}}
	m := &Model{Config: cfg, act: act}
	m.Embeddings = Embeddings{
		Word:      bd.vec("embeddings.word_embeddings.weight", cfg.VocabSize, H),
		Position:  bd.vec("embeddings.position_embeddings.weight", cfg.MaxPositionEmbeddings, H),
		TokenType: bd.vec("embeddings.token_type_embeddings.weight", cfg.TypeVocabSize, H),
		LayerNorm: bd.layerNorm("embeddings.LayerNorm", H, cfg.LayerNormEps),
	}
	m.Layers = make([]Layer, cfg.NumHiddenLayers)
	for i := range m.Layers {
		p := fmt.Sprintf("encoder.layer.%d.", i)
		m.Layers[i] = Layer{
			Query:           bd.linear(p+"attention.self.query", H, H),
			Key:             bd.linear(p+"attention.self.key", H, H),
			Value:           bd.linear(p+"attention.self.value", H, H),
			AttentionOutput: bd.linear(p+"attention.output.dense", H, H),
			AttentionNorm:   bd.layerNorm(p+"attention.output.LayerNorm", H, cfg.LayerNormEps),
			Intermediate:    bd.linear(p+"intermediate.dense", I, H),
			Output:          bd.linear(p+"output.dense", H, I),
			OutputNorm:      bd.layerNorm(p+"output.LayerNorm", H, cfg.LayerNormEps),
		}
	}
	if _, ok := ts[bd.prefix+"pooler.dense.weight"]; ok {
		pl := bd.linear("pooler.dense", H, H)
		m.Pooler = &pl
	}
	if len(bd.problems) > 0 {
		sort.Strings(bd.problems)
		return nil, &LoadError{File: file, Problems: bd.problems}
	}
	return m, nil
}
