package engine_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/adapterwasm/adapterwasm/internal/golden"
	"github.com/adapterwasm/adapterwasm/runtime/bert"
	"github.com/adapterwasm/adapterwasm/runtime/pretrained"
	"github.com/adapterwasm/adapterwasm/wasm/engine"
)

func tinyFiles(t testing.TB) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	for _, name := range []string{"config.json", "tokenizer.json", "model.safetensors"} {
		b, err := os.ReadFile(golden.Path("tiny", "model", name))
		if err != nil {
			t.Fatal(err)
		}
		files[name] = b
	}
	return files
}

func newTiny(t testing.TB) *engine.Model {
	t.Helper()
	m, err := engine.New(tinyFiles(t))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestEmbedMatchesPretrained(t *testing.T) {
	m := newTiny(t)
	ref, err := pretrained.LoadDir(filepath.Dir(golden.Path("tiny", "model", "config.json")))
	if err != nil {
		t.Fatal(err)
	}
	var g golden.Base
	golden.Load(t, &g, "tiny", "golden", "base.json")
	flat, dim, err := m.Embed(g.Sentences, engine.EmbedOptions{Normalize: true})
	if err != nil {
		t.Fatal(err)
	}
	want, err := ref.Embed(&bert.State{}, g.Sentences, pretrained.PoolMean, true)
	if err != nil {
		t.Fatal(err)
	}
	if dim != ref.Config.HiddenSize || len(flat) != len(want)*dim {
		t.Fatalf("got %d floats of dim %d, want %d of %d", len(flat), dim, len(want)*dim, ref.Config.HiddenSize)
	}
	for i, row := range want {
		for j, v := range row {
			if flat[i*dim+j] != v {
				t.Fatalf("text %d dim %d: %v, want %v (bit-identical)", i, j, flat[i*dim+j], v)
			}
		}
	}
}

func TestErrorsAreTypedAndModelKeepsWorking(t *testing.T) {
	m := newTiny(t)
	files := tinyFiles(t)
	cut := map[string][]byte{"config.json": files["config.json"], "tokenizer.json": files["tokenizer.json"], "model.safetensors": files["model.safetensors"][:1000]}
	noWeights := map[string][]byte{"config.json": files["config.json"], "tokenizer.json": files["tokenizer.json"]}
	badJSON := map[string][]byte{"config.json": []byte("{"), "tokenizer.json": files["tokenizer.json"], "model.safetensors": files["model.safetensors"]}
	for _, tc := range []struct {
		name  string
		files map[string][]byte
		code  engine.Code
	}{
		{"empty", nil, engine.CodeInvalidArgument},
		{"truncated weights", cut, engine.CodeFormat},
		{"no weights", noWeights, engine.CodeMissingFile},
		{"bad config", badJSON, engine.CodeFormat},
	} {
		_, err := engine.New(tc.files)
		if err == nil {
			t.Fatalf("%s: no error", tc.name)
		}
		if got := engine.CodeOf(err); got != tc.code {
			t.Errorf("%s: code %q, want %q (%v)", tc.name, got, tc.code, err)
		}
	}
	if _, _, err := m.Embed([]string{"x"}, engine.EmbedOptions{Pooling: "max"}); engine.CodeOf(err) != engine.CodeInvalidArgument {
		t.Errorf("pooling max: %v", err)
	}
	if _, err := m.Tokenize(make([]string, engine.MaxBatch+1), 0); engine.CodeOf(err) != engine.CodeInvalidArgument {
		t.Errorf("oversized batch: %v", err)
	}
	if _, _, err := m.Embed([]string{"still works"}, engine.EmbedOptions{}); err != nil {
		t.Fatalf("after errors: %v", err)
	}
}

func TestGuardRecoversPanics(t *testing.T) {
	err := engine.Guard(func() error {
		var s []int
		_ = s[3]
		return nil
	})
	var pe *engine.PanicError
	if !errors.As(err, &pe) || engine.CodeOf(err) != engine.CodeInternal {
		t.Fatalf("got %v", err)
	}
}

func TestClosedModel(t *testing.T) {
	m := newTiny(t)
	m.Close()
	if _, _, err := m.Embed([]string{"x"}, engine.EmbedOptions{}); engine.CodeOf(err) != engine.CodeClosed {
		t.Fatalf("after Close: %v", err)
	}
	m.Close() // twice is fine
}

func TestTokenizeMatchesGolden(t *testing.T) {
	m := newTiny(t)
	var g golden.Base
	golden.Load(t, &g, "tiny", "golden", "base.json")
	toks, err := m.Tokenize(g.Sentences, g.MaxLength)
	if err != nil {
		t.Fatal(err)
	}
	for i, tk := range toks {
		for j, id := range g.InputIDs[i] {
			if j >= len(tk.InputIDs) || tk.InputIDs[j] != id {
				t.Fatalf("text %d: ids %v, want %v", i, tk.InputIDs, g.InputIDs[i])
			}
		}
	}
}
