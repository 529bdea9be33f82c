package weights

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/adapterwasm/adapterwasm/internal/jsonin"
)

// MaxSafetensorsHeader is the largest JSON header ParseSafetensors accepts,
// in bytes. It mirrors MAX_HEADER_SIZE (100,000,000) in the reference
// implementation, safetensors/src/tensor.rs.
const MaxSafetensorsHeader = 100_000_000

// metadataKey is the reserved header key holding free-form string metadata.
const metadataKey = "__metadata__"

// ParseSafetensors parses a safetensors file: an 8-byte little-endian header
// length N, N bytes of JSON header, then the data section
// (https://github.com/huggingface/safetensors, README "Format").
//
// It validates as the reference does (safetensors/src/tensor.rs,
// SafeTensors::read_metadata and Metadata::validate; behaviour checked
// against safetensors 0.6.2): N is at most MaxSafetensorsHeader and fits in
// b; the header is one UTF-8 JSON object, with only whitespace around it;
// __metadata__ is null or an object of strings; every dtype is known; every
// dimension and offset is a non-negative integer; end-begin ==
// product(shape)*size without overflow; the tensors, sorted by offset, tile
// the data section exactly (no overlap, no gap, nothing after). Unknown
// fields in a tensor's entry are ignored, as serde does.
//
// It is stricter than the reference in two ways: a duplicate tensor name or
// __metadata__ key is an error (the reference, like Go's encoding/json,
// silently keeps one), and dtypes the reference knows but this package does
// not read (U16, U32, U64, F8_*, F6_*, F4) are an *UnsupportedError.
// Every length is checked before anything is allocated from it.
//
// Tensor.Data aliases b. File.Order lists tensors in data-offset order (the
// physical layout), ties broken by header order.
func ParseSafetensors(name string, b []byte) (*File, error) {
	ferr := func(tensor, format string, args ...any) error {
		return &FormatError{File: name, Tensor: tensor, Reason: fmt.Sprintf(format, args...)}
	}
	if len(b) < 8 {
		return nil, ferr("", "file is %d bytes, too short for the 8-byte safetensors header length", len(b))
	}
	n := binary.LittleEndian.Uint64(b)
	if n > MaxSafetensorsHeader {
		return nil, ferr("", "header length %d exceeds the %d-byte limit", n, MaxSafetensorsHeader)
	}
	if n > uint64(len(b)-8) {
		return nil, ferr("", "header length %d exceeds the %d bytes after it (truncated file?)", n, len(b)-8)
	}
	hdr, data := b[8:8+n], b[8+n:]
	if !utf8.Valid(hdr) {
		return nil, ferr("", "header is not valid UTF-8")
	}
	h, err := parseSafetensorsHeader(name, hdr)
	if err != nil {
		return nil, err
	}

	// Sizes, then the tiling of the data section.
	for _, e := range h.entries {
		nb, ok := byteSize(e.shape, e.dtype.Size())
		if !ok {
			return nil, ferr(e.name, "%s%s: element count or byte size overflows", e.dtype, shapeString(e.shape))
		}
		if e.end < e.begin {
			return nil, ferr(e.name, "data_offsets [%d,%d] end before they begin", e.begin, e.end)
		}
		if e.end-e.begin != uint64(nb) {
			return nil, ferr(e.name, "data_offsets [%d,%d] hold %d bytes, want %d for %s%s", e.begin, e.end, e.end-e.begin, nb, e.dtype, shapeString(e.shape))
		}
	}
	sorted := make([]*stEntry, len(h.entries))
	copy(sorted, h.entries)
	sort.SliceStable(sorted, func(i, j int) bool {
		if sorted[i].begin != sorted[j].begin {
			return sorted[i].begin < sorted[j].begin
		}
		return sorted[i].end < sorted[j].end
	})
	var pos uint64
	for i, e := range sorted {
		switch {
		case e.begin < pos:
			return nil, ferr(e.name, "data_offsets [%d,%d] overlap tensor %s", e.begin, e.end, sorted[i-1].name)
		case e.begin > pos:
			return nil, ferr(e.name, "data_offsets [%d,%d] leave a gap at byte %d of the data section", e.begin, e.end, pos)
		case e.end > uint64(len(data)):
			return nil, ferr(e.name, "data_offsets [%d,%d] exceed the %d-byte data section (truncated file?)", e.begin, e.end, len(data))
		}
		pos = e.end
	}
	if pos != uint64(len(data)) {
		return nil, ferr("", "data section is %d bytes but the tensors cover %d", len(data), pos)
	}

	f := &File{
		Name:     name,
		Tensors:  make(map[string]*Tensor, len(sorted)),
		Order:    make([]string, 0, len(sorted)),
		Metadata: h.metadata,
	}
	for _, e := range sorted {
		f.Tensors[e.name] = &Tensor{
			Name:  e.name,
			DType: e.dtype,
			Shape: e.shape,
			Data:  data[e.begin:e.end:e.end],
		}
		f.Order = append(f.Order, e.name)
	}
	return f, nil
}

