package tokenizer

import (
	"encoding/json"
	"sort"
	"unicode/utf8"
)

// model is the step of the pipeline that turns one pre-tokenized word into tokens
// (tokenizers/src/models: Model::tokenize). The pre-tokenizer leaves the word in the
// state (s.wbuf, its normalized UTF-8, and s.walign, the original byte range of each of its
// bytes); tokenize emits its tokens with s.emit. Implementations must not allocate per
// word: scratch space lives in the state.
type model interface {
	// tokenize emits the tokens of the word in s; chars is its length in characters,
	// start and end its extent in the original text, word its index.
	tokenize(s *state, chars int, start, end int32, word int32)
	// maxWordChars is how many characters of a word the pre-tokenizer needs to keep in
	// s.wbuf; past it only the word's extent is tracked.
	maxWordChars() int
}

// wordPiece is the WordPiece model (tokenizers/src/models/wordpiece/mod.rs).
type wordPiece struct {
	vocab    map[string]int32
	unkID    int32
	prefix   string // continuing_subword_prefix, "##"
	maxChars int    // max_input_chars_per_word
	// keyLens are the distinct byte lengths of the vocab entries, longest first: the greedy match
	// tries only those (a vocab has ~20), so that one long entry does not make every character
	// of a word try, and hash, every length up to it.
	keyLens []int
}

type wordPieceJSON struct {
	Type                    string          `json:"type"`
	UnkToken                *string         `json:"unk_token"`
	ContinuingSubwordPrefix *string         `json:"continuing_subword_prefix"`
	MaxInputCharsPerWord    *int            `json:"max_input_chars_per_word"`
	Vocab                   json.RawMessage `json:"vocab"`
	Merges                  json.RawMessage `json:"merges"`
}

// newWordPiece builds the model from its JSON and the vocab already parsed.
func newWordPiece(m *wordPieceJSON, vocab map[string]int32) (*wordPiece, error) {
	wp := &wordPiece{vocab: vocab}
	lens := map[int]bool{}
	for tok := range vocab {
		lens[len(tok)] = true
	}
	for n := range lens {
		wp.keyLens = append(wp.keyLens, n)
	}
	sort.Sort(sort.Reverse(sort.IntSlice(wp.keyLens)))
	unkToken := "[UNK]"
	if m.UnkToken != nil {
		unkToken = *m.UnkToken
	}
	unk, ok := vocab[unkToken]
	if !ok {
		return nil, formatErrorf("model: unk_token %q is not in the vocab", unkToken)
	}
	wp.unkID = unk
	wp.prefix = "##"
	if m.ContinuingSubwordPrefix != nil {
		wp.prefix = *m.ContinuingSubwordPrefix
	}
	wp.maxChars = 100
	if m.MaxInputCharsPerWord != nil {
		if *m.MaxInputCharsPerWord < 0 {
			return nil, formatErrorf("model: max_input_chars_per_word %d < 0", *m.MaxInputCharsPerWord)
		}
		wp.maxChars = *m.MaxInputCharsPerWord
	}
	return wp, nil
}

func (m *wordPiece) maxWordChars() int { return m.maxChars }

// tokenize is WordPiece's Model::tokenize: greedy longest-match-first, continuation pieces
// prefixed with "##", and the whole word as [UNK] if it is longer than
// max_input_chars_per_word or any piece is not in the vocab.
func (m *wordPiece) tokenize(s *state, chars int, wstart, wend int32, word int32) {
	if chars > m.maxChars {
		s.emit(token{id: m.unkID, start: wstart, end: wend, word: word})
		return
	}
	w := s.wbuf
	s.pieces = s.pieces[:0]
	s.key = append(s.key[:0], m.prefix...)
	plen := len(m.prefix)
	for start := 0; start < len(w); {
		// Longest match first: the ends at character boundaries, from the longest, whose piece
		// (with the prefix after the first) has the length of some vocab entry.
		end, found := start, false
		for _, kl := range m.keyLens {
			n := kl
			if start > 0 {
				n -= plen
			}
			end = start + n
			if n <= 0 || end > len(w) || end < len(w) && !utf8.RuneStart(w[end]) {
				continue
			}
			var id int32
			var ok bool
			if start == 0 {
				id, ok = m.vocab[string(w[:end])]
			} else {
				s.key = append(s.key[:plen], w[start:end]...)
				id, ok = m.vocab[string(s.key)]
			}
			if ok {
				s.pieces = append(s.pieces, token{id: id, start: s.walign[start][0], end: s.walign[end-1][1], word: word})
				found = true
				break
			}
		}
		if !found {
			s.emit(token{id: m.unkID, start: wstart, end: wend, word: word})
			return
		}
		start = end
	}
	for _, p := range s.pieces {
		if s.stop {
			return
		}
		s.emit(p)
	}
}
