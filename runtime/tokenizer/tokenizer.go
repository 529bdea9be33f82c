// Package tokenizer is a tokenizer driven by a Hugging Face tokenizer.json. It reproduces
// the ids, tokens, type ids, word ids and offsets of huggingface/tokenizers 0.22.1 for
// BERT-style files (added tokens with single_word, lstrip, rstrip, normalized;
// BertNormalizer, BertPreTokenizer, WordPiece, TemplateProcessing or BertProcessing) and
// RoBERTa/GPT-2-style files (ByteLevel pre-tokenizer with GPT-2's pattern and byte map, BPE
// merges by rank, RobertaProcessing or ByteLevel post-processing with their offset
// trimming; checked on GPT-2's real vocabulary and merges) and SentencePiece-style
// Unigram files (Metaspace pre-tokenizer, Viterbi over the pieces' scores, read as
// serde_json reads them) with XLM-R's normalizers (SentencePiece's precompiled_charsmap read
// as spm_precompiled does, grapheme clusters and NormalizedString's alignments included; Strip;
// Replace; their Sequence: normseq.go, precompiled.go, grapheme.go), with LongestFirst
// truncation and batch padding. It knows nothing of models.
//
// The pipeline is the reference's: added tokens, then a normalizer, a pre-tokenizer and a
// model (the model interface: wordpiece.go, bpe.go, unigram.go), then the post-processor.
// The normalizer and pre-tokenizer are values chosen by kind.
//
// Verified against the reference (tools/reference/make_tokenizer_golden.py): every code
// point through the normalizer under four settings and through the pre-tokenizer, and over
// a thousand tricky, random and real texts, single and paired, truncated and padded.
//
// Details that follow the reference rather than intuition:
//   - Special tokens written in the text ("[MASK]", "[CLS]") are matched case-sensitively
//     before normalization and become that token; "[mask]" is normalized and split into
//     "[", "mask", "]".
//   - Lowercasing is Rust's char::to_lowercase: no final sigma (Σ → σ), İ → "i̇" (then
//     "i" once accents are stripped); ß stays ß.
//   - Character classes (control, whitespace, punctuation, nonspacing marks, combining
//     classes) are those of the crates the reference uses, some older than Unicode 9; they
//     are generated into tables.go from the reference's behaviour on every code point.
//   - A MaxLength below the number of special tokens disables truncation (the reference's
//     usize subtraction wraps).
//   - Token strings of added tokens are the text they matched, stripped spaces included.
//
// Offsets are byte offsets into the original Go string (the Python library reports
// character offsets; the golden test converts). Invalid UTF-8 never panics: each invalid
// byte decodes as U+FFFD, which clean_text drops without splitting the word (with
// clean_text off it stays, and becomes [UNK] unless the vocab has "\uFFFD").
//
// Long inputs take linear time; a single text stops being read once truncation is
// reached, a pair is read to the end (LongestFirst needs both lengths).
//
// A Tokenizer is safe for concurrent use.
package tokenizer

import (
	"sync"
	"unicode/utf8"
)

// Tokenizer encodes text to token ids. Build one with FromJSON.
type Tokenizer struct {
	model     model
	vocab     map[string]int32 // the model's vocab, token → id
	idToToken []string
	unkID     int32 // -1 if the model has no unknown token
	maxChars  int   // the model's maxWordChars

	added       []addedToken
	rawMatcher  *matcher // added tokens with normalized=false
	normMatcher *matcher // added tokens with normalized=true

	norm normalizer
	pre  preTokenizer

	hasPost      bool
	single, pair []templatePiece
	// RobertaProcessing's trim_offsets and add_prefix_space (offsets only).
	postTrim, postPrefixSpace bool

	maxLength int // truncation max_length from the file; 0 = none
	truncLeft bool

	padID, padTypeID int32
	padToken         string
	padLeft          bool

	states sync.Pool // *state
}

