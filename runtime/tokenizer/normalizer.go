package tokenizer

import "slices"

// normalizer is BertNormalizer (tokenizers/src/normalizers/bert.rs). It runs one original
// character at a time and yields normalized characters, each aligned to the byte range
// of an original character, as NormalizedString's alignments end up in the reference:
//
//   - clean_text, handle_chinese_chars and lowercase map each character to zero or more
//     characters that all take its alignment (NormalizedString::transform gives inserted
//     characters the alignment of the character before them);
//   - strip_accents runs NFD over the whole string, and NFD sorts each run of combining
//     marks by combining class. transform then hands out alignments by position, not by
//     character: the k-th character that starts a decomposition takes the alignment of the
//     k-th character before NFD, the others that of the last one taken. Only runs of
//     combining marks need to be held back for that, so the stream stays one pass.
type normalizer struct {
	kind         normKind
	cleanText    bool // drop \0, U+FFFD and control characters; map whitespace to ' '
	chinese      bool // put spaces around CJK ideographs
	stripAccents bool // NFD, then drop nonspacing marks (Mn)
	lowercase    bool // Rust's char::to_lowercase

	steps []normStep // normSeq: Precompiled, Strip and Replace in order (normseq.go)
}

// normKind is which normalizer a tokenizer.json names.
type normKind uint8

const (
	normNone normKind = iota // no normalizer: the text as it is
	normBert                 // BertNormalizer
	normSeq                  // a Sequence of Precompiled, Strip and Replace (or one of them)
)

type align = [2]int32

// pendingMark is a combining mark held back by NFD until its run ends.
type pendingMark struct {
	r     rune
	ccc   uint8
	first bool // starts the decomposition of a character before NFD
}

// normState is the normalizer's part of an encoding's state.
type normState struct {
	out      []rune  // normalized characters ready for the pre-tokenizer
	outAlign []align // their alignments
	marks    []pendingMark
	queue    []align // alignments of characters whose decomposition has not started yet
	qhead    int
	last     align // alignment of the last character that started a decomposition
	tmp      []rune
	seq      seqState // normSeq: the segment so far, normalized whole by finish
}

func (ns *normState) reset() {
	ns.out, ns.outAlign = ns.out[:0], ns.outAlign[:0]
	ns.marks, ns.queue, ns.qhead = ns.marks[:0], ns.queue[:0], 0
	ns.last = align{}
	ns.seq.in, ns.seq.inA = ns.seq.in[:0], ns.seq.inA[:0]
}

// push normalizes one original character r with alignment a, appending to ns.out what is
// ready.
func (n *normalizer) push(ns *normState, r rune, a align) {
	switch n.kind {
	case normNone:
		ns.emit(r, a)
		return
	case normSeq:
		if len(ns.seq.in) >= MaxSegmentChars {
			return
		}
		ns.seq.in = append(ns.seq.in, r)
		ns.seq.inA = append(ns.seq.inA, a)
		return
	}
	if n.cleanText {
		if r == 0 || r == 0xFFFD || isControl(r) {
			return
		}
		if isWhitespace(r) {
			r = ' '
		}
	}
	if n.chinese && isChinese(r) {
		n.cased(ns, ' ', a)
		n.cased(ns, r, a)
		n.cased(ns, ' ', a)
		return
	}
	n.cased(ns, r, a)
}

// cased applies strip_accents and lowercase to a character after clean_text and
// handle_chinese_chars.
func (n *normalizer) cased(ns *normState, r rune, a align) {
	if !n.stripAccents {
		n.lower(ns, r, a)
		return
	}
	ns.queue = append(ns.queue, a)
	if r < 0xC0 { // no decomposition, combining class 0
		n.flushMarks(ns)
		n.take(ns, r, true)
		return
	}
	ns.tmp = appendNFD(ns.tmp[:0], r)
	for i, d := range ns.tmp {
		c := combiningClass(d)
		if c == 0 {
			n.flushMarks(ns)
			n.take(ns, d, i == 0)
			continue
		}
		ns.marks = append(ns.marks, pendingMark{r: d, ccc: c, first: i == 0})
		if len(ns.marks) >= maxMarkRun {
			n.flushMarks(ns)
		}
	}
}

// maxMarkRun bounds the combining marks held back for NFD's reordering. Real text has a few per
// character; a hostile one, millions in a row. A run longer than this is reordered in pieces
// of maxMarkRun (the reference sorts it whole): the normalized text then differs from the
// reference only in the order of marks more than 4096 apart in such a run, and only where
// strip_accents keeps them.
const maxMarkRun = 1 << 12

// take gives a character out of NFD its alignment by position and passes it on.
func (n *normalizer) take(ns *normState, r rune, first bool) {
	if first {
		ns.last = ns.queue[ns.qhead]
		ns.qhead++
		if ns.qhead == len(ns.queue) {
			ns.queue, ns.qhead = ns.queue[:0], 0
		}
	}
	if isNonspacingMark(r) {
		return
	}
	n.lower(ns, r, ns.last)
}

// flushMarks ends a run of combining marks: sorted by combining class (stably), then
// passed on.
func (n *normalizer) flushMarks(ns *normState) {
	if len(ns.marks) == 0 {
		return
	}
	m := ns.marks
	if len(m) <= 32 {
		// Insertion sort: stable, allocation-free, and real runs are short.
		for i := 1; i < len(m); i++ {
			for j := i; j > 0 && m[j-1].ccc > m[j].ccc; j-- {
				m[j-1], m[j] = m[j], m[j-1]
			}
		}
	} else {
		// A long run (alternating classes made insertion sort quadratic: 2M marks ran for
		// minutes): stable, O(n log n), no allocation.
		slices.SortStableFunc(m, func(a, b pendingMark) int { return int(a.ccc) - int(b.ccc) })
	}
	for _, m := range ns.marks {
		n.take(ns, m.r, m.first)
	}
	ns.marks = ns.marks[:0]
}

// finish flushes what the normalizer holds back; call at the end of each segment.
func (n *normalizer) finish(ns *normState) {
	if n.kind == normSeq {
		runSteps(n.steps, ns)
		return
	}
	n.flushMarks(ns)
}

func (n *normalizer) lower(ns *normState, r rune, a align) {
	if !n.lowercase {
		ns.emit(r, a)
		return
	}
	if r < 0x80 {
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		ns.emit(r, a)
		return
	}
	k := len(ns.out)
	ns.out = appendLower(ns.out, r)
	for ; k < len(ns.out); k++ {
		ns.outAlign = append(ns.outAlign, a)
	}
}

func (ns *normState) emit(r rune, a align) {
	ns.out = append(ns.out, r)
	ns.outAlign = append(ns.outAlign, a)
}

// normalizeString normalizes s whole (used for the content of normalized added tokens).
func (n *normalizer) normalizeString(s string) string {
	var ns normState
	for _, r := range s {
		n.push(&ns, r, align{})
	}
	n.finish(&ns)
	return string(ns.out)
}
