// Package bert is the BERT-family encoder: embeddings, self-attention layers and the pooler,
// with modules and weight names that follow the Hugging Face checkpoint keys
// (transformers/models/bert/modeling_bert.py). There is one forward pass; adapters plug into it
// through Hooks, at the places AdapterHub inserts its modules.
package bert

import (
	"encoding/json"
	"fmt"

	"github.com/adapterwasm/adapterwasm/internal/jsonin"
)

// Config mirrors the fields of a Hugging Face BertConfig (config.json) that the encoder uses.
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
}

// Limits on config values, so that a hostile config.json cannot ask for absurd buffers.
const (
	maxHidden   = 1 << 14
	maxLayers   = 256
	maxVocab    = 1 << 22
	maxPosition = 1 << 16
)

// ConfigError reports an invalid or unsupported config.json.
type ConfigError struct{ Reason string }

func (e *ConfigError) Error() string { return "bert: config.json: " + e.Reason }

// ParseConfig decodes and validates config.json.
func ParseConfig(b []byte) (Config, error) {
	c := Config{HiddenAct: "gelu", LayerNormEps: 1e-12, TypeVocabSize: 2, PositionEmbeddingType: "absolute"}
	if err := jsonin.CheckDepth(b, jsonin.MaxDepth); err != nil {
		return Config{}, &ConfigError{Reason: err.Error()}
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return Config{}, &ConfigError{Reason: "invalid JSON: " + jsonin.Describe(err)}
	}
	return c, c.Validate()
}

// Validate checks that the config describes an encoder this package can run.
func (c Config) Validate() error {
	bad := func(f string, a ...any) error { return &ConfigError{Reason: fmt.Sprintf(f, a...)} }
	switch c.ModelType {
	case "bert", "":
	default:
		return bad("unsupported model_type %q (supported: bert)", c.ModelType)
	}
	if c.PositionEmbeddingType != "absolute" && c.PositionEmbeddingType != "" {
		return bad("unsupported position_embedding_type %q", c.PositionEmbeddingType)
	}
	switch {
	case c.HiddenSize <= 0 || c.HiddenSize > maxHidden:
		return bad("hidden_size %d out of range", c.HiddenSize)
	case c.NumHiddenLayers <= 0 || c.NumHiddenLayers > maxLayers:
		return bad("num_hidden_layers %d out of range", c.NumHiddenLayers)
	case c.NumAttentionHeads <= 0 || c.HiddenSize%c.NumAttentionHeads != 0:
		return bad("num_attention_heads %d does not divide hidden_size %d", c.NumAttentionHeads, c.HiddenSize)
	case c.IntermediateSize <= 0 || c.IntermediateSize > 8*maxHidden:
		return bad("intermediate_size %d out of range", c.IntermediateSize)
	case c.VocabSize <= 0 || c.VocabSize > maxVocab:
		return bad("vocab_size %d out of range", c.VocabSize)
	case c.MaxPositionEmbeddings <= 0 || c.MaxPositionEmbeddings > maxPosition:
		return bad("max_position_embeddings %d out of range", c.MaxPositionEmbeddings)
	case c.TypeVocabSize <= 0 || c.TypeVocabSize > 64:
		return bad("type_vocab_size %d out of range", c.TypeVocabSize)
	case !(c.LayerNormEps > 0 && c.LayerNormEps < 1):
		return bad("layer_norm_eps %g out of range", c.LayerNormEps)
	}
	return nil
}
