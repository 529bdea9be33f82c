package pretrained_test

import (
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/adapterwasm/adapterwasm/internal/golden"
	"github.com/adapterwasm/adapterwasm/runtime/pretrained"
)

// tinyModelFiles reads the tiny model's config.json, tokenizer.json and model.safetensors from
// testdata, as Load takes them.
func tinyModelFiles(tb testing.TB) map[string][]byte {
	tb.Helper()
	files := map[string][]byte{}
	for _, n := range []string{pretrained.ConfigFile, pretrained.TokenizerFile, pretrained.SafetensorsFile} {
		b, err := os.ReadFile(golden.Path("tiny", "model", n))
		if err != nil {
			tb.Fatal(err)
		}
		files[n] = b
	}
	return files
}

// TestCutAndFlippedFiles cuts config.json and tokenizer.json of the tiny model at many offsets
// and flips bits across them: Load returns a typed error naming the file (or the weights a
// changed config no longer matches), or a model (a flip
// inside a string can leave a valid file), never panics.
func TestCutAndFlippedFiles(t *testing.T) {
	files := tinyModelFiles(t)
	steps := 200
	if testing.Short() || runtime.GOOS == "js" {
		steps = 40
	}
	for _, name := range []string{pretrained.ConfigFile, pretrained.TokenizerFile} {
		good := files[name]
		try := func(what string, b []byte) {
			fs := map[string][]byte{}
			for k, v := range files {
				fs[k] = v
			}
			fs[name] = b
			_, err := pretrained.Load(fs)
			if err == nil {
				return
			}
			// The file named is the broken one, or the weights it no longer matches.
			if !loadTypedError(err) || !strings.Contains(err.Error(), name) && !strings.Contains(err.Error(), pretrained.SafetensorsFile) {
				t.Fatalf("%s %s: %T %v", name, what, err, err)
			}
		}
		for i := range steps {
			n := i * len(good) / steps
			try("cut", good[:n])
			c := []byte(string(good))
			c[n] ^= 1 << (i % 8)
			try("flip", c)
		}
	}
}
