package bert

import (
	"math"
	"strings"
)

// PositionScheme is how an architecture numbers the positions of a sequence's tokens.
type PositionScheme uint8

const (
	// PositionsFromZero: token t has position t (BertEmbeddings, DistilBERT's Embeddings).
	PositionsFromZero PositionScheme = iota
	// PositionsAfterPadding: transformers' create_position_ids_from_input_ids
	// (models/roberta/modeling_roberta.py): a token equal to pad_token_id has position
	// pad_token_id, every other token pad_token_id+1 plus the number of non-padding tokens
	// before it in its sequence. Padding is read from the ids, not the attention mask.
	PositionsAfterPadding
)

// Arch is one row of the architecture table: everything about an encoder of the BERT family
// that is not its config's numbers. Adding an architecture of the same graph means adding a row
// here (and its config names to ParseConfig if they differ); adapters/ needs no change.
type Arch struct {
	// ModelTypes are the config.json model_type values of the architecture.
	ModelTypes []string
	// Layout is where its modules live in the checkpoint.
	Layout Layout
	// Positions is how position ids are numbered.
	Positions PositionScheme
	// AdapterModels are the adapters library's flex-head model classes of ModelTypes, index by
	// index (adapters/models/*/adapter_model.py): the model_class save_adapter and save_head
	// write in the configs of an adapter saved from that base.
	AdapterModels []string
}

// archs is the architecture table. Keys follow each model's state_dict in transformers 4.57
// (models/{bert,roberta,xlm_roberta,distilbert}/modeling_*.py) and the modules the adapters
// library registers in them (adapters/models/bert/mixin_bert.py, which RoBERTa and XLM-R reuse,
// and adapters/models/distilbert/mixin_distilbert.py).
var archs = []*Arch{
	{ModelTypes: []string{"bert", ""}, Layout: bertLayout, Positions: PositionsFromZero,
		AdapterModels: []string{"BertAdapterModel", "BertAdapterModel"}},
	{ModelTypes: []string{"roberta", "xlm-roberta"}, Layout: robertaLayout, Positions: PositionsAfterPadding,
		AdapterModels: []string{"RobertaAdapterModel", "XLMRobertaAdapterModel"}},
	{ModelTypes: []string{"distilbert"}, Layout: distilBertLayout, Positions: PositionsFromZero,
		AdapterModels: []string{"DistilBertAdapterModel"}},
}

// robertaLayout is RobertaModel's and XLMRobertaModel's: BERT's modules under base_model_prefix
// "roberta" (RobertaAdapterModel and XLMRobertaAdapterModel save "roberta." too).
var robertaLayout = func() Layout {
	k := bertLayout
	k.Prefix = "roberta."
	return k
}()

// distilBertLayout is DistilBertModel's: TransformerBlock's attention.{q,k,v,out}_lin,
// sa_layer_norm, ffn.lin1/lin2 and output_layer_norm; no token types, no pooler. The adapters
// library's DistilBertTransfomerBlockAdaptersMixin registers the bottleneck layers as modules of
// the block (attention_adapters, output_adapters) beside the LayerNorms they are handed, and its
// prefix tuning in the attention module itself, at location "self" (BERT's: "self_prefix").
var distilBertLayout = Layout{
	Prefix:        "distilbert.",
	Word:          "embeddings.word_embeddings",
	Position:      "embeddings.position_embeddings",
	EmbeddingNorm: "embeddings.LayerNorm",
	Layer:         "transformer.layer.",
	Sites: [NumSites]string{"attention.q_lin", "attention.k_lin", "attention.v_lin",
		"attention.out_lin", "ffn.lin1", "ffn.lin2"},
	Residuals:      [2]string{ResidualAttention: "attention_adapters", ResidualOutput: "output_adapters"},
	Norms:          [2]string{ResidualAttention: "sa_layer_norm", ResidualOutput: "output_layer_norm"},
	SelfAttention:  "attention",
	PrefixLocation: "self",
}

