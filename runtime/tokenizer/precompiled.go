package tokenizer

import (
	"bytes"
	"encoding/binary"
	"strings"
	"unicode/utf8"
)

// precompiled is SentencePiece's precompiled_charsmap as the crate spm_precompiled 0.1.4 reads
// it for the Precompiled normalizer: a little-endian u32 byte length of the trie, the trie (a
// darts-clone double array of u32 units keyed by UTF-8 bytes), then a pool of normalized
// strings, each ended by a NUL; a trie leaf's value is the byte offset of its string in the pool.
//
// The charsmap is untrusted bytes: every index into the trie and the pool is checked where the
// reference would index out of bounds (and panic); such a lookup finds nothing.
type precompiled struct {
	trie []uint32
	pool string
}

// maxCharsmapBytes bounds a decoded precompiled_charsmap (SentencePiece's nmt_nfkc is 240,007
// bytes).
const maxCharsmapBytes = 1 << 22

// maxReplacementBytes bounds one normalized string of the pool: a character of the text never
// becomes more than this (NFKC's longest, U+FDFA, is 33 bytes; nmt_nfkc's longest is checked
// in the tests). It bounds the normalized text to this many bytes per character.
const maxReplacementBytes = 64

// newPrecompiled parses a decoded precompiled_charsmap.
func newPrecompiled(b []byte) (*precompiled, error) {
	if len(b) > maxCharsmapBytes {
		return nil, unsupportedf("normalizer Precompiled: precompiled_charsmap of %d bytes, at most %d", len(b), maxCharsmapBytes)
	}
	if len(b) < 4 {
		return nil, formatErrorf("normalizer Precompiled: precompiled_charsmap of %d bytes has no trie size", len(b))
	}
	size := uint64(binary.LittleEndian.Uint32(b))
	units := size / 4 // the reference reads size/4 units; the rest belongs to the pool
	if units*4 > uint64(len(b)-4) {
		return nil, formatErrorf("normalizer Precompiled: trie of %d bytes in a precompiled_charsmap of %d", size, len(b))
	}
	p := &precompiled{trie: make([]uint32, units)}
	for i := range p.trie {
		p.trie[i] = binary.LittleEndian.Uint32(b[4+4*i:])
	}
	pool := b[4+4*units:]
	if !utf8.Valid(pool) {
		return nil, FormatError("normalizer Precompiled: normalized strings are not UTF-8")
	}
	for rest := pool; len(rest) > 0; {
		n := bytes.IndexByte(rest, 0)
		if n < 0 {
			n = len(rest)
		}
		if n > maxReplacementBytes {
			return nil, unsupportedf("normalizer Precompiled: a normalized string of %d bytes, at most %d", n, maxReplacementBytes)
		}
		rest = rest[min(n+1, len(rest)):]
	}
	p.pool = string(pool)
	return p, nil
}

// Double-array units (darts-clone, as spm_precompiled decodes them).
func unitHasLeaf(u uint32) bool  { return u>>8&1 == 1 }
func unitValue(u uint32) uint32  { return u & (1<<31 - 1) }
func unitLabel(u uint32) uint32  { return u & (1<<31 | 0xff) }
func unitOffset(u uint32) uint64 { return uint64(u>>10) << ((u & (1 << 9)) >> 6) }

// transform is Precompiled::transform: the normalized string of the shortest key of the trie
// that is a prefix of chunk (the first result of common_prefix_search), if any.
func (p *precompiled) transform(chunk []byte) (string, bool) {
	t := p.trie
	if len(t) == 0 {
		return "", false
	}
	pos := unitOffset(t[0])
	for _, c := range chunk {
		if c == 0 {
			break
		}
		pos ^= uint64(c)
		if pos >= uint64(len(t)) {
			return "", false
		}
		u := t[pos]
		if unitLabel(u) != uint32(c) {
			return "", false
		}
		pos ^= unitOffset(u)
		if unitHasLeaf(u) {
			if pos >= uint64(len(t)) {
				return "", false
			}
			return p.normalizedAt(unitValue(t[pos]))
		}
	}
	return "", false
}

// normalizedAt is the pool's string from index to the next NUL (or the end).
func (p *precompiled) normalizedAt(index uint32) (string, bool) {
	if uint64(index) > uint64(len(p.pool)) || (int(index) < len(p.pool) && !utf8.RuneStart(p.pool[index])) {
		return "", false
	}
	s := p.pool[index:]
	// newPrecompiled checked that a NUL (or the end) comes within maxReplacementBytes.
	if k := strings.IndexByte(s[:min(len(s), maxReplacementBytes+1)], 0); k >= 0 {
		return s[:k], true
	}
	return s, true
}
