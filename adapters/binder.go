package adapters

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"unsafe"

	"github.com/adapterwasm/adapterwasm/runtime/bert"
	"github.com/adapterwasm/adapterwasm/runtime/kernels"
	"github.com/adapterwasm/adapterwasm/runtime/weights"
)

// legacyRenames is WeightsLoader.legacy_weights_mapping (adapters/loading.py): adapter-transformers
// v1/v2 module names, renamed on load.
var legacyRenames = [][2]string{
	{"attention_text_task_adapters", "adapters"},
	{"attention_text_lang_adapters", "adapters"},
	{"layer_text_task_adapters", "adapters"},
	{"layer_text_lang_adapters", "adapters"},
	{"invertible_lang_adapters", "invertible_adapters"},
}

// normalizeKeys returns the tensors of a weight file keyed as the encoder's state dict would key
// them: legacy names renamed, the base-model prefix of layout k removed ("bert."; the loader
// accepts keys with and without it, as loading.py does), and the saved name renamed to loadAs.
func normalizeKeys(k *bert.Layout, ts map[string]*weights.Tensor, saved, loadAs string) map[string]*weights.Tensor {
	out := make(map[string]*weights.Tensor, len(ts))
	for key, t := range ts {
		for _, r := range legacyRenames {
			key = strings.ReplaceAll(key, r[0], r[1])
		}
		key = k.TrimPrefix(key)
		if loadAs != "" && loadAs != saved {
			key = renameAdapter(key, saved, loadAs)
		}
		out[key] = t
	}
	return out
}

// renameAdapter is WeightsLoader.rename_func / the fusion and head rename functions.
func renameAdapter(k, old, new string) string {
	for _, pat := range []string{"adapters.%s.", ".prefix_tunings.%s.", ".prefix_gates.%s.", ".loras.%s.",
		".shared_parameters.%s.", ".refts.%s.", "adapter_fusion_layer.%s.", "heads.%s."} {
		k = strings.Replace(k, fmt.Sprintf(pat, old), fmt.Sprintf(pat, new), 1)
	}
	return k
}

// binder looks tensors up by normalized checkpoint name, remembers which it used, and records
// every missing or misshaped tensor.
type binder struct {
	ts       map[string]*weights.Tensor
	used     map[string]bool
	problems []string
}

func newBinder(ts map[string]*weights.Tensor) *binder {
	return &binder{ts: ts, used: map[string]bool{}}
}

func (bd *binder) problem(p string) { bd.problems = append(bd.problems, p) }

func (bd *binder) has(name string) bool { _, ok := bd.ts[name]; return ok }

// alias marks tensors as used without binding them (a module saved under two names).
func (bd *binder) alias(names ...string) {
	for _, n := range names {
		bd.used[n] = true
	}
}

// vec returns a float32 copy of the named tensor with the given shape.
func (bd *binder) vec(name string, shape ...int) []float32 {
	t, ok := bd.ts[name]
	if !ok {
		bd.problem("missing tensor " + name)
		return nil
	}
	bd.used[name] = true
	if !slices.Equal(t.Shape, shape) {
		bd.problem(fmt.Sprintf("tensor %s has shape %v, want %v", name, t.Shape, shape))
		return nil
	}
	v, err := t.Float32()
	if err != nil {
		bd.problem(fmt.Sprintf("tensor %s: %v", name, err))
		return nil
	}
	// A NaN or ±Inf weight would turn every output into NaN: refuse it here, naming the tensor,
	// rather than return meaningless labels (a trained adapter never holds one).
	if i := firstNonFinite(v); i >= 0 {
		bd.problem(fmt.Sprintf("tensor %s holds %v at element %d", name, v[i], i))
		return nil
	}
	return v
}

// firstNonFinite returns the index of the first NaN or ±Inf in v, or -1. It tests the exponent
// bits of two floats at a time, as one uint64 (an all-ones exponent plus one carries into the
// sign bit of its 32-bit half, and never further), four words per step: under Wasm, loading an
// adapter runs in baseline code, where a float compare per element costs more than the copy
// that made v.
func firstNonFinite(v []float32) int {
	const (
		exp   = 0x7f800000_7f800000 // the exponent bits of both halves
		one   = 0x00800000_00800000 // the lowest exponent bit of both halves
		carry = 0x80000000_80000000 // where an all-ones exponent + one lands
	)
	i := 0
	for ; i < len(v) && uintptr(unsafe.Pointer(&v[i]))%8 != 0; i++ {
		if v[i]-v[i] != 0 {
			return i
		}
	}
	if n := (len(v) - i) / 2; n > 0 {
		w := unsafe.Slice((*uint64)(unsafe.Pointer(&v[i])), n)
		var acc uint64
		j := 0
		for ; j+4 <= len(w); j += 4 {
			acc |= (w[j]&exp + one) | (w[j+1]&exp + one) | (w[j+2]&exp + one) | (w[j+3]&exp + one)
		}
		for ; j < len(w); j++ {
			acc |= w[j]&exp + one
		}
		if acc&carry == 0 {
			i += 2 * n
		}
	}
	for ; i < len(v); i++ {
		if v[i]-v[i] != 0 {
			return i
		}
	}
	return -1
}

// linear binds name.weight [out, in] (and name.bias [out] if bias).
func (bd *binder) linear(name string, out, in int, bias bool) bert.Linear {
	var l bert.Linear
	if w := bd.vec(name+".weight", out, in); w != nil {
		l.W = kernels.NewF32(out, in, w)
	}
	if bias {
		l.B = bd.vec(name+".bias", out)
	}
	return l
}

// unused lists tensors that belong to the adapter (match) but were not bound.
func (bd *binder) unused(match func(string) bool) []string {
	var out []string
	for k := range bd.ts {
		if !bd.used[k] && match(k) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func (bd *binder) err(file string) error {
	if len(bd.problems) == 0 {
		return nil
	}
	sort.Strings(bd.problems)
	return &LoadError{File: file, Problems: bd.problems}
}
