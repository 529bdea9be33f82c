package pretrained

import (
	"fmt"
	"sort"

	"github.com/adapterwasm/adapterwasm/runtime/bert"
	"github.com/adapterwasm/adapterwasm/runtime/tokenizer"
)

// Tokenize encodes texts as one padded batch, truncated to maxLength tokens (0: m.MaxLength).
func (m *Model) Tokenize(texts []string, maxLength int) (bert.Input, []tokenizer.Encoding) {
	return m.tokenize(texts, maxLength, 0)
}

// TokenizeCounted is Tokenize, and each Encoding's SourceTokens also counts the text's tokens
// before truncation, up to upTo (tokenizer.Options.CountUpTo): a text past maxLength is read on
// to upTo tokens.
func (m *Model) TokenizeCounted(texts []string, maxLength, upTo int) (bert.Input, []tokenizer.Encoding) {
	return m.tokenize(texts, maxLength, upTo)
}

func (m *Model) tokenize(texts []string, maxLength, countUpTo int) (bert.Input, []tokenizer.Encoding) {
	if maxLength <= 0 || maxLength > m.MaxLength {
		maxLength = m.MaxLength
	}
	// The tokenizers library turns truncation off below the number of special tokens
	// (its subtraction wraps): never let that produce a sequence longer than the model takes.
	if n := m.Tokenizer.NumSpecialTokens(false); maxLength < n {
		maxLength = n
	}
	encs := m.Tokenizer.EncodeBatch(texts, tokenizer.Options{MaxLength: maxLength, Pad: true, CountUpTo: countUpTo})
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
	if m.Encoder != nil && m.Encoder.Arch().Positions == bert.PositionsAfterPadding {
		// RoBERTa numbers positions from the padding id: pad with the model's pad_token_id, as
		// transformers' tokenizers do from tokenizer_config.json, whatever tokenizer.json's padding
		// says (roberta-base's has none, which means id 0 there, <s>).
		pad := int32(m.Config.PadTokenID)
		for i, v := range in.AttentionMask {
			if v == 0 {
				in.IDs[i] = pad
			}
		}
	}
	return in, encs
}

// Pooling names how a sentence embedding is taken from the last hidden state.
type Pooling string

const (
	PoolMean Pooling = "mean" // mean over real tokens (sentence-transformers' default)
	PoolCLS  Pooling = "cls"  // the [CLS] token's hidden state
)

// GroupSize is the most texts one forward pass runs when texts are grouped by length.
const GroupSize = 8

// GroupRows is the most padded tokens (texts × padded length) one forward pass runs when texts
// are grouped by length: the encoder's scratch grows with it (~20 KB per row for MiniLM, kept
// for the next call), and batching more rows gains nothing, the matrix products being tiled by
// 4 rows. Eight 256-token texts run as four passes of two, and a long text no longer drags the
// last few short ones of a sorted batch to its length (MiniLM's golden sentences: 1,024 padded
// tokens in their second group before, 355 now).
const GroupRows = 512

// LengthGroups returns the indices of texts grouped by token count (truncated to maxLength),
// shortest first, at most size per group and at most rows padded tokens per group (GroupRows
// when rows < 1; a text longer than that runs alone). Running each group as one padded batch
// means a short text never pays for padding to a long one: attention and every matmul scale
// with the padded length, and one 256-token text in a batch of twelve short ones would multiply
// the work.
func (m *Model) LengthGroups(texts []string, maxLength, size, rows int) [][]int {
	if size < 1 {
		size = GroupSize
	}
	if rows < 1 {
		rows = GroupRows
	}
	n := make([]int, len(texts))
	for i, t := range texts {
		in, _ := m.Tokenize([]string{t}, maxLength)
		n[i] = in.T
	}
	order := make([]int, len(texts))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return n[order[a]] < n[order[b]] })
	var groups [][]int
	for len(order) > 0 {
		k := 1 // the group's padded length is its last (longest) text's
		for k < min(size, len(order)) && (k+1)*n[order[k]] <= rows {
			k++
		}
		groups = append(groups, order[:k])
		order = order[k:]
	}
	return groups
}

// Embed returns one embedding per text, in order, running texts in groups of similar length
// (LengthGroups). st may be reused across calls (not concurrently).
func (m *Model) Embed(st *bert.State, texts []string, pooling Pooling, normalize bool) ([][]float32, error) {
	if pooling != PoolMean && pooling != PoolCLS && pooling != "" {
		return nil, fmt.Errorf("unknown pooling %q (mean, cls)", pooling)
	}
	H := m.Config.HiddenSize
	flat := make([]float32, len(texts)*H)
	out := make([][]float32, len(texts))
	for _, g := range m.LengthGroups(texts, 0, GroupSize, GroupRows) {
		group := make([]string, len(g))
		for k, i := range g {
			group[k] = texts[i]
		}
		in, _ := m.Tokenize(group, 0)
		// CLS pooling reads each text's first row: the last layer computes only those
		// (bert.Input.FirstOnly), and hidden then has one row per text.
		in.FirstOnly = pooling == PoolCLS
		hidden, err := m.Encoder.Forward(st, in, nil)
		if err != nil {
			return nil, err
		}
		pooled := make([]float32, in.B*H)
		if pooling == PoolCLS {
			bert.CLSPool(pooled, hidden, in.B, len(hidden)/(in.B*H), H)
		} else {
			bert.MeanPool(pooled, hidden, in.AttentionMask, in.B, in.T, H)
		}
		if normalize {
			bert.Normalize(pooled, in.B, H)
		}
		for k, i := range g {
			e := flat[i*H : (i+1)*H : (i+1)*H]
			copy(e, pooled[k*H:(k+1)*H])
			out[i] = e
		}
	}
	return out, nil
}
