package weights

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strings"
)

// MaxPickleSize is the largest data.pkl ParsePyTorch accepts. The pickle of
// a BERT-base state dict is ~40 KB; tensor bytes live in data/<key> records.
const MaxPickleSize = 32 << 20

// MaxInflated bounds the bytes ParsePyTorch inflates from deflated records of one archive, all
// together. torch.save stores records uncompressed (they alias the file, costing nothing); a
// deflated archive is hand-made or re-zipped, and DEFLATE's ~1032:1 ratio would let a 4 MB file
// ask for 4 GB, which in a Wasm instance is a fatal out-of-memory, not an error.
const MaxInflated = 256 << 20

// Bounds on torch.save archives.
const (
	// maxDeflateRatio bounds the declared size of a deflated record by its
	// compressed size: DEFLATE cannot expand more than ~1032:1.
	maxDeflateRatio = 1032
	// maxZipRecords bounds the records of an archive: a state dict has one per storage plus
	// three (BERT-large ~400). archive/zip builds a File (~250 bytes) for every directory
	// header before anything can count them, and reads headers past the declared count.
	maxZipRecords = 1 << 16
)

// zipDirSignature starts every central-directory header (APPNOTE.TXT 4.3.12).
var zipDirSignature = []byte("PK\x01\x02")

// ParsePyTorch parses a torch.save zip archive of a state dict, the default
// format since torch 1.6 (torch/serialization.py, _save and _load): records
// <prefix>/data.pkl (the pickle), <prefix>/data/<key> (one per storage, raw
// little-endian elements), <prefix>/version and optionally
// <prefix>/byteorder, all under one top-level directory.
//
// data.pkl is run by a minimal pickle machine (pickle.go) that accepts only
// the opcodes and allow-listed globals a state dict needs and never imports
// or calls anything; its result must be a dict (or OrderedDict) of string
// keys to tensors. Storage records are read in place when stored
// uncompressed (torch's writer never compresses) and checked against their
// CRC-32; deflated records are accepted with their sizes bounded.
//
// Contiguous tensors alias b; tensors sharing a storage alias each other.
// Non-contiguous views (e.g. a saved transpose) are copied into row-major
// order. File.Order follows the dict's insertion order. Metadata is nil.
func ParsePyTorch(name string, b []byte) (*File, error) {
	ferr := func(format string, args ...any) error {
		return &FormatError{File: name, Reason: fmt.Sprintf(format, args...)}
	}
	if isLegacyTorch(b) {
		return nil, &UnsupportedError{File: name, Reason: "legacy (pre-1.6, non-zip) torch.save file; re-save it with a current torch or convert it to safetensors"}
	}
	// Count the headers archive/zip could read before it reads them: an upper bound on the
	// records, found without allocating (tensor bytes hold the signature by chance ~once per
	// 4 GB).
	if bytes.Count(b, zipDirSignature) > maxZipRecords {
		return nil, &UnsupportedError{File: name, Reason: fmt.Sprintf("zip archive with more than %d records", maxZipRecords)}
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return nil, ferr("not a zip archive: %v", err)
	}
	if len(zr.File) == 0 {
		return nil, ferr("zip archive is empty")
	}
	if len(zr.File) > maxZipRecords {
		return nil, &UnsupportedError{File: name, Reason: fmt.Sprintf("zip archive with more than %d records", maxZipRecords)}
	}
	// Like torch's PyTorchStreamReader (caffe2/serialize/inline_container.cc),
	// take the archive's top-level directory from its first record and read
	// records only under it.
	first := zr.File[0].Name
	slash := strings.IndexByte(first, '/')
	if slash <= 0 {
		return nil, ferr("zip record %q is not under a top-level directory; not a torch.save archive", first)
	}
	prefix := first[:slash+1]
	records := make(map[string]*zip.File, len(zr.File))
	for _, f := range zr.File {
		rel, ok := strings.CutPrefix(f.Name, prefix)
		if !ok {
			continue
		}
		if _, dup := records[rel]; dup {
			return nil, ferr("duplicate zip record %q", f.Name)
		}
		records[rel] = f
	}
	var inflated uint64
	read := func(rel string, limit uint64) ([]byte, error) {
		f := records[rel]
		if f == nil {
			return nil, ferr("no %s%s record; not a torch.save archive", prefix, rel)
		}
		if f.Method == zip.Deflate {
			// readZipRecord holds the record to its declared size: count that before inflating.
			inflated += min(f.UncompressedSize64, MaxInflated+1)
			if inflated > MaxInflated {
				return nil, ferr("zip record %s: deflated records would inflate to more than %d bytes in all (zip bomb?)", f.Name, MaxInflated)
			}
		}
		return readZipRecord(name, b, f, limit)
	}

	if f := records["byteorder"]; f != nil {
		bo, err := read("byteorder", 16)
		if err != nil {
			return nil, err
		}
		switch string(bo) {
		case "little":
		case "big":
			return nil, &UnsupportedError{File: name, Reason: "big-endian torch.save archive"}
		default:
			return nil, ferr("byteorder record is %q", bo)
		}
	}
	pkl, err := read("data.pkl", MaxPickleSize)
	if err != nil {
		return nil, err
	}

	storages := map[string]*pyStorage{}
	load := func(key string, dtype DType, numel int) (*pyStorage, error) {
		if st, ok := storages[key]; ok {
			if st.dtype != dtype || st.numel != numel {
				return nil, ferr("storage %s loaded as %s[%d] and as %s[%d]", key, st.dtype, st.numel, dtype, numel)
			}
			return st, nil
		}
		nb, ok := byteSize([]int{numel}, dtype.Size())
		if !ok {
			return nil, ferr("storage %s: %d elements of %s overflow", key, numel, dtype)
		}
		data, err := read("data/"+key, uint64(nb))
		if err != nil {
			return nil, err
		}
		if len(data) != nb {
			return nil, ferr("storage %s is %d bytes, want %d for %d elements of %s", key, len(data), nb, numel, dtype)
		}
		st := &pyStorage{key: key, dtype: dtype, numel: numel, data: data}
		storages[key] = st
		return st, nil
	}
	return loadStateDict(name, pkl, load, len(b))
}

