// Package modelfile is adapterwasm's base-model file: one safetensors file
// (https://github.com/huggingface/safetensors, README "Format") that holds a model's weights in
// f32, f16 or q8 together with its config.json and tokenizer.json, so the browser fetches,
// verifies and caches one URL. A manifest.json beside it gives the file's size and sha256 for the
// JS shim. The package parses and writes []byte and knows nothing of the encoder; ARCHITECTURE.md
// ("Base-model file") records why it is built this way.
//
// Layout (a valid safetensors file, readable by safetensors.safe_open):
//
//	u64 little-endian N | N bytes of JSON header, space-padded to a multiple of 8 | data
//
// The header starts with the magic {"__metadata__":{"adapterwasm":"<version>" (metadata keys
// are written sorted and every other key sorts after "adapterwasm"), so the version is read from
// fixed offsets before any JSON is parsed. Metadata holds config.json, tokenizer.json and
// optionally sentence_bert_config.json verbatim, and the dtype. Tensors keep their checkpoint
// names; a q8 weight "X.weight" is an I8 tensor [out, in] with an F16 companion
// "X.weight_scale" [out, in/block] (ggml's Q8_0 numerics, planar; the block, 32 for linears and
// 16 for word embeddings as Convert writes them, is read from the shapes). Tensors are stored in
// descending element size, so in the 8-byte-aligned data section each starts at a multiple of
// its element size and can be used in place.
package modelfile

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strconv"

	"github.com/adapterwasm/adapterwasm/runtime/weights"
)

// Version is the format version Write writes and Parse reads.
const Version = 1

// File names in a converted model directory.
const (
	FileName     = "adapterwasm.safetensors"
	ManifestName = "manifest.json"
)

// MaxHeader is the largest header Parse accepts, in bytes: room for a multilingual
// tokenizer.json (XLM-R's is 17 MB) and far below safetensors' own 100 MB limit.
const MaxHeader = 64 << 20

// Metadata keys. They are written sorted; magicKey must sort first (see the package doc).
const (
	magicKey        = "adapterwasm"
	keyConfig       = "config.json"
	keyDType        = "dtype"
	keySentenceBert = "sentence_bert_config.json"
	keySource       = "source"
	keyTokenizer    = "tokenizer.json"
)

// magic is the fixed prefix of every header, right after the 8-byte header length.
const magic = `{"__metadata__":{"` + magicKey + `":"`

// ScaleSuffix names the scale tensor of a q8 weight: "X.weight" + ScaleSuffix.
const ScaleSuffix = "_scale"

// DType is the storage type of a model file's weights.
type DType string

const (
	F32 DType = "f32" // every float tensor as F32
	F16 DType = "f16" // matrices as F16, vectors (biases, LayerNorm) as F32
	Q8  DType = "q8"  // large matrices as I8 + F16 block scales, small ones F16, vectors F32 (see Convert)
)

// ParseDType validates a dtype name.
func ParseDType(s string) (DType, error) {
	switch d := DType(s); d {
	case F32, F16, Q8:
		return d, nil
	}
	return "", fmt.Errorf("unknown dtype %q (f32, f16, q8)", s)
}

// File is a parsed model file. Tensor data aliases the parsed bytes.
type File struct {
	Version            int
	DType              DType
	Source             string // the model's name or origin, informative
	Config             []byte // config.json
	Tokenizer          []byte // tokenizer.json
	SentenceBertConfig []byte // sentence_bert_config.json; nil when absent
	Tensors            map[string]*weights.Tensor
	Order              []string // tensor names in data order
}

// FormatError reports bytes that are not a valid model file: truncated, corrupted, not
// adapterwasm's, or inconsistent. Err is the underlying *weights.FormatError when the
// safetensors layer found the problem.
type FormatError struct {
	Reason string
	Err    error
}

func (e *FormatError) Error() string {
	if e.Err != nil {
		return "modelfile: " + e.Reason + ": " + e.Err.Error()
	}
	return "modelfile: " + e.Reason
}

func (e *FormatError) Unwrap() error { return e.Err }

// VersionError reports a well-formed file of a format version this build does not read.
type VersionError struct{ Version string }

func (e *VersionError) Error() string {
	return fmt.Sprintf("modelfile: format version %s is not supported (this build reads version %d); convert the model again or update adapterwasm", strconv.Quote(e.Version), Version)
}

