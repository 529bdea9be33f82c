package tokenizer

import (
	"bytes"
	"encoding/json"
	"math"
	"unicode/utf8"

	"github.com/adapterwasm/adapterwasm/internal/jsonin"
)

// unkPenalty is K_UNK_PENALTY of models/unigram/model.rs: an unknown character scores the
// lowest piece score minus this.
const unkPenalty = 10.0

// maxPieceBytes bounds a Unigram piece: Viterbi tries the pieces starting at each position
// of a word, so its time is the word's length times the longest piece. SentencePiece's
// default max_sentencepiece_length is 16 characters.
const maxPieceBytes = 256

// unigram is the Unigram model (tokenizers/src/models/unigram/model.rs, SentencePiece's
// unigram_model.cc): the segmentation of a word into vocab pieces with the highest total
// log-probability, found by Viterbi (encode_optimized). A character no piece starts with is
// the unknown piece, and runs of unknown pieces are fused into one.
type unigram struct {
	vocab  map[string]int32
	scores []float64
	// prefixes holds every prefix (at character boundaries) of every piece: the piece's id,
	// or -1 for a prefix that is no piece. It plays the reference's trie: the search from a
	// position stops at the first string that no piece starts with, so a word of n
	// characters costs n times the longest piece in characters.
	prefixes map[string]int32
	unkID    int32
	unkScore float64
}

// unigramNode is the best path ending at a byte of the word (BestPathNode).
type unigramNode struct {
	score float64
	start int32 // -1: no path ends here yet
	id    int32
}

type unigramJSON struct {
	Type         string          `json:"type"`
	UnkID        *int64          `json:"unk_id"`
	ByteFallback bool            `json:"byte_fallback"`
	Vocab        json.RawMessage `json:"vocab"`
}

// newUnigram parses the model; its vocab is a list of [piece, score].
func newUnigram(raw json.RawMessage) (*unigram, []string, error) {
	var m unigramJSON
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, nil, formatErrorf("model: %s", jsonin.Describe(err))
	}
	if m.ByteFallback {
		return nil, nil, UnsupportedError("model Unigram with byte_fallback")
	}
	if isNull(m.Vocab) {
		return nil, nil, FormatError("model: no vocab")
	}
	// Count the entries before decoding them (each opens a bracket).
	if n := bytes.Count(m.Vocab, []byte("[")); n > maxVocabID+1 {
		return nil, nil, formatErrorf("model vocab: more than %d pieces", maxVocabID)
	}
	var list [][2]json.RawMessage
	if err := json.Unmarshal(m.Vocab, &list); err != nil {
		return nil, nil, formatErrorf("model vocab: %s", jsonin.Describe(err))
	}
	if len(list) == 0 {
		return nil, nil, FormatError("model: empty vocab")
	}
	if len(list) > maxVocabID {
		return nil, nil, formatErrorf("model vocab: %d pieces, at most %d", len(list), maxVocabID)
	}
	u := &unigram{
		vocab:    make(map[string]int32, len(list)),
		scores:   make([]float64, len(list)),
		prefixes: make(map[string]int32, len(list)),
	}
	pieces := make([]string, len(list))
	minScore := math.Inf(1)
	for id, e := range list {
		var piece string
		if err := json.Unmarshal(e[0], &piece); err != nil {
			return nil, nil, formatErrorf("model vocab[%d]: piece: %v", id, err)
		}
		score, ok := serdeFloat(bytes.TrimSpace(e[1]))
		if !ok {
			return nil, nil, formatErrorf("model vocab[%d]: score %q is not a number in range", id, jsonin.Clip(string(e[1])))
		}
		if math.IsNaN(score) || math.IsInf(score, 0) {
			return nil, nil, formatErrorf("model vocab[%d]: score %v", id, score)
		}
		if piece == "" {
			return nil, nil, formatErrorf("model vocab[%d]: empty piece", id)
		}
		if len(piece) > maxPieceBytes {
			return nil, nil, unsupportedf("model Unigram: piece %d is %d bytes long, at most %d", id, len(piece), maxPieceBytes)
		}
		pieces[id] = piece
		u.scores[id] = score
		u.vocab[piece] = int32(id) // a repeated piece: the last id wins, as in the reference
		minScore = min(minScore, score)
	}
	for piece, id := range u.vocab {
		u.prefixes[piece] = id
		for i := range piece {
			if _, ok := u.prefixes[piece[:i]]; i > 0 && !ok {
				u.prefixes[piece[:i]] = -1
			}
		}
	}
	if m.UnkID == nil {
		// The reference fails at the first unknown character; refuse the file instead.
		return nil, nil, UnsupportedError("model Unigram without unk_id")
	}
	if *m.UnkID < 0 || *m.UnkID >= int64(len(list)) {
		return nil, nil, formatErrorf("model: unk_id %d, vocab size %d", *m.UnkID, len(list))
	}
	u.unkID = int32(*m.UnkID)
	u.unkScore = minScore - unkPenalty
	return u, pieces, nil
}

// maxWordChars: Unigram keeps whole words (Viterbi is linear in the word's length for
// bounded pieces).
func (m *unigram) maxWordChars() int { return int(^uint(0) >> 1) }

// tokenize is Unigram's encode_optimized then tokenize on the word in s.wbuf.
func (m *unigram) tokenize(s *state, chars int, wstart, wend int32, word int32) {
	w := s.wbuf
	n := len(w)
	if n == 0 {
		return
	}
	if cap(s.lattice) < n+1 {
		s.lattice = make([]unigramNode, n+1)
	}
	best := s.lattice[:n+1]
	for i := range best {
		best[i] = unigramNode{start: -1}
	}
	best[0].start = 0
	for start := 0; start < n; {
		_, mblen := utf8.DecodeRune(w[start:])
		here := best[start].score
		single := false
		for end := start; end < n; {
			_, size := utf8.DecodeRune(w[end:])
			end += size
			id, ok := m.prefixes[string(w[start:end])]
			if !ok {
				break
			}
			if id < 0 {
				continue
			}
			cand := m.scores[id] + here
			if t := &best[end]; t.start < 0 || cand > t.score {
				*t = unigramNode{score: cand, start: int32(start), id: id}
			}
			if end-start == mblen {
				single = true
			}
		}
		if !single {
			cand := m.unkScore + here
			if t := &best[start+mblen]; t.start < 0 || cand > t.score {
				*t = unigramNode{score: cand, start: int32(start), id: m.unkID}
			}
		}
		start += mblen
	}
	// Backtrack; consecutive unknown pieces fuse into one (fuse_unk), which is then looked
	// up whole (never a piece: it would have been matched) and is the unknown token.
	s.pieces = s.pieces[:0]
	for end := int32(n); end > 0; {
		nd := best[end]
		st := nd.start
		if nd.id == m.unkID {
			for st > 0 && best[st].id == m.unkID {
				st = best[st].start
			}
		}
		id := nd.id
		if nd.id == m.unkID || st != nd.start {
			if v, ok := m.vocab[string(w[st:end])]; ok {
				id = v
			} else {
				id = m.unkID
			}
		}
		tk := token{id: id, start: s.walign[st][0], end: s.walign[end-1][1], word: word}
		if id == m.unkID {
			// The reference's token is the text it stands for, not "<unk>" (rare: the
			// only allocation per token).
			tk.text = string(w[st:end])
		}
		s.pieces = append(s.pieces, tk)
		end = st
	}
	for i := len(s.pieces) - 1; i >= 0 && !s.stop; i-- {
		s.emit(s.pieces[i])
	}
}
