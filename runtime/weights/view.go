package weights

import "fmt"

// materialize turns a saved view (storage, storage_offset, size, stride; see
// torch/_utils.py _rebuild_tensor_v2, which calls Tensor.set_) into a
// row-major Tensor. A contiguous view aliases the storage's bytes; any other
// view is copied element by element, provided the copy is no larger than the
// storage itself (so a stride-0 "expanded" view cannot amplify memory use)
// and fits in what is left of *budget, which it decrements.
func (t *pyTensor) materialize(name string, budget *int) (*Tensor, error) {
	st := t.storage
	size := st.dtype.Size()
	ferr := func(format string, args ...any) error {
		return &FormatError{Tensor: name, Reason: fmt.Sprintf(format, args...)}
	}
	numel, ok := numElements(t.shape)
	if !ok {
		return nil, ferr("size %s overflows", shapeString(t.shape))
	}
	out := &Tensor{Name: name, DType: st.dtype, Shape: t.shape}
	if numel == 0 {
		out.Data = []byte{}
		return out, nil
	}
	// The last element the view touches must lie inside the storage.
	last := t.offset
	for i, d := range t.shape {
		step := d - 1
		if t.stride[i] != 0 && step > (maxInt-last)/t.stride[i] {
			return nil, ferr("size %s with stride %s overflows", shapeString(t.shape), shapeString(t.stride))
		}
		last += step * t.stride[i]
	}
	if last >= st.numel {
		return nil, ferr("view (offset %d, size %s, stride %s) reaches element %d of storage %s, which has %d",
			t.offset, shapeString(t.shape), shapeString(t.stride), last, st.key, st.numel)
	}
	if isContiguous(t.shape, t.stride) {
		lo, hi := t.offset*size, (t.offset+numel)*size
		out.Data = st.data[lo:hi:hi]
		return out, nil
	}
	if numel > st.numel {
		return nil, &UnsupportedError{Tensor: name, Reason: fmt.Sprintf("view with size %s and stride %s has more elements than its storage (%d)",
			shapeString(t.shape), shapeString(t.stride), st.numel)}
	}
	if numel*size > *budget {
		return nil, &UnsupportedError{Tensor: name, Reason: fmt.Sprintf("copying non-contiguous views would take more than the file's size (%d more bytes)", numel*size-*budget)}
	}
	*budget -= numel * size
	out.Data = make([]byte, numel*size)
	idx := make([]int, len(t.shape))
	src := t.offset
	for i := 0; i < numel; i++ {
		copy(out.Data[i*size:(i+1)*size], st.data[src*size:(src+1)*size])
		// Advance the multi-index in row-major order.
		for d := len(idx) - 1; d >= 0; d-- {
			idx[d]++
			src += t.stride[d]
			if idx[d] < t.shape[d] {
				break
			}
			src -= idx[d] * t.stride[d]
			idx[d] = 0
		}
	}
	return out, nil
}

// isContiguous mirrors torch's is_contiguous: strides are row-major, ignoring
// dimensions of size 1 (c10/core/Contiguity.h, _compute_contiguous).
func isContiguous(shape, stride []int) bool {
	want := 1
	for i := len(shape) - 1; i >= 0; i-- {
		if shape[i] == 1 {
			continue
		}
		if stride[i] != want {
			return false
		}
		want *= shape[i]
	}
	return true
}
