package modelfile

import (
	"strings"
	"testing"
)

// TestDeepManifest: a manifest.json nesting deeper than 64 levels is refused before it is decoded.
func TestDeepManifest(t *testing.T) {
	for _, depth := range []int{65, 9990, 100_000} {
		b := []byte(`{"format":"adapterwasm","files":` + strings.Repeat("[", depth) + strings.Repeat("]", depth) + `}`)
		_, err := ParseManifest(b)
		if fe, ok := err.(*FormatError); !ok || !strings.Contains(fe.Error(), "manifest.json: JSON nests deeper than 64 levels") {
			t.Errorf("%d deep: %v", depth, err)
		}
	}
}
