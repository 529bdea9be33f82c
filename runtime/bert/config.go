// Package bert is the BERT-family encoder: embeddings, self-attention layers and the pooler,
// with modules and weight names that follow the Hugging Face checkpoint keys
// (transformers/models/bert/modeling_bert.py). There is one forward pass; adapters plug into it
// through Hooks, at the places AdapterHub inserts its modules. RoBERTa, XLM-RoBERTa and
// DistilBERT run the same pass: what differs (checkpoint keys, position ids, token types,
// pooler) is a row of the architecture table (arch.go).
package bert

import (
	"encoding/json"
	"fmt"

	"github.com/adapterwasm/adapterwasm/internal/jsonin"
)

// Config mirrors the fields of a Hugging Face BertConfig (config.json) that the encoder uses.
// RobertaConfig and XLMRobertaConfig have the same fields; a DistilBertConfig's own names (dim,
// n_layers, n_heads, hidden_dim, activation) are read into these by ParseConfig, as its
// attribute_map does.
type Config struct {
	ModelType             string  `json:"model_type"`
	VocabSize             int     `json:"vocab_size"`
	HiddenSize            int     `json:"hidden_size"`
	NumHiddenLayers       int     `json:"num_hidden_layers"`
	NumAttentionHeads     int     `json:"num_attention_heads"`
	IntermediateSize      int     `json:"intermediate_size"`
	HiddenAct             string  `json:"hidden_act"`
	MaxPositionEmbeddings int     `json:"max_position_embeddings"`
	TypeVocabSize         int     `json:"type_vocab_size"`
	LayerNormEps          float64 `json:"layer_norm_eps"`
	PadTokenID            int     `json:"pad_token_id"`
	PositionEmbeddingType string  `json:"position_embedding_type"`
	NameOrPath            string  `json:"_name_or_path"`
	// InitializerRange is the std of the normal init of new weights (_init_weights), which
	// package train gives a new head; 0 when config.json has none (transformers' default: 0.02).
	InitializerRange float64 `json:"initializer_range"`
	// SinusoidalPositions is DistilBertConfig.sinusoidal_pos_embds: the position table is
	// create_sinusoidal_embeddings' (still saved in the checkpoint as a weight).
	SinusoidalPositions bool `json:"sinusoidal_pos_embds"`
}

// distilBertConfig is DistilBertConfig's names for the fields Config holds (its attribute_map:
// hidden_size → dim, num_hidden_layers → n_layers, num_attention_heads → n_heads).
type distilBertConfig struct {
	Dim        *int    `json:"dim"`
	NLayers    *int    `json:"n_layers"`
	NHeads     *int    `json:"n_heads"`
	HiddenDim  *int    `json:"hidden_dim"`
	Activation *string `json:"activation"`
}

// Limits on config values, so that a hostile config.json cannot ask for absurd buffers.
const (
	maxHidden   = 1 << 14
	maxLayers   = 256
	maxVocab    = 1 << 22
	maxPosition = 1 << 16
)

// ConfigError reports an invalid or unsupported config.json. ModelType is the config's
// model_type once it is known: the error names that architecture ("distilbert: config.json:
// dim 0 out of range"), or "encoder" before it is known or when this runtime does not run it.
type ConfigError struct {
	ModelType string
	Reason    string
}

func (e *ConfigError) Error() string {
	name := "encoder"
	if e.ModelType != "" {
		name = archName(e.ModelType)
	}
	return name + ": config.json: " + e.Reason
}

// archName names a model's architecture in errors: its model_type when this runtime runs it,
// "bert" for a config without one (BERT is the default row), else "encoder".
func archName(modelType string) string {
	switch {
	case modelType == "":
		return "bert"
	case archOf(modelType) != nil:
		return modelType
	}
	return "encoder"
}

// distilBertKeys are DistilBertConfig's names of the fields Validate checks
// (configuration_distilbert.py attribute_map), so that its errors name the keys of the file.
var distilBertKeys = map[string]string{"hidden_size": "dim", "num_hidden_layers": "n_layers",
	"num_attention_heads": "n_heads", "intermediate_size": "hidden_dim", "hidden_act": "activation"}

// Key returns the config.json name of a field, as the model's architecture spells it
// (DistilBERT's dim for hidden_size, …; BERT's names otherwise).
func (c *Config) Key(name string) string {
	if c.ModelType == "distilbert" {
		if k, ok := distilBertKeys[name]; ok {
			return k
		}
	}
	return name
}

