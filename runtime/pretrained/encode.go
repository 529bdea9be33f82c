package pretrained

import (
	"fmt"

	"github.com/adapterwasm/adapterwasm/runtime/bert"
	"github.com/adapterwasm/adapterwasm/runtime/tokenizer"
)

// Tokenize encodes texts as one padded batch, truncated to maxLength tokens (0: m.MaxLength).
func (m *Model) Tokenize(texts []string, maxLength int) (bert.Input, []tokenizer.Encoding) {
	if maxLength <= 0 || maxLength > m.MaxLength {
		maxLength = m.MaxLength
	}
	// The tokenizers library turns truncation off below the number of special tokens
	// (its subtraction wraps): never let that produce a sequence longer than the model takes.
	if n := m.Tokenizer.NumSpecialTokens(false); maxLength < n {
		maxLength = n
	}
	encs := m.Tokenizer.EncodeBatch(texts, tokenizer.Options{MaxLength: maxLength, Pad: true})
	in := bert.Input{B: len(encs)}
	if len(encs) > 0 {
		in.T = len(encs[0].IDs)
	}
	n := in.B * in.T
	in.IDs = make([]int32, 0, n)
	in.TypeIDs = make([]int32, 0, n)
	in.AttentionMask = make([]int32, 0, n)
	for _, e := range encs {
		in.IDs = append(in.IDs, e.IDs...)
		in.TypeIDs = append(in.TypeIDs, e.TypeIDs...)
		in.AttentionMask = append(in.AttentionMask, e.AttentionMask...)
	}
	return in, encs
}

// Pooling names how a sentence embedding is taken from the last hidden state.
type Pooling string

const (
	PoolMean Pooling = "mean" // mean over real tokens (sentence-transformers' default)
	PoolCLS  Pooling = "cls"  // the [CLS] token's hidden state
)

// Embed returns one embedding per text. st may be reused across calls (not concurrently).
func (m *Model) Embed(st *bert.State, texts []string, pooling Pooling, normalize bool) ([][]float32, error) {
	if len(texts) == 0 {
		return nil, nil
	}
	in, _ := m.Tokenize(texts, 0)
	hidden, err := m.Encoder.Forward(st, in, nil)
	if err != nil {
		return nil, err
	}
	H := m.Config.HiddenSize
	flat := make([]float32, in.B*H)
	switch pooling {
	case PoolMean, "":
		bert.MeanPool(flat, hidden, in.AttentionMask, in.B, in.T, H)
	case PoolCLS:
		bert.CLSPool(flat, hidden, in.B, in.T, H)
	default:
		return nil, fmt.Errorf("unknown pooling %q (mean, cls)", pooling)
	}
	if normalize {
		bert.Normalize(flat, in.B, H)
	}
	out := make([][]float32, in.B)
	for i := range out {
		out[i] = flat[i*H : (i+1)*H : (i+1)*H]
	}
	return out, nil
}
