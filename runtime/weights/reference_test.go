package weights

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// testdataDir holds the fixtures written by tools/reference/make_weights.py.
var testdataDir = filepath.Join("..", "..", "testdata", "weights")

type expectedTensor struct {
	DType string `json:"dtype"`
	Shape []int  `json:"shape"`
	Hex   string `json:"hex"`
	F32   string `json:"f32_hex"` // torch's .float() of the tensor, little-endian
}

type expectedFile struct {
	Order   []string                  `json:"order"`
	Tensors map[string]expectedTensor `json:"tensors"`
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testdataDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func loadExpected(t *testing.T) expectedFile {
	var e expectedFile
	if err := json.Unmarshal(readTestdata(t, "expected.json"), &e); err != nil {
		t.Fatal(err)
	}
	return e
}

// TestReferenceFiles reads files written by real torch and safetensors and
// compares every tensor with what the reference read back.
func TestReferenceFiles(t *testing.T) {
	exp := loadExpected(t)
	for _, tc := range []struct {
		file      string
		fileOrder bool // Order must equal the state dict's insertion order
	}{
		{"state_dict.bin", true},
		{"state_dict_p4.bin", true},
		{"state_dict.safetensors", false},
	} {
		t.Run(tc.file, func(t *testing.T) {
			f, err := Parse(tc.file, readTestdata(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if tc.fileOrder && !slices.Equal(f.Order, exp.Order) {
				t.Errorf("Order = %v\nwant %v", f.Order, exp.Order)
			}
			if len(f.Tensors) != len(exp.Tensors) || len(f.Order) != len(exp.Tensors) {
				t.Errorf("%d tensors (Order %d), want %d", len(f.Tensors), len(f.Order), len(exp.Tensors))
			}
			for name, want := range exp.Tensors {
				got := f.Tensors[name]
				if got == nil {
					t.Errorf("%s: missing", name)
					continue
				}
				if string(got.DType) != want.DType || !slices.Equal(got.Shape, want.Shape) {
					t.Errorf("%s: %s%v, want %s%v", name, got.DType, got.Shape, want.DType, want.Shape)
				}
				if h := hex.EncodeToString(got.Data); h != want.Hex {
					t.Errorf("%s: data %s\nwant %s", name, h, want.Hex)
				}
				if want.F32 == "" {
					continue
				}
				vals, err := got.Float32()
				if err != nil {
					t.Errorf("%s: %v", name, err)
					continue
				}
				// Bit-exact: F16/BF16 widen exactly, F64 rounds to nearest as torch does.
				if h := hex.EncodeToString(f32bytes(vals...)); h != want.F32 {
					t.Errorf("%s: Float32() = %v (%s)\nwant %s", name, vals, h, want.F32)
				}
			}
			if tc.file == "state_dict.safetensors" && f.Metadata["format"] != "pt" {
				t.Errorf("Metadata = %v", f.Metadata)
			}
		})
	}
}

// TestSharedStorage checks that a slice saved beside its base aliases the
// base's bytes (one storage, storage_offset 4) rather than a copy.
func TestSharedStorage(t *testing.T) {
	f, err := ParsePyTorch("state_dict.bin", readTestdata(t, "state_dict.bin"))
	if err != nil {
		t.Fatal(err)
	}
	base, row := f.Tensors["extra.f32_base"].Data, f.Tensors["extra.f32_row_view"].Data
	if &base[16] != &row[0] {
		t.Errorf("row view does not alias its base's storage")
	}
	if cap(row) != len(row) {
		t.Errorf("aliased Data has cap %d > len %d: appending would overwrite the storage", cap(row), len(row))
	}
}

// TestWriteSafetensorsMatchesReference writes the reference's tensors back
// and expects safetensors.torch.save_file's exact bytes.
func TestWriteSafetensorsMatchesReference(t *testing.T) {
	want := readTestdata(t, "state_dict.safetensors")
	f, err := ParseSafetensors("state_dict.safetensors", want)
	if err != nil {
		t.Fatal(err)
	}
	var ts []*Tensor
	for _, name := range []string{"extra.bool", "0.weight", "extra.f16", "extra.i64"} { // arbitrary order
		ts = append(ts, f.Tensors[name])
	}
	for name, t := range f.Tensors {
		if !slices.ContainsFunc(ts, func(x *Tensor) bool { return x.Name == name }) {
			ts = append(ts, t)
		}
	}
	SortLikeReference(ts)
	var buf bytes.Buffer
	if err := WriteSafetensors(&buf, ts, f.Metadata); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("WriteSafetensors differs from the reference\n got %q\nwant %q", buf.Bytes()[:min(buf.Len(), 400)], want[:400])
	}
}

func TestRefusedReferenceFiles(t *testing.T) {
	for _, tc := range []struct {
		file, want string
	}{
		{"legacy.bin", "legacy"},
		{"evil_os_system.bin", `"posix.system" is not on the allow-list`},
		{"evil_eval_p4.bin", `"builtins.eval" is not on the allow-list`},
	} {
		t.Run(tc.file, func(t *testing.T) {
			_, err := Parse(tc.file, readTestdata(t, tc.file))
			var ue *UnsupportedError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse = %v, want an UnsupportedError containing %q", err, tc.want)
			}
		})
	}
}

func TestPlainDict(t *testing.T) {
	f, err := Parse("plain_dict.bin", readTestdata(t, "plain_dict.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(f.Order, []string{"adapter.weight", "adapter.bias"}) {
		t.Errorf("Order = %v", f.Order)
	}
	w, _ := f.Tensors["adapter.weight"].Float32()
	if !slices.Equal(w, []float32{1, 1, 1, 1}) {
		t.Errorf("adapter.weight = %v", w)
	}
}
