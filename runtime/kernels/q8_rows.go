package kernels

// Rows is a table read one row at a time, such as an embedding matrix [n, dim] stored as F32,
// F16 or Q8: Row writes row i as float32 into dst[:dim].
type Rows interface {
	Dims() (n, dim int)
	Row(dst []float32, i int)
}

// Row writes row o of W into dst [In].
func (m *F32) Row(dst []float32, o int) { copy(dst[:m.In], m.W[o*m.In:(o+1)*m.In]) }

var (
	_ Rows   = (*F32)(nil)
	_ Rows   = (*F16)(nil)
	_ Rows   = (*Q8)(nil)
	_ Matrix = (*F16)(nil)
	_ Matrix = (*Q8)(nil)
)
