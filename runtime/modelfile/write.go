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

// Convert returns src's tensors stored as dtype:
//   - float vectors (biases, LayerNorm) stay F32 in every dtype: they are 0.1% of the bytes;
//   - float matrices become F32 (f32), F16 (f16), or for q8 I8 with an F16 "_scale" tensor per
//     kernels.Q8Block weights when the row length is a multiple of it and the matrix has at
//     least q8MinElements (every linear and the word and position embeddings of BERT), else F16;
//   - other tensors (integer buffers) are copied as they are.
//
// q8 scales are chosen per block to minimise the squared error (quantizeQ8). The policy looks
// only at dtype, rank and size, never at names: the file format knows no model.
func Convert(src *weights.File, dtype DType) ([]*weights.Tensor, error) {
	if _, err := ParseDType(string(dtype)); err != nil {
		return nil, err
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
		case dtype == Q8 && len(t.Shape) == 2 && t.Shape[1]%kernels.Q8Block == 0 && len(w) >= q8MinElements:
			q, scale := quantizeQ8(w, t.Shape[0], t.Shape[1], kernels.Q8Block)
			qb := make([]byte, len(q))
			for i, v := range q {
				qb[i] = byte(v)
			}
			out = append(out,
				&weights.Tensor{Name: name, DType: weights.I8, Shape: t.Shape, Data: qb},
				f16Tensor(name+ScaleSuffix, []int{t.Shape[0], t.Shape[1] / kernels.Q8Block}, scale))
		default:
			out = append(out, f16Tensor(name, t.Shape, w))
		}
	}
	return out, nil
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