type stEntry struct {
	name       string
	dtype      DType
	shape      []int
	begin, end uint64
}

type stHeader struct {
	entries  []*stEntry
	metadata map[string]string
}

// stDecoder walks the header JSON token by token, so that duplicate keys,
// which json.Unmarshal would silently collapse, are seen.
type stDecoder struct {
	file string
	dec  *json.Decoder
}

func (d *stDecoder) errf(tensor, format string, args ...any) error {
	return &FormatError{File: d.file, Tensor: tensor, Reason: fmt.Sprintf(format, args...)}
}

// token returns the next JSON token, turning syntax errors and EOF into a
// *FormatError.
func (d *stDecoder) token(tensor string) (json.Token, error) {
	t, err := d.dec.Token()
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, d.errf(tensor, "header JSON: %v", err)
	}
	return t, nil
}

func (d *stDecoder) delim(tensor string, want json.Delim, what string) error {
	t, err := d.token(tensor)
	if err != nil {
		return err
	}
	if got, ok := t.(json.Delim); !ok || got != want {
		return d.errf(tensor, "header JSON: %s: want %q, got %s", what, string(want), tokenString(t))
	}
	return nil
}

func (d *stDecoder) str(tensor, what string) (string, error) {
	t, err := d.token(tensor)
	if err != nil {
		return "", err
	}
	s, ok := t.(string)
	if !ok {
		return "", d.errf(tensor, "header JSON: %s: want a string, got %s", what, tokenString(t))
	}
	return s, nil
}

// uint reads a non-negative JSON integer that fits in 63 bits.
func (d *stDecoder) uint(tensor, what string) (uint64, error) {
	t, err := d.token(tensor)
	if err != nil {
		return 0, err
	}
	num, ok := t.(json.Number)
	if !ok {
		return 0, d.errf(tensor, "%s: want an integer, got %s", what, tokenString(t))
	}
	s := string(num)
	if strings.HasPrefix(s, "-") {
		return 0, d.errf(tensor, "%s: negative value %s", what, s)
	}
	v, err := strconv.ParseUint(s, 10, 63)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return 0, d.errf(tensor, "%s: %s overflows", what, s)
		}
		return 0, d.errf(tensor, "%s: %s is not an integer", what, s)
	}
	return v, nil
}

func tokenString(t json.Token) string {
	switch v := t.(type) {
	case json.Delim:
		return strconv.Quote(string(v))
	case string:
		return "string " + strconv.Quote(v)
	case nil:
		return "null"
	default:
		return fmt.Sprintf("%v", v)
	}
}

func parseSafetensorsHeader(file string, hdr []byte) (*stHeader, error) {
	if err := jsonin.CheckDepth(hdr, jsonin.MaxDepth); err != nil {
		return nil, &FormatError{File: file, Reason: "header " + err.Error()}
	}
	dec := json.NewDecoder(bytes.NewReader(hdr))
	dec.UseNumber()
	d := &stDecoder{file: file, dec: dec}
	if err := d.delim("", '{', "header"); err != nil {
		return nil, err
	}
	h := &stHeader{}
	seen := make(map[string]bool)
	for dec.More() {
		key, err := d.str("", "header key")
		if err != nil {
			return nil, err
		}
		if seen[key] {
			return nil, d.errf(key, "duplicate name in header")
		}
		seen[key] = true
		if key == metadataKey {
			if h.metadata, err = d.metadata(); err != nil {
				return nil, err
			}
			continue
		}
		e, err := d.tensorInfo(key)
		if err != nil {
			return nil, err
		}
		h.entries = append(h.entries, e)
	}
	if err := d.delim("", '}', "header"); err != nil {
		return nil, err
	}
	// Only whitespace may follow: the reference pads the header with spaces
	// to a multiple of 8 bytes.
	if rest := hdr[dec.InputOffset():]; len(bytes.TrimLeft(rest, " \t\r\n")) != 0 {
		return nil, d.errf("", "header JSON: data after the top-level object")
	}
	return h, nil
}

