package weights

import (
	"encoding/binary"
	"math"
	"unsafe"
)

// DType is an element type, spelled as in the safetensors header
// (safetensors/src/tensor.rs, enum Dtype).
type DType string

// The element types this package reads and writes.
const (
	F64  DType = "F64"
	F32  DType = "F32"
	F16  DType = "F16"
	BF16 DType = "BF16"
	I64  DType = "I64"
	I32  DType = "I32"
	I16  DType = "I16"
	I8   DType = "I8"
	U8   DType = "U8"
	BOOL DType = "BOOL"
)

// dtypeSizes is the one table of supported dtypes and their element sizes.
var dtypeSizes = map[DType]int{
	F64: 8, F32: 4, F16: 2, BF16: 2,
	I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1,
}

// knownUnsupported lists dtypes safetensors defines but this package does not
// read; they are reported as *UnsupportedError rather than *FormatError.
var knownUnsupported = map[string]bool{
	"U16": true, "U32": true, "U64": true,
	"F8_E5M2": true, "F8_E4M3": true, "F8_E8M0": true,
	"F6_E2M3": true, "F6_E3M2": true, "F4": true,
}

// Size returns the number of bytes per element, or 0 if d is unknown.
func (d DType) Size() int { return dtypeSizes[d] }

// IsFloat reports whether d is one of the float types Tensor.Float32 converts.
func (d DType) IsFloat() bool { return d == F32 || d == F16 || d == BF16 || d == F64 }

// float16to32 converts IEEE 754 binary16 bits to float32 exactly (every binary16 value,
// subnormals, infinities and NaNs included, is representable), without branches on the common
// path: the 15 bits below the sign, shifted into a float32's exponent and mantissa, are the value
// times 2⁻¹¹² (a float32 subnormal for a binary16 subnormal), so one exact multiplication by 2¹¹²
// scales them back; infinities and NaNs (exponent all ones) keep their payload. Small enough to
// inline: a q8 model's ~1.6 M f16 scales convert at its first load in V8's baseline code
// (TestFloat16 checks all 65,536 values against the field-by-field decoding).
func float16to32(h uint16) float32 {
	em := uint32(h) & 0x7fff
	bits := math.Float32bits(math.Float32frombits(em<<13) * 0x1p112)
	if em >= 0x7c00 {
		bits = 0x7f800000 | em<<13
	}
	return math.Float32frombits(bits | uint32(h&0x8000)<<16)
}

// nativeLittleEndian: the host stores a float32 as the little-endian bytes tensors hold (Wasm,
// amd64 and arm64 all do), so F32 data converts by a plain byte copy.
var nativeLittleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// bfloat16to32 converts bfloat16 bits (the top half of a float32) to float32.
func bfloat16to32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// Float32 converts the tensor's elements to a new []float32. It accepts F32,
// F16, BF16 (exact) and F64 (rounded to nearest); any other dtype is an
// *UnsupportedError, and Data of the wrong length a *FormatError.
func (t *Tensor) Float32() ([]float32, error) {
	n, err := t.checkData()
	if err != nil {
		return nil, err
	}
	if !t.DType.IsFloat() {
		return nil, &UnsupportedError{Tensor: t.Name, Reason: "conversion of " + string(t.DType) + " to float32"}
	}
	out := make([]float32, n)
	le := binary.LittleEndian
	switch t.DType {
	case F32:
		if nativeLittleEndian {
			// One memmove (memory.copy under Wasm) instead of a decode per element; the source
			// needs no alignment, as only the destination is viewed as float32.
			if n > 0 {
				copy(unsafe.Slice((*byte)(unsafe.Pointer(&out[0])), 4*n), t.Data)
			}
			break
		}
		for i := range out {
			out[i] = math.Float32frombits(le.Uint32(t.Data[4*i:]))
		}
	case F16:
		src := t.Data[:2*n]
		for i := range out {
			out[i] = float16to32(uint16(src[2*i]) | uint16(src[2*i+1])<<8)
		}
	case BF16:
		for i := range out {
			out[i] = bfloat16to32(le.Uint16(t.Data[2*i:]))
		}
	case F64:
		for i := range out {
			out[i] = float32(math.Float64frombits(le.Uint64(t.Data[8*i:])))
		}
	}
	return out, nil
}

// Int64 converts the tensor's elements to a new []int64. It accepts I64, I32,
// I16, I8, U8 and BOOL (0 or 1); float dtypes are an *UnsupportedError.
func (t *Tensor) Int64() ([]int64, error) {
	n, err := t.checkData()
	if err != nil {
		return nil, err
	}
	out := make([]int64, n)
	le := binary.LittleEndian
	switch t.DType {
	case I64:
		for i := range out {
			out[i] = int64(le.Uint64(t.Data[8*i:]))
		}
	case I32:
		for i := range out {
			out[i] = int64(int32(le.Uint32(t.Data[4*i:])))
		}
	case I16:
		for i := range out {
			out[i] = int64(int16(le.Uint16(t.Data[2*i:])))
		}
	case I8:
		for i := range out {
			out[i] = int64(int8(t.Data[i]))
		}
	case U8:
		for i := range out {
			out[i] = int64(t.Data[i])
		}
	case BOOL:
		for i := range out {
			if t.Data[i] != 0 {
				out[i] = 1
			}
		}
	default:
		return nil, &UnsupportedError{Tensor: t.Name, Reason: "conversion of " + string(t.DType) + " to int64"}
	}
	return out, nil
}
