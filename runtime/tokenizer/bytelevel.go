package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// byteLevelChars is GPT-2's bytes_to_unicode (pre_tokenizers/byte_level.rs): the bytes
// of printable Latin-1 stand for themselves, the other 68 bytes for U+0100 onwards, so
// that every byte is a visible character of the vocab (' ' is 'Ġ', '\n' is 'Ċ').
var byteLevelChars = func() (t [256]rune) {
	n := rune(0)
	for b := 0; b < 256; b++ {
		if '!' <= b && b <= '~' || 0xA1 <= b && b <= 0xAC || 0xAE <= b && b <= 0xFF {
			t[b] = rune(b)
		} else {
			t[b] = 256 + n
			n++
		}
	}
	return t
}()

// byteLevel is the ByteLevel pre-tokenizer on one normalized segment b (al: the original
// byte range of each byte of b): with add_prefix_space a space is put in front unless b
// starts with one (at b's start, with no extent: NormalizedString::prepend aligns it to
// the first character, whose bytes then show through trimmed offsets as a character
// offset that the reference floors to the character's start),
// the segment is split by GPT-2's pattern (or not at all without use_regex), and each word
// is handed to the model as the byte-level characters of its UTF-8 bytes.
func (t *Tokenizer) byteLevel(s *state, b []byte, al [][2]int32) {
	if len(b) == 0 {
		return
	}
	if t.pre.addPrefixSpace && b[0] != ' ' {
		s.tbuf = append(append(s.tbuf[:0], ' '), b...)
		s.talign = append(append(s.talign[:0], [2]int32{al[0][0], al[0][0]}), al...)
		b, al = s.tbuf, s.talign
	}
	for i := 0; i < len(b) && !s.stop; {
		j := len(b)
		if t.pre.useRegex {
			j = gpt2Match(b, i)
		}
		s.wbuf, s.walign = s.wbuf[:0], s.walign[:0]
		for k := i; k < j; k++ {
			n := len(s.wbuf)
			s.wbuf = utf8.AppendRune(s.wbuf, byteLevelChars[b[k]])
			for ; n < len(s.wbuf); n++ {
				s.walign = append(s.walign, al[k])
			}
		}
		s.wchars, s.wstart, s.wend = j-i, al[i][0], al[j-1][1]
		t.flushWord(s)
		i = j
	}
}

// gpt2Match returns the end of the match of GPT-2's pattern at b[i:]:
//
//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
// The alternatives cover every character, so the matches tile the text.
func gpt2Match(b []byte, i int) int {
	r, n := utf8.DecodeRune(b[i:])
	if r == '\'' {
		rest := b[i+1:]
		if len(rest) >= 1 && (rest[0] == 's' || rest[0] == 't' || rest[0] == 'm' || rest[0] == 'd') {
			return i + 2
		}
		if len(rest) >= 2 && (rest[0] == 'r' && rest[1] == 'e' || rest[0] == 'v' && rest[1] == 'e' || rest[0] == 'l' && rest[1] == 'l') {
			return i + 3
		}
	}
	j := i
	if r == ' ' && i+1 < len(b) {
		if r2, n2 := utf8.DecodeRune(b[i+1:]); !unicode.IsSpace(r2) {
			j, r, n = i+1, r2, n2
		}
	}
	class := gpt2Class(r)
	if class != 's' {
		j += n
		for j < len(b) {
			r, n := utf8.DecodeRune(b[j:])
			if gpt2Class(r) != class {
				break
			}
			j += n
		}
		return j
	}
	// \s+(?!\S), else \s+: a run of whitespace followed by a non-space gives up its last
	// character to the next match, unless it has only one.
	j += n
	last := i
	for j < len(b) {
		r, n := utf8.DecodeRune(b[j:])
		if !unicode.IsSpace(r) {
			break
		}
		last = j
		j += n
	}
	if j < len(b) && last > i {
		return last
	}
	return j
}

// gpt2Class is the class of r in GPT-2's pattern: letter, number, space or other.
func gpt2Class(r rune) byte {
	switch {
	case unicode.IsLetter(r):
		return 'L'
	case unicode.IsNumber(r):
		return 'N'
	case unicode.IsSpace(r):
		return 's'
	}
	return 'o'
}

// trimOffsets is the offsets trimming of ByteLevel::process_offsets
// (pre_tokenizers/byte_level.rs), run by RobertaProcessing with trim_offsets: leading and
// trailing spaces ('Ġ' or whitespace) of a token are cut from its offsets, except the one
// space add_prefix_space put before the first token.
func (t *Tokenizer) trimOffsets(off *[2]int, tok string, first bool) {
	lead, trail := 0, 0
	for _, r := range tok {
		if r != 'Ġ' && !unicode.IsSpace(r) {
			break
		}
		lead++
	}
	for i := len(tok); i > 0; {
		r, n := utf8.DecodeLastRuneInString(tok[:i])
		if r != 'Ġ' && !unicode.IsSpace(r) {
			break
		}
		trail++
		i -= n
	}
	if lead > 0 {
		if (first || off[0] == 0) && t.postPrefixSpace && lead == 1 {
			lead = 0
		}
		off[0] = min(off[0]+lead, off[1])
	}
	if trail > 0 && off[1] >= trail {
		off[1] = max(off[1]-trail, off[0])
	}
}
