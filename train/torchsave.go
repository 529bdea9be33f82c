package train

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"math"
)

// torchSave writes a state dict of float32 tensors as torch.save does (torch/serialization.py,
// _save with the zip format): a zip of stored records archive/data.pkl (a protocol-2 pickle of
// {name: torch._utils._rebuild_tensor_v2(storage, 0, shape, stride, False, OrderedDict())},
// each storage a persistent id ('storage', torch.FloatStorage, key, 'cpu', numel)),
// archive/byteorder, archive/data/<key> (the little-endian values) and archive/version. It is
// what save_adapter writes as pytorch_adapter.bin, loadable by torch.load(weights_only=True)
// and by runtime/weights.
func torchSave(names []string, shapes [][]int, values [][]float32) ([]byte, error) {
	var p pickler
	p.op(0x80, 2, '}', '(') // PROTO 2, EMPTY_DICT, MARK
	for i, name := range names {
		p.str(name)
		p.global("torch._utils", "_rebuild_tensor_v2")
		p.op('(')
		p.op('(')
		p.str("storage")
		p.global("torch", "FloatStorage")
		p.str(itoa(i))
		p.str("cpu")
		p.int(len(values[i]))
		p.op('t', 'Q') // TUPLE, BINPERSID
		p.int(0)
		p.op('(')
		for _, d := range shapes[i] {
			p.int(d)
		}
		p.op('t', '(')
		stride := 1
		strides := make([]int, len(shapes[i]))
		for j := len(shapes[i]) - 1; j >= 0; j-- {
			strides[j] = stride
			stride *= shapes[i][j]
		}
		for _, s := range strides {
			p.int(s)
		}
		p.op('t', 0x89) // TUPLE, NEWFALSE
		p.global("collections", "OrderedDict")
		p.op(')', 'R', 't', 'R') // EMPTY_TUPLE, REDUCE, TUPLE, REDUCE
	}
	p.op('u', '.') // SETITEMS, STOP

	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(name string, data []byte) error {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: "archive/" + name, Method: zip.Store})
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	}
	if err := add("data.pkl", p.b); err != nil {
		return nil, err
	}
	if err := add("byteorder", []byte("little")); err != nil {
		return nil, err
	}
	for i, v := range values {
		b := make([]byte, 4*len(v))
		for j, x := range v {
			binary.LittleEndian.PutUint32(b[4*j:], math.Float32bits(x))
		}
		if err := add("data/"+itoa(i), b); err != nil {
			return nil, err
		}
	}
	if err := add("version", []byte("3\n")); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

type pickler struct{ b []byte }

func (p *pickler) op(ops ...byte) { p.b = append(p.b, ops...) }

func (p *pickler) str(s string) {
	p.b = append(p.b, 'X') // BINUNICODE
	p.b = binary.LittleEndian.AppendUint32(p.b, uint32(len(s)))
	p.b = append(p.b, s...)
}

func (p *pickler) global(module, name string) {
	p.b = append(p.b, 'c')
	p.b = append(p.b, module+"\n"+name+"\n"...)
}

func (p *pickler) int(v int) {
	p.b = append(p.b, 'J') // BININT: 4-byte signed
	p.b = binary.LittleEndian.AppendUint32(p.b, uint32(int32(v)))
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var d []byte
	for ; i > 0; i /= 10 {
		d = append([]byte{byte('0' + i%10)}, d...)
	}
	return string(d)
}
