package bert

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/adapterwasm/adapterwasm/internal/golden"
	"github.com/adapterwasm/adapterwasm/runtime/weights"
)

// TestPositionsAfterPadding: create_position_ids_from_input_ids numbers tokens from
// padding_idx+1, gives every id equal to padding_idx (a <pad> inside a text too) the position
// padding_idx, and does not count it.
func TestPositionsAfterPadding(t *testing.T) {
	a := archOf("roberta")
	ids := []int32{0, 5, 1, 6, 2, 1, 1}
	pos := make([]int32, len(ids))
	a.positionIDs(pos, ids, 1)
	if want := []int32{2, 3, 1, 4, 5, 1, 1}; !slices.Equal(pos, want) {
		t.Errorf("positions %v, want %v", pos, want)
	}
	archOf("distilbert").positionIDs(pos, ids, 0)
	if want := []int32{0, 1, 2, 3, 4, 5, 6}; !slices.Equal(pos, want) {
		t.Errorf("positions %v, want %v", pos, want)
	}
}

// TestParseConfigArchitectures: DistilBertConfig's own names are read; RoBERTa's positions
// leave pad_token_id+1 of the table unused for tokens; hostile values are refused.
func TestParseConfigArchitectures(t *testing.T) {
	c, err := ParseConfig([]byte(`{"model_type":"distilbert","vocab_size":100,"dim":64,"n_layers":3,"n_heads":4,"hidden_dim":256,"activation":"gelu","max_position_embeddings":512,"sinusoidal_pos_embds":true,"type_vocab_size":7,"layer_norm_eps":0.5}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.HiddenSize != 64 || c.NumHiddenLayers != 3 || c.NumAttentionHeads != 4 || c.IntermediateSize != 256 ||
		c.HiddenAct != "gelu" || c.TypeVocabSize != 0 || c.LayerNormEps != 1e-12 || !c.SinusoidalPositions || c.MaxTokens() != 512 {
		t.Errorf("distilbert config read as %+v", c)
	}
	c, err = ParseConfig([]byte(`{"model_type":"xlm-roberta","vocab_size":250002,"hidden_size":768,"num_hidden_layers":12,"num_attention_heads":12,"intermediate_size":3072,"max_position_embeddings":514,"type_vocab_size":1,"pad_token_id":1}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxTokens() != 512 {
		t.Errorf("xlm-roberta takes %d tokens, want 512", c.MaxTokens())
	}
	for _, bad := range []string{
		`{"model_type":"roberta","vocab_size":10,"hidden_size":8,"num_hidden_layers":1,"num_attention_heads":2,"intermediate_size":8,"max_position_embeddings":50,"pad_token_id":49}`,
		`{"model_type":"roberta","vocab_size":10,"hidden_size":8,"num_hidden_layers":1,"num_attention_heads":2,"intermediate_size":8,"max_position_embeddings":50,"pad_token_id":-1}`,
		`{"model_type":"distilbert","vocab_size":10,"dim":0,"max_position_embeddings":50}`,
		`{"model_type":"distilbert","vocab_size":10,"dim":"x"}`,
		`{"model_type":"` + strings.Repeat("x", 5000) + `"}`,
	} {
		_, err := ParseConfig([]byte(bad))
		var ce *ConfigError
		if !errors.As(err, &ce) {
			t.Errorf("%.60s: got %v, want a ConfigError", bad, err)
			continue
		}
		if len(err.Error()) > 200 {
			t.Errorf("error of %d bytes echoes the input: %.80s", len(err.Error()), err)
		}
	}
}

// TestArchLayoutsMatchCheckpoints checks every key each architecture's layout gives against its
// checkpoint in testdata/archs (written by transformers), and that a token past the position
// table is refused.
func TestArchLayoutsMatchCheckpoints(t *testing.T) {
	for _, arch := range []string{"roberta", "xlm-roberta", "distilbert"} {
		t.Run(arch, func(t *testing.T) {
			cb, err := os.ReadFile(golden.Path("archs", arch, "model", "config.json"))
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := ParseConfig(cb)
			if err != nil {
				t.Fatal(err)
			}
			wb, err := os.ReadFile(golden.Path("archs", arch, "model", "model.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			f, err := weights.ParseSafetensors("model.safetensors", wb)
			if err != nil {
				t.Fatal(err)
			}
			m, err := FromTensors(cfg, f.Tensors, "model.safetensors")
			if err != nil {
				t.Fatal(err)
			}
			k := m.Layout()
			keys := []string{k.Word + ".weight", k.Position + ".weight", k.EmbeddingNorm + ".weight"}
			if k.TokenType != "" {
				keys = append(keys, k.TokenType+".weight")
			}
			if k.Pooler != "" {
				keys = append(keys, k.Pooler+".weight")
			}
			for l := range m.Layers {
				for s := Site(0); s < NumSites; s++ {
					keys = append(keys, k.SiteKey(l, s)+".weight", k.SiteKey(l, s)+".bias")
				}
				for _, r := range []Residual{ResidualAttention, ResidualOutput} {
					keys = append(keys, k.NormKey(l, r)+".weight", k.NormKey(l, r)+".bias")
				}
			}
			for _, key := range keys {
				if f.Tensors[key] == nil {
					t.Errorf("checkpoint has no %s", key)
				}
			}
			// the model_class the library wrote for an adapter saved from this base
			var saved struct {
				ModelClass string `json:"model_class"`
			}
			ab, err := os.ReadFile(golden.Path("archs", arch, "adapters", "seq_bn", "adapter_config.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(ab, &saved); err != nil {
				t.Fatal(err)
			}
			if got := m.AdapterModelClass(); got != saved.ModelClass || got == "" {
				t.Errorf("AdapterModelClass %q, the library saved %q", got, saved.ModelClass)
			}
			if (m.Pooler != nil) != (k.Pooler != "") || (m.Embeddings.TokenType != nil) != (k.TokenType != "") {
				t.Errorf("pooler %v, token types %v", m.Pooler != nil, m.Embeddings.TokenType != nil)
			}
			n := cfg.MaxTokens() + 1
			in := Input{B: 1, T: n, IDs: make([]int32, n)}
			var ie *InputError
			if _, err := m.Forward(&State{}, in, nil); !errors.As(err, &ie) {
				t.Errorf("%d tokens: got %v, want an InputError", n, err)
			}
			if cfg.SinusoidalPositions {
				// the table create_sinusoidal_embeddings wrote equals ours (used when a
				// checkpoint leaves it out)
				got := sinusoidalPositions(cfg.MaxPositionEmbeddings, cfg.HiddenSize)
				worst := 0.0
				for i, v := range m.Embeddings.Position {
					worst = max(worst, math.Abs(float64(v-got[i])))
				}
				if worst > 1e-6 {
					t.Errorf("sinusoidal table differs from the checkpoint's by %g", worst)
				}
				delete(f.Tensors, k.Position+".weight")
				m2, err := FromTensors(cfg, f.Tensors, "model.safetensors")
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(m2.Embeddings.Position, got) {
					t.Error("a checkpoint without the sinusoidal table does not get the computed one")
				}
			}
		})
	}
}

// TestModelTypeOfName: the architectures listings name by model_name only.
func TestModelTypeOfName(t *testing.T) {
	for name, want := range map[string]string{
		"bert-base-uncased":                      "bert",
		"bert-base-multilingual-cased":           "bert",
		"google-bert/bert-base-uncased":          "bert",
		"roberta-base":                           "roberta",
		"FacebookAI/roberta-large":               "roberta",
		"distilroberta-base":                     "roberta",
		"xlm-roberta-base":                       "xlm-roberta",
		"FacebookAI/xlm-roberta-large":           "xlm-roberta",
		"distilbert-base-uncased":                "distilbert",
		"distilbert/distilbert-base-cased":       "distilbert",
		"bert":                                   "bert",
		"sentence-transformers/all-MiniLM-L6-v2": "",
		"albert-base-v2":                         "",
		"camembert-base":                         "",
		"bertweet-base":                          "",
		"gpt2":                                   "",
		"facebook/bart-base":                     "",
		"robertabase":                            "",
		"":                                       "",
	} {
		if got := ModelTypeOfName(name); got != want {
			t.Errorf("ModelTypeOfName(%q) = %q, want %q", name, got, want)
		}
	}
	for _, mt := range ModelTypes() {
		if !Runs(mt) {
			t.Errorf("Runs(%q) = false", mt)
		}
	}
	if Runs("") || Runs("gpt2") {
		t.Error("Runs accepts an empty or unknown model_type")
	}
}

// TestModelTypesMirroredInJS: the JS package's listAdapters({runnable}) (js/src/listing.js)
// filters with the same model types and name prefixes as ModelTypes and ModelTypeOfName.
func TestModelTypesMirroredInJS(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "js", "src", "listing.js"))
	if err != nil {
		t.Skip("no js/src/listing.js:", err)
	}
	src := string(b)
	quoted := func(xs []string) string {
		q := make([]string, len(xs))
		for i, x := range xs {
			q[i] = strconv.Quote(x)
		}
		return strings.Join(q, ", ")
	}
	if want := "RUNNABLE_MODEL_TYPES = [" + quoted(ModelTypes()) + "]"; !strings.Contains(src, want) {
		t.Errorf("js/src/listing.js lacks %s", want)
	}
	var pairs []string
	for _, p := range nameModelTypes {
		pairs = append(pairs, "["+quoted([]string{p.prefix, p.modelType})+"]")
	}
	if want := "NAME_MODEL_TYPES = [" + strings.Join(pairs, ", ") + "]"; !strings.Contains(src, want) {
		t.Errorf("js/src/listing.js lacks %s", want)
	}
}

// TestErrorsNameArchitecture: config, checkpoint and input errors name the model's own
// architecture and, for DistilBERT, its own config keys (dim, n_layers, n_heads, hidden_dim,
// activation), not BERT's; a config whose model_type is not run, or not yet read, says
// "encoder".
func TestErrorsNameArchitecture(t *testing.T) {
	read := func(arch, name string) []byte {
		b, err := os.ReadFile(golden.Path("archs", arch, "model", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	edit := func(arch string, f func(map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(read(arch, "config.json"), &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		b, _ := json.Marshal(m)
		return b
	}
	for _, tc := range []struct {
		config []byte
		want   string
	}{
		{edit("distilbert", func(m map[string]any) { m["dim"] = 0 }), "distilbert: config.json: dim 0 out of range"},
		{edit("distilbert", func(m map[string]any) { m["n_layers"] = -1 }), "distilbert: config.json: n_layers -1 out of range"},
		{edit("distilbert", func(m map[string]any) { m["n_heads"] = 5 }), "distilbert: config.json: n_heads 5 does not divide dim 32"},
		{edit("distilbert", func(m map[string]any) { m["hidden_dim"] = 0 }), "distilbert: config.json: hidden_dim 0 out of range"},
		{edit("distilbert", func(m map[string]any) { m["dim"] = "x" }), "distilbert: config.json: invalid JSON"},
		{edit("roberta", func(m map[string]any) { m["hidden_size"] = 0 }), "roberta: config.json: hidden_size 0 out of range"},
		{edit("xlm-roberta", func(m map[string]any) { m["pad_token_id"] = 60 }), "xlm-roberta: config.json: pad_token_id 60 leaves no position"},
		{edit("roberta", func(m map[string]any) { m["model_type"] = "gpt2" }), `encoder: config.json: unsupported model_type "gpt2"`},
		{[]byte("{"), "encoder: config.json: invalid JSON"},
		{[]byte(`{"model_type": "bert", "hidden_size": 0}`), "bert: config.json: hidden_size 0 out of range"},
	} {
		_, err := ParseConfig(tc.config)
		var ce *ConfigError
		if !errors.As(err, &ce) || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("err = %v, want a ConfigError starting %q", err, tc.want)
		}
	}
	// an unknown activation, named by DistilBERT's key
	cfg, err := ParseConfig(edit("distilbert", func(m map[string]any) { m["activation"] = "swiglu" }))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := FromTensors(cfg, nil, "model.safetensors"); err == nil || !strings.HasPrefix(err.Error(), `distilbert: config.json: activation: unsupported activation "swiglu"`) {
		t.Errorf("activation: err = %v", err)
	}
	for _, arch := range []string{"roberta", "xlm-roberta", "distilbert"} {
		cfg, err := ParseConfig(read(arch, "config.json"))
		if err != nil {
			t.Fatal(err)
		}
		f, err := weights.ParseSafetensors("model.safetensors", read(arch, "model.safetensors"))
		if err != nil {
			t.Fatal(err)
		}
		ts := map[string]*weights.Tensor{}
		for name, x := range f.Tensors {
			if !strings.Contains(name, "layer.1.") {
				ts[name] = x
			}
		}
		_, err = FromTensors(cfg, ts, "model.safetensors")
		var le *LoadError
		if !errors.As(err, &le) || !strings.HasPrefix(err.Error(), arch+": model.safetensors: missing tensor") {
			t.Errorf("%s: err = %v, want a LoadError naming %s", arch, err, arch)
		}
		m, err := FromTensors(cfg, f.Tensors, "model.safetensors")
		if err != nil {
			t.Fatal(err)
		}
		_, err = m.Forward(&State{}, Input{B: 1, T: 1, IDs: []int32{int32(cfg.VocabSize)}}, nil)
		var ie *InputError
		if !errors.As(err, &ie) || !strings.HasPrefix(err.Error(), arch+": input: token id") {
			t.Errorf("%s: err = %v, want an InputError naming %s", arch, err, arch)
		}
	}
}
