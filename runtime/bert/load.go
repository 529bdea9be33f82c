package bert

import (
	"encoding/binary"
	"fmt"
	"slices"
	"sort"
	"strings"
	"unsafe"

	"github.com/adapterwasm/adapterwasm/runtime/kernels"
	"github.com/adapterwasm/adapterwasm/runtime/weights"
)

// LoadError lists every missing or misshaped tensor found while binding a checkpoint, so that
// one run tells the whole story.
type LoadError struct {
	ModelType string // the config's: the error names that architecture ("roberta: model.safetensors: …")
	File      string
	Problems  []string
}

func (e *LoadError) Error() string {
	return fmt.Sprintf("%s: %s: %s", archName(e.ModelType), e.File, SummarizeProblems(e.Problems))
}

// SummarizeProblems joins the first eight of a binder's problems with "; " and counts the rest:
// enough to act on, short enough to read, however broken the file.
func SummarizeProblems(problems []string) string {
	const show = 8
	if len(problems) <= show {
		return strings.Join(problems, "; ")
	}
	return fmt.Sprintf("%s (and %d more)", strings.Join(problems[:show], "; "), len(problems)-show)
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
	if !slices.Equal(t.Shape, shape) {
		bd.problems = append(bd.problems, fmt.Sprintf("tensor %s has shape %v, want %v", full, t.Shape, shape))
		return nil
	}
	return t
}

