package tokenizer

// templatePiece is one item of a TemplateProcessing template (processors/template.rs):
// a special token (seq < 0) or the tokens of sequence A (seq 0) or B (seq 1).
type templatePiece struct {
	seq    int
	id     int32
	token  string
	typeID int32
}

// budget is how many model tokens truncation leaves for the sequences, or -1 for no
// truncation. It mirrors Tokenizer::post_process: max_length minus the special tokens; when
// that subtraction would underflow (usize wraps in the reference), nothing is truncated.
func (t *Tokenizer) budget(opt Options, pair bool) int {
	maxLen := opt.MaxLength
	if maxLen == 0 {
		maxLen = t.maxLength
	}
	if maxLen <= 0 {
		return -1
	}
	n := t.NumSpecialTokens(pair)
	if maxLen < n {
		return -1
	}
	return maxLen - n
}

// Encode tokenizes one text with the single-sequence template ([CLS] A [SEP]).
func (t *Tokenizer) Encode(text string, opt Options) Encoding {
	s := t.getState()
	defer t.putState(s)
	b := t.budget(opt, false)
	limit, keep := b, -1
	if t.truncLeft {
		limit, keep = -1, b
	}
	t.encodeSequence(s, text, limit, keep, max(opt.CountUpTo, 0))
	a := t.truncate(s.toks, b)
	e := t.build(a, nil, false, 0)
	if opt.CountUpTo > 0 {
		e.SourceTokens = min(s.count, max(opt.CountUpTo, len(a)))
	}
	return e
}

// EncodePair tokenizes a pair of texts with the pair template ([CLS] A [SEP] B [SEP]) and
// LongestFirst truncation (utils/truncation.rs).
func (t *Tokenizer) EncodePair(a, b string, opt Options) Encoding {
	s := t.getState()
	defer t.putState(s)
	bud := t.budget(opt, true)
	limit, keep := bud, -1
	if t.truncLeft {
		limit, keep = -1, bud // LongestFirst keeps at most bud of each
	}
	countTo := 0
	if bud >= 0 {
		countTo = -1 // LongestFirst needs both whole lengths
	}
	t.encodeSequence(s, a, limit, keep, countTo)
	s.seqA = append(s.seqA[:0], s.toks...)
	n1 := s.count
	t.encodeSequence(s, b, limit, keep, countTo)
	s.seqB = append(s.seqB[:0], s.toks...)
	n2 := s.count
	ta, tb := s.seqA, s.seqB
	if bud >= 0 && n1+n2 > bud {
		l1, l2 := longestFirst(n1, n2, bud)
		ta, tb = t.truncate(ta, l1), t.truncate(tb, l2)
	}
	return t.build(ta, tb, true, 0)
}

// longestFirst gives the lengths LongestFirst truncation keeps of two sequences of n1 and
// n2 tokens for a budget of limit tokens (truncate_encodings in utils/truncation.rs).
func longestFirst(n1, n2, limit int) (int, int) {
	swap := false
	if n1 > n2 {
		swap = true
		n1, n2 = n2, n1
	}
	if n1 > limit {
		n2 = n1
	} else {
		n2 = max(n1, limit-n1)
	}
	if n1+n2 > limit {
		n1 = limit / 2
		n2 = n1 + limit%2
	}
	if swap {
		n1, n2 = n2, n1
	}
	return n1, n2
}

// truncate keeps n tokens of toks (the first n, or the last n when the file truncates
// from the left); n < 0 keeps all.
func (t *Tokenizer) truncate(toks []token, n int) []token {
	if n < 0 || n >= len(toks) {
		return toks
	}
	if t.truncLeft {
		return toks[len(toks)-n:]
	}
	return toks[:n]
}

// EncodeBatch encodes each text; with opt.Pad every encoding is padded to the longest.
func (t *Tokenizer) EncodeBatch(texts []string, opt Options) []Encoding {
	out := make([]Encoding, len(texts))
	for i, text := range texts {
		out[i] = t.Encode(text, opt)
	}
	if opt.Pad {
		t.PadBatch(out)
	}
	return out
}

// EncodePairBatch encodes each pair with EncodePair; with opt.Pad every encoding is padded
// to the longest.
func (t *Tokenizer) EncodePairBatch(pairs [][2]string, opt Options) []Encoding {
	out := make([]Encoding, len(pairs))
	for i, p := range pairs {
		out[i] = t.EncodePair(p[0], p[1], opt)
	}
	if opt.Pad {
		t.PadBatch(out)
	}
	return out
}

