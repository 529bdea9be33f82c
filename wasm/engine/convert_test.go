package engine_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/adapterwasm/adapterwasm/adapters"
	"github.com/adapterwasm/adapterwasm/internal/golden"
	"github.com/adapterwasm/adapterwasm/runtime/pretrained"
	"github.com/adapterwasm/adapterwasm/wasm/engine"
)

// TestConvert: the module's convert gives pretrained.Convert's file (the CLI's), loads as a model
// that embeds as the source does in f32, and refuses bad options and inputs with typed codes,
// natively and under GOOS=js.
func TestConvert(t *testing.T) {
	src := tinyFiles(t)
	want, err := pretrained.Convert(tinyFiles(t), pretrained.ConvertOptions{DType: "f32", Name: "tiny"})
	if err != nil {
		t.Fatal(err)
	}
	files := tinyFiles(t)
	c, err := engine.Convert(files, pretrained.ConvertOptions{DType: "f32", Name: "tiny", Revision: strings.Repeat("a", 40)})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(c.File, want.File) {
		t.Fatal("engine.Convert's file differs from pretrained.Convert's")
	}
	if _, ok := files["model.safetensors"]; ok {
		t.Error("the source's weights are still referenced by the map given")
	}
	if c.Manifest.Revision != strings.Repeat("a", 40) || c.SourceBytes != len(src["model.safetensors"]) {
		t.Errorf("manifest %+v, source bytes %d", c.Manifest, c.SourceBytes)
	}
	conv, err := engine.New(map[string][]byte{pretrained.ModelFile: bytes.Clone(c.File)})
	if err != nil {
		t.Fatal(err)
	}
	orig := newTiny(t)
	a, _, err := conv.Embed([]string{"hello world"}, engine.EmbedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := orig.Embed([]string{"hello world"}, engine.EmbedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("f32 conversion changed the embedding at %d: %v vs %v", i, a[i], b[i])
		}
	}

	noWeights := tinyFiles(t)
	delete(noWeights, "model.safetensors")
	cut := tinyFiles(t)
	cut["model.safetensors"] = cut["model.safetensors"][:len(cut["model.safetensors"])-9]
	// The source bound, per dtype (lowered here: the real ones are hundreds of MiB).
	saved := engine.MaxConvertSourceBytes["q8"]
	engine.MaxConvertSourceBytes["q8"] = len(src["model.safetensors"]) - 1
	_, err = engine.Convert(tinyFiles(t), pretrained.ConvertOptions{DType: "q8"})
	engine.MaxConvertSourceBytes["q8"] = saved
	if engine.CodeOf(err) != engine.CodeInvalidArgument || !strings.Contains(err.Error(), "the converter takes at most") {
		t.Errorf("a source over the bound: %v", err)
	}
	for _, tc := range []struct {
		name  string
		files map[string][]byte
		dtype string
		code  engine.Code
		msg   string
	}{
		{"bad dtype", tinyFiles(t), "q4" + strings.Repeat("x", 100), engine.CodeInvalidArgument, `want f32, f16 or q8`},
		{"no dtype", tinyFiles(t), "", engine.CodeInvalidArgument, `dtype ""`},
		{"no weights", noWeights, "q8", engine.CodeMissingFile, "no model.safetensors or pytorch_model.bin"},
		{"cut weights", cut, "q8", engine.CodeFormat, "model.safetensors"},
	} {
		_, err := engine.Convert(tc.files, pretrained.ConvertOptions{DType: tc.dtype})
		if err == nil || engine.CodeOf(err) != tc.code || !strings.Contains(err.Error(), tc.msg) || len(err.Error()) > 300 {
			t.Errorf("%s: %v (code %s), want code %s and %q", tc.name, err, engine.CodeOf(err), tc.code, tc.msg)
		}
	}
}

// TestBuildIndex: the module's buildIndex is `adapterwasm index`'s output (adapters.BuildIndex,
// indented, newline-terminated); a missing directory is not_found.
func TestBuildIndex(t *testing.T) {
	dir := golden.Path("tiny", "adapters")
	got, err := engine.BuildIndex(dir, []string{dir})
	if err != nil {
		t.Fatal(err)
	}
	idx, err := adapters.BuildIndex(dir, dir)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.MarshalIndent(idx, "", "  ")
	if !bytes.Equal(got, append(want, '\n')) {
		t.Fatal("engine.BuildIndex differs from adapters.BuildIndex")
	}
	if _, err := engine.BuildIndex(".", []string{filepath.Join(t.TempDir(), "none")}); engine.CodeOf(err) != engine.CodeNotFound {
		t.Errorf("missing directory: %v (code %s)", err, engine.CodeOf(err))
	}
	if _, err := engine.BuildIndex(".", nil); engine.CodeOf(err) != engine.CodeInvalidArgument {
		t.Errorf("no roots: %v", err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatal(err)
	}
}
