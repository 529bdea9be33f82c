package tokenizer

import (
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Character classes of the reference. huggingface/tokenizers takes them from two places:
//   - the crate unicode_categories 0.1.1 (is_other = Cc|Cf|Co, is_mark_nonspacing,
//     is_punctuation), whose tables are older than Go's unicode package;
//   - Rust's char methods (is_whitespace, is_ascii_punctuation, to_lowercase) and the crate
//     unicode-normalization-alignments (NFD).
// Go's tables (Unicode 15.0) are used, corrected by the exception tables in tables.go, which
// were found by comparing every code point with the reference (see unicode_test.go).

// asciiClass holds, for each ASCII byte, its class: 0 plain, clsSpace, clsPunct, clsDrop.
var asciiClass [128]uint8

const (
	clsPlain = iota
	clsSpace
	clsPunct
	clsDrop
)

func init() {
	for c := 0; c < 128; c++ {
		r := rune(c)
		switch {
		case r == '\t' || r == '\n' || r == '\r' || r == ' ':
			asciiClass[c] = clsSpace
		case r == 0 || unicode.IsControl(r):
			asciiClass[c] = clsDrop
		case r >= '!' && r <= '/', r >= ':' && r <= '@', r >= '[' && r <= '`', r >= '{' && r <= '~':
			asciiClass[c] = clsPunct
		}
	}
}

// isWhitespace mirrors Rust's char::is_whitespace (the White_Space property).
// BertNormalizer's is_whitespace adds \t \n \r, which White_Space already has.
func isWhitespace(r rune) bool {
	if r < utf8.RuneSelf {
		return asciiClass[r] == clsSpace || r == '\v' || r == '\f'
	}
	return unicode.Is(unicode.White_Space, r)
}

// isControl mirrors is_control in normalizers/bert.rs: unicode_categories' is_other
// (Cc, Cf, Co: not Cn, not Cs) minus \t \n \r.
func isControl(r rune) bool {
	if r < utf8.RuneSelf {
		return asciiClass[r] == clsDrop && r != 0
	}
	if unicode.In(r, unicode.Cc, unicode.Co) {
		return true
	}
	if unicode.Is(unicode.Cf, r) {
		return !unicode.Is(cfNotInReference, r)
	}
	return unicode.Is(otherExtra, r)
}

// isPunct mirrors is_bert_punc in pre_tokenizers/bert.rs: char::is_ascii_punctuation or
// unicode_categories' is_punctuation (Pc Pd Pe Pf Pi Po Ps).
func isPunct(r rune) bool {
	if r < utf8.RuneSelf {
		return asciiClass[r] == clsPunct
	}
	if unicode.IsPunct(r) {
		return !unicode.Is(punctNotInReference, r)
	}
	return unicode.Is(punctExtra, r)
}

// isNonspacingMark mirrors unicode_categories' is_mark_nonspacing (Mn).
func isNonspacingMark(r rune) bool {
	if r < 0x300 {
		return false
	}
	if unicode.Is(unicode.Mn, r) {
		return !unicode.Is(mnNotInReference, r)
	}
	return unicode.Is(mnExtra, r)
}

// isChinese mirrors is_chinese_char in normalizers/bert.rs (the CJK ideograph blocks).
func isChinese(r rune) bool {
	return (r >= 0x4E00 && r <= 0x9FFF) ||
		(r >= 0x3400 && r <= 0x4DBF) ||
		(r >= 0x20000 && r <= 0x2A6DF) ||
		(r >= 0x2A700 && r <= 0x2B73F) ||
		(r >= 0x2B740 && r <= 0x2B81F) ||
		(r >= 0x2B920 && r <= 0x2CEAF) ||
		(r >= 0xF900 && r <= 0xFAFF) ||
		(r >= 0x2F800 && r <= 0x2FA1F)
}

// appendLower appends Rust's char::to_lowercase(r) to dst: Unicode full lowercase mapping
// without the conditional (final sigma, locale) rules. Its only multi-char result is
// U+0130 → "i\u0307".
func appendLower(dst []rune, r rune) []rune {
	if r < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		return append(dst, r)
	}
	if r == 0x130 {
		return append(dst, 'i', 0x307)
	}
	if l, ok := lowerExceptions[r]; ok {
		return append(dst, l)
	}
	return append(dst, unicode.ToLower(r))
}

// appendNFD appends the canonical decomposition of r to dst, using scratch as a byte buffer.
func appendNFD(dst []rune, r rune, scratch []byte) ([]rune, []byte) {
	if r < 0xC0 {
		return append(dst, r), scratch
	}
	var tmp [utf8.UTFMax]byte
	n := utf8.EncodeRune(tmp[:], r)
	if norm.NFD.IsNormal(tmp[:n]) {
		return append(dst, r), scratch
	}
	scratch = norm.NFD.Append(scratch[:0], tmp[:n]...)
	for i := 0; i < len(scratch); {
		d, size := utf8.DecodeRune(scratch[i:])
		dst = append(dst, d)
		i += size
	}
	return dst, scratch
}