// Options choose truncation and padding per call; the file's own padding strategy is
// ignored, its truncation max_length is the default.
type Options struct {
	// MaxLength is the truncation length including special tokens. 0 uses the
	// tokenizer.json truncation max_length (none if the file has none); negative disables
	// truncation. As in the reference, a MaxLength smaller than the number of special
	// tokens the template adds disables truncation.
	MaxLength int
	// Pad pads a batch to its longest sequence (padding=True / "longest").
	Pad bool
	// CountUpTo makes Encode keep counting a text's tokens past the truncation point (it
	// stops early otherwise), up to CountUpTo tokens, and report the count in
	// Encoding.SourceTokens: a longer text reports CountUpTo (or the tokens kept, if more). The tokens
	// past the point are counted, never stored: memory stays bounded by MaxLength, and time by
	// CountUpTo. 0 counts nothing.
	CountUpTo int
}

// Encoding is one encoded text (or pair), after the post-processor, truncation and padding.
type Encoding struct {
	IDs           []int32
	TypeIDs       []int32
	AttentionMask []int32
	Tokens        []string
	Offsets       [][2]int // byte offsets into the original text; [0,0] for special/pad tokens
	WordIDs       []int    // index of the pre-tokenized word each token came from; -1 for special/pad
	// SequenceIDs tells which input each token came from: 0 (first), 1 (second of a
	// pair), -1 for special and pad tokens.
	SequenceIDs []int8
	// SourceTokens is how many tokens the text produced before truncation, special tokens not
	// included, counted up to Options.CountUpTo (set by Encode with it, 0 otherwise). Truncation
	// dropped SourceTokens minus the text's tokens in IDs (at least that, at the cap).
	SourceTokens int
}

// Len is the number of tokens, padding included.
func (e *Encoding) Len() int { return len(e.IDs) }

// Model names the tokenization model: "WordPiece", "BPE" or "Unigram".
func (t *Tokenizer) Model() string {
	switch t.model.(type) {
	case *bpe:
		return "BPE"
	case *unigram:
		return "Unigram"
	}
	return "WordPiece"
}

// VocabSize is the size of the vocabulary including added tokens (highest id + 1).
func (t *Tokenizer) VocabSize() int { return len(t.idToToken) }

// TokenToID returns the id of a vocab entry or added token.
func (t *Tokenizer) TokenToID(tok string) (int32, bool) {
	for i := range t.added {
		if t.added[i].content == tok {
			return t.added[i].id, true
		}
	}
	id, ok := t.vocab[tok]
	return id, ok
}

// IDToToken returns the token of id, or "" if there is none.
func (t *Tokenizer) IDToToken(id int32) string {
	if id < 0 || int(id) >= len(t.idToToken) {
		return ""
	}
	return t.idToToken[id]
}

// PadID is the id used for padding ([PAD], 0 in BERT vocabularies).
func (t *Tokenizer) PadID() int32 { return t.padID }

// UnkID is the id of the unknown token.
func (t *Tokenizer) UnkID() int32 { return t.unkID }

// MaxLength is the file's truncation max_length (0 if none).
func (t *Tokenizer) MaxLength() int { return t.maxLength }

// NumSpecialTokens is how many tokens the post-processor adds to a single text (pair=false)
// or a pair (pair=true): 2 and 3 for BERT.
func (t *Tokenizer) NumSpecialTokens(pair bool) int {
	if !t.hasPost {
		return 0
	}
	tpl := t.single
	if pair {
		tpl = t.pair
	}
	n := 0
	for _, p := range tpl {
		if p.seq < 0 {
			n++
		}
	}
	return n
}

// token is one model token of a sequence, before post-processing.
type token struct {
	id         int32
	start, end int32 // byte offsets into the original text
	word       int32
	text       string // the token's text when it is not the vocab entry of id (added tokens)
}

// state holds the scratch buffers of one encoding; pooled so Encode allocates only its result.
type state struct {
	toks     []token
	limit    int // store at most limit tokens; <0 = all
	keepLast int // >=0: of the tokens stored, only the last keepLast are needed (left truncation)
	countTo  int // keep counting tokens past limit up to countTo; <0: all, 0: none
	count    int // tokens produced, stored or not
	stop     bool
	word     int32

	// the word being built by the pre-tokenizer
	wbuf   []byte     // normalized UTF-8
	walign [][2]int32 // per byte of wbuf: original byte range
	wchars int
	wstart int32
	wend   int32
	pieces []token
	key    []byte

	ns     normState
	nbuf   []byte     // normalized segment, when normalized added tokens exist
	nalign [][2]int32 // per byte of nbuf

	seqA, seqB []token

	tbuf    []byte     // a segment with a prefix space
	talign  [][2]int32 // per byte of tbuf
	syms    []bpeSymbol
	lattice []unigramNode
	heap    []bpeCand
}

