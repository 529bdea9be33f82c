package modelfile

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/adapterwasm/adapterwasm/runtime/kernels"
	"github.com/adapterwasm/adapterwasm/runtime/weights"
)

// Header is what a model file carries besides its tensors.
type Header struct {
	DType              DType
	Source             string
	Config             []byte // config.json
	Tokenizer          []byte // tokenizer.json
	SentenceBertConfig []byte // optional
}

// q8MinElements is the size from which a matrix is stored as q8: below it (token-type
// embeddings, classifier-sized matrices) the int8 saving is a few KB and f16 is kept.
const q8MinElements = 1 << 16

// Embedding tables in q8 (see Convert): up to q8EmbeddingMaxF16 elements (a BERT-large's
// position embeddings, 512×1024) they stay F16; larger ones get one scale per q8EmbeddingBlock
// weights.
const (
	q8EmbeddingMaxF16 = 1 << 19
	q8EmbeddingBlock  = 16
)

// isEmbeddingTable reports whether a matrix is an embedding table of a Hugging Face checkpoint
// ("[prefix.]embeddings.word_embeddings.weight", "…position_embeddings…", "…token_type_embeddings…").
func isEmbeddingTable(name string) bool {
	return strings.Contains(name, "embeddings.") && strings.HasSuffix(name, "_embeddings.weight")
}

// DefaultQ8Block is the block of a linear weight's scales in q8 (Convert): the number of
// consecutive weights of a row that share one scale, ggml's 32. Blocks of 64 make products 7%
// faster (qgemm_packed scales half as many int32 sums into float32) but miss q8's accuracy
// targets on MiniLM (a golden logit 0.053 from the reference, over 0.05, and one golden label
// flipped): they are an opt-in (Options.Block, `convert --block`; ARCHITECTURE.md, q8 blocks).
const DefaultQ8Block = kernels.Q8Block

// Options say how Convert stores a q8 model; the zero value is the default.
type Options struct {
	// Block is the q8 block of the linear weights: 32, 64 or 128 (kernels.IntBlock), 0 for
	// DefaultQ8Block. Larger blocks are faster (fewer scalings per product) and less accurate.
	Block int
}

// Check returns a *BlockError if o cannot be written as dtype: a Block other than 0, 32, 64 or
// 128, or a Block with a dtype other than q8.
func (o Options) Check(dtype DType) error {
	if o.Block != 0 && (dtype != Q8 || !kernels.IntBlock(o.Block)) {
		return &BlockError{Block: o.Block, DType: dtype}
	}
	return nil
}

// Convert returns src's tensors stored as dtype, with the default Options (ConvertWith).
func Convert(src *weights.File, dtype DType) ([]*weights.Tensor, error) {
	return ConvertWith(src, dtype, Options{})
}

// ConvertWith returns src's tensors stored as dtype:
//   - float vectors (biases, LayerNorm) stay F32 in every dtype: they are 0.1% of the bytes;
//   - float matrices become F32 (f32) or F16 (f16);
//   - in q8, a matrix of at least q8MinElements whose rows are a multiple of 32 becomes I8 with
//     an F16 "_scale" tensor per opt.Block weights (every linear of BERT), or per the largest
//     of 64 and 32 that divides its rows when opt.Block does not: blocks the SIMD kernels
//     multiply by;
//   - in q8, an embedding table (isEmbeddingTable) is only ever read a row at a time, so its
//     storage is bound to no kernel: up to q8EmbeddingMaxF16 elements it stays F16 (position
//     and token-type embeddings: small, and their error reaches every token of every text),
//     larger ones (word embeddings, half of a BERT) are I8 with a scale per q8EmbeddingBlock;
//   - other q8 matrices are F16, and other tensors (integer buffers) are copied as they are.
//
// q8 scales are chosen per block to minimise the squared error (quantizeQ8). ARCHITECTURE.md
// gives the measurements behind each choice.
func ConvertWith(src *weights.File, dtype DType, opt Options) ([]*weights.Tensor, error) {
	if _, err := ParseDType(string(dtype)); err != nil {
		return nil, err
	}
	if err := opt.Check(dtype); err != nil {
		return nil, err
	}
	linear := opt.Block
	if linear == 0 {
		linear = DefaultQ8Block
	}
	var out []*weights.Tensor
	for _, name := range src.Order {
		t := src.Tensors[name]
		if strings.HasSuffix(name, ScaleSuffix) {
			return nil, &weights.UnsupportedError{Tensor: name, Reason: "a source tensor name ending in " + ScaleSuffix + " (reserved for q8 scales)"}
		}
		if !t.DType.IsFloat() {
			out = append(out, t)
			continue
		}
		w, err := t.Float32()
		if err != nil {
			return nil, err
		}
		switch {
		case len(t.Shape) < 2 || dtype == F32:
			out = append(out, f32Tensor(name, t.Shape, w))
		case dtype == Q8 && len(t.Shape) == 2:
			block := q8BlockFor(name, t.Shape, len(w), linear)
			if block == 0 {
				out = append(out, f16Tensor(name, t.Shape, w))
				break
			}
			q, scale := quantizeQ8(w, t.Shape[0], t.Shape[1], block)
			qb := make([]byte, len(q))
			for i, v := range q {
				qb[i] = byte(v)
			}
			out = append(out,
				&weights.Tensor{Name: name, DType: weights.I8, Shape: t.Shape, Data: qb},
				f16Tensor(name+ScaleSuffix, []int{t.Shape[0], t.Shape[1] / block}, scale))
		default:
			out = append(out, f16Tensor(name, t.Shape, w))
		}
	}
	return out, nil
}

