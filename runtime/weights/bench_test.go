package weights

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkParse measures parsing (no tensor conversion). Safetensors and
// stored .bin records are zero-copy, so time and allocations scale with the
// number of tensors, not their bytes (except the .bin CRC-32 pass).
func BenchmarkParse(b *testing.B) {
	files := map[string]string{
		"state_dict.bin":         filepath.Join(testdataDir, "state_dict.bin"),
		"state_dict.safetensors": filepath.Join(testdataDir, "state_dict.safetensors"),
		"minilm.safetensors":     filepath.Join("..", "..", ".cache", "models", "all-MiniLM-L6-v2", "model.safetensors"),
	}
	for name, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(name, data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