func (t *Tokenizer) getState() *state {
	if s, ok := t.states.Get().(*state); ok {
		return s
	}
	return &state{}
}

func (t *Tokenizer) putState(s *state) {
	if cap(s.wbuf) > 1<<16 || cap(s.toks) > 1<<16 || cap(s.nbuf) > 1<<20 || cap(s.tbuf) > 1<<20 ||
		cap(s.lattice) > 1<<16 || cap(s.syms) > 1<<16 || cap(s.heap) > 1<<16 {
		return // do not keep the buffers of a huge text alive
	}
	t.states.Put(s)
}

// encodeSequence tokenizes text into s.toks (mirrors Tokenizer::encode_single_sequence:
// added tokens, normalizer, pre-tokenizer, model). It stops early once limit tokens are
// stored, unless countTo asks for the count in s.count: up to countTo tokens (<0: all). With
// keep >= 0 it keeps at least the last keep tokens and drops earlier ones as it goes (left
// truncation reads the whole text, but a 4 MB text no longer holds its 2M tokens: 330 MB).
func (t *Tokenizer) encodeSequence(s *state, text string, limit, keep, countTo int) {
	s.toks = s.toks[:0]
	s.limit, s.keepLast, s.countTo, s.count, s.stop, s.word = limit, keep, countTo, 0, false, 0
	s.wchars = 0
	if limit == 0 && countTo == 0 {
		return
	}
	if t.normMatcher == nil && !t.pre.buffered() {
		t.encodeSegment(s, text, 0, len(text), t.rawMatcher)
		return
	}
	if t.rawMatcher == nil {
		t.encodeSegmentNormMatched(s, text, 0, len(text))
		return
	}

	t.findMatches(t.rawMatcher, text, func(sp split) bool {
		if sp.token >= 0 {
			s.emitWhole(t.added[sp.token].id, int32(sp.start), int32(sp.end), text[sp.start:sp.end])
		} else {
			t.encodeSegmentNormMatched(s, text, sp.start, sp.end)
		}
		return !s.stop
	})
}

// encodeSegment normalizes, pre-tokenizes and tokenizes text[from:to] in one pass. With a
// matcher m it also splits off the added tokens m finds in the original text, as
// findMatches would, but without looking ahead, so that truncation can stop early.
func (t *Tokenizer) encodeSegment(s *state, text string, from, to int, m *matcher) {
	s.ns.reset()
	lastMatchEnd := from // end of the last accepted added token
	scanFrom := from     // aho-corasick resumes after a match, even a discarded one
	for i := from; i < to && !s.stop; {
		if m != nil && i >= scanFrom && m.first[text[i]] {
			if ti, stop := m.longestAt(text[:to], i); ti >= 0 {
				scanFrom = stop
				if start, stop, ok := t.acceptMatch(text[:to], ti, i, stop, lastMatchEnd); ok {
					t.finishNormalizer(s)
					t.flushWord(s)
					s.ns.reset()
					s.emitWhole(t.added[ti].id, int32(start), int32(stop), text[start:stop])
					lastMatchEnd, scanFrom, i = stop, stop, stop
					continue
				}
			}
		}
		r, size := utf8.DecodeRuneInString(text[i:to])
		a0, a1 := int32(i), int32(i+size)
		i += size
		if r < utf8.RuneSelf && t.norm.kind == normBert && t.pre.kind == preBert {
			// ASCII fast path: no decomposition, combining class 0, one character.
			c := asciiClass[r]
			if c == clsDrop && t.norm.cleanText {
				continue // dropped before NFD: marks on either side form one run
			}
			if len(s.ns.marks) > 0 {
				t.finishNormalizer(s)
			}
			s.ns.last = align{a0, a1}
			switch c {
			case clsSpace:
				t.flushWord(s)
				continue
			case clsDrop:
			case clsPunct:
				t.flushWord(s)
				s.appendWord(t, r, a0, a1)
				t.flushWord(s)
				continue
			default:
				if t.norm.lowercase && 'A' <= r && r <= 'Z' {
					r += 'a' - 'A'
				}
				s.appendWord(t, r, a0, a1)
				continue
			}
		}
		t.norm.push(&s.ns, r, align{a0, a1})
		t.drainNormalizer(s)
	}
	t.finishNormalizer(s)
	t.flushWord(s)
}