// q8BlockFor returns the q8 block size of the matrix name [rows, cols] of n elements (linear:
// a linear weight's), or 0 if it is stored as F16 (see ConvertWith).
func q8BlockFor(name string, shape []int, n, linear int) int {
	switch {
	case isEmbeddingTable(name):
		if n > q8EmbeddingMaxF16 && shape[1]%q8EmbeddingBlock == 0 {
			return q8EmbeddingBlock
		}
	case n >= q8MinElements:
		for b := linear; b >= kernels.Q8Block; b /= 2 {
			if shape[1]%b == 0 {
				return b
			}
		}
	}
	return 0
}

// BlockError is a q8 block Convert cannot write (Options.Block), or a block with a dtype other
// than q8.
type BlockError struct {
	Block int
	DType DType
}

func (e *BlockError) Error() string {
	if e.DType != Q8 {
		return fmt.Sprintf("a q8 block (%d) for dtype %s: blocks are q8's", e.Block, e.DType)
	}
	return fmt.Sprintf("q8 block %d: want 32, 64 or 128", e.Block)
}

func f32Tensor(name string, shape []int, w []float32) *weights.Tensor {
	b := make([]byte, 4*len(w))
	for i, v := range w {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return &weights.Tensor{Name: name, DType: weights.F32, Shape: shape, Data: b}
}

func f16Tensor(name string, shape []int, w []float32) *weights.Tensor {
	h := kernels.ToF16(w)
	b := make([]byte, 2*len(h))
	for i, v := range h {
		binary.LittleEndian.PutUint16(b[2*i:], v)
	}
	return &weights.Tensor{Name: name, DType: weights.F16, Shape: shape, Data: b}
}

// Write writes a model file: h as metadata (config and tokenizer JSON compacted), then the
// tensors in descending element size (stable), so that every tensor starts at a multiple of its
// element size. The output depends only on the arguments.
func Write(w io.Writer, h Header, tensors []*weights.Tensor) error {
	if _, err := ParseDType(string(h.DType)); err != nil {
		return err
	}
	md := map[string]string{magicKey: strconv.Itoa(Version), keyDType: string(h.DType)}
	for _, f := range []struct {
		key string
		b   []byte
	}{{keyConfig, h.Config}, {keyTokenizer, h.Tokenizer}, {keySentenceBert, h.SentenceBertConfig}} {
		if f.b == nil && f.key == keySentenceBert {
			continue
		}
		var c bytes.Buffer
		if err := json.Compact(&c, f.b); err != nil {
			return fmt.Errorf("modelfile: %s: %v", f.key, err)
		}
		md[f.key] = c.String()
	}
	if h.Source != "" {
		md[keySource] = h.Source
	}
	for k := range md {
		if k < magicKey {
			panic("modelfile: metadata key " + k + " sorts before the magic key") // a programming error
		}
	}
	ts := append([]*weights.Tensor(nil), tensors...)
	sort.SliceStable(ts, func(i, j int) bool { return ts[i].DType.Size() > ts[j].DType.Size() })
	return weights.WriteSafetensors(w, ts, md)
}