// vec returns a float32 copy of the named tensor, or nil after recording a problem. A 2-D I8
// tensor (a q8 position embedding) is dequantized.
func (bd *binder) vec(name string, shape ...int) []float32 {
	if t, ok := bd.ts[bd.prefix+name]; ok && t.DType == weights.I8 && len(shape) == 2 {
		m := bd.matrix(name, shape[0], shape[1])
		if m == nil {
			return nil
		}
		d, ok := m.(interface{ Dequantize(dst []float32) })
		if !ok {
			bd.problems = append(bd.problems, fmt.Sprintf("tensor %s: %T cannot be dequantized", bd.prefix+name, m))
			return nil
		}
		v := make([]float32, shape[0]*shape[1])
		d.Dequantize(v)
		return v
	}
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

// matrix binds the [out, in] weight name (and, for an I8 weight, its name+"_scale") as a
// kernels.Matrix, or returns nil after recording a problem.
func (bd *binder) matrix(name string, out, in int) kernels.Matrix {
	t := bd.tensor(name, out, in)
	if t == nil {
		return nil
	}
	var scale *weights.Tensor
	if s, ok := bd.ts[bd.prefix+name+ScaleSuffix]; ok {
		bd.used[bd.prefix+name+ScaleSuffix] = true
		scale = s
	}
	m, err := MatrixFromTensor(t, scale, out, in)
	if err != nil {
		bd.problems = append(bd.problems, fmt.Sprintf("tensor %s: %v", bd.prefix+name, err))
		return nil
	}
	return m
}

func (bd *binder) linear(name string, out, in int) Linear {
	var l Linear
	if m := bd.matrix(name+".weight", out, in); m != nil {
		l.W = m
	}
	l.B = bd.vec(name+".bias", out)
	return l
}

// rows binds an embedding table [n, dim] in any storage MatrixFromTensor accepts.
func (bd *binder) rows(name string, n, dim int) kernels.Rows {
	m := bd.matrix(name, n, dim)
	if m == nil {
		return nil
	}
	r, ok := m.(kernels.Rows)
	if !ok {
		bd.problems = append(bd.problems, fmt.Sprintf("tensor %s: %T cannot be read by rows", bd.prefix+name, m))
		return nil
	}
	return r
}

func (bd *binder) layerNorm(name string, n int, eps float64) LayerNorm {
	return LayerNorm{Weight: bd.vec(name+".weight", n), Bias: bd.vec(name+".bias", n), Eps: float32(eps)}
}

// ScaleSuffix names the scale tensor of an int8 weight: "X.weight" + ScaleSuffix (the naming of
// runtime/modelfile, after compressed-tensors' "weight_scale").
const ScaleSuffix = "_scale"

// MatrixFromTensor turns an [out, in] weight tensor into a kernels.Matrix, using t's bytes in
// place where the dtype allows (the matrix then aliases t.Data, which must not be reused):
//   - F32 → kernels.F32 (in place when 4-byte aligned, else a copy);
//   - F16 → kernels.F16 (in place when 2-byte aligned);
//   - I8 with an F16 scale [out, in/block] → kernels.Q8 (int8 in place; scales widened);
//   - BF16, F64 → kernels.F32 (converted).
//
// scale is the "<name>_scale" tensor, nil when the checkpoint has none. It is a variable so that
// tests and experiments can substitute a storage format.
var MatrixFromTensor = func(t, scale *weights.Tensor, out, in int) (kernels.Matrix, error) {
	if scale != nil && t.DType != weights.I8 {
		return nil, fmt.Errorf("%s weight has a scale tensor %s (only I8 weights have one)", t.DType, scale.Name)
	}
	if sz := t.DType.Size(); sz == 0 || len(t.Data) != out*in*sz {
		return nil, fmt.Errorf("%s data is %d bytes, want %d for [%d, %d]", t.DType, len(t.Data), out*in*sz, out, in)
	}
	switch t.DType {
	case weights.F32:
		if w, ok := viewF32(t.Data); ok {
			return kernels.NewF32(out, in, w), nil
		}
	case weights.F16:
		if w, ok := viewU16(t.Data); ok {
			return kernels.NewF16(out, in, w), nil
		}
		h := make([]uint16, len(t.Data)/2)
		for i := range h {
			h[i] = binary.LittleEndian.Uint16(t.Data[2*i:])
		}
		return kernels.NewF16(out, in, h), nil
	case weights.I8:
		if scale == nil {
			return nil, fmt.Errorf("I8 weight without a %s%s scale tensor", t.Name, ScaleSuffix)
		}
		if scale.DType != weights.F16 || len(scale.Shape) != 2 || scale.Shape[0] != out || scale.Shape[1] <= 0 || in%scale.Shape[1] != 0 {
			return nil, fmt.Errorf("scale tensor %s is %s%v, want F16 [%d, blocks] with blocks dividing %d", scale.Name, scale.DType, scale.Shape, out, in)
		}
		s, err := scale.Float32()
		if err != nil {
			return nil, err
		}
		q := unsafe.Slice((*int8)(unsafe.Pointer(unsafe.SliceData(t.Data))), len(t.Data))
		return kernels.NewQ8(out, in, in/scale.Shape[1], q, s), nil
	}
	w, err := t.Float32()
	if err != nil {
		return nil, err
	}
	return kernels.NewF32(out, in, w), nil
}

// littleEndian reports whether the host stores numbers as the weight files do (wasm, amd64,
// arm64 all do); elsewhere views fall back to copies.
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// viewF32 reinterprets b as float32s without copying when the host is little-endian and b is
// 4-byte aligned.
func viewF32(b []byte) ([]float32, bool) {
	if !littleEndian || len(b)%4 != 0 || uintptr(unsafe.Pointer(unsafe.SliceData(b)))%4 != 0 {
		return nil, false
	}
	if len(b) == 0 {
		return []float32{}, true
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/4), true
}

// viewU16 reinterprets b as uint16s without copying when the host is little-endian and b is
// 2-byte aligned.
func viewU16(b []byte) ([]uint16, bool) {
	if !littleEndian || len(b)%2 != 0 || uintptr(unsafe.Pointer(unsafe.SliceData(b)))%2 != 0 {
		return nil, false
	}
	if len(b) == 0 {
		return []uint16{}, true
	}
	return unsafe.Slice((*uint16)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/2), true
}

// checkpointPrefix finds the prefix under which a checkpoint stores the encoder's keys: "" for a
// BertModel (RobertaModel, …) save, the layout's prefix ("bert.", "roberta.", "distilbert.") for
// *For* and AdapterHub model classes.
func checkpointPrefix(k *Layout, ts map[string]*weights.Tensor) string {
	for _, p := range []string{"", k.Prefix, "model."} {
		if _, ok := ts[p+k.Word+".weight"]; ok {
			return p
		}
	}
	return ""
}

// FromTensors builds a Model from checkpoint tensors named as the architecture's state_dict
// (BertModel's in modeling_bert.py; RobertaModel's, DistilBertModel's: the Layout of cfg's
// model_type), with or without the base-model prefix. file names the source in errors.
// Tensors that belong to no module of the encoder (heads, buffers) are ignored.
func FromTensors(cfg Config, ts map[string]*weights.Tensor, file string) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	act, err := kernels.ActivationByName(cfg.HiddenAct)
	if err != nil {
		return nil, &ConfigError{ModelType: archName(cfg.ModelType), Reason: cfg.Key("hidden_act") + ": " + err.Error()}
	}
	H, I := cfg.HiddenSize, cfg.IntermediateSize
	m := &Model{Config: cfg, act: act}
	k := m.Layout()
	bd := &binder{ts: ts, prefix: checkpointPrefix(k, ts), used: map[string]bool{}}
	m.Embeddings = Embeddings{
		Word:      bd.rows(k.Word+".weight", cfg.VocabSize, H),
		LayerNorm: bd.layerNorm(k.EmbeddingNorm, H, cfg.LayerNormEps),
	}
	if _, ok := ts[bd.prefix+k.Position+".weight"]; !ok && cfg.SinusoidalPositions {
		// DistilBERT's fixed table, should a checkpoint leave it out (transformers saves it).
		m.Embeddings.Position = sinusoidalPositions(cfg.MaxPositionEmbeddings, H)
	} else {
		m.Embeddings.Position = bd.vec(k.Position+".weight", cfg.MaxPositionEmbeddings, H)
	}
	if k.TokenType != "" {
		m.Embeddings.TokenType = bd.vec(k.TokenType+".weight", cfg.TypeVocabSize, H)
	}
	m.Layers = make([]Layer, cfg.NumHiddenLayers)
	for i := range m.Layers {
		m.Layers[i] = Layer{
			Query:           bd.linear(k.SiteKey(i, SiteQuery), H, H),
			Key:             bd.linear(k.SiteKey(i, SiteKey), H, H),
			Value:           bd.linear(k.SiteKey(i, SiteValue), H, H),
			AttentionOutput: bd.linear(k.SiteKey(i, SiteAttentionOutput), H, H),
			AttentionNorm:   bd.layerNorm(k.NormKey(i, ResidualAttention), H, cfg.LayerNormEps),
			Intermediate:    bd.linear(k.SiteKey(i, SiteIntermediate), I, H),
			Output:          bd.linear(k.SiteKey(i, SiteOutput), H, I),
			OutputNorm:      bd.layerNorm(k.NormKey(i, ResidualOutput), H, cfg.LayerNormEps),
		}
	}
	if _, ok := ts[bd.prefix+k.Pooler+".weight"]; ok && k.Pooler != "" {
		pl := bd.linear(k.Pooler, H, H)
		m.Pooler = &pl
	}
	if len(bd.problems) > 0 {
		sort.Strings(bd.problems)
		return nil, &LoadError{ModelType: cfg.ModelType, File: file, Problems: bd.problems}
	}
	return m, nil
}
