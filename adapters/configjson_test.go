package adapters

import (
	"os"
	"testing"

	"github.com/adapterwasm/adapterwasm/internal/golden"
)

// TestPyJSONIndent: a config and head config the library saved are written back byte for byte.
func TestPyJSONIndent(t *testing.T) {
	for _, f := range []string{"adapter_config.json", "head_config.json"} {
		b, err := os.ReadFile(golden.Path("minilm", "adapters", "sentiment", f))
		if err != nil {
			t.Fatal(err)
		}
		v, err := decodePy(b)
		if err != nil {
			t.Fatal(err)
		}
		got, err := PyJSONIndent(v)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(b) && string(got)+"\n" != string(b) {
			t.Errorf("%s:\n%s\nwant\n%s", f, got, b)
		}
	}
}
