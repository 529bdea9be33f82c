package pretrained_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/adapterwasm/adapterwasm/runtime/bert"
	"github.com/adapterwasm/adapterwasm/runtime/pretrained"
	"github.com/adapterwasm/adapterwasm/runtime/tokenizer"
	"github.com/adapterwasm/adapterwasm/runtime/weights"
)

// loadTypedError: every error Load may return for a hostile file.
func loadTypedError(err error) bool {
	var (
		pe *pretrained.Error
		we *weights.FormatError
		wu *weights.UnsupportedError
		be *bert.ConfigError
		bl *bert.LoadError
		tf tokenizer.FormatError
		tu tokenizer.UnsupportedError
	)
	return errors.As(err, &pe) || errors.As(err, &we) || errors.As(err, &wu) || errors.As(err, &be) ||
		errors.As(err, &bl) || errors.As(err, &tf) || errors.As(err, &tu)
}

// FuzzLoadConfig binds the tiny model's weights under an arbitrary config.json, as Load does
// (bert.ParseConfig, bert.FromTensors), with its tokenizer parsed once: a config that disagrees
// with the weights (sizes, layers, heads, vocab, positions, activations) is refused with a typed
// error at load, never a panic in the forward pass. Seeded from testdata/tiny/model/config.json;
// one seed goes through Load itself, with a sentence_bert_config.json.
func FuzzLoadConfig(f *testing.F) {
	files := tinyModelFiles(f)
	files[pretrained.SentenceBertConfig] = []byte(`{"max_seq_length": 100000}`)
	ref, err := pretrained.Load(files)
	if err != nil {
		f.Fatal(err)
	}
	wf, err := weights.Parse(pretrained.SafetensorsFile, files[pretrained.SafetensorsFile])
	if err != nil {
		f.Fatal(err)
	}
	f.Add(files[pretrained.ConfigFile])
	f.Add([]byte(`{"hidden_size":32,"extra":` + strings.Repeat("[", 9990) + strings.Repeat("]", 9990) + `}`))
	f.Add([]byte(`{"hidden_size":"32","max_position_embeddings":1e400}`))
	f.Add([]byte(`{"hidden_size":32,"num_hidden_layers":1,"num_attention_heads":4,"intermediate_size":37,"vocab_size":30522,"max_position_embeddings":64,"hidden_act":"gelu_new"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg, err := bert.ParseConfig(b)
		if err != nil {
			if !loadTypedError(err) {
				t.Fatalf("untyped error %T: %v", err, err)
			}
			return
		}
		enc, err := bert.FromTensors(cfg, wf.Tensors, pretrained.SafetensorsFile)
		if err != nil {
			if !loadTypedError(err) {
				t.Fatalf("untyped error %T: %v", err, err)
			}
			return
		}
		m := &pretrained.Model{Config: cfg, Encoder: enc, Tokenizer: ref.Tokenizer, MaxLength: min(ref.Tokenizer.MaxLength(), cfg.MaxPositionEmbeddings)}
		if m.MaxLength <= 0 {
			m.MaxLength = cfg.MaxPositionEmbeddings
		}
		if ref.Tokenizer.VocabSize() > cfg.VocabSize {
			return // Load refuses this pair (tested by the seed through Load)
		}
		if _, err := m.Embed(&bert.State{}, []string{"hello world, a longer sentence than the others", "", "x"}, pretrained.PoolMean, true); err != nil {
			t.Fatalf("bound, then Embed: %v", err)
		}
	})
}
