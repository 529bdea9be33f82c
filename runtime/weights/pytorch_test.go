package weights

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"slices"
	"strings"
	"testing"
)

// zipRecord is one record of a hand-built archive. With raw set, the header
// fields are written as given (declared sizes and CRC may lie).
type zipRecord struct {
	name   string
	data   []byte
	method uint16
	raw    *zip.FileHeader
}

func buildZip(t testing.TB, recs ...zipRecord) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, r := range recs {
		var w interface{ Write([]byte) (int, error) }
		var err error
		if r.raw != nil {
			w, err = zw.CreateRaw(r.raw)
		} else {
			w, err = zw.CreateHeader(&zip.FileHeader{Name: r.name, Method: r.method})
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(r.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// torchZip builds a torch.save-shaped archive around a pickle and storages.
func torchZip(t testing.TB, pkl []byte, storages map[string][]byte) []byte {
	recs := []zipRecord{{name: "archive/data.pkl", data: pkl}}
	for k, v := range storages {
		recs = append(recs, zipRecord{name: "archive/data/" + k, data: v})
	}
	recs = append(recs, zipRecord{name: "archive/version", data: []byte("3\n")})
	return buildZip(t, recs...)
}

// pk assembles a pickle from opcodes and helpers.
type pk struct{ b []byte }

func (p *pk) op(ops ...byte) *pk { p.b = append(p.b, ops...); return p }
func (p *pk) str(s string) *pk {
	p.b = append(p.b, opBINUNICODE)
	p.b = binary.LittleEndian.AppendUint32(p.b, uint32(len(s)))
	p.b = append(p.b, s...)
	return p
}
func (p *pk) int1(v byte) *pk { return p.op(opBININT1, v) }
func (p *pk) global(m, n string) *pk {
	p.b = append(p.b, opGLOBAL)
	p.b = append(p.b, m+"\n"+n+"\n"...)
	return p
}

// storage pushes the persistent-load of ('storage', torch.<typ>, key, 'cpu', numel).
func (p *pk) storage(typ, key string, numel byte) *pk {
	return p.op(opMARK).str("storage").global("torch", typ).str(key).str("cpu").int1(numel).op(opTUPLE, opBINPERSID)
}

// tensor pushes _rebuild_tensor_v2(storage, offset, (shape...), (stride...), False, OrderedDict()).
func (p *pk) tensor(typ, key string, numel, offset byte, shape, stride []byte) *pk {
	p.global("torch._utils", "_rebuild_tensor_v2").op(opMARK).storage(typ, key, numel).int1(offset)
	p.op(opMARK)
	for _, d := range shape {
		p.int1(d)
	}
	p.op(opTUPLE, opMARK)
	for _, d := range stride {
		p.int1(d)
	}
	p.op(opTUPLE, opNEWFALSE).global("collections", "OrderedDict").op(opEMPTY_TUPLE, opREDUCE, opTUPLE, opREDUCE)
	return p
}

// stateDict wraps the body (pushing key/value pairs) in {…} and STOP.
func stateDict(body func(p *pk)) []byte {
	p := (&pk{}).op(opPROTO, 2, opEMPTY_DICT, opMARK)
	body(p)
	return p.op(opSETITEMS, opSTOP).b
}

func TestParsePyTorchHandBuilt(t *testing.T) {
	pkl := stateDict(func(p *pk) {
		p.str("w").tensor("FloatStorage", "0", 6, 0, []byte{2, 3}, []byte{3, 1})
		p.str("wt").tensor("FloatStorage", "0", 6, 0, []byte{3, 2}, []byte{1, 3})
		p.str("col").tensor("FloatStorage", "0", 6, 1, []byte{2}, []byte{3})
		p.str("one").tensor("FloatStorage", "0", 6, 5, []byte{1, 1}, []byte{9, 9}) // size-1 dims: contiguous
	})
	b := torchZip(t, pkl, map[string][]byte{"0": f32bytes(0, 1, 2, 3, 4, 5)})
	f, err := ParsePyTorch("hand.bin", b)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][]float32{
		"w": {0, 1, 2, 3, 4, 5}, "wt": {0, 3, 1, 4, 2, 5}, "col": {1, 4}, "one": {5},
	} {
		got, err := f.Tensors[name].Float32()
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("%s = %v, %v; want %v", name, got, err, want)
		}
	}
}

func TestParsePyTorchHostile(t *testing.T) {
	st6 := map[string][]byte{"0": f32bytes(0, 1, 2, 3, 4, 5)}
	good := stateDict(func(p *pk) { p.str("w").tensor("FloatStorage", "0", 6, 0, []byte{6}, []byte{1}) })
	goodZip := torchZip(t, good, st6)

	deep := (&pk{}).op(opPROTO, 2)
	for range maxPickleStack + 1 {
		deep.op(opNONE)
	}
	manyItems := (&pk{}).op(opPROTO, 2, opEMPTY_LIST)
	for range maxPickleItems/50000 + 1 {
		manyItems.op(opMARK)
		for range 50000 {
			manyItems.op(opNONE)
		}
		manyItems.op(opAPPENDS)
	}
	manyMemo := (&pk{}).op(opPROTO, 2, opNONE)
	for i := range maxPickleMemo + 1 {
		manyMemo.op(opLONG_BINPUT).op(binary.LittleEndian.AppendUint32(nil, uint32(i))...)
	}
	// 64 transposed 16x16 views of one 1 KiB storage would copy 64 KiB from a ~10 KiB file.
	manyViews := stateDict(func(p *pk) {
		for i := range 64 {
			p.str(string(rune('A'+i))).tensor("FloatStorage", "0", 255, 0, []byte{15, 15}, []byte{1, 15})
		}
	})
	// Declared sizes that lie: 4 GiB - 16 of stored data.pkl in a small file,
	// a 2^40-byte zip64 record, and a deflated record claiming 10^12 bytes.
	crc := crc32.ChecksumIEEE(good)
	liar := func(size uint64, method uint16) []byte {
		return buildZip(t, zipRecord{raw: &zip.FileHeader{Name: "archive/data.pkl", Method: method, CRC32: crc,
			CompressedSize64: uint64(len(good)), UncompressedSize64: size}, data: good})
	}
	badCRC := bytes.Clone(goodZip)
	badCRC[bytes.Index(badCRC, f32bytes(5))] ^= 1

	tests := []struct {
		name        string
		b           []byte
		unsupported bool
		want        string
	}{
		{"GLOBAL os.system", torchZip(t, (&pk{}).op(opPROTO, 2).global("os", "system").str("touch /tmp/x").op(opTUPLE1, opREDUCE, opSTOP).b, nil), true, `global "os.system" is not on the allow-list`},
		{"STACK_GLOBAL builtins.eval", torchZip(t, (&pk{}).op(opPROTO, 4).str("builtins").str("eval").op(opSTACK_GLOBAL).b, nil), true, `"builtins.eval"`},
		{"GLOBAL torch.load", torchZip(t, (&pk{}).global("torch", "load").b, nil), true, `"torch.load"`},
		{"opcode INST", torchZip(t, []byte("\x80\x02(ios\nsystem\n."), nil), true, "INST (0x69)"},
		{"opcode NEWOBJ", torchZip(t, []byte("\x80\x02\x81."), nil), true, "NEWOBJ"},
		{"opcode BINBYTES", torchZip(t, []byte("\x80\x03B\x01\x00\x00\x00x."), nil), true, "BINBYTES"},
		{"calling a storage class", torchZip(t, (&pk{}).global("torch", "FloatStorage").op(opEMPTY_TUPLE, opREDUCE, opSTOP).b, nil), true, "calling torch.FloatStorage"},
		{"REDUCE on a string", torchZip(t, (&pk{}).str("x").op(opEMPTY_TUPLE, opREDUCE, opSTOP).b, nil), true, "REDUCE on str"},
		{"OrderedDict with args", torchZip(t, (&pk{}).global("collections", "OrderedDict").op(opNONE, opTUPLE1, opREDUCE, opSTOP).b, nil), true, "with arguments"},
		{"BUILD on a list", torchZip(t, (&pk{}).op(opEMPTY_LIST, opNONE, opBUILD, opSTOP).b, nil), true, "BUILD on list"},
		{"persistent id not storage", torchZip(t, (&pk{}).str("x").op(opBINPERSID, opSTOP).b, nil), true, "persistent id"},
		{"result is a list", torchZip(t, (&pk{}).op(opEMPTY_LIST, opSTOP).b, nil), true, "holds a list"},
		{"value not a tensor", torchZip(t, stateDict(func(p *pk) { p.str("a").int1(1) }), nil), true, "tensor a: unsupported: value of type int is not a tensor"},
		{"LONG1 over 64 bits", torchZip(t, []byte("\x80\x02\x8a\x09123456789."), nil), true, "LONG1"},
		{"stack too deep", torchZip(t, deep.b, nil), true, "stack deeper"},
		{"too many container items", torchZip(t, manyItems.b, nil), true, "container items"},
		{"too many memo entries", torchZip(t, manyMemo.b, nil), true, "memo entries"},
		{"view copies beyond the file size", torchZip(t, manyViews, map[string][]byte{"0": make([]byte, 255*4)}), true, "more than the file's size"},
		{"pickle protocol 6", torchZip(t, []byte("\x80\x06N."), nil), true, "protocol 6"},
		{"big-endian", buildZip(t, zipRecord{name: "archive/byteorder", data: []byte("big")}, zipRecord{name: "archive/data.pkl", data: good}), true, "big-endian"},

		{"stack underflow", torchZip(t, []byte("\x80\x02R."), nil), false, "stack underflow"},
		{"pop below MARK", torchZip(t, []byte("\x80\x02N(\x85."), nil), false, "stack underflow"},
		{"no MARK", torchZip(t, []byte("\x80\x02t."), nil), false, "no MARK"},
		{"memo miss", torchZip(t, []byte("\x80\x02h\x07."), nil), false, "memo key 7"},
		{"no STOP", torchZip(t, []byte("\x80\x02N"), nil), false, "no STOP"},
		{"empty pickle", torchZip(t, nil, nil), false, "no STOP"},
		{"string past end", torchZip(t, []byte("\x80\x02X\xff\xff\xff\xffabc."), nil), false, "truncated: want 4294967295 bytes"},
		{"BINUNICODE8 2^63", torchZip(t, []byte("\x80\x04\x8d\x00\x00\x00\x00\x00\x00\x00\x80."), nil), false, "truncated"},
		{"FRAME past end", torchZip(t, []byte("\x80\x04\x95\x00\x00\x00\x00\x00\x00\x01\x00N."), nil), false, "FRAME"},
		{"GLOBAL unterminated", torchZip(t, []byte("\x80\x02ctorch"), nil), false, "GLOBAL argument"},
		{"invalid UTF-8 string", torchZip(t, []byte("\x80\x02X\x01\x00\x00\x00\xff."), nil), false, "UTF-8"},
		{"SETITEMS odd", torchZip(t, []byte("\x80\x02}(Nu."), nil), false, "odd number"},
		{"storage missing", torchZip(t, good, nil), false, "no archive/data/0 record"},
		{"storage too short", torchZip(t, good, map[string][]byte{"0": f32bytes(1, 2)}), false, "is 8 bytes, want 24"},
		{"storage numel overflow", torchZip(t, bytes.Replace(good, []byte("cpu\x4b\x06"), []byte("cpu\x8a\x08\xff\xff\xff\xff\xff\xff\xff\x3f"), 1), st6), false, "overflow"},
		{"storage two dtypes", torchZip(t, stateDict(func(p *pk) {
			p.str("a").tensor("FloatStorage", "0", 6, 0, []byte{6}, []byte{1})
			p.str("b").tensor("IntStorage", "0", 6, 0, []byte{6}, []byte{1})
		}), st6), false, "loaded as F32[6] and as I32[6]"},
		{"view past storage", torchZip(t, stateDict(func(p *pk) { p.str("w").tensor("FloatStorage", "0", 6, 1, []byte{6}, []byte{1}) }), st6), false, "tensor w: view"},
		{"transposed view past storage", torchZip(t, stateDict(func(p *pk) { p.str("w").tensor("FloatStorage", "0", 6, 0, []byte{3, 3}, []byte{1, 3}) }), st6), false, "reaches element 8"},
		{"rank mismatch", torchZip(t, stateDict(func(p *pk) { p.str("w").tensor("FloatStorage", "0", 6, 0, []byte{6}, []byte{1, 1}) }), st6), false, "differ in rank"},
		{"expanded view", torchZip(t, stateDict(func(p *pk) { p.str("w").tensor("FloatStorage", "0", 6, 0, []byte{4, 6}, []byte{0, 1}) }), st6), true, "more elements than its storage"},
		{"negative offset", torchZip(t, bytes.Replace(good, []byte("cpu\x4b\x06\x74\x51\x4b\x00"), []byte("cpu\x4b\x06\x74\x51\x4a\xff\xff\xff\xff"), 1), st6), false, "storage_offset -1"},
		{"CRC mismatch", badCRC, false, "CRC-32 mismatch"},
		{"declared 4 GiB", liar(0xfffffff0, zip.Store), false, "exceeds the 33554432-byte limit"},
		{"declared 2^40 zip64", liar(1<<40, zip.Store), false, "exceeds"},
		{"deflate bomb claim", liar(32<<20, zip.Deflate), false, "impossible for"},
		{"deflate size lie", func() []byte {
			var c bytes.Buffer
			zw := zip.NewWriter(&c)
			w, _ := zw.CreateHeader(&zip.FileHeader{Name: "archive/data.pkl", Method: zip.Deflate})
			w.Write(good)
			zw.Close()
			// Rebuild with a declared size one short of the truth.
			zr, _ := zip.NewReader(bytes.NewReader(c.Bytes()), int64(c.Len()))
			raw, _ := zr.File[0].OpenRaw()
			comp := new(bytes.Buffer)
			comp.ReadFrom(raw)
			return buildZip(t, zipRecord{raw: &zip.FileHeader{Name: "archive/data.pkl", Method: zip.Deflate, CRC32: crc,
				CompressedSize64: uint64(comp.Len()), UncompressedSize64: uint64(len(good) - 1)}, data: comp.Bytes()})
		}(), false, "more than its declared"},
		{"duplicate record", buildZip(t, zipRecord{name: "archive/data.pkl", data: good}, zipRecord{name: "archive/data.pkl", data: good}), false, "duplicate zip record"},
		{"no directory", buildZip(t, zipRecord{name: "data.pkl", data: good}), false, "not under a top-level directory"},
		{"two directories", buildZip(t, zipRecord{name: "a/data.pkl", data: good}, zipRecord{name: "b/data/0", data: nil}), false, "no a/data/0 record"},
		{"no data.pkl", buildZip(t, zipRecord{name: "archive/version", data: []byte("3")}), false, "no archive/data.pkl"},
		{"not a zip", []byte("PK\x03\x04garbage"), false, "not a zip archive"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("h.bin", tc.b)
			if err == nil {
				t.Fatal("no error")
			}
			var ue *UnsupportedError
			if !isTyped(err) || errors.As(err, &ue) != tc.unsupported || errors.Is(err, errors.ErrUnsupported) != tc.unsupported {
				t.Fatalf("error %T %v; want unsupported=%v", err, err, tc.unsupported)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "weights: h.bin: ") {
				t.Errorf("error %q, want it to contain %q", err, tc.want)
			}
		})
	}
}