// ParseConfig decodes and validates config.json.
func ParseConfig(b []byte) (Config, error) {
	c := Config{HiddenAct: "gelu", LayerNormEps: 1e-12, TypeVocabSize: 2, PositionEmbeddingType: "absolute"}
	if err := jsonin.CheckDepth(b, jsonin.MaxDepth); err != nil {
		return Config{}, &ConfigError{Reason: err.Error()}
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return Config{}, &ConfigError{Reason: "invalid JSON: " + jsonin.Describe(err)}
	}
	if c.ModelType == "distilbert" {
		// DistilBertConfig's defaults (configuration_distilbert.py), then its own names; it has
		// no token types and its LayerNorms use eps 1e-12 whatever the file says.
		d := distilBertConfig{}
		if err := json.Unmarshal(b, &d); err != nil {
			return Config{}, &ConfigError{ModelType: c.ModelType, Reason: "invalid JSON: " + jsonin.Describe(err)}
		}
		c.HiddenSize, c.NumHiddenLayers, c.NumAttentionHeads, c.IntermediateSize, c.HiddenAct = 768, 6, 12, 3072, "gelu"
		set := func(dst *int, v *int) {
			if v != nil {
				*dst = *v
			}
		}
		set(&c.HiddenSize, d.Dim)
		set(&c.NumHiddenLayers, d.NLayers)
		set(&c.NumAttentionHeads, d.NHeads)
		set(&c.IntermediateSize, d.HiddenDim)
		if d.Activation != nil {
			c.HiddenAct = *d.Activation
		}
		c.TypeVocabSize, c.LayerNormEps = 0, 1e-12
	}
	return c, c.Validate()
}

// Validate checks that the config describes an encoder this package can run.
func (c Config) Validate() error {
	mt := c.ModelType
	if mt == "" {
		mt = "bert"
	}
	bad := func(f string, a ...any) error { return &ConfigError{ModelType: mt, Reason: fmt.Sprintf(f, a...)} }
	k := c.Key
	a := archOf(c.ModelType)
	if a == nil {
		return bad("unsupported model_type %q (supported: %s)", jsonin.Clip(c.ModelType), supportedModelTypes())
	}
	if c.PositionEmbeddingType != "absolute" && c.PositionEmbeddingType != "" {
		return bad("unsupported position_embedding_type %q", c.PositionEmbeddingType)
	}
	switch {
	case c.HiddenSize <= 0 || c.HiddenSize > maxHidden:
		return bad("%s %d out of range", k("hidden_size"), c.HiddenSize)
	case c.NumHiddenLayers <= 0 || c.NumHiddenLayers > maxLayers:
		return bad("%s %d out of range", k("num_hidden_layers"), c.NumHiddenLayers)
	case c.NumAttentionHeads <= 0 || c.HiddenSize%c.NumAttentionHeads != 0:
		return bad("%s %d does not divide %s %d", k("num_attention_heads"), c.NumAttentionHeads, k("hidden_size"), c.HiddenSize)
	case c.IntermediateSize <= 0 || c.IntermediateSize > 8*maxHidden:
		return bad("%s %d out of range", k("intermediate_size"), c.IntermediateSize)
	case c.VocabSize <= 0 || c.VocabSize > maxVocab:
		return bad("vocab_size %d out of range", c.VocabSize)
	case c.MaxPositionEmbeddings <= 0 || c.MaxPositionEmbeddings > maxPosition:
		return bad("max_position_embeddings %d out of range", c.MaxPositionEmbeddings)
	case a.Layout.TokenType != "" && (c.TypeVocabSize <= 0 || c.TypeVocabSize > 64):
		return bad("type_vocab_size %d out of range", c.TypeVocabSize)
	case a.Positions == PositionsAfterPadding && (c.PadTokenID < 0 || c.PadTokenID+1 >= c.MaxPositionEmbeddings):
		return bad("pad_token_id %d leaves no position of max_position_embeddings %d (positions start at pad_token_id+1)", c.PadTokenID, c.MaxPositionEmbeddings)
	case !(c.LayerNormEps > 0 && c.LayerNormEps < 1):
		return bad("layer_norm_eps %g out of range", c.LayerNormEps)
	}
	return nil
}

// MaxTokens returns the longest sequence the position table can take: max_position_embeddings,
// less pad_token_id+1 for the architectures whose positions start after the padding index
// (RoBERTa's 514 positions take 512 tokens).
func (c *Config) MaxTokens() int {
	if a := archOf(c.ModelType); a != nil && a.Positions == PositionsAfterPadding {
		return c.MaxPositionEmbeddings - c.PadTokenID - 1
	}
	return c.MaxPositionEmbeddings
}
