package bert

import (
	"fmt"
	"math"

	"github.com/adapterwasm/adapterwasm/runtime/kernels"
)

// Linear is nn.Linear: y = x·Wᵀ + B, with W [out, in] in any kernels.Matrix format.
type Linear struct {
	W kernels.Matrix
	B []float32 // [out], may be nil
}

// Forward computes dst[rows, out] = x[rows, in]·Wᵀ + B (with the Wasm SIMD kernels when they
// are in use: kernels.MulTBias, whose integer kernels add B as they finish each tile).
func (l *Linear) Forward(dst, x []float32, rows int) {
	kernels.MulTBias(dst, l.W, x, rows, l.B)
}

// LayerNorm is nn.LayerNorm over the last dimension.
type LayerNorm struct {
	Weight, Bias []float32 // [hidden]
	Eps          float32
}

// Forward normalizes each row of x[rows, hidden] into dst (which may alias x).
func (ln *LayerNorm) Forward(dst, x []float32, rows int) {
	kernels.LayerNormRows(dst, x, rows, ln.Weight, ln.Bias, ln.Eps)
}

// Embeddings is BertEmbeddings: word + absolute position + token type, then LayerNorm
// (RobertaEmbeddings numbers positions after the padding index; DistilBERT's Embeddings have no
// token types).
type Embeddings struct {
	Word      kernels.Rows // word_embeddings.weight [vocab, hidden], in any storage (F32, F16, Q8)
	Position  []float32    // position_embeddings.weight [max_position, hidden]
	TokenType []float32    // token_type_embeddings.weight [type_vocab, hidden]; nil: none
	LayerNorm LayerNorm    // LayerNorm
}

// Layer is one BertLayer: self-attention, its output block, the FFN and its output block.
type Layer struct {
	Query, Key, Value Linear    // attention.self.{query,key,value}        [hidden, hidden]
	AttentionOutput   Linear    // attention.output.dense                  [hidden, hidden]
	AttentionNorm     LayerNorm // attention.output.LayerNorm
	Intermediate      Linear    // intermediate.dense                      [intermediate, hidden]
	Output            Linear    // output.dense                            [hidden, intermediate]
	OutputNorm        LayerNorm // output.LayerNorm
}

// Model is BertModel: embeddings, encoder layers and the (optional) pooler.
type Model struct {
	Config     Config
	Embeddings Embeddings
	Layers     []Layer
	Pooler     *Linear // pooler.dense [hidden, hidden], nil when the checkpoint has none
	act        kernels.Activation
}

// Input is a padded batch of token ids: B sequences of T tokens, row-major.
type Input struct {
	B, T          int
	IDs           []int32 // [B*T]
	TypeIDs       []int32 // [B*T], nil = all zero
	AttentionMask []int32 // [B*T], nil = all ones
	// FirstOnly says the caller reads only the first row of each sequence of the output (a
	// classification head's [CLS]). The last layer then computes its keys and values for every
	// token but its queries, attention output, FFN and adapters for those rows only, and Forward
	// returns [B, hidden]: the same float32s in those rows for a seventh fewer multiply-adds in
	// MiniLM-L6 (10 of a layer's 12 per token and hidden², once per sequence instead of per
	// token, in the last of 6 layers). It is not honored (Forward returns every row) with KeepHiddenStates or when
	// hooks do not say the last layer treats each row on its own (RowLocal).
	FirstOnly bool
}

// RowLocal may be implemented by Hooks: RowLocal(l) reports whether every hook of layer l after
// self-attention (Linear at any site, Residual, Layer) computes each row from that row alone,
// whatever its position: no statistic over a sequence's tokens (gates), no token ranges
// (Split), no positions (ReFT). Hooks without it are taken not to be; Input.FirstOnly needs it.
type RowLocal interface {
	RowLocal(l int) bool
}

// InputError reports token ids or shapes the model cannot take, naming the model's
// architecture ("xlm-roberta: input: …").
type InputError struct {
	ModelType string
	Reason    string
}

