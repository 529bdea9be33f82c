package modelfile

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// FuzzParseManifest: no manifest.json makes ParseManifest or Check panic; errors are typed, and
// an accepted manifest accepts only the file it describes (the seed's), nothing else.
func FuzzParseManifest(f *testing.F) {
	file := small(f)
	good, err := json.Marshal(NewManifest(file, Q8, "small"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"format":"adapterwasm","version":1,"files":[{"name":"adapterwasm.safetensors","size":-1,"sha256":"` + string(make([]byte, 64)) + `"}]}`))
	f.Add([]byte(`{"format":"adapterwasm","files":` + strings.Repeat("[", 9990) + strings.Repeat("]", 9990) + `}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseManifest(b)
		if err != nil {
			if !typed(err) {
				t.Fatalf("untyped error %T %v", err, err)
			}
			return
		}
		if err := m.Check(file); err != nil {
			var ce *ChecksumError
			if !errors.As(err, &ce) {
				t.Fatalf("Check: %T %v", err, err)
			}
		}
		if err := m.Check(file[:len(file)-1]); err == nil {
			t.Fatal("a manifest accepted the file and the file cut by one byte")
		}
	})
}
