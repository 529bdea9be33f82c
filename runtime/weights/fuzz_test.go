package weights

import (
	"archive/zip"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testdataFiles returns every fixture in testdata/weights (expected.json aside).
func testdataFiles(t testing.TB) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(testdataDir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, p := range paths {
		if strings.HasSuffix(p, ".json") {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		files[filepath.Base(p)] = b
	}
	if len(files) == 0 {
		t.Fatal("no fixtures in " + testdataDir)
	}
	return files
}

// checkParse fails unless Parse returns a File or a typed error; a panic
// fails the test by itself.
func checkParse(t testing.TB, parse func(string, []byte) (*File, error), b []byte) {
	f, err := parse("fuzz", b)
	if err != nil {
		if !isTyped(err) {
			t.Fatalf("untyped error %T: %v", err, err)
		}
		return
	}
	for _, name := range f.Order {
		tn := f.Tensors[name]
		if tn == nil {
			t.Fatalf("Order names %q, not in Tensors", name)
		}
		if _, err := tn.checkData(); err != nil {
			t.Fatalf("parsed tensor is inconsistent: %v", err)
		}
	}
}

// TestTruncated parses every prefix of every fixture.
func TestTruncated(t *testing.T) {
	for name, b := range testdataFiles(t) {
		t.Run(name, func(t *testing.T) {
			for n := 0; n < len(b); n++ {
				f, err := Parse(name, b[:n])
				if err == nil {
					t.Fatalf("prefix of %d/%d bytes parsed: %d tensors", n, len(b), len(f.Tensors))
				}
				if !isTyped(err) {
					t.Fatalf("prefix of %d bytes: untyped error %T: %v", n, err, err)
				}
			}
		})
	}
}

// TestCorrupted flips every byte of every fixture in turn.
func TestCorrupted(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	for name, b := range testdataFiles(t) {
		t.Run(name, func(t *testing.T) {
			c := make([]byte, len(b))
			for i := range b {
				copy(c, b)
				c[i] ^= 0xff
				checkParse(t, Parse, c)
			}
		})
	}
}

func FuzzParseSafetensors(f *testing.F) {
	for name, b := range testdataFiles(f) {
		if strings.HasSuffix(name, ".safetensors") {
			f.Add(b)
		}
	}
	f.Add(stFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, make([]byte, 8)))
	f.Fuzz(func(t *testing.T, b []byte) { checkParse(t, ParseSafetensors, b) })
}

func FuzzParsePyTorch(f *testing.F) {
	for name, b := range testdataFiles(f) {
		if strings.HasSuffix(name, ".bin") {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkParse(t, ParsePyTorch, b) })
}

// FuzzPickle runs the pickle machine directly (past the zip layer and its
// CRC checks), with every storage present and zero-filled.
func FuzzPickle(f *testing.F) {
	for name, b := range testdataFiles(f) {
		if !strings.HasSuffix(name, ".bin") || name == "legacy.bin" {
			continue
		}
		zf, err := dataPickle(b)
		if err != nil {
			f.Fatal(name, err)
		}
		f.Add(zf)
	}
	// Generated seeds larger than the mutator builds: a tensor argument nested 100,000 deep, and
	// one doubled through the memo 40 times (2^40 leaves if anything walked it).
	for _, where := range []string{"numel", "offset", "size"} {
		f.Add(hostileTensorPickle(where, func(p *pk) *pk { return nestedTuple(p, 100_000, func(p *pk) { p.int1(6) }) }))
		f.Add(hostileTensorPickle(where, func(p *pk) *pk { return doubledTuple(p, 40) }))
	}
	f.Fuzz(func(t *testing.T, pkl []byte) {
		load := func(key string, dtype DType, numel int) (*pyStorage, error) {
			if numel > 1<<12 {
				return nil, &FormatError{Reason: "storage too large for the fuzzer"}
			}
			return &pyStorage{key: key, dtype: dtype, numel: numel, data: make([]byte, numel*dtype.Size())}, nil
		}
		checkParse(t, func(name string, b []byte) (*File, error) { return loadStateDict(name, b, load, 1<<16) }, pkl)
	})
}

// dataPickle returns the data.pkl record of a torch.save archive.
func dataPickle(b []byte) ([]byte, error) {
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, err
	}
	for _, zf := range zr.File {
		if strings.HasSuffix(zf.Name, "/data.pkl") {
			return readZipRecord("", b, zf, MaxPickleSize)
		}
	}
	return nil, errors.New("no data.pkl")
}
