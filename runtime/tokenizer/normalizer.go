package tokenizer

// normalizer is BertNormalizer (tokenizers/src/normalizers/bert.rs). Every step it takes is
// a function of one character, so it runs one original character at a time: each
// normalized character it yields is aligned to the byte range of the original character it
// came from, exactly as NormalizedString's alignments end up in the reference (inserted
// characters share the alignment of the character before them).
type normalizer struct {
	enabled      bool
	cleanText    bool // drop \0, U+FFFD and control characters; map whitespace to ' '
	chinese      bool // put spaces around CJK ideographs
	stripAccents bool // NFD, then drop nonspacing marks (Mn)
	lowercase    bool // Rust's char::to_lowercase
}

// appendRune appends the normalization of r to dst.
func (n *normalizer) appendRune(dst []rune, r rune) []rune {
	if !n.enabled {
		return append(dst, r)
	}
	if n.cleanText {
		if r == 0 || r == 0xFFFD || isControl(r) {
			return dst
		}
		if isWhitespace(r) {
			r = ' '
		}
	}
	if n.chinese && isChinese(r) {
		dst = append(dst, ' ')
		dst = n.appendCased(dst, r)
		return append(dst, ' ')
	}
	return n.appendCased(dst, r)
}

// appendCased applies strip_accents then lowercase to r.
func (n *normalizer) appendCased(dst []rune, r rune) []rune {
	if r < 0x80 {
		if n.lowercase && 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		return append(dst, r)
	}
	if !n.stripAccents {
		if n.lowercase {
			return appendLower(dst, r)
		}
		return append(dst, r)
	}
	start := len(dst)
	dst = appendNFD(dst, r)
	// Drop the nonspacing marks in place.
	w := start
	for _, d := range dst[start:] {
		if !isNonspacingMark(d) {
			dst[w] = d
			w++
		}
	}
	dst = dst[:w]
	if !n.lowercase {
		return dst
	}
	// Lowercase in place when every character maps to one (all but U+0130).
	for i := start; i < len(dst); i++ {
		if dst[i] == 0x130 {
			var tmp [8]rune
			tail := append(tmp[:0], dst[i+1:]...)
			dst = appendLower(dst[:i], 0x130)
			for _, d := range tail {
				dst = appendLower(dst, d)
			}
			return dst
		}
		var one [2]rune
		l := appendLower(one[:0], dst[i])
		dst[i] = l[0]
	}
	return dst
}