// metadata reads the __metadata__ value: null or an object of strings
// (HashMap<String, String> in the reference).
func (d *stDecoder) metadata() (map[string]string, error) {
	t, err := d.token(metadataKey)
	if err != nil {
		return nil, err
	}
	if t == nil {
		return nil, nil
	}
	if dl, ok := t.(json.Delim); !ok || dl != '{' {
		return nil, d.errf("", "__metadata__: want an object, got %s", tokenString(t))
	}
	m := make(map[string]string)
	for d.dec.More() {
		k, err := d.str("", "__metadata__ key")
		if err != nil {
			return nil, err
		}
		if _, dup := m[k]; dup {
			return nil, d.errf("", "__metadata__: duplicate key %q", k)
		}
		v, err := d.str("", "__metadata__ value for "+strconv.Quote(k))
		if err != nil {
			return nil, err
		}
		m[k] = v
	}
	if err := d.delim("", '}', "__metadata__"); err != nil {
		return nil, err
	}
	return m, nil
}

// tensorInfo reads {"dtype": ..., "shape": [...], "data_offsets": [b, e]}.
// Unknown fields are skipped, as serde does for the reference's TensorInfo.
func (d *stDecoder) tensorInfo(name string) (*stEntry, error) {
	if err := d.delim(name, '{', "tensor info"); err != nil {
		return nil, err
	}
	e := &stEntry{name: name}
	var haveDType, haveShape, haveOffsets bool
	for d.dec.More() {
		field, err := d.str(name, "tensor info key")
		if err != nil {
			return nil, err
		}
		switch field {
		case "dtype":
			if haveDType {
				return nil, d.errf(name, "duplicate field dtype")
			}
			haveDType = true
			s, err := d.str(name, "dtype")
			if err != nil {
				return nil, err
			}
			e.dtype = DType(s)
			if e.dtype.Size() == 0 {
				if knownUnsupported[s] {
					return nil, &UnsupportedError{File: d.file, Tensor: name, Reason: "dtype " + s}
				}
				return nil, d.errf(name, "unknown dtype %q", s)
			}
		case "shape":
			if haveShape {
				return nil, d.errf(name, "duplicate field shape")
			}
			haveShape = true
			if err := d.delim(name, '[', "shape"); err != nil {
				return nil, err
			}
			e.shape = []int{} // a scalar has shape [], not nil, as in the header
			for d.dec.More() {
				v, err := d.uint(name, "shape")
				if err != nil {
					return nil, err
				}
				e.shape = append(e.shape, int(v))
			}
			if err := d.delim(name, ']', "shape"); err != nil {
				return nil, err
			}
		case "data_offsets":
			if haveOffsets {
				return nil, d.errf(name, "duplicate field data_offsets")
			}
			haveOffsets = true
			if err := d.delim(name, '[', "data_offsets"); err != nil {
				return nil, err
			}
			var off [2]uint64
			for i := range off {
				if !d.dec.More() {
					return nil, d.errf(name, "data_offsets: want 2 integers, got %d", i)
				}
				if off[i], err = d.uint(name, "data_offsets"); err != nil {
					return nil, err
				}
			}
			if d.dec.More() {
				return nil, d.errf(name, "data_offsets: want 2 integers, got more")
			}
			if err := d.delim(name, ']', "data_offsets"); err != nil {
				return nil, err
			}
			e.begin, e.end = off[0], off[1]
		default:
			var skip json.RawMessage
			if err := d.dec.Decode(&skip); err != nil {
				return nil, d.errf(name, "header JSON: %v", err)
			}
		}
	}
	if err := d.delim(name, '}', "tensor info"); err != nil {
		return nil, err
	}
	switch {
	case !haveDType:
		return nil, d.errf(name, "missing dtype")
	case !haveShape:
		return nil, d.errf(name, "missing shape")
	case !haveOffsets:
		return nil, d.errf(name, "missing data_offsets")
	}
	return e, nil
}