// Parse checks the magic, version and header length of b before parsing anything, then parses
// the safetensors header and checks the metadata and every q8 weight's scale tensor. It never
// allocates more than a small multiple of the header's size; tensor data aliases b.
func Parse(b []byte) (*File, error) {
	ver, err := checkPrefix(b)
	if err != nil {
		return nil, err
	}
	sf, err := weights.ParseSafetensors(FileName, b)
	if err != nil {
		return nil, &FormatError{Reason: "invalid safetensors", Err: err}
	}
	md := sf.Metadata
	if md[magicKey] != ver {
		return nil, &FormatError{Reason: "metadata does not repeat the version of the magic"}
	}
	f := &File{Version: Version, Tensors: sf.Tensors, Order: sf.Order, Source: md[keySource]}
	if f.DType, err = ParseDType(md[keyDType]); err != nil {
		return nil, &FormatError{Reason: err.Error()}
	}
	cfg, ok1 := md[keyConfig]
	tok, ok2 := md[keyTokenizer]
	if !ok1 || !ok2 {
		return nil, &FormatError{Reason: "metadata lacks config.json or tokenizer.json"}
	}
	f.Config, f.Tokenizer = []byte(cfg), []byte(tok)
	if s, ok := md[keySentenceBert]; ok {
		f.SentenceBertConfig = []byte(s)
	}
	if err := checkScales(f.Tensors); err != nil {
		return nil, err
	}
	return f, nil
}

// checkPrefix validates the 8-byte header length and the magic, and returns the version string.
func checkPrefix(b []byte) (string, error) {
	if len(b) < 8+len(magic)+2 {
		return "", &FormatError{Reason: fmt.Sprintf("file is %d bytes, too short for a model file (truncated?)", len(b))}
	}
	n := binary.LittleEndian.Uint64(b)
	if !bytes.HasPrefix(b[8:], []byte(magic)) {
		return "", &FormatError{Reason: "not an adapterwasm model file (no adapterwasm magic at byte 8; a plain safetensors file? convert it with `adapterwasm convert`)"}
	}
	if n > MaxHeader {
		return "", &FormatError{Reason: fmt.Sprintf("header length %d exceeds the %d-byte limit", n, MaxHeader)}
	}
	if n > uint64(len(b)-8) {
		return "", &FormatError{Reason: fmt.Sprintf("header length %d exceeds the %d bytes after it (truncated file?)", n, len(b)-8)}
	}
	if n < uint64(len(magic)+2) {
		return "", &FormatError{Reason: fmt.Sprintf("header length %d is too short to hold the magic", n)}
	}
	rest := b[8+len(magic) : 8+n]
	end := bytes.IndexByte(rest, '"')
	if end < 0 || end > 16 {
		return "", &FormatError{Reason: "malformed version in magic"}
	}
	v := string(rest[:end])
	if v != strconv.Itoa(Version) {
		return "", &VersionError{Version: v}
	}
	return v, nil
}

// checkScales checks that every I8 tensor has an F16 scale tensor [rows, blocks] whose block
// size divides the row, and that every scale tensor belongs to an I8 tensor.
func checkScales(ts map[string]*weights.Tensor) error {
	for name, t := range ts {
		switch {
		case t.DType == weights.I8:
			s, ok := ts[name+ScaleSuffix]
			if !ok {
				return &FormatError{Reason: fmt.Sprintf("I8 tensor %s has no %s%s", name, name, ScaleSuffix)}
			}
			if _, err := Q8Block(t, s); err != nil {
				return err
			}
		case len(name) > len(ScaleSuffix) && name[len(name)-len(ScaleSuffix):] == ScaleSuffix:
			if w, ok := ts[name[:len(name)-len(ScaleSuffix)]]; !ok || w.DType != weights.I8 {
				return &FormatError{Reason: fmt.Sprintf("scale tensor %s belongs to no I8 tensor", name)}
			}
		}
	}
	return nil
}

// Q8Block returns the block size of the q8 weight w [out, in] with scale tensor s
// [out, in/block], or a *FormatError if the pair is inconsistent.
func Q8Block(w, s *weights.Tensor) (int, error) {
	bad := func(why string) (int, error) {
		return 0, &FormatError{Reason: fmt.Sprintf("q8 tensor %s%v with scale %s %s%v: %s", w.Name, w.Shape, s.DType, s.Name, s.Shape, why)}
	}
	if w.DType != weights.I8 || len(w.Shape) != 2 {
		return bad("weight is not a 2-D I8 tensor")
	}
	if s.DType != weights.F16 || len(s.Shape) != 2 || s.Shape[0] != w.Shape[0] {
		return bad("scale is not F16 [rows, blocks]")
	}
	in, nb := w.Shape[1], s.Shape[1]
	if nb == 0 || in%nb != 0 {
		if in == 0 && nb == 0 {
			return 1, nil
		}
		return bad("block count does not divide the row length")
	}
	return in / nb, nil
}
