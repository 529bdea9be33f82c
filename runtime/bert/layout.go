package bert

import (
	"strconv"
	"strings"
)

// Layout says where an encoder's modules live in its checkpoint: the keys of
// BertModel.state_dict() (transformers' models/bert/modeling_bert.py), under which AdapterHub
// registers its modules (encoder.layer.3.attention.self.query.loras.NAME.lora_A). The adapters
// package binds adapter weights through a Layout and spells no encoder key itself, so another
// encoder brings its own row of the architecture table (arch.go) instead of new adapter code:
// DistilBERT's reads Prefix "distilbert.", Layer "transformer.layer.", Sites "attention.q_lin" …
// "ffn.lin2" and Residuals "attention_adapters", "output_adapters" (adapters'
// DistilBertTransfomerBlockAdaptersMixin registers its bottleneck layers as modules of their own,
// beside the LayerNorms, which are Norms "sa_layer_norm", "output_layer_norm").
type Layout struct {
	// Prefix is the base-model prefix (transformers' base_model_prefix and a dot) that keys
	// carry when saved from a class with heads (BertFor*, AdapterHub's BertAdapterModel).
	Prefix string
	// Word, Position and TokenType are the embedding tables' modules ("" when the architecture
	// has none), EmbeddingNorm the embeddings' LayerNorm.
	Word, Position, TokenType, EmbeddingNorm string
	// Layer is the key of encoder layer l without its number: Layer + l names the layer.
	Layer string
	// Sites are the keys of the layer's linears, relative to the layer.
	Sites [NumSites]string
	// Residuals are the keys, relative to the layer, of the modules where AdapterHub registers
	// the bottleneck adapters and fusion layers of the layer's two residual steps (for BERT the
	// residual blocks themselves, which also hold their LayerNorm).
	Residuals [2]string
	// Norms are the keys, relative to the layer, of the LayerNorms of the two residual steps.
	Norms [2]string
	// Pooler is the pooler's linear ("" when the architecture has none; a checkpoint of one that
	// has may still leave it out).
	Pooler string
	// SelfAttention is the key of the layer's self-attention module (where prefix tuning's
	// gates live), relative to the layer.
	SelfAttention string
	// PrefixLocation is the name prefix tuning's pool gives the self-attention's prefix
	// (PrefixTuningLayer's location key: BERT's "self" + "_prefix", DistilBERT's "self").
	PrefixLocation string
}

// bertLayout is BertModel's layout.
var bertLayout = Layout{
	Prefix:         "bert.",
	Word:           "embeddings.word_embeddings",
	Position:       "embeddings.position_embeddings",
	TokenType:      "embeddings.token_type_embeddings",
	EmbeddingNorm:  "embeddings.LayerNorm",
	Layer:          "encoder.layer.",
	Sites:          siteNames,
	Residuals:      [2]string{ResidualAttention: "attention.output", ResidualOutput: "output"},
	Norms:          [2]string{ResidualAttention: "attention.output.LayerNorm", ResidualOutput: "output.LayerNorm"},
	Pooler:         "pooler.dense",
	SelfAttention:  "attention.self",
	PrefixLocation: "self_prefix",
}

// Layout returns where the model's modules live in its checkpoint.
func (m *Model) Layout() *Layout { return &m.Arch().Layout }

// TrimPrefix returns key without the base-model prefix, if it has it.
func (k *Layout) TrimPrefix(key string) string { return strings.TrimPrefix(key, k.Prefix) }

// LayerKey returns the key of layer l ("encoder.layer.3").
func (k *Layout) LayerKey(l int) string { return k.Layer + strconv.Itoa(l) }

// SiteKey returns the key of linear s of layer l ("encoder.layer.3.attention.self.query").
func (k *Layout) SiteKey(l int, s Site) string { return k.LayerKey(l) + "." + k.Sites[s] }

// ResidualKey returns the key of residual block r of layer l ("encoder.layer.3.attention.output").
func (k *Layout) ResidualKey(l int, r Residual) string {
	return k.LayerKey(l) + "." + k.Residuals[r]
}

// NormKey returns the key of the LayerNorm of residual step r of layer l
// ("encoder.layer.3.attention.output.LayerNorm").
func (k *Layout) NormKey(l int, r Residual) string { return k.LayerKey(l) + "." + k.Norms[r] }

// SelfAttentionKey returns the key of layer l's self-attention ("encoder.layer.3.attention.self").
func (k *Layout) SelfAttentionKey(l int) string { return k.LayerKey(l) + "." + k.SelfAttention }