// WriteSafetensors writes tensors in the given order as a safetensors file.
// The header is compact JSON laid out as the reference serializer writes it
// (safetensors/src/tensor.rs, serialize): "__metadata__" first (keys sorted;
// omitted when metadata is nil), then each tensor as
// {"dtype","shape","data_offsets"}, padded with spaces to a multiple of 8
// bytes so the data section is 8-byte aligned. The output depends only on
// the arguments. Pass tensors sorted the way the reference sorts them
// (SortLikeReference) to get byte-identical files. Invalid tensors (unknown
// dtype, Data of the wrong length, duplicate or reserved names) are a
// *FormatError and nothing is written; errors from w are returned as they are.
func WriteSafetensors(w io.Writer, tensors []*Tensor, metadata map[string]string) error {
	var hdr bytes.Buffer
	hdr.WriteByte('{')
	first := true
	if metadata != nil {
		keys := make([]string, 0, len(metadata))
		for k, v := range metadata {
			if !utf8.ValidString(k) || !utf8.ValidString(v) {
				return &FormatError{Reason: "__metadata__ is not valid UTF-8"}
			}
			keys = append(keys, k)
		}
		sort.Strings(keys)
		hdr.WriteString(`"__metadata__":{`)
		for i, k := range keys {
			if i > 0 {
				hdr.WriteByte(',')
			}
			writeJSONString(&hdr, k)
			hdr.WriteByte(':')
			writeJSONString(&hdr, metadata[k])
		}
		hdr.WriteByte('}')
		first = false
	}
	seen := make(map[string]bool, len(tensors))
	var off uint64
	for _, t := range tensors {
		if t == nil {
			return &FormatError{Reason: "nil tensor"}
		}
		if t.Name == metadataKey || !utf8.ValidString(t.Name) {
			return &FormatError{Tensor: t.Name, Reason: "invalid tensor name"}
		}
		if seen[t.Name] {
			return &FormatError{Tensor: t.Name, Reason: "duplicate tensor name"}
		}
		seen[t.Name] = true
		if _, err := t.checkData(); err != nil {
			return err
		}
		if !first {
			hdr.WriteByte(',')
		}
		first = false
		writeJSONString(&hdr, t.Name)
		hdr.WriteString(`:{"dtype":`)
		writeJSONString(&hdr, string(t.DType))
		hdr.WriteString(`,"shape":`)
		hdr.WriteString(shapeString(t.Shape))
		end := off + uint64(len(t.Data))
		hdr.WriteString(`,"data_offsets":[`)
		hdr.WriteString(strconv.FormatUint(off, 10))
		hdr.WriteByte(',')
		hdr.WriteString(strconv.FormatUint(end, 10))
		hdr.WriteString("]}")
		off = end
	}
	hdr.WriteByte('}')
	for hdr.Len()%8 != 0 {
		hdr.WriteByte(' ')
	}
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(hdr.Len()))
	if _, err := w.Write(n[:]); err != nil {
		return err
	}
	if _, err := w.Write(hdr.Bytes()); err != nil {
		return err
	}
	for _, t := range tensors {
		if _, err := w.Write(t.Data); err != nil {
			return err
		}
	}
	return nil
}

// writeJSONString writes s as a JSON string the way serde_json does: only
// '"', '\\' and control characters are escaped; other UTF-8 is kept as is.
func writeJSONString(b *bytes.Buffer, s string) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if c < 0x20 {
				b.WriteString(`\u00`)
				b.WriteByte(hex[c>>4])
				b.WriteByte(hex[c&0xf])
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
}

// referenceRank orders dtypes as the reference's Dtype enum declares them
// (safetensors/src/tensor.rs); its serializer puts larger ranks first.
var referenceRank = map[DType]int{
	BOOL: 0, U8: 1, I8: 2, I16: 3, F16: 4, BF16: 5, I32: 6, F32: 7, F64: 8, I64: 9,
}

// SortLikeReference sorts tensors in place the way the reference serializer
// orders them (safetensors/src/tensor.rs, prepare): by dtype, in descending
// enum order (I64, F64, F32, I32, BF16, F16, I16, I8, U8, BOOL), then by name.
// WriteSafetensors of the result reproduces safetensors.torch.save byte for byte.
func SortLikeReference(tensors []*Tensor) {
	sort.SliceStable(tensors, func(i, j int) bool {
		ri, rj := referenceRank[tensors[i].DType], referenceRank[tensors[j].DType]
		if ri != rj {
			return ri > rj
		}
		return tensors[i].Name < tensors[j].Name
	})
}
