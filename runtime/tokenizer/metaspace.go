package tokenizer

import (
	"bytes"
	"unicode/utf8"
)

// Metaspace's prepend_scheme (pre_tokenizers/metaspace.rs).
const (
	prependAlways = iota
	prependFirst  // only before the segment at the start of the text
	prependNever
)

// metaspace is the Metaspace pre-tokenizer on one normalized segment b (al: the original
// byte range of each byte of b): every ' ' becomes the replacement ('▁'), the replacement
// is put in front (per prepend_scheme, unless the segment already starts with it; aligned
// to the first character, as NormalizedString::prepend does), and with split the segment
// is cut before each replacement (MergedWithNext).
func (t *Tokenizer) metaspace(s *state, b []byte, al [][2]int32) {
	if len(b) == 0 {
		return
	}
	rep := t.pre.replacement
	buf, ali := s.tbuf[:0], s.talign[:0]
	startsWithRep := b[0] == ' ' || bytes.HasPrefix(b, []byte(rep))
	if !startsWithRep && (t.pre.prepend == prependAlways || t.pre.prepend == prependFirst && al[0][0] == 0) {
		buf = append(buf, rep...)
		for range len(rep) {
			ali = append(ali, al[0])
		}
	}
	for k, c := range b {
		if c == ' ' {
			buf = append(buf, rep...)
			for range len(rep) {
				ali = append(ali, al[k])
			}
			continue
		}
		buf = append(buf, c)
		ali = append(ali, al[k])
	}
	s.tbuf, s.talign = buf, ali
	for i := 0; i < len(buf) && !s.stop; {
		j := len(buf)
		if t.pre.split {
			_, n := utf8.DecodeRune(buf[i:])
			if k := bytes.Index(buf[i+n:], []byte(rep)); k >= 0 {
				j = i + n + k
			}
		}
		s.wbuf = append(s.wbuf[:0], buf[i:j]...)
		s.walign = append(s.walign[:0], ali[i:j]...)
		s.wchars, s.wstart, s.wend = utf8.RuneCount(buf[i:j]), ali[i][0], ali[j-1][1]
		t.flushWord(s)
		i = j
	}
}