func (e *InputError) Error() string { return archName(e.ModelType) + ": input: " + e.Reason }

// State holds every scratch buffer of a forward pass, so that repeated calls allocate nothing
// once the largest batch has been seen. A State is not safe for concurrent use.
type State struct {
	// KeepHiddenStates makes Forward copy the output of the embeddings and of every layer into
	// HiddenStates (as Hugging Face's output_hidden_states); off by default: it allocates.
	KeepHiddenStates bool
	HiddenStates     [][]float32

	rows, kvRows                  int
	hidden, attnOut, tmp, q, k, v []float32
	ctx, inter                    []float32
	qkvDst                        [3][]float32      // MulTShared's arguments, kept here so that
	qkvW                          [3]kernels.Matrix // building them allocates nothing
	qkvB                          [3][]float32
	kFull, vFull, scores, maskAdd []float32
	bias                          []float32 // one sequence's additive mask over the kv positions
	pooled                        []float32
	ones                          []int32
	pos                           []int32 // one sequence's position ids
	promptMask                    []int32 // the attention mask with the prompt positions
	// the last layer's rows under Input.FirstOnly: its input, queries, context, attention
	// output and output [B, hidden], and the first tokens' mask
	x1, q1, ctx1, attn1, out1 []float32
	mask1                     []int32
}

func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

func (st *State) reserve(c *Config, rows int) {
	h, i := c.HiddenSize, c.IntermediateSize
	st.rows = rows
	st.hidden = grow(st.hidden, rows*h)
	st.attnOut = grow(st.attnOut, rows*h)
	st.tmp = grow(st.tmp, rows*h)
	st.q = grow(st.q, rows*h)
	st.k = grow(st.k, rows*h)
	st.v = grow(st.v, rows*h)
	st.ctx = grow(st.ctx, rows*h)
	st.inter = grow(st.inter, rows*i)
	st.maskAdd = grow(st.maskAdd, rows)
}

// Forward runs the encoder on a batch and returns the last hidden state [B*T, hidden] (with
// prompt tuning, [B*(T+n), hidden]: see Hooks.Prompt), or only the first row of each sequence
// [B, hidden] when in.FirstOnly is honored (the length tells which). The returned slice belongs to
// st and is overwritten by the next call. hooks may be nil.
func (m *Model) Forward(st *State, in Input, hooks Hooks) ([]float32, error) {
	c := &m.Config
	H := c.HiddenSize
	if err := m.checkInput(in); err != nil {
		return nil, err
	}
	b := Batch{B: in.B, T: in.T, Mask: in.AttentionMask}
	if b.Mask == nil {
		b.Mask = st.onesMask(in.B * in.T)
	}
	tok := b // the token batch, before any prompt joins
	np, prompt, afterFirst := 0, []float32(nil), false
	if hooks != nil {
		np, prompt, afterFirst = hooks.Prompt(b)
	}
	if np > 0 {
		// The prompt positions are attended: the mask gains np ones in front of each sequence
		// (utils.prefix_attention_mask prepends them even for prefix_after_bos, where the first
		// token, always attended, takes one of them).
		T := in.T + np
		if cap(st.promptMask) < in.B*T {
			st.promptMask = make([]int32, in.B*T)
		}
		st.promptMask = st.promptMask[:in.B*T]
		for s := 0; s < in.B; s++ {
			for t := 0; t < np; t++ {
				st.promptMask[s*T+t] = 1
			}
			copy(st.promptMask[s*T+np:(s+1)*T], b.Mask[s*in.T:(s+1)*in.T])
		}
		b = Batch{B: in.B, T: T, Mask: st.promptMask}
	}
	rows := b.B * b.T
	st.reserve(c, rows)
	// Padding mask as the additive bias Hugging Face builds: 0 for real tokens, float32 min for
	// padding (modeling_attn_mask_utils / get_extended_attention_mask).
	for r, mv := range b.Mask {
		if mv != 0 {
			st.maskAdd[r] = 0
		} else {
			st.maskAdd[r] = -math.MaxFloat32
		}
	}
	if np == 0 {
		m.embed(st, st.hidden, in)
		if hooks != nil {
			hooks.Embedded(st.hidden[:rows*H], b)
		}
	} else {
		// Embed the tokens into scratch, then lay out each sequence as [prompt, tokens] or
		// [first token, prompt, the other tokens].
		m.embed(st, st.attnOut, in)
		hooks.Embedded(st.attnOut[:in.B*in.T*H], tok)
		T := b.T
		for s := 0; s < in.B; s++ {
			src := st.attnOut[s*in.T*H : (s+1)*in.T*H]
			dst := st.hidden[s*T*H : (s+1)*T*H]
			if afterFirst {
				copy(dst[:H], src[:H])
				copy(dst[H:(1+np)*H], prompt)
				copy(dst[(1+np)*H:], src[H:])
			} else {
				copy(dst[:np*H], prompt)
				copy(dst[np*H:], src)
			}
		}
	}
	st.HiddenStates = st.HiddenStates[:0]
	st.keep(st.hidden)
	last := len(m.Layers) - 1
	first := in.FirstOnly && !st.KeepHiddenStates && b.T > 1 && last >= 0 && rowLocal(hooks, last)
	for l := range m.Layers {
		if first && l == last {
			b1 := m.layerFirst(st, l, b, hooks)
			if hooks != nil {
				hooks.Layer(l, st.out1, b1)
			}
			return st.out1, nil
		}
		m.layer(st, l, b, hooks)
		if hooks != nil {
			hooks.Layer(l, st.hidden[:rows*H], b)
		}
		st.keep(st.hidden)
	}
	return st.hidden[:rows*H], nil
}

