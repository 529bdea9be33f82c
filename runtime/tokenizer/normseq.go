package tokenizer

import (
	"bytes"
	"regexp"
	"unicode/utf8"
)

// The normalizers of SentencePiece-converted files (XLM-R: Sequence [Precompiled, Strip,
// Replace]), as values. They run on a whole segment at once: the Precompiled normalizer looks
// at grapheme clusters, Strip at the end of the segment, Replace at runs. Each maps the
// segment's characters and their alignments (the original byte range each comes from) to new
// ones exactly as NormalizedString::transform does in the reference
// (tokenizers/src/tokenizer/normalizer.rs), quirks included.

type stepKind uint8

const (
	stepPrecompiled stepKind = iota // normalizers/precompiled.rs
	stepStrip                       // normalizers/strip.rs
	stepReplace                     // normalizers/replace.rs
)

// normStep is one normalizer of a Sequence.
type normStep struct {
	kind        stepKind
	pc          *precompiled
	left, right bool           // Strip
	match       replaceMatcher // Replace: the pattern
	content     []rune         // Replace
}

// charChange is one entry of the reference's transformations: a character of the new string
// and how it relates to the old one (0 replaces the next character, 1 is inserted, -n
// replaces the next character and removes the n after it).
type charChange struct {
	r      rune
	change int32
}

// MaxSegmentChars bounds the characters these normalizers read from one segment (the text
// between added tokens) and the characters the Precompiled normalizer writes for it: the
// segment is held whole, at ~70 bytes a character through normalization and pre-tokenization,
// and a charsmap may expand a byte to maxReplacementBytes. Past it the rest of the segment is
// dropped (where the reference normalizes it all): only tokens after the first ~1M characters
// (~250,000 tokens) differ, far past any truncation or count (adapters.MaxCountedTokens).
const MaxSegmentChars = 1 << 20

// seqState is the scratch of the sequence normalizers, part of normState.
type seqState struct {
	in, tmp     []rune
	inA, tmpA   []align
	changes     []charChange
	chunk, text []byte
	start       int32 // where the segment starts in the original text
}

// runSteps normalizes ns.seq.in (alignments ns.seq.inA) through steps and appends the result
// to ns.out.
func runSteps(steps []normStep, ns *normState) {
	q := &ns.seq
	if len(q.in) > 0 {
		q.start = q.inA[0][0]
	}
	for i := range steps {
		st := &steps[i]
		if len(q.in) == 0 {
			break
		}
		q.tmp, q.tmpA = q.tmp[:0], q.tmpA[:0]
		switch st.kind {
		case stepPrecompiled:
			st.precompiled(q)
		case stepStrip:
			st.strip(q) // in place
			continue
		case stepReplace:
			if !st.replace(q) {
				continue // no match: q.in as it was
			}
		}
		q.in, q.tmp = q.tmp, q.in
		q.inA, q.tmpA = q.tmpA, q.inA
	}
	if len(ns.out) == 0 {
		// (always, as push holds everything back: hand the buffers over instead of copying)
		ns.out, q.in = q.in, ns.out
		ns.outAlign, q.inA = q.inA, ns.outAlign
	} else {
		ns.out = append(ns.out, q.in...)
		ns.outAlign = append(ns.outAlign, q.inA...)
	}
	q.in, q.inA = q.in[:0], q.inA[:0]
}

// precompiled is Precompiled::normalize: per grapheme cluster, a cluster of fewer than 6 bytes
// that the charsmap maps (by its shortest matching prefix) becomes that string whole; other
// clusters go character by character, each mapped or kept.
func (st *normStep) precompiled(q *seqState) {
	q.changes = q.changes[:0]
	in := q.in
	var g graphemeBreaker
	g.breakBefore(graphemeClass(in[0]))
	for start := 0; start < len(in) && len(q.changes) < MaxSegmentChars; {
		end := start + 1
		size := utf8.RuneLen(in[start])
		for end < len(in) && !g.breakBefore(graphemeClass(in[end])) {
			size += utf8.RuneLen(in[end])
			end++
		}
		mapped := false
		if size < 6 {
			q.chunk = q.chunk[:0]
			for _, r := range in[start:end] {
				q.chunk = utf8.AppendRune(q.chunk, r)
			}
			if norm, ok := st.pc.transform(q.chunk); ok {
				q.replaceChars(end-start, norm)
				mapped = true
			}
		}
		for k := start; k < end && !mapped; k++ {
			q.chunk = utf8.AppendRune(q.chunk[:0], in[k])
			if norm, ok := st.pc.transform(q.chunk); ok {
				q.replaceChars(1, norm)
			} else {
				q.changes = append(q.changes, charChange{r: in[k]})
			}
		}
		start = end
	}
	q.apply(0)
}

