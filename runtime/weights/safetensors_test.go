package weights

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"strings"
	"testing"
)

// stFile builds a safetensors file from a raw header and data section.
func stFile(header string, data []byte) []byte {
	b := make([]byte, 8, 8+len(header)+len(data))
	binary.LittleEndian.PutUint64(b, uint64(len(header)))
	b = append(b, header...)
	return append(b, data...)
}

func f32bytes(v ...float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// isTyped reports whether err is one of the package's typed errors.
func isTyped(err error) bool {
	var fe *FormatError
	var ue *UnsupportedError
	return errors.As(err, &fe) || errors.As(err, &ue)
}

func TestParseSafetensorsValid(t *testing.T) {
	hdr := ` {"__metadata__":{"format":"pt"},"b":{"dtype":"F16","shape":[2],"data_offsets":[8,12]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"s":{"dtype":"F32","shape":[],"data_offsets":[12,16]},"z":{"dtype":"F32","shape":[0,3],"data_offsets":[16,16]}}  `
	data := append(f32bytes(1.5, -2), 0x00, 0x3c, 0x00, 0xc0) // f16 1, -2
	data = append(data, f32bytes(7)...)
	f, err := ParseSafetensors("x.safetensors", stFile(hdr, data))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(f.Order, ","); got != "a,b,s,z" {
		t.Errorf("Order = %s", got)
	}
	if f.Metadata["format"] != "pt" {
		t.Errorf("Metadata = %v", f.Metadata)
	}
	for name, want := range map[string][]float32{"a": {1.5, -2}, "b": {1, -2}, "s": {7}, "z": {}} {
		got, err := f.Tensors[name].Float32()
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: got %v want %v", name, got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("%s: got %v want %v", name, got, want)
			}
		}
	}
	if n := f.Tensors["s"].NumElements(); n != 1 {
		t.Errorf("scalar NumElements = %d", n)
	}
}