func (st *State) onesMask(n int) []int32 {
	if cap(st.ones) < n {
		st.ones = make([]int32, n)
	}
	st.ones = st.ones[:n]
	for i := range st.ones {
		st.ones[i] = 1
	}
	return st.ones
}

func (st *State) keep(h []float32) {
	if st.KeepHiddenStates {
		st.HiddenStates = append(st.HiddenStates, append([]float32(nil), h...))
	}
}

func (m *Model) checkInput(in Input) error {
	c := &m.Config
	n := in.B * in.T
	switch {
	case in.B <= 0 || in.T <= 0:
		return &InputError{ModelType: c.ModelType, Reason: fmt.Sprintf("empty batch (B=%d, T=%d)", in.B, in.T)}
	case in.T > c.MaxTokens():
		return &InputError{ModelType: c.ModelType, Reason: fmt.Sprintf("sequence length %d exceeds the %d tokens max_position_embeddings %d allows", in.T, c.MaxTokens(), c.MaxPositionEmbeddings)}
	case len(in.IDs) != n:
		return &InputError{ModelType: c.ModelType, Reason: fmt.Sprintf("len(IDs)=%d, want B*T=%d", len(in.IDs), n)}
	case in.TypeIDs != nil && len(in.TypeIDs) != n:
		return &InputError{ModelType: c.ModelType, Reason: fmt.Sprintf("len(TypeIDs)=%d, want %d", len(in.TypeIDs), n)}
	case in.AttentionMask != nil && len(in.AttentionMask) != n:
		return &InputError{ModelType: c.ModelType, Reason: fmt.Sprintf("len(AttentionMask)=%d, want %d", len(in.AttentionMask), n)}
	}
	for _, id := range in.IDs {
		if id < 0 || int(id) >= c.VocabSize {
			return &InputError{ModelType: c.ModelType, Reason: fmt.Sprintf("token id %d outside vocabulary [0,%d)", id, c.VocabSize)}
		}
	}
	if m.Embeddings.TokenType == nil {
		return nil // DistilBERT takes no token types: they are ignored, as its forward does
	}
	for _, t := range in.TypeIDs {
		if t < 0 || int(t) >= c.TypeVocabSize {
			return &InputError{ModelType: c.ModelType, Reason: fmt.Sprintf("token type id %d outside [0,%d)", t, c.TypeVocabSize)}
		}
	}
	return nil
}

