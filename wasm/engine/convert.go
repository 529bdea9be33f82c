package engine

import (
	"encoding/json"
	"errors"
	"io/fs"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/adapterwasm/adapterwasm/adapters"
	"github.com/adapterwasm/adapterwasm/runtime/pretrained"
)

// MaxConvertSourceBytes bounds the weights file Convert takes, per dtype. Converting holds the
// source, the converted tensors and the file being written at once: measured on MiniLM, the Wasm
// linear memory peaks at 2.1× the f32 source for q8, 3.5× for f16 and 5.0× for f32, and it ends
// at 4 GiB and never shrinks. The bounds keep that peak near 3.2 GiB. 1.5 GiB of f32 weights is a
// 380M-parameter BERT (BERT-large is 1.34 GB): q8 only.
var MaxConvertSourceBytes = map[string]int{"q8": 1536 << 20, "f16": 896 << 20, "f32": 640 << 20}

// convertGCPercent is GOGC while converting.
const convertGCPercent = 20

// Convert turns a Hugging Face model directory's files into adapterwasm's single-file base model,
// as `adapterwasm convert` does (pretrained.Convert: the same bytes for the same files and
// options). files' entries are deleted as they are used up; the result does not alias them.
func Convert(files map[string][]byte, opt pretrained.ConvertOptions) (c *pretrained.Converted, err error) {
	err = Guard(func() error {
		switch opt.DType {
		case "f32", "f16", "q8":
		default:
			return errorf(CodeInvalidArgument, "dtype %q: want f32, f16 or q8", clip(opt.DType))
		}
		for _, name := range []string{pretrained.SafetensorsFile, pretrained.PyTorchFile} {
			if n, max := len(files[name]), MaxConvertSourceBytes[opt.DType]; n > max {
				return errorf(CodeInvalidArgument, "%s is %d bytes; the converter takes at most %d for %s (convert larger bases with the adapterwasm CLI)", name, n, max, opt.DType)
			}
		}
		// The source, the tensors converted so far and their garbage (a tensor's float32 copy)
		// share the heap: collecting early keeps the peak, which the linear memory keeps for
		// good, near what is live (MiniLM q8: 254 -> 192 MiB, no slower).
		defer debug.SetGCPercent(debug.SetGCPercent(convertGCPercent))
		c, err = pretrained.Convert(files, opt)
		return err
	})
	if err != nil {
		if _, ok := err.(*Error); !ok {
			err = &Error{Code: CodeOf(err), Err: err}
		}
		return nil, err
	}
	return c, nil
}

// BuildIndex is `adapterwasm index`'s index.json (adapters.BuildIndex, written as the CLI writes
// it) for the adapter directories under roots, paths relative to base. It reads the file system,
// which a Wasm instance has only when its host gave it one (the npm package's `adapterwasm` bin in
// Node); elsewhere it fails with code unsupported.
func BuildIndex(base string, roots []string) (b []byte, err error) {
	err = Guard(func() error {
		if len(roots) == 0 {
			return errorf(CodeInvalidArgument, "no adapter directories given")
		}
		idx, err := adapters.BuildIndex(base, roots...)
		if errors.Is(err, syscall.ENOSYS) {
			return errorf(CodeUnsupported, "this host gives the Wasm module no file system (only the adapterwasm command in Node does): %v", err)
		}
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return &Error{Code: CodeNotFound, Err: err}
			}
			return codeOfAdapters(err)
		}
		if b, err = json.MarshalIndent(idx, "", "  "); err != nil {
			return err
		}
		b = append(b, '\n')
		return nil
	})
	if err != nil {
		if _, ok := err.(*Error); !ok {
			err = &Error{Code: CodeOf(err), Err: err}
		}
	}
	return b, err
}

// clip cuts echoed input to a short prefix.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// MaxAdapterHubIndexBytes bounds an AdapterHub index file handed to ResolveAdapterHub (the
// archived Hub's largest, bert-base-uncased's, is about 60 KB).
const MaxAdapterHubIndexBytes = 16 << 20

// ResolveAdapterHub is adapters.ResolveAdapterHub behind the boundary: the AdapterHub/… repo id
// of an AdapterHub identifier, resolved on its base model's index file (nil for "@org/file").
// No such entry is CodeNotFound; several matches, a bad config string or identifier
// CodeInvalidArgument; an index of the wrong layout CodeFormat.
func ResolveAdapterHub(index []byte, identifier, modelName, config string, strict bool) (id string, err error) {
	err = Guard(func() error {
		if strings.TrimSpace(identifier) == "" {
			return errorf(CodeInvalidArgument, "an empty AdapterHub identifier")
		}
		if len(index) > MaxAdapterHubIndexBytes {
			return errorf(CodeInvalidArgument, "AdapterHub index is %d bytes; at most %d", len(index), MaxAdapterHubIndexBytes)
		}
		var e error
		id, e = adapters.ResolveAdapterHub(index, identifier, modelName, config, strict)
		switch {
		case e == nil:
			return nil
		case errors.Is(e, adapters.ErrAHIndex):
			return &Error{Code: CodeFormat, Err: e}
		case errors.Is(e, adapters.ErrAHNotFound):
			return &Error{Code: CodeNotFound, Err: e}
		}
		return &Error{Code: CodeInvalidArgument, Err: e}
	})
	return id, err
}
