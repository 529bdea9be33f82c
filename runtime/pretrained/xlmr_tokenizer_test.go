package pretrained_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/adapterwasm/adapterwasm/runtime/pretrained"
	"github.com/adapterwasm/adapterwasm/runtime/tokenizer"
)

// TestXLMRNormalizerLoads: an XLM-R model whose tokenizer.json has XLM-R's normalizers
// (Sequence [Precompiled, Strip, Replace], as the Hub's files have) loads and normalizes. The
// testdata/archs XLM-R's tokenizer gets the normalizer of testdata/tokenizer/xlmr (vocab and
// model unchanged); full-width letters then encode as ASCII ones do.
func TestXLMRNormalizerLoads(t *testing.T) {
	src := filepath.Join("..", "..", "testdata", "archs", "xlm-roberta", "model")
	var tok, xlmr map[string]json.RawMessage
	for path, into := range map[string]*map[string]json.RawMessage{
		filepath.Join(src, "tokenizer.json"):                                         &tok,
		filepath.Join("..", "..", "testdata", "tokenizer", "xlmr", "tokenizer.json"): &xlmr,
	} {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, into); err != nil {
			t.Fatal(err)
		}
	}
	tok["normalizer"] = xlmr["normalizer"]
	files := map[string][]byte{}
	for _, f := range []string{pretrained.ConfigFile, pretrained.SafetensorsFile} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		files[f] = b
	}
	b, err := json.Marshal(tok)
	if err != nil {
		t.Fatal(err)
	}
	files[pretrained.TokenizerFile] = b
	m, err := pretrained.Load(files)
	if err != nil {
		t.Fatal(err)
	}
	full := m.Tokenizer.Encode("ＴＨＥ ｑｕｉｃｋ　ｆｏｘ", tokenizer.Options{})
	ascii := m.Tokenizer.Encode("THE quick fox", tokenizer.Options{})
	if !slices.Equal(full.IDs, ascii.IDs) {
		t.Errorf("full-width ids %v, ASCII ids %v", full.IDs, ascii.IDs)
	}
}