// archOf returns the table row of a model_type, or nil.
func archOf(modelType string) *Arch {
	for _, a := range archs {
		for _, t := range a.ModelTypes {
			if t == modelType {
				return a
			}
		}
	}
	return nil
}

func supportedModelTypes() string {
	return strings.Join(ModelTypes(), ", ")
}

// ModelTypes returns the config.json model_type values this runtime runs, in the table's order.
func ModelTypes() []string {
	var out []string
	for _, a := range archs {
		for _, t := range a.ModelTypes {
			if t != "" {
				out = append(out, t)
			}
		}
	}
	return out
}

// nameModelTypes maps the leading word of a base model's name to its model_type, for listings
// that give an adapter's model_name (e.g. "bert-base-uncased", "FacebookAI/xlm-roberta-base")
// but not its model_type (AdapterHub's all.json, the hub's model API). Longer prefixes first.
var nameModelTypes = []struct{ prefix, modelType string }{
	{"xlm-roberta", "xlm-roberta"},
	{"distilroberta", "roberta"},
	{"roberta", "roberta"},
	{"distilbert", "distilbert"},
	{"bert", "bert"},
}

// ModelTypeOfName returns the model_type of the architecture this runtime runs that a base
// model's name says, "" when it says none: the name's last path segment (lower-cased) is one
// of bert, roberta, distilroberta, xlm-roberta, distilbert, alone or followed by "-" or "_"
// (bert-base-uncased, roberta-large, distilbert-base-multilingual-cased). A name such as
// sentence-transformers/all-MiniLM-L6-v2 (a BERT) says nothing: its adapters are told by the
// model_type their adapter_config.json records.
func ModelTypeOfName(name string) string {
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	name = strings.ToLower(name)
	for _, p := range nameModelTypes {
		rest, ok := strings.CutPrefix(name, p.prefix)
		if ok && (rest == "" || rest[0] == '-' || rest[0] == '_') {
			return p.modelType
		}
	}
	return ""
}

// Runs reports whether this runtime runs the model_type.
func Runs(modelType string) bool {
	return modelType != "" && archOf(modelType) != nil
}

// Arch returns the model's row of the architecture table (BERT's for a Config built by hand
// without model_type).
func (m *Model) Arch() *Arch {
	if a := archOf(m.Config.ModelType); a != nil {
		return a
	}
	return archs[0]
}

// AdapterModelClass returns the adapters library's flex-head model class for the model's
// model_type (BertAdapterModel, RobertaAdapterModel, XLMRobertaAdapterModel,
// DistilBertAdapterModel): the model_class an adapter saved from it carries.
func (m *Model) AdapterModelClass() string {
	a := m.Arch()
	for i, t := range a.ModelTypes {
		if t == m.Config.ModelType {
			return a.AdapterModels[i]
		}
	}
	return a.AdapterModels[0]
}

// positionIDs writes the position ids of one sequence of ids into pos.
func (a *Arch) positionIDs(pos, ids []int32, pad int32) {
	if a.Positions == PositionsFromZero {
		for t := range pos {
			pos[t] = int32(t)
		}
		return
	}
	n := pad
	for t, id := range ids {
		if id == pad {
			pos[t] = pad
			continue
		}
		n++
		pos[t] = n
	}
}

// sinusoidalPositions is transformers' _create_sinusoidal_embeddings (modeling_distilbert.py):
// row p, column j is sin (j even) or cos (j odd) of p / 10000^(2⌊j/2⌋/dim), computed in float64
// as numpy does and rounded to float32.
func sinusoidalPositions(n, dim int) []float32 {
	out := make([]float32, n*dim)
	for p := 0; p < n; p++ {
		for j := 0; j < dim; j++ {
			x := float64(p) / math.Pow(10000, float64(2*(j/2))/float64(dim))
			if j%2 == 0 {
				out[p*dim+j] = float32(math.Sin(x))
			} else {
				out[p*dim+j] = float32(math.Cos(x))
			}
		}
	}
	return out
}