// PadBatch pads every encoding to the longest one (PaddingStrategy::BatchLongest,
// utils/padding.rs) with the file's pad token, pad type id and direction.
func (t *Tokenizer) PadBatch(encs []Encoding) {
	longest := 0
	for i := range encs {
		longest = max(longest, len(encs[i].IDs))
	}
	for i := range encs {
		t.Pad(&encs[i], longest)
	}
}

// Pad pads e to n tokens (no-op if it is as long already): pad id, pad type id, attention 0,
// offsets [0,0], word id -1.
func (t *Tokenizer) Pad(e *Encoding, n int) {
	have := len(e.IDs)
	if have >= n {
		return
	}
	p := t.alloc(n)
	off := 0 // where the real tokens go
	padAt := have
	if t.padLeft {
		off, padAt = n-have, 0
	}
	copy(p.IDs[off:], e.IDs)
	copy(p.TypeIDs[off:], e.TypeIDs)
	copy(p.AttentionMask[off:], e.AttentionMask)
	copy(p.Tokens[off:], e.Tokens)
	copy(p.Offsets[off:], e.Offsets)
	copy(p.WordIDs[off:], e.WordIDs)
	copy(p.SequenceIDs[off:], e.SequenceIDs)
	for i := padAt; i < padAt+n-have; i++ {
		p.IDs[i] = t.padID
		p.TypeIDs[i] = t.padTypeID
		p.AttentionMask[i] = 0
		p.Tokens[i] = t.padToken
		p.WordIDs[i] = -1
		p.SequenceIDs[i] = -1
	}
	p.SourceTokens = e.SourceTokens
	*e = p
}

// alloc makes an Encoding of n tokens with few allocations; each slice is capped so
// appending to one cannot overwrite another.
func (t *Tokenizer) alloc(n int) Encoding {
	ints := make([]int32, 3*n)
	return Encoding{
		IDs:           ints[0:n:n],
		TypeIDs:       ints[n : 2*n : 2*n],
		AttentionMask: ints[2*n : 3*n : 3*n],
		Tokens:        make([]string, n),
		Offsets:       make([][2]int, n),
		WordIDs:       make([]int, n),
		SequenceIDs:   make([]int8, n),
	}
}

// build applies the post-processor template (or, without one, concatenates A and B with
// type ids 0 and 1) and returns the Encoding, padded to padTo tokens.
func (t *Tokenizer) build(a, b []token, pair bool, padTo int) Encoding {
	n := len(a) + len(b)
	tpl := t.single
	if pair {
		tpl = t.pair
	}
	if t.hasPost {
		n = 0
		for _, p := range tpl {
			switch p.seq {
			case -1:
				n++
			case 0:
				n += len(a)
			case 1:
				n += len(b)
			}
		}
	}
	e := t.alloc(n)
	i := 0
	put := func(toks []token, typeID int32, seq int8) {
		for k, tk := range toks {
			e.IDs[i] = tk.id
			e.TypeIDs[i] = typeID
			e.AttentionMask[i] = 1
			if tk.text != "" {
				e.Tokens[i] = tk.text
			} else {
				e.Tokens[i] = t.IDToToken(tk.id)
			}
			e.Offsets[i] = [2]int{int(tk.start), int(tk.end)}
			if t.postTrim {
				t.trimOffsets(&e.Offsets[i], e.Tokens[i], k == 0)
			}
			e.WordIDs[i] = int(tk.word)
			e.SequenceIDs[i] = seq
			i++
		}
	}
	if !t.hasPost {
		put(a, 0, 0)
		put(b, 1, 1)
	} else {
		for _, p := range tpl {
			switch p.seq {
			case -1:
				e.IDs[i] = p.id
				e.TypeIDs[i] = p.typeID
				e.AttentionMask[i] = 1
				e.Tokens[i] = p.token
				e.WordIDs[i] = -1
				e.SequenceIDs[i] = -1
				i++
			case 0:
				put(a, p.typeID, 0)
			case 1:
				put(b, p.typeID, 1)
			}
		}
	}
	if padTo > n {
		t.Pad(&e, padTo)
	}
	return e
}