func TestParseSafetensorsHostile(t *testing.T) {
	huge := make([]byte, 16)
	binary.LittleEndian.PutUint64(huge, 1<<40)
	capped := make([]byte, 16)
	binary.LittleEndian.PutUint64(capped, MaxSafetensorsHeader+1)
	d8 := make([]byte, 8)
	tests := []struct {
		name        string
		b           []byte
		unsupported bool
		want        string // substring of the error
	}{
		{"empty", nil, false, "too short"},
		{"header length 2^40", huge, false, "exceeds the 100000000-byte limit"},
		{"header length over cap", capped, false, "limit"},
		{"header past end", stFile(`{}`, nil)[:9], false, "exceeds the 1 bytes"},
		{"not an object", stFile(`[]      `, nil), false, `header: want "{", got "["`},
		{"empty header", stFile(``, nil), false, "unexpected EOF"},
		{"bad utf8", stFile("{\"\xff\":1}", nil), false, "UTF-8"},
		{"trailing garbage", stFile(`{} x`, nil), false, "after the top-level"},
		{"two objects", stFile(`{}{}`, nil), false, "after the top-level"},
		{"unterminated", stFile(`{"a":{"dtype":"F32"`, nil), false, "header JSON"},
		{"duplicate name", stFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, d8), false, "duplicate name"},
		{"duplicate metadata key", stFile(`{"__metadata__":{"k":"1","k":"2"}}`, nil), false, "duplicate key"},
		{"duplicate field", stFile(`{"a":{"dtype":"F32","dtype":"F16","shape":[2],"data_offsets":[0,8]}}`, d8), false, "duplicate field dtype"},
		{"metadata not string", stFile(`{"__metadata__":{"k":1}}`, nil), false, "want a string"},
		{"unknown dtype", stFile(`{"a":{"dtype":"F31","shape":[2],"data_offsets":[0,8]}}`, d8), false, `unknown dtype "F31"`},
		{"known unsupported dtype", stFile(`{"a":{"dtype":"F8_E4M3","shape":[8],"data_offsets":[0,8]}}`, d8), true, "dtype F8_E4M3"},
		{"negative dim", stFile(`{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}`, d8), false, "negative"},
		{"fractional dim", stFile(`{"a":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}}`, d8), false, "not an integer"},
		{"dim overflows uint63", stFile(`{"a":{"dtype":"F32","shape":[99999999999999999999],"data_offsets":[0,8]}}`, d8), false, "overflows"},
		{"element count overflow", stFile(`{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}}`, nil), false, "overflows"},
		{"byte size overflow", stFile(`{"a":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,0]}}`, nil), false, "overflows"},
		{"overflow wrapping to exact size", stFile(`{"a":{"dtype":"F32","shape":[4611686018427387906],"data_offsets":[0,8]}}`, d8), false, "overflows"},
		{"size mismatch", stFile(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, d8), false, "want 12"},
		{"end before begin", stFile(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}`, d8), false, "end before"},
		{"offset out of range", stFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, d8[:4]), false, "exceed the 4-byte data section"},
		{"huge offsets", stFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[9223372036854775800,9223372036854775807]}}`, d8), false, "hold 7 bytes"},
		{"huge offsets, right size", stFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[9223372036854775799,9223372036854775807]}}`, d8), false, "gap"},
		{"offset past 2^63", stFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,9223372036854775808]}}`, d8), false, "overflows"},
		{"overlap", stFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, d8), false, "overlap tensor a"},
		{"gap", stFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, d8), false, "gap"},
		{"trailing data", stFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, d8), false, "cover 4"},
		{"missing dtype", stFile(`{"a":{"shape":[1],"data_offsets":[0,4]}}`, d8[:4]), false, "missing dtype"},
		{"missing offsets", stFile(`{"a":{"dtype":"F32","shape":[1]}}`, d8[:4]), false, "missing data_offsets"},
		{"three offsets", stFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,4]}}`, d8[:4]), false, "got more"},
		{"one offset", stFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}}`, d8[:4]), false, "got 1"},
		{"info not object", stFile(`{"a":"F32"}`, nil), false, "tensor info"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseSafetensors("h.safetensors", tc.b)
			if err == nil {
				t.Fatal("no error")
			}
			var ue *UnsupportedError
			if errors.As(err, &ue) != tc.unsupported {
				t.Fatalf("error %T %v, unsupported=%v", err, err, tc.unsupported)
			}
			if !isTyped(err) {
				t.Fatalf("untyped error %T: %v", err, err)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "weights: h.safetensors: ") {
				t.Errorf("error %q, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestWriteSafetensorsRoundTrip(t *testing.T) {
	w, err := NewFloat32("w", []int{2, 2}, []float32{1, 2, 3, 4})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewFloat32("bad", []int{3}, []float32{1}); !isTyped(err) {
		t.Errorf("NewFloat32 with a wrong length: %v", err)
	}
	ts := []*Tensor{
		w,
		{Name: "ids", DType: I64, Shape: []int{1}, Data: []byte{5, 0, 0, 0, 0, 0, 0, 0}},
		{Name: "q\"<é>", DType: U8, Shape: []int{3}, Data: []byte{1, 2, 3}},
	}
	var buf bytes.Buffer
	if err := WriteSafetensors(&buf, ts, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	if n := binary.LittleEndian.Uint64(b); n%8 != 0 {
		t.Errorf("header length %d not a multiple of 8", n)
	}
	f, err := ParseSafetensors("rt", b)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range ts {
		got := f.Tensors[want.Name]
		if got == nil || got.DType != want.DType || shapeString(got.Shape) != shapeString(want.Shape) || !bytes.Equal(got.Data, want.Data) {
			t.Errorf("%s: got %+v want %+v", want.Name, got, want)
		}
	}
	ids, err := f.Tensors["ids"].Int64()
	if err != nil || ids[0] != 5 {
		t.Errorf("Int64 = %v, %v", ids, err)
	}
	if _, err := f.Tensors["ids"].Float32(); !isTyped(err) {
		t.Errorf("Float32 of I64: %v", err)
	}
	for _, bad := range [][]*Tensor{
		{{Name: "a", DType: F32, Shape: []int{2}, Data: []byte{1}}},
		{{Name: "a", DType: "F7", Shape: []int{}, Data: nil}},
		{ts[0], ts[0]},
		{{Name: "__metadata__", DType: U8, Shape: []int{0}}},
	} {
		if err := WriteSafetensors(&bytes.Buffer{}, bad, nil); !isTyped(err) {
			t.Errorf("WriteSafetensors(%v) = %v, want a typed error", bad, err)
		}
	}
}

func TestFloat16(t *testing.T) {
	for _, tc := range []struct {
		h    uint16
		want float32
	}{
		{0x3c00, 1}, {0xc000, -2}, {0x7bff, 65504}, {0x0001, 5.9604645e-08},
		{0x03ff, 6.097555e-05}, {0x0400, 6.1035156e-05}, {0x8000, float32(math.Copysign(0, -1))},
		{0x7c00, float32(math.Inf(1))}, {0xfc00, float32(math.Inf(-1))},
	} {
		if got := float16to32(tc.h); got != tc.want || math.Signbit(float64(got)) != math.Signbit(float64(tc.want)) {
			t.Errorf("float16to32(%#04x) = %v, want %v", tc.h, got, tc.want)
		}
	}
	if got := float16to32(0x7e00); !math.IsNaN(float64(got)) {
		t.Errorf("NaN: got %v", got)
	}
	// Every binary16 value against its decoding field by field (NaN payloads included).
	for h := range 1 << 16 {
		if got, want := math.Float32bits(float16to32(uint16(h))), float16to32Fields(uint16(h)); got != want {
			t.Fatalf("float16to32(%#04x) = %#08x, want %#08x", h, got, want)
		}
	}
	if got := bfloat16to32(0x3fc0); got != 1.5 {
		t.Errorf("bfloat16 1.5: got %v", got)
	}
}

// float16to32Fields decodes binary16 bits into float32 bits field by field: the reference of
// float16to32.
func float16to32Fields(h uint16) uint32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN, the payload kept
		return sign | 0x7f800000 | mant<<13
	case exp != 0:
		return sign | (exp+127-15)<<23 | mant<<13
	case mant == 0:
		return sign
	}
	// subnormal: mant·2⁻²⁴ = 1.m'·2^(e) with the leading one of mant moved into the exponent
	e := uint32(127 - 15 + 1)
	for mant&0x400 == 0 {
		mant <<= 1
		e--
	}
	return sign | e<<23 | (mant&0x3ff)<<13
}
