package modelfile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	"github.com/adapterwasm/adapterwasm/internal/golden"
	"github.com/adapterwasm/adapterwasm/runtime/weights"
)

var tinyConfig = []byte(`{"model_type": "bert", "hidden_size": 64}`)
var tinyTokenizer = []byte(`{"version": "1.0", "model": {"type": "WordPiece"}}`)

// small builds a small model file by hand: a q8 matrix, its scales, an F16 matrix, an F32
// vector and an integer buffer, enough to exercise every dtype and check of the format.
func small(t testing.TB) []byte {
	t.Helper()
	q := make([]byte, 2*64)
	for i := range q {
		q[i] = byte(i * 7)
	}
	ts := []*weights.Tensor{
		{Name: "b.bias", DType: weights.F32, Shape: []int{3}, Data: make([]byte, 12)},
		{Name: "a.weight", DType: weights.I8, Shape: []int{2, 64}, Data: q},
		{Name: "a.weight" + ScaleSuffix, DType: weights.F16, Shape: []int{2, 2}, Data: []byte{0, 0x3c, 0, 0x38, 0, 0x3c, 0, 0x40}},
		{Name: "c.weight", DType: weights.F16, Shape: []int{1, 3}, Data: []byte{0, 0x3c, 0, 0x3c, 0, 0x3c}},
		{Name: "ids", DType: weights.I64, Shape: []int{1}, Data: make([]byte, 8)},
	}
	var buf bytes.Buffer
	if err := Write(&buf, Header{DType: Q8, Source: "small", Config: tinyConfig, Tokenizer: tinyTokenizer}, ts); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func loadTiny(t testing.TB) *weights.File {
	t.Helper()
	b, err := os.ReadFile(golden.Path("tiny", "model", "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := weights.ParseSafetensors("model.safetensors", b)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// checkAligned asserts that every tensor of a parsed file starts at a multiple of its element
// size from the start of b, so it can be used in place.
func checkAligned(t *testing.T, b []byte, f *File) {
	t.Helper()
	base := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	for _, name := range f.Order {
		tt := f.Tensors[name]
		if len(tt.Data) == 0 {
			continue
		}
		off := uintptr(unsafe.Pointer(unsafe.SliceData(tt.Data))) - base
		if off%uintptr(tt.DType.Size()) != 0 {
			t.Errorf("tensor %s (%s) at offset %d: not aligned", name, tt.DType, off)
		}
	}
	if (8+binary.LittleEndian.Uint64(b))%8 != 0 {
		t.Errorf("data section does not start at a multiple of 8")
	}
}

func TestRoundTripTiny(t *testing.T) {
	src := loadTiny(t)
	for _, dt := range []DType{F32, F16, Q8} {
		t.Run(string(dt), func(t *testing.T) {
			ts, err := Convert(src, dt)
			if err != nil {
				t.Fatal(err)
			}
			var b1, b2 bytes.Buffer
			h := Header{DType: dt, Source: "tiny", Config: tinyConfig, Tokenizer: tinyTokenizer, SentenceBertConfig: []byte(`{"max_seq_length": 16}`)}
			if err := Write(&b1, h, ts); err != nil {
				t.Fatal(err)
			}
			if err := Write(&b2, h, ts); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b1.Bytes(), b2.Bytes()) {
				t.Fatal("Write is not deterministic")
			}
			f, err := Parse(b1.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			if f.DType != dt || f.Source != "tiny" || string(f.Config) != `{"model_type":"bert","hidden_size":64}` ||
				string(f.SentenceBertConfig) != `{"max_seq_length":16}` || !bytes.HasPrefix(f.Tokenizer, []byte(`{"version":"1.0"`)) {
				t.Fatalf("metadata: dtype %q source %q config %s sbert %s", f.DType, f.Source, f.Config, f.SentenceBertConfig)
			}
			checkAligned(t, b1.Bytes(), f)
			for _, name := range src.Order {
				got, ok := f.Tensors[name]
				if !ok {
					t.Fatalf("tensor %s lost", name)
				}
				want := src.Tensors[name]
				wantDT := map[DType]weights.DType{F32: weights.F32, F16: weights.F16, Q8: weights.F16}[dt]
				switch {
				case len(want.Shape) < 2:
					wantDT = weights.F32
				case dt == Q8 && name == "embeddings.word_embeddings.weight": // 30522×32: the one q8-sized table
					wantDT = weights.I8
				}
				if got.DType != wantDT {
					t.Errorf("tensor %s stored as %s, want %s", name, got.DType, wantDT)
				}
				if dt == F32 && !bytes.Equal(got.Data, want.Data) {
					t.Errorf("tensor %s: f32 data changed", name)
				}
			}
			if s := f.Tensors["embeddings.word_embeddings.weight"+ScaleSuffix]; (s != nil) != (dt == Q8) {
				t.Errorf("q8 scale tensor present: %v", s != nil)
			} else if s != nil {
				if b, err := Q8Block(f.Tensors["embeddings.word_embeddings.weight"], s); err != nil || b != q8EmbeddingBlock {
					t.Errorf("word embeddings: q8 block %d (%v), want %d", b, err, q8EmbeddingBlock)
				}
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	good := small(t)
	if _, err := Parse(good); err != nil {
		t.Fatalf("small file: %v", err)
	}
	plain, err := os.ReadFile(golden.Path("tiny", "model", "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	hdrLen := binary.LittleEndian.Uint64(good)
	hdr := string(good[8 : 8+hdrLen])
	withHeader := func(h string) []byte {
		for len(h)%8 != 0 {
			h += " "
		}
		b := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
		b = append(b, h...)
		return append(b, good[8+hdrLen:]...)
	}
	withLen := func(n uint64) []byte {
		b := bytes.Clone(good)
		binary.LittleEndian.PutUint64(b, n)
		return b
	}
	var fe *FormatError
	var ve *VersionError
	cases := []struct {
		name string
		b    []byte
		want any
		text string
	}{
		{"empty", nil, &fe, "too short"},
		{"seven bytes", good[:7], &fe, "too short"},
		{"plain safetensors", plain, &fe, "not an adapterwasm model file"},
		{"absurd header length", withLen(1 << 62), &fe, "exceeds the"},
		{"header just over the limit", withLen(MaxHeader + 1), &fe, "limit"},
		{"header longer than file", withLen(uint64(len(good))), &fe, "truncated"},
		{"unknown version", withHeader(strings.Replace(hdr, `"adapterwasm":"1"`, `"adapterwasm":"2"`, 1)), &ve, "version \"2\""},
		{"overlong version", withHeader(strings.Replace(hdr, `"adapterwasm":"1"`, `"adapterwasm":"11111111111111111111"`, 1)), &fe, "malformed version"},
		{"unknown dtype", withHeader(strings.Replace(hdr, `"dtype":"q8"`, `"dtype":"q4"`, 1)), &fe, "unknown dtype"},
		{"no tokenizer", withHeader(strings.Replace(hdr, `"tokenizer.json"`, `"tokenizer.jsox"`, 1)), &fe, "lacks config.json or tokenizer.json"},
		{"I8 without scale", withHeader(strings.Replace(hdr, `"a.weight_scale"`, `"a.weight_scalf"`, 1)), &fe, "has no a.weight_scale"},
		{"scale without I8", withHeader(strings.Replace(hdr, `"dtype":"I8"`, `"dtype":"U8"`, 1)), &fe, "belongs to no I8 tensor"},
		{"bad data offsets", withHeader(strings.Replace(hdr, `"shape":[3]`, `"shape":[4]`, 1)), &fe, "invalid safetensors"},
		{"truncated data", good[:len(good)-1], &fe, "invalid safetensors"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse(c.b)
			if err == nil {
				t.Fatal("accepted")
			}
			switch w := c.want.(type) {
			case **FormatError:
				if !errors.As(err, w) {
					t.Fatalf("error %T (%v), want *FormatError", err, err)
				}
			case **VersionError:
				if !errors.As(err, w) {
					t.Fatalf("error %T (%v), want *VersionError", err, err)
				}
			}
			if !strings.Contains(err.Error(), c.text) {
				t.Fatalf("error %q does not mention %q", err, c.text)
			}
		})
	}
}

// TestCorruptionIsCaught cuts the small file at every length and flips every bit of it: Parse
// must return a typed error or a file (a flip inside tensor data is still a valid file), never
// panic; the manifest check must catch every flip.
func TestCorruptionIsCaught(t *testing.T) {
	good := small(t)
	man := NewManifest(good, Q8, "small")
	for n := 0; n < len(good); n++ {
		if _, err := Parse(good[:n]); !typed(err) {
			t.Fatalf("cut at %d: error %T %v", n, err, err)
		}
	}
	b := bytes.Clone(good)
	for i := range b {
		for bit := 0; bit < 8; bit++ {
			b[i] ^= 1 << bit
			if _, err := Parse(b); err != nil && !typed(err) {
				t.Fatalf("flip of byte %d bit %d: error %T %v", i, bit, err, err)
			}
			var ce *ChecksumError
			if err := man.Check(b); !errors.As(err, &ce) {
				t.Fatalf("flip of byte %d bit %d: manifest check says %v", i, bit, err)
			}
			b[i] ^= 1 << bit
		}
	}
	if err := man.Check(good); err != nil {
		t.Fatal(err)
	}
}

func typed(err error) bool {
	var fe *FormatError
	var ve *VersionError
	return err != nil && (errors.As(err, &fe) || errors.As(err, &ve))
}

// TestHeaderSizeIsCheckedBeforeAllocating: a file whose header claims MaxHeader bytes must be
// refused without allocating anything near that.
func TestHeaderSizeIsCheckedBeforeAllocating(t *testing.T) {
	b := bytes.Clone(small(t))
	binary.LittleEndian.PutUint64(b, MaxHeader)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 10 {
		if _, err := Parse(b); err == nil {
			t.Fatal("accepted")
		}
	}
	runtime.ReadMemStats(&after)
	if d := after.TotalAlloc - before.TotalAlloc; d > 64<<10 {
		t.Fatalf("10 refusals allocated %d bytes", d)
	}
}

func TestManifest(t *testing.T) {
	good := small(t)
	m := NewManifest(good, Q8, "small")
	if m.Files[0].Size != int64(len(good)) || len(m.Files[0].SHA256) != 64 || !strings.HasPrefix(m.Files[0].Integrity, "sha256-") {
		t.Fatalf("manifest %+v", m)
	}
	for _, c := range []struct{ name, json string }{
		{"not JSON", `{`},
		{"other format", `{"format":"onnx","version":1,"files":[]}`},
		{"no files", `{"format":"adapterwasm","version":1,"files":[]}`},
		{"short hash", `{"format":"adapterwasm","version":1,"files":[{"name":"adapterwasm.safetensors","size":1,"sha256":"ab"}]}`},
	} {
		var fe *FormatError
		if _, err := ParseManifest([]byte(c.json)); !errors.As(err, &fe) {
			t.Errorf("%s: error %T %v", c.name, err, err)
		}
	}
	var ve *VersionError
	if _, err := ParseManifest([]byte(`{"format":"adapterwasm","version":7,"files":[]}`)); !errors.As(err, &ve) {
		t.Errorf("version 7: error %T %v", err, err)
	}
	var ce *ChecksumError
	if err := m.Check(good[:len(good)-1]); !errors.As(err, &ce) {
		t.Errorf("short file: %v", err)
	}
}

// FuzzParse: Parse never panics, and whatever it accepts has consistent q8 pairs.
func FuzzParse(f *testing.F) {
	f.Add(small(f))
	f.Fuzz(func(t *testing.T, b []byte) {
		mf, err := Parse(b)
		if err != nil {
			if !typed(err) {
				t.Fatalf("untyped error %T %v", err, err)
			}
			return
		}
		for name, tt := range mf.Tensors {
			if tt.DType == weights.I8 {
				if _, err := Q8Block(tt, mf.Tensors[name+ScaleSuffix]); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}