// drainNormalizer feeds what the normalizer has ready to the pre-tokenizer.
func (t *Tokenizer) drainNormalizer(s *state) {
	for k, nr := range s.ns.out {
		t.pushNormalized(s, nr, s.ns.outAlign[k][0], s.ns.outAlign[k][1])
	}
	s.ns.out, s.ns.outAlign = s.ns.out[:0], s.ns.outAlign[:0]
}

// finishNormalizer flushes the normalizer at the end of a segment.
func (t *Tokenizer) finishNormalizer(s *state) {
	t.norm.finish(&s.ns)
	t.drainNormalizer(s)
}

// encodeSegmentNormMatched is encodeSegment when some added tokens are matched in the
// normalized text, or when the pre-tokenizer needs the whole segment: the segment is
// normalized whole, then cut by the normalized matcher (if any) and pre-tokenized.
func (t *Tokenizer) encodeSegmentNormMatched(s *state, text string, from, to int) {
	s.nbuf, s.nalign = s.nbuf[:0], s.nalign[:0]
	s.ns.reset()
	for i := from; i < to; {
		r, size := utf8.DecodeRuneInString(text[i:to])
		t.norm.push(&s.ns, r, align{int32(i), int32(i + size)})
		i += size
	}
	t.norm.finish(&s.ns)
	for k, nr := range s.ns.out {
		n := len(s.nbuf)
		s.nbuf = utf8.AppendRune(s.nbuf, nr)
		for ; n < len(s.nbuf); n++ {
			s.nalign = append(s.nalign, s.ns.outAlign[k])
		}
	}
	s.ns.out, s.ns.outAlign = s.ns.out[:0], s.ns.outAlign[:0]
	if t.normMatcher == nil {
		t.preTokenizeBuffered(s, s.nbuf, s.nalign)
		return
	}
	norm := string(s.nbuf)
	t.findMatches(t.normMatcher, norm, func(sp split) bool {
		if sp.token >= 0 {
			s.emitWhole(t.added[sp.token].id, s.nalign[sp.start][0], s.nalign[sp.end-1][1], norm[sp.start:sp.end])
			return !s.stop
		}
		if t.pre.buffered() {
			t.preTokenizeBuffered(s, s.nbuf[sp.start:sp.end], s.nalign[sp.start:sp.end])
			return !s.stop
		}
		for i := sp.start; i < sp.end && !s.stop; {
			r, size := utf8.DecodeRuneInString(norm[i:sp.end])
			t.pushNormalized(s, r, s.nalign[i][0], s.nalign[i][1])
			i += size
		}
		t.flushWord(s)
		return !s.stop
	})
}

// preKind is which pre-tokenizer a tokenizer.json names.
type preKind uint8

const (
	preNone      preKind = iota // the whole segment is one word
	preBert                     // BertPreTokenizer
	preByteLevel                // ByteLevel (GPT-2, RoBERTa)
	preMetaspace                // Metaspace (SentencePiece: XLM-R, T5)
)

// preTokenizer is the pre-tokenizer, a value chosen by kind; the zero value is none.
type preTokenizer struct {
	kind           preKind
	addPrefixSpace bool // ByteLevel: a space before a segment that does not start with one
	useRegex       bool // ByteLevel: split by GPT-2's pattern

	replacement string // Metaspace: what ' ' becomes, "▁"
	prepend     int    // Metaspace: prepend_scheme
	split       bool   // Metaspace: a word per replacement
}

// buffered tells whether the pre-tokenizer needs a whole normalized segment at once (it
// looks ahead) rather than one character at a time.
func (p preTokenizer) buffered() bool { return p.kind == preByteLevel || p.kind == preMetaspace }

