package bert

// Site names a linear layer of an encoder layer that AdapterHub may wrap (LoRA, IA3, …),
// after the checkpoint key it lives under.
type Site uint8

const (
	SiteQuery           Site = iota // attention.self.query
	SiteKey                         // attention.self.key
	SiteValue                       // attention.self.value
	SiteAttentionOutput             // attention.output.dense
	SiteIntermediate                // intermediate.dense (before the activation)
	SiteOutput                      // output.dense
	NumSites
)

var siteNames = [NumSites]string{"attention.self.query", "attention.self.key", "attention.self.value",
	"attention.output.dense", "intermediate.dense", "output.dense"}

func (s Site) String() string {
	if int(s) < len(siteNames) {
		return siteNames[s]
	}
	return "site?"
}

// Dims returns the input and output width of linear s in a layer of a model with config c
// (the [out, in] of its weight): hidden→hidden for attention, hidden→intermediate for the
// FFN's first linear, intermediate→hidden for its second.
func (s Site) Dims(c *Config) (in, out int) {
	switch s {
	case SiteIntermediate:
		return c.HiddenSize, c.IntermediateSize
	case SiteOutput:
		return c.IntermediateSize, c.HiddenSize
	}
	return c.HiddenSize, c.HiddenSize
}

// Linear returns the linear of the layer at site s, or nil for a Site out of range.
func (L *Layer) Linear(s Site) *Linear {
	switch s {
	case SiteQuery:
		return &L.Query
	case SiteKey:
		return &L.Key
	case SiteValue:
		return &L.Value
	case SiteAttentionOutput:
		return &L.AttentionOutput
	case SiteIntermediate:
		return &L.Intermediate
	case SiteOutput:
		return &L.Output
	}
	return nil
}

// Residual names the two "LayerNorm(dense(x) + input)" steps of a layer, where AdapterHub's
// bottleneck adapters sit: BertSelfOutput (after attention) and BertOutput (after the FFN).
type Residual uint8

const (
	ResidualAttention Residual = iota // attention.output: LN(dense(context) + layer input)
	ResidualOutput                    // output: LN(dense(intermediate) + attention output)
)

func (r Residual) String() string {
	if r == ResidualAttention {
		return "attention.output"
	}
	return "output"
}

// Batch describes the padded batch a forward pass runs on: B sequences of T tokens, and the
// attention mask (B*T, 1 = real token). Row r of an activation belongs to sequence r / T.
type Batch struct {
	B, T int
	Mask []int32
}

// Rows returns B*T.
func (b Batch) Rows() int { return b.B * b.T }

// Hooks are the places where adapters plug into the forward pass without forking it
// (AdapterHub's `bottleneck_layer_forward`, `LoRALinear` and `PrefixTuningLayer`).
// A nil Hooks runs the plain model. Hook methods run synchronously inside Forward and must not
// retain the slices they are given.
type Hooks interface {
	// Linear is called after linear `site` of layer l computed out[Rows, outDim] = x[Rows, inDim]·Wᵀ + b;
	// it may change out in place (LoRA adds a low-rank delta, IA3 rescales).
	Linear(l int, site Site, x, out []float32, b Batch)
	// Residual may replace the step dst = ln(h + residual), where h is the dense sublayer output
	// (after dropout, which is the identity in inference) and residual the sublayer input.
	// It returns false to let the encoder run the plain step.
	Residual(l int, r Residual, h, residual []float32, ln *LayerNorm, dst []float32, b Batch) bool
	// Prefix returns n extra key and value vectors per sequence that self-attention in layer l
	// prepends to the projected keys and values and always attends to (prefix tuning).
	// x is the layer's input [Rows, hidden] (prefix gates read it). keys and values are
	// [B, n, hidden]; n = 0 means none.
	Prefix(l int, x []float32, b Batch) (n int, keys, values []float32)
	// Layer is called with the output h [Rows, hidden] of layer l (after its output LayerNorm
	// and any adapter there); it may change h in place (ReFT interventions).
	Layer(l int, h []float32, b Batch)
	// Prompt returns n prompt vectors [n, hidden] that join every sequence after the embeddings
	// (prompt tuning): before the first token, or after it when afterFirst. The encoder then
	// runs on T+n positions, the prompt ones always attended, and returns B*(T+n) rows; every
	// later hook sees that Batch. n = 0 means none.
	Prompt(b Batch) (n int, prompt []float32, afterFirst bool)
	// Embedded may change the embedding output h [B*T, hidden] (after the embeddings' LayerNorm,
	// before any prompt joins) in place: the invertible adapters of MAD-X. b is the token batch.
	Embedded(h []float32, b Batch)
}