// replaceChars is replace() of normalizers/precompiled.rs: old characters become norm; extra
// new characters count as inserted, and fewer ones make the last transformation so far
// (possibly of an earlier character) remove the difference.
func (q *seqState) replaceChars(old int, norm string) {
	n := 0
	for _, r := range norm {
		q.changes = append(q.changes, charChange{r: r})
		n++
	}
	switch diff := n - old; {
	case diff > 0:
		for i := len(q.changes) - diff; i < len(q.changes); i++ {
			q.changes[i].change = 1
		}
	case diff < 0:
		if len(q.changes) > 0 {
			q.changes[len(q.changes)-1].change += int32(diff)
		}
	}
}

// apply is NormalizedString::transform(q.changes, skip) over q.in: it writes q.tmp and
// q.tmpA. A new character takes the alignment of the original character at its cursor (the
// one it replaces), or, if inserted, of the character before the cursor; characters never
// reached by the cursor are dropped.
func (q *seqState) apply(skip int) {
	in, inA := q.in, q.inA
	k := skip
	segStart := align{q.start, q.start}
	for _, c := range q.changes {
		var a align
		if c.change > 0 {
			a = segStart // the reference's (0, 0), relative to the segment
			if k > 0 {
				a = inA[min(k, len(in))-1]
			}
		} else {
			if k < len(in) {
				a = inA[k]
			} else {
				a = inA[len(in)-1] // unreachable from the reference's own transformations
			}
			k += 1 - int(c.change)
		}
		q.tmp = append(q.tmp, c.r)
		q.tmpA = append(q.tmpA, a)
	}
}

// strip is Strip (NormalizedString::lrstrip): whitespace (char::is_whitespace) removed from
// the left and/or right; the characters kept keep their alignments.
func (st *normStep) strip(q *seqState) {
	in := q.in
	lo, hi := 0, len(in)
	if st.left {
		for lo < hi && inRanges(spaceRanges, in[lo]) {
			lo++
		}
	}
	if st.right {
		for hi > lo && inRanges(spaceRanges, in[hi-1]) {
			hi--
		}
	}
	n := copy(in, in[lo:hi])
	copy(q.inA, q.inA[lo:hi])
	q.in, q.inA = in[:n], q.inA[:n]
}

// replace is Replace (NormalizedString::replace): every match of the pattern becomes content,
// each of whose characters takes the alignment of the match's last character. It writes q.tmp
// and reports whether anything matched.
func (st *normStep) replace(q *seqState) bool {
	q.text = q.text[:0]
	for _, r := range q.in {
		q.text = utf8.AppendRune(q.text, r)
	}
	k, pos := 0, 0 // character index and byte offset in q.text
	matched := false
	for pos < len(q.text) {
		m0, m1, ok := st.match.next(q.text, pos)
		if !ok {
			break
		}
		matched = true
		for pos < m0 {
			q.tmp = append(q.tmp, q.in[k])
			q.tmpA = append(q.tmpA, q.inA[k])
			pos += utf8.RuneLen(q.in[k])
			k++
		}
		for pos < m1 {
			pos += utf8.RuneLen(q.in[k])
			k++
		}
		// Patterns that can match the empty string are refused when the file is read, so k > 0.
		a := q.inA[k-1]
		for _, r := range st.content {
			q.tmp = append(q.tmp, r)
			q.tmpA = append(q.tmpA, a)
		}
	}
	if !matched {
		return false
	}
	q.tmp = append(q.tmp, q.in[k:]...)
	q.tmpA = append(q.tmpA, q.inA[k:]...)
	return true
}

// replaceMatcher finds the leftmost match of a Replace pattern in b at or after from. The
// patterns real files use (a literal; a character repeated at least n times, XLM-R's " {2,}")
// are matched without allocating; others go through regexp.
type replaceMatcher struct {
	lit []byte         // a literal pattern, or the repeated character
	min int            // > 0: lit repeated at least min times (greedy)
	re  *regexp.Regexp // otherwise
}

func (m *replaceMatcher) next(b []byte, from int) (int, int, bool) {
	switch {
	case m.re != nil:
		loc := m.re.FindIndex(b[from:])
		if loc == nil {
			return 0, 0, false
		}
		return from + loc[0], from + loc[1], true
	case m.min > 0:
		for i := from; ; {
			k := bytes.Index(b[i:], m.lit)
			if k < 0 {
				return 0, 0, false
			}
			start := i + k
			end, n := start, 0
			for bytes.HasPrefix(b[end:], m.lit) {
				end += len(m.lit)
				n++
			}
			if n >= m.min {
				return start, end, true
			}
			i = end
		}
	default:
		k := bytes.Index(b[from:], m.lit)
		if k < 0 {
			return 0, 0, false
		}
		return from + k, from + k + len(m.lit), true
	}
}