// embed writes LayerNorm(word[id] + position[pos] + token_type[type]) for every token into dst,
// with the architecture's position ids (Arch.Positions) and without the token-type term where
// it has no table.
func (m *Model) embed(st *State, dst []float32, in Input) {
	H := m.Config.HiddenSize
	e := &m.Embeddings
	a := m.Arch()
	if cap(st.pos) < in.T {
		st.pos = make([]int32, in.T)
	}
	pos := st.pos[:in.T]
	T := in.T
	for bi := 0; bi < in.B; bi++ {
		a.positionIDs(pos, in.IDs[bi*T:(bi+1)*T], int32(m.Config.PadTokenID))
		seq := dst[bi*T*H : (bi+1)*T*H]
		for t := 0; t < T; t++ {
			e.Word.Row(seq[t*H:(t+1)*H], int(in.IDs[bi*T+t]))
		}
		// word + position + token type, summed in that order by kernels calls over runs of rows:
		// the positions of a sequence at once unless padding breaks their run, then each run of
		// one token type (add_bias)
		if p0 := int(pos[0]); consecutive(pos) {
			kernels.Add(seq, seq, e.Position[p0*H:(p0+T)*H])
		} else {
			for t, p := range pos {
				kernels.Add(seq[t*H:(t+1)*H], seq[t*H:(t+1)*H], e.Position[int(p)*H:(int(p)+1)*H])
			}
		}
		if e.TokenType == nil {
			continue
		}
		var types []int32 // nil: all 0
		if in.TypeIDs != nil {
			types = in.TypeIDs[bi*T : (bi+1)*T]
		}
		for t := 0; t < T; {
			tt, u := 0, T
			if types != nil {
				tt, u = int(types[t]), t+1
				for u < T && types[u] == types[t] {
					u++
				}
			}
			kernels.AddBiasRows(seq[t*H:u*H], u-t, e.TokenType[tt*H:(tt+1)*H])
			t = u
		}
	}
	e.LayerNorm.Forward(dst, dst, in.B*in.T)
}

// consecutive reports whether pos counts up by one.
func consecutive(pos []int32) bool {
	for t := 1; t < len(pos); t++ {
		if pos[t] != pos[0]+int32(t) {
			return false
		}
	}
	return true
}

// layer runs BertLayer l in place on st.hidden.
func (m *Model) layer(st *State, l int, b Batch, hooks Hooks) {
	L := &m.Layers[l]
	rows := b.Rows()
	x := st.hidden

	// BertSelfAttention: q, k, v projections (hooked), scaled dot-product attention.
	st.projectQKV(L, x, rows, true)
	if hooks != nil {
		hooks.Linear(l, SiteQuery, x, st.q, b)
		hooks.Linear(l, SiteKey, x, st.k, b)
		hooks.Linear(l, SiteValue, x, st.v, b)
	}
	m.attentionRows(st, l, b, hooks, st.q, st.ctx, b.T)
	m.afterAttention(st, l, st.ctx, x, st.attnOut, st.hidden, b, hooks)
}