// loadStateDict runs a state dict pickle and materializes its tensors, in
// the dict's insertion order. Copies of non-contiguous views may total at
// most copyBudget bytes (the file's size), so that many views of one large
// storage cannot multiply memory use.
func loadStateDict(name string, pkl []byte, load persistentLoader, copyBudget int) (*File, error) {
	u := &unpickler{file: name, b: pkl, memo: map[uint64]any{}, persist: load}
	result, err := u.run()
	if err != nil {
		return nil, err
	}
	dict, ok := result.(*pyDict)
	if !ok {
		return nil, &UnsupportedError{File: name, Reason: "data.pkl holds a " + typeName(result) + ", not a state dict"}
	}
	f := &File{
		Name:    name,
		Tensors: make(map[string]*Tensor, len(dict.keys)),
		Order:   make([]string, 0, len(dict.keys)),
	}
	for i, k := range dict.keys {
		key, ok := k.(string)
		if !ok {
			return nil, &UnsupportedError{File: name, Reason: "state dict key of type " + typeName(k)}
		}
		pt, ok := dict.vals[i].(*pyTensor)
		if !ok {
			return nil, &UnsupportedError{File: name, Tensor: key, Reason: "value of type " + typeName(dict.vals[i]) + " is not a tensor"}
		}
		t, err := pt.materialize(key, &copyBudget)
		if err != nil {
			var fe *FormatError
			var ue *UnsupportedError
			if errors.As(err, &fe) {
				fe.File = name
			} else if errors.As(err, &ue) {
				ue.File = name
			}
			return nil, err
		}
		f.Tensors[key] = t
		f.Order = append(f.Order, key)
	}
	return f, nil
}

// readZipRecord returns the uncompressed bytes of f, at most limit bytes.
// Stored records alias b. Sizes are checked against limit and the archive
// before anything is allocated, and the CRC-32 is verified.
func readZipRecord(name string, b []byte, f *zip.File, limit uint64) ([]byte, error) {
	ferr := func(format string, args ...any) error {
		return &FormatError{File: name, Reason: fmt.Sprintf("zip record %s: ", f.Name) + fmt.Sprintf(format, args...)}
	}
	if f.UncompressedSize64 > limit {
		return nil, ferr("declared size %d exceeds the %d-byte limit", f.UncompressedSize64, limit)
	}
	off, err := f.DataOffset()
	if err != nil {
		return nil, ferr("%v", err)
	}
	if off < 0 || off > int64(len(b)) || f.CompressedSize64 > uint64(int64(len(b))-off) {
		return nil, ferr("%d compressed bytes at offset %d run past the %d-byte file", f.CompressedSize64, off, len(b))
	}
	raw := b[off : off+int64(f.CompressedSize64)]
	var data []byte
	switch f.Method {
	case zip.Store:
		if f.CompressedSize64 != f.UncompressedSize64 {
			return nil, ferr("stored record with compressed size %d != size %d", f.CompressedSize64, f.UncompressedSize64)
		}
		data = raw[:len(raw):len(raw)]
	case zip.Deflate:
		if f.UncompressedSize64 > maxDeflateRatio*f.CompressedSize64+64 {
			return nil, ferr("declared size %d is impossible for %d deflated bytes", f.UncompressedSize64, f.CompressedSize64)
		}
		data = make([]byte, f.UncompressedSize64)
		zr := flate.NewReader(bytes.NewReader(raw))
		if _, err := io.ReadFull(zr, data); err != nil {
			return nil, ferr("inflating: %v", err)
		}
		if n, _ := zr.Read(make([]byte, 1)); n != 0 {
			return nil, ferr("inflates to more than its declared %d bytes", f.UncompressedSize64)
		}
	default:
		return nil, &UnsupportedError{File: name, Reason: fmt.Sprintf("zip record %s: compression method %d", f.Name, f.Method)}
	}
	if crc32.ChecksumIEEE(data) != f.CRC32 {
		return nil, ferr("CRC-32 mismatch")
	}
	return data, nil
}
