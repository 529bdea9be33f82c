package engine

import (
	"bytes"
	"os"
	"testing"

	"github.com/adapterwasm/adapterwasm/internal/golden"
)

// TestWarmLoadPath: the warm-up adapters load (were they ever refused, New would still work,
// but the first real load would pay the compile again), and they are the fixtures of
// testdata/tiny/adapters byte for byte.
func TestWarmLoadPath(t *testing.T) {
	if err := warmLoadPath(); err != nil {
		t.Fatal(err)
	}
	n := 0
	for dir, files := range warmupDirs() {
		for name, got := range files {
			n++
			want, err := os.ReadFile(golden.Path("tiny", "adapters", dir, name))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("warmup/%s/%s differs from testdata/tiny/adapters", dir, name)
			}
		}
	}
	if n != 6 {
		t.Errorf("%d warm-up files, want 6", n)
	}
}
