package tokenizer

// Extended grapheme clusters (UAX #29), as the crate unicode-segmentation's graphemes(true)
// splits text for the Precompiled normalizer (normalizers/precompiled.rs). The properties are
// generated into grapheme_tables.go by tools/reference/make_tokenizer_golden.py.

// Grapheme_Cluster_Break values (the low 4 bits of a class), then the flags.
const (
	gcbOther = iota
	gcbCR
	gcbLF
	gcbControl
	gcbExtend
	gcbZWJ
	gcbRI
	gcbPrepend
	gcbSpacingMark
	gcbL
	gcbV
	gcbT
	gcbLV
	gcbLVT

	gcbMask          = 15
	gcbPictographic  = 16 // Extended_Pictographic
	gcbInCBConsonant = 32 // Indic_Conjunct_Break=Consonant
	gcbInCBLinker    = 64 // =Linker
	gcbInCBExtend    = 96 // =Extend
	gcbInCBMask      = 96
)

// graphemeClass is r's class in graphemeClasses.
func graphemeClass(r rune) uint8 {
	if r < 0x7f && r >= 0x20 {
		return gcbOther
	}
	return lookupClass(graphemeClasses, r)
}

// graphemeBreaker finds the boundaries of extended grapheme clusters one character at a
// time; the zero value is at the start of a text.
type graphemeBreaker struct {
	started bool
	prev    uint8 // class of the previous character
	ri      int   // regional indicators in a row, ending at the previous character
	pict    bool  // GB11: ExtPict Extend* seen, ending at the previous character (or its ZWJ)
	incb    uint8 // GB9c: 0 none, 1 after Consonant [Extend|Linker]*, 2 with a Linker among them
}

// breakBefore tells whether a cluster boundary comes before the character of class c, and
// moves past it.
func (g *graphemeBreaker) breakBefore(c uint8) bool {
	if !g.started {
		g.started = true
		g.advance(c)
		return true
	}
	b := g.prev & gcbMask
	k := c & gcbMask
	brk := true
	switch {
	case b == gcbCR && k == gcbLF: // GB3
		brk = false
	case b == gcbCR || b == gcbLF || b == gcbControl: // GB4
	case k == gcbCR || k == gcbLF || k == gcbControl: // GB5
	case b == gcbL && (k == gcbL || k == gcbV || k == gcbLV || k == gcbLVT): // GB6
		brk = false
	case (b == gcbLV || b == gcbV) && (k == gcbV || k == gcbT): // GB7
		brk = false
	case (b == gcbLVT || b == gcbT) && k == gcbT: // GB8
		brk = false
	case k == gcbExtend || k == gcbZWJ || k == gcbSpacingMark: // GB9, GB9a
		brk = false
	case b == gcbPrepend: // GB9b
		brk = false
	case g.incb == 2 && c&gcbInCBMask == gcbInCBConsonant: // GB9c
		brk = false
	case b == gcbZWJ && g.pict && c&gcbPictographic != 0: // GB11
		brk = false
	case b == gcbRI && k == gcbRI && g.ri%2 == 1: // GB12, GB13
		brk = false
	}
	g.advance(c)
	return brk
}

func (g *graphemeBreaker) advance(c uint8) {
	k := c & gcbMask
	// GB11 state: ExtPict Extend* ZWJ?
	switch {
	case c&gcbPictographic != 0:
		g.pict = true
	case k == gcbExtend && g.pict && g.prev&gcbMask != gcbZWJ:
	case k == gcbZWJ && g.pict && g.prev&gcbMask != gcbZWJ:
	default:
		g.pict = false
	}
	// GB9c state.
	switch c & gcbInCBMask {
	case gcbInCBConsonant:
		g.incb = 1
	case gcbInCBLinker:
		if g.incb != 0 {
			g.incb = 2
		}
	case gcbInCBExtend:
	default:
		g.incb = 0
	}
	if k == gcbRI {
		if g.prev&gcbMask == gcbRI && g.started && g.ri > 0 {
			g.ri++
		} else {
			g.ri = 1
		}
	} else {
		g.ri = 0
	}
	g.prev = c
}
