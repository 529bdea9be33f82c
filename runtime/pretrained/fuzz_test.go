package pretrained_test

import (
	"errors"
	"os"
	"testing"

	"github.com/adapterwasm/adapterwasm/internal/golden"
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

// FuzzLoadConfig replaces config.json (or adds sentence_bert_config.json) of the tiny model with
// arbitrary bytes: Load returns a typed error or a model that embeds, never panics. A config that
// disagrees with the weights (sizes, layers, vocab, positions) must be caught at load, not in
// the forward pass. Seeded from testdata/tiny/model/config.json.
func FuzzLoadConfig(f *testing.F) {
	files := map[string][]byte{}
	for _, n := range []string{pretrained.ConfigFile, pretrained.TokenizerFile, pretrained.SafetensorsFile} {
		b, err := os.ReadFile(golden.Path("tiny", "model", n))
		if err != nil {
			f.Fatal(err)
		}
		files[n] = b
	}
	f.Add(false, files[pretrained.ConfigFile])
	f.Add(true, []byte(`{"max_seq_length": 8, "do_lower_case": false}`))
	f.Add(true, []byte(`{"max_seq_length": 100000}`))
	f.Fuzz(func(t *testing.T, sbert bool, b []byte) {
		fs := map[string][]byte{}
		for k, v := range files {
			fs[k] = v
		}
		if sbert {
			fs[pretrained.SentenceBertConfig] = b
		} else {
			fs[pretrained.ConfigFile] = b
		}
		m, err := pretrained.Load(fs)
		if err != nil {
			if !loadTypedError(err) {
				t.Fatalf("untyped error %T: %v", err, err)
			}
			return
		}
		if m.MaxLength <= 0 || m.MaxLength > m.Config.MaxPositionEmbeddings {
			t.Fatalf("max length %d with %d positions", m.MaxLength, m.Config.MaxPositionEmbeddings)
		}
		if _, err := m.Embed(&bert.State{}, []string{"hello world, a longer sentence than the others", "", "x"}, pretrained.PoolMean, true); err != nil {
			t.Fatalf("loaded, then Embed: %v", err)
		}
	})
}