// preTokenizeBuffered runs a buffered pre-tokenizer on the normalized segment b, al the
// original byte range of each of its bytes.
func (t *Tokenizer) preTokenizeBuffered(s *state, b []byte, al [][2]int32) {
	switch t.pre.kind {
	case preByteLevel:
		t.byteLevel(s, b, al)
	case preMetaspace:
		t.metaspace(s, b, al)
	}
}

// pushNormalized feeds one normalized character to the pre-tokenizer (BertPreTokenizer:
// split on whitespace, removing it, and isolate every punctuation character).
func (t *Tokenizer) pushNormalized(s *state, r rune, a0, a1 int32) {
	if t.pre.kind != preBert {
		s.appendWord(t, r, a0, a1)
		return
	}
	if isWhitespace(r) {
		t.flushWord(s)
		return
	}
	if isPunct(r) {
		t.flushWord(s)
		s.appendWord(t, r, a0, a1)
		t.flushWord(s)
		return
	}
	s.appendWord(t, r, a0, a1)
}

// appendWord adds a normalized character to the current word. Past max_input_chars_per_word
// characters the word is [UNK] whatever follows, so only its extent is tracked.
func (s *state) appendWord(t *Tokenizer, r rune, a0, a1 int32) {
	if s.wchars == 0 {
		s.wstart = a0
		s.wbuf, s.walign = s.wbuf[:0], s.walign[:0]
	}
	s.wchars++
	s.wend = a1
	if s.wchars > t.maxChars {
		return
	}
	n := len(s.wbuf)
	s.wbuf = utf8.AppendRune(s.wbuf, r)
	for k := n; k < len(s.wbuf); k++ {
		s.walign = append(s.walign, [2]int32{a0, a1})
	}
}

// flushWord hands the current word to the model.
func (t *Tokenizer) flushWord(s *state) {
	if s.wchars == 0 {
		return
	}
	word := s.word
	s.word++
	chars := s.wchars
	s.wchars = 0
	if len(s.wbuf) <= MaxWordBytes {
		t.model.tokenize(s, chars, s.wstart, s.wend, word)
		return
	}
	// A word past MaxWordBytes (only BPE and Unigram keep such words whole) is cut into
	// pieces of at most MaxWordBytes at character boundaries, each tokenized on its own, so
	// that the model's scratch stays bounded; the reference keeps it whole.
	full, fullAlign := s.wbuf, s.walign
	for i := 0; i < len(full) && !s.stop; {
		j := min(i+MaxWordBytes, len(full))
		for j < len(full) && j > i && !utf8.RuneStart(full[j]) {
			j--
		}
		s.wbuf, s.walign = full[i:j], fullAlign[i:j]
		t.model.tokenize(s, utf8.RuneCount(full[i:j]), fullAlign[i][0], fullAlign[j-1][1], word)
		i = j
	}
	s.wbuf, s.walign = full[:0], fullAlign[:0]
}

// MaxWordBytes bounds the pre-tokenized word a BPE or Unigram model sees at once (its
// merge heap or lattice grows with it); a longer word (no spaces for 64 KiB) is tokenized
// in pieces of this size, where the reference would keep it whole. WordPiece words stop at
// max_input_chars_per_word long before.
const MaxWordBytes = 1 << 16

// emitWhole emits an added token matched in the text; it is a word of its own. Its token
// text is what it matched, stripped spaces included (as the reference reports it).
func (s *state) emitWhole(id, start, end int32, text string) {
	s.emit(token{id: id, start: start, end: end, word: s.word, text: text})
	s.word++
}

func (s *state) emit(tok token) {
	s.count++
	if s.keepLast >= 0 && len(s.toks) >= 2*s.keepLast+64 {
		// Slide the window: amortized O(1) per token, at most 2*keepLast+64 held.
		n := copy(s.toks, s.toks[len(s.toks)-s.keepLast:])
		s.toks = s.toks[:n]
	}
	if s.limit < 0 || len(s.toks) < s.limit {
		s.toks = append(s.toks, tok)
	}
	if s.limit >= 0 && len(s.toks) >= s.limit && (s.countTo == 0 || (s.countTo > 0 && s.count >= s.countTo)) {
		s.stop = true
	}
}