// afterAttention runs the rest of layer l on the b.Rows() rows of the attention context ctx:
// BertSelfOutput (dense, then residual + LayerNorm with the layer input x, where attention-position
// adapters sit) into attnOut, then BertIntermediate + BertOutput (the FFN, then residual +
// LayerNorm, output adapters) into dst.
func (m *Model) afterAttention(st *State, l int, ctx, x, attnOut, dst []float32, b Batch, hooks Hooks) {
	L := &m.Layers[l]
	rows := b.Rows()
	tmp, inter := st.tmp[:rows*m.Config.HiddenSize], st.inter[:rows*m.Config.IntermediateSize]
	L.AttentionOutput.Forward(tmp, ctx, rows)
	if hooks != nil {
		hooks.Linear(l, SiteAttentionOutput, ctx, tmp, b)
	}
	m.residual(l, ResidualAttention, tmp, x, &L.AttentionNorm, attnOut, b, hooks)
	L.Intermediate.Forward(inter, attnOut, rows)
	if hooks != nil {
		hooks.Linear(l, SiteIntermediate, attnOut, inter, b)
	}
	kernels.Activate(m.Config.HiddenAct, m.act, inter)
	L.Output.Forward(tmp, inter, rows)
	if hooks != nil {
		hooks.Linear(l, SiteOutput, inter, tmp, b)
	}
	m.residual(l, ResidualOutput, tmp, attnOut, &L.OutputNorm, dst, b, hooks)
}

// rowLocal reports whether the hooks of layer l after self-attention are row-local (RowLocal);
// nil hooks are.
func rowLocal(hooks Hooks, l int) bool {
	if hooks == nil {
		return true
	}
	r, ok := hooks.(RowLocal)
	return ok && r.RowLocal(l)
}

// layerFirst runs layer l as layer does, but after the keys and values of every token only for
// the first row of each sequence (Input.FirstOnly), into st.out1 [B, hidden]; it returns the
// Batch the hooks saw for those rows (B sequences of one token, each with its first token's mask).
// Every product and norm computes a row from that row alone, so those rows get layer's float32s.
func (m *Model) layerFirst(st *State, l int, b Batch, hooks Hooks) Batch {
	L := &m.Layers[l]
	H := m.Config.HiddenSize
	B, T, rows := b.B, b.T, b.Rows()
	x := st.hidden
	st.x1 = grow(st.x1, B*H)
	st.q1 = grow(st.q1, B*H)
	st.ctx1 = grow(st.ctx1, B*H)
	st.attn1 = grow(st.attn1, B*H)
	st.out1 = grow(st.out1, B*H)
	if cap(st.mask1) < B {
		st.mask1 = make([]int32, B)
	}
	st.mask1 = st.mask1[:B]
	for s := 0; s < B; s++ {
		copy(st.x1[s*H:(s+1)*H], x[s*T*H:])
		st.mask1[s] = b.Mask[s*T]
	}
	b1 := Batch{B: B, T: 1, Mask: st.mask1}

	// keys and values of every token (one quantization of x for both), queries of the first rows
	st.projectQKV(L, x, rows, false)
	L.Query.Forward(st.q1, st.x1, B)
	if hooks != nil {
		hooks.Linear(l, SiteQuery, st.x1, st.q1, b1)
		hooks.Linear(l, SiteKey, x, st.k, b)
		hooks.Linear(l, SiteValue, x, st.v, b)
	}
	m.attentionRows(st, l, b, hooks, st.q1, st.ctx1, 1)
	m.afterAttention(st, l, st.ctx1, st.x1, st.attn1, st.out1, b1, hooks)
	return b1
}

// projectQKV computes the query (if query), key and value projections of x into st.q, st.k,
// st.v with one kernels.MulTShared call (biases included): with the integer SIMD kernel, x is
// quantized once for them all.
func (st *State) projectQKV(L *Layer, x []float32, rows int, query bool) {
	st.qkvDst = [3][]float32{st.q, st.k, st.v}
	st.qkvW = [3]kernels.Matrix{L.Query.W, L.Key.W, L.Value.W}
	i0 := 0
	if !query {
		i0 = 1
	}
	_, in := L.Key.W.Dims()
	st.qkvB = [3][]float32{L.Query.B, L.Key.B, L.Value.B}
	kernels.MulTShared(st.qkvDst[i0:], st.qkvW[i0:], st.qkvB[i0:], x, rows, in)
	clear(st.qkvW[:]) // do not keep the model's matrices alive through a State
	clear(st.qkvB[:])
}

