package weights

import (
	"encoding/binary"
	"math"
	"slices"
	"strconv"
)

// Tensor is one named tensor: a dtype, a shape and its raw little-endian
// element bytes in row-major (C-contiguous) order.
type Tensor struct {
	Name  string
	DType DType
	Shape []int
	// Data holds NumElements()*DType.Size() bytes. Parsers may return Data
	// aliasing the input buffer (with its capacity clipped, so appending
	// copies): copy it before mutating or reusing the input.
	Data []byte
}

// NumElements returns the product of Shape (1 for a scalar: an empty or nil Shape).
// It returns -1 if a dimension is negative or the product overflows int.
func (t *Tensor) NumElements() int {
	n, ok := numElements(t.Shape)
	if !ok {
		return -1
	}
	return n
}

// numElements multiplies dims with overflow checks; ok is false on a negative
// dimension or an overflow of int.
func numElements(shape []int) (n int, ok bool) {
	n = 1
	for _, d := range shape {
		if d < 0 {
			return 0, false
		}
		if d != 0 && n > maxInt/d {
			// Overflow unless a later dim is 0; PyTorch and safetensors both
			// reject such shapes when computing the byte size, and so do we.
			return 0, false
		}
		n *= d
	}
	return n, true
}

// byteSize returns numElements(shape)*size with overflow checks.
func byteSize(shape []int, size int) (int, bool) {
	n, ok := numElements(shape)
	if !ok || size <= 0 || n > maxInt/size {
		return 0, false
	}
	return n * size, true
}

const maxInt = int(^uint(0) >> 1)

// checkData validates the dtype and the length of Data and returns the
// element count.
func (t *Tensor) checkData() (int, error) {
	size := t.DType.Size()
	if size == 0 {
		return 0, &UnsupportedError{Tensor: t.Name, Reason: "dtype " + strconv.Quote(string(t.DType))}
	}
	nb, ok := byteSize(t.Shape, size)
	if !ok {
		return 0, &FormatError{Tensor: t.Name, Reason: "shape " + shapeString(t.Shape) + " is negative or overflows"}
	}
	if len(t.Data) != nb {
		return 0, &FormatError{Tensor: t.Name, Reason: "data is " + strconv.Itoa(len(t.Data)) + " bytes, want " + strconv.Itoa(nb) + " for " + string(t.DType) + shapeString(t.Shape)}
	}
	return nb / size, nil
}

func shapeString(shape []int) string {
	b := []byte{'['}
	for i, d := range shape {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(d), 10)
	}
	return string(append(b, ']'))
}

// NewFloat32 returns an F32 tensor holding a copy of v in little-endian
// bytes, or a *FormatError if len(v) does not match shape.
func NewFloat32(name string, shape []int, v []float32) (*Tensor, error) {
	if n, ok := numElements(shape); !ok || n != len(v) {
		return nil, &FormatError{Tensor: name, Reason: strconv.Itoa(len(v)) + " values for shape " + shapeString(shape)}
	}
	data := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(x))
	}
	return &Tensor{Name: name, DType: F32, Shape: slices.Clone(shape), Data: data}, nil
}
