package tokenizer

import (
	"unicode/utf8"
)

// Character classes of the reference. huggingface/tokenizers takes them from the crate
// unicode_categories 0.1.1 (is_other, is_mark_nonspacing, is_punctuation: tables older than
// Unicode 9), from Rust's std (char::is_whitespace, is_ascii_punctuation, to_lowercase) and
// from the crate unicode-normalization-alignments (NFD). No Go table matches all of them,
// so tables.go holds them as read off the reference on every code point
// (tools/reference/make_tokenizer_golden.py); unicode_test.go checks every code point again.

// runeRange is an inclusive range of code points; tables are sorted and disjoint.
type runeRange struct{ lo, hi rune }

// runeClass gives the code points lo..hi a class: a combining class, or a grapheme class
// (grapheme.go).
type runeClass struct {
	lo, hi rune
	class  uint8
}

// combiningClass is the canonical combining class of r as the reference's NFD knows it.
func combiningClass(r rune) uint8 {
	if r < 0x300 {
		return 0
	}
	return lookupClass(combiningClasses, r)
}

// lookupClass is the class of r in t (sorted, disjoint), 0 if none.
func lookupClass(t []runeClass, r rune) uint8 {
	lo, hi := 0, len(t)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		switch {
		case r < t[m].lo:
			hi = m
		case r > t[m].hi:
			lo = m + 1
		default:
			return t[m].class
		}
	}
	return 0
}

// runeMapping maps a code point to a string.
type runeMapping struct {
	r rune
	s string
}

func inRanges(t []runeRange, r rune) bool {
	lo, hi := 0, len(t)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		switch {
		case r < t[m].lo:
			hi = m
		case r > t[m].hi:
			lo = m + 1
		default:
			return true
		}
	}
	return false
}

func lookupMapping(t []runeMapping, r rune) (string, bool) {
	lo, hi := 0, len(t)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		switch {
		case r < t[m].r:
			hi = m
		case r > t[m].r:
			lo = m + 1
		default:
			return t[m].s, true
		}
	}
	return "", false
}

// asciiClass holds, for each ASCII byte, its class under clean_text and BertPreTokenizer.
var asciiClass [128]uint8

const (
	clsPlain = iota
	clsSpace // \t \n \r ' ': whitespace
	clsPunct // is_ascii_punctuation
	clsDrop  // control characters, \0 (clean_text drops them; \v \f are also whitespace)
)

func init() {
	for c := rune(0); c < utf8.RuneSelf; c++ {
		switch {
		case c == 0 || inRanges(controlRanges, c):
			asciiClass[c] = clsDrop
		case inRanges(spaceRanges, c):
			asciiClass[c] = clsSpace
		case inRanges(punctRanges, c):
			asciiClass[c] = clsPunct
		}
	}
}

// isWhitespace mirrors Rust's char::is_whitespace; BertNormalizer's is_whitespace adds
// \t \n \r, which it has already.
func isWhitespace(r rune) bool {
	if r < utf8.RuneSelf {
		return asciiClass[r] == clsSpace || r == '\v' || r == '\f'
	}
	return inRanges(spaceRanges, r)
}

// isControl mirrors is_control in normalizers/bert.rs: unicode_categories' is_other
// (Cc, Cf, Co as of that crate) minus \t \n \r.
func isControl(r rune) bool {
	return inRanges(controlRanges, r)
}

// isPunct mirrors is_bert_punc in pre_tokenizers/bert.rs.
func isPunct(r rune) bool {
	if r < utf8.RuneSelf {
		return asciiClass[r] == clsPunct
	}
	return inRanges(punctRanges, r)
}

// isNonspacingMark mirrors unicode_categories' is_mark_nonspacing (Mn) on characters NFD
// leaves alone.
func isNonspacingMark(r rune) bool {
	return r >= 0x300 && inRanges(nonspacingMarkRanges, r)
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

// appendLower appends Rust's char::to_lowercase(r): the full lowercase mapping without the
// conditional rules (so no final sigma; U+0130 İ → "i\u0307").
func appendLower(dst []rune, r rune) []rune {
	if r < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		return append(dst, r)
	}
	if s, ok := lookupMapping(lowerMappings, r); ok {
		for _, l := range s {
			dst = append(dst, l)
		}
		return dst
	}
	return append(dst, r)
}

// Hangul syllable decomposition (Unicode §3.12).
const (
	hangulBase  = 0xAC00
	hangulCount = 11172
	jamoLBase   = 0x1100
	jamoVBase   = 0x1161
	jamoTBase   = 0x11A7
	jamoTCount  = 28
	jamoNCount  = 588
)

// appendNFD appends the canonical decomposition of r.
func appendNFD(dst []rune, r rune) []rune {
	if r < 0xC0 {
		return append(dst, r)
	}
	if s := r - hangulBase; s >= 0 && s < hangulCount {
		dst = append(dst, jamoLBase+s/jamoNCount, jamoVBase+(s%jamoNCount)/jamoTCount)
		if t := s % jamoTCount; t != 0 {
			dst = append(dst, jamoTBase+t)
		}
		return dst
	}
	if d, ok := lookupMapping(nfdMappings, r); ok {
		for _, c := range d {
			dst = append(dst, c)
		}
		return dst
	}
	return append(dst, r)
}