// residual writes ln(h + res) into dst unless a hook takes the step over. dst may alias res.
func (m *Model) residual(l int, r Residual, h, res []float32, ln *LayerNorm, dst []float32, b Batch, hooks Hooks) {
	if hooks != nil && hooks.Residual(l, r, h, res, ln, dst, b) {
		return
	}
	rows := b.Rows()
	kernels.Add(dst[:len(h)], h, res)
	ln.Forward(dst, dst, rows)
}

// attentionRows computes softmax(q·kᵀ/√d + mask)·v per sequence and head into ctx for the tq
// query rows per sequence of q (all T, or the first under Input.FirstOnly), with the
// prefix keys/values of prefix tuning prepended when a hook supplies them. Both products are
// kernels calls on strided head slices (the Wasm SIMD kernels when in use): scores [T, kv] =
// q_h·k_hᵀ (GemmNT), the row softmax, then ctx_h = P·v_h (GemmNN, v_h read in place).
func (m *Model) attentionRows(st *State, l int, b Batch, hooks Hooks, q, ctx []float32, tq int) {
	c := &m.Config
	H, nh := c.HiddenSize, c.NumAttentionHeads
	d := H / nh
	scale := float32(1 / math.Sqrt(float64(d)))
	T := b.T

	np := 0
	var pk, pv []float32
	if hooks != nil {
		np, pk, pv = hooks.Prefix(l, st.hidden[:b.Rows()*H], b)
	}
	kv := np + T
	keys, vals := st.k, st.v
	if np > 0 {
		st.kFull = grow(st.kFull, b.B*kv*H)
		st.vFull = grow(st.vFull, b.B*kv*H)
		for bi := 0; bi < b.B; bi++ {
			copy(st.kFull[bi*kv*H:], pk[bi*np*H:(bi+1)*np*H])
			copy(st.kFull[(bi*kv+np)*H:], st.k[bi*T*H:(bi+1)*T*H])
			copy(st.vFull[bi*kv*H:], pv[bi*np*H:(bi+1)*np*H])
			copy(st.vFull[(bi*kv+np)*H:], st.v[bi*T*H:(bi+1)*T*H])
		}
		keys, vals = st.kFull, st.vFull
	}
	kvp := (kv + 3) &^ 3
	st.scores = grow(st.scores, kernels.AttentionScratch(tq, kv, H, d)) // AttentionRef's scores and transposed keys
	st.bias = grow(st.bias, b.B*kvp)
	for bi := 0; bi < b.B; bi++ {
		// the mask bias over [prefix, tokens] (prefix positions are always attended)
		bb := st.bias[bi*kvp : (bi+1)*kvp]
		clear(bb[:np])
		copy(bb[np:kv], st.maskAdd[bi*T:(bi+1)*T])
		clear(bb[kv:])
	}
	// per sequence and head: scores = q_h·k_hᵀ (row stride kvp), their row softmax, then
	// ctx_h = P·v_h with v_h's columns read in place
	kernels.Attention(ctx, q, keys, vals, H, b.B, tq, kv, d, nh, scale, st.bias, st.scores)
}

// Pool runs the pooler (tanh(dense(h[CLS]))) on the first token of each sequence of a hidden
// state [B*T, hidden] and returns [B, hidden] (owned by st). It returns nil if the model has no pooler.
func (m *Model) Pool(st *State, hidden []float32, B, T int) []float32 {
	if m.Pooler == nil {
		return nil
	}
	H := m.Config.HiddenSize
	st.pooled = grow(st.pooled, 2*B*H)
	cls, out := st.pooled[:B*H], st.pooled[B*H:]
	for bi := 0; bi < B; bi++ {
		copy(cls[bi*H:(bi+1)*H], hidden[bi*T*H:bi*T*H+H])
	}
	m.Pooler.Forward(out, cls, B)
	kernels.Tanh(out)
	return out
}
