package weights

import (
	"archive/zip"
	"runtime"
	"strings"
	"testing"
	"time"
)

// nestedTuple appends ops that push a tuple nested depth deep around leaf: (((leaf,),),…).
func nestedTuple(p *pk, depth int, leaf func(p *pk)) *pk {
	leaf(p)
	for range depth {
		p.op(opTUPLE1)
	}
	return p
}

// doubledTuple pushes t_k with t_0 = (None,) and t_{i+1} = (t_i, t_i) through the memo: k levels
// of nesting, 2^k leaves when walked.
func doubledTuple(p *pk, k int) *pk {
	p.op(opNONE, opTUPLE1)
	for range k {
		p.op(opBINPUT, 0, opBINGET, 0, opTUPLE2)
	}
	return p
}

// hostileTensorPickle is a one-tensor state dict whose storage numel, storage offset or first
// size is replaced by the value nested pushes.
func hostileTensorPickle(where string, nested func(p *pk) *pk) []byte {
	return stateDict(func(p *pk) {
		p.str("w").global("torch._utils", "_rebuild_tensor_v2").op(opMARK)
		p.op(opMARK).str("storage").global("torch", "FloatStorage").str("0").str("cpu")
		if where == "numel" {
			nested(p)
		} else {
			p.int1(6)
		}
		p.op(opTUPLE, opBINPERSID)
		if where == "offset" {
			nested(p)
		} else {
			p.int1(0)
		}
		p.op(opMARK)
		if where == "size" {
			nested(p)
		} else {
			p.int1(6)
		}
		p.op(opTUPLE, opMARK).int1(1).op(opTUPLE)
		p.op(opNEWFALSE).global("collections", "OrderedDict").op(opEMPTY_TUPLE, opREDUCE, opTUPLE, opREDUCE)
	})
}

// measure runs f and returns how long it took and the bytes it allocated.
func measure(f func()) (time.Duration, uint64) {
	var a, b runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	t0 := time.Now()
	f()
	d := time.Since(t0)
	runtime.ReadMemStats(&b)
	return d, b.TotalAlloc - a.TotalAlloc
}

// TestNestedPickleValues: tuples nested up to the container-item bound where a tensor's numel,
// storage offset or size belong are refused with a short error, natively and under GOOS=js. The
// error used to format the value with %v, recursing once per level: a ~1 KB deflated archive
// ended the process (native: stack overflow; Wasm: "traceback did not unwind completely"), and a
// tuple doubled through the memo 40 times asked fmt for 2^40 leaves.
func TestNestedPickleValues(t *testing.T) {
	for _, tc := range []struct {
		name   string
		where  string
		nested func(p *pk) *pk
	}{
		{"numel nested 100 deep", "numel", func(p *pk) *pk { return nestedTuple(p, 100, func(p *pk) { p.int1(6) }) }},
		{"numel nested 10000 deep", "numel", func(p *pk) *pk { return nestedTuple(p, 10_000, func(p *pk) { p.int1(6) }) }},
		{"numel nested 1000000 deep", "numel", func(p *pk) *pk { return nestedTuple(p, 1_000_000, func(p *pk) { p.int1(6) }) }},
		{"offset nested 1000000 deep", "offset", func(p *pk) *pk { return nestedTuple(p, 1_000_000, func(p *pk) { p.int1(0) }) }},
		{"size nested 1000000 deep", "size", func(p *pk) *pk { return nestedTuple(p, 1_000_000, func(p *pk) { p.int1(6) }) }},
		{"numel doubled 40 times", "numel", func(p *pk) *pk { return doubledTuple(p, 40) }},
		{"size doubled 40 times", "size", func(p *pk) *pk { return doubledTuple(p, 40) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pkl := hostileTensorPickle(tc.where, tc.nested)
			b := buildZip(t, zipRecord{name: "archive/data.pkl", data: pkl, method: zip.Deflate},
				zipRecord{name: "archive/data/0", data: f32bytes(0, 1, 2, 3, 4, 5)},
				zipRecord{name: "archive/version", data: []byte("3\n")})
			var err error
			d, alloc := measure(func() { _, err = ParsePyTorch("deep.bin", b) })
			t.Logf("%d-byte file (%d-byte pickle): %v in %v, %d KB allocated", len(b), len(pkl), err, d.Round(time.Millisecond), alloc>>10)
			if err == nil || !isTyped(err) || !strings.HasPrefix(err.Error(), "weights: deep.bin: ") {
				t.Fatalf("err = %.300v", err)
			}
			if len(err.Error()) > 200 {
				t.Errorf("error of %d bytes: %.300s", len(err.Error()), err)
			}
			if !strings.Contains(err.Error(), "tuple") {
				t.Errorf("error %q does not say the value is a tuple", err)
			}
		})
	}
}

// TestDeepSafetensorsHeader: a header nesting deeper than 64 levels (in a value the parser skips)
// is refused before it is decoded.
func TestDeepSafetensorsHeader(t *testing.T) {
	for _, depth := range []int{65, 9990, 100_000} {
		h := `{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":` + strings.Repeat("[", depth) + strings.Repeat("]", depth) + `}}`
		_, err := ParseSafetensors("deep.safetensors", stFile(h, f32bytes(1)))
		if !isTyped(err) || !strings.Contains(err.Error(), "weights: deep.safetensors: header JSON nests deeper than 64 levels") {
			t.Errorf("%d deep: %v", depth, err)
		}
	}
}
