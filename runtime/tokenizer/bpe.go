package tokenizer

import (
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/adapterwasm/adapterwasm/internal/jsonin"
)

// maxMerges bounds the merges of a BPE model (GPT-2 and RoBERTa have 50k).
const maxMerges = 1 << 21

// bpe is the BPE model (tokenizers/src/models/bpe/model.rs and word.rs): a word starts as
// its characters, each a vocab entry (or the unknown token), and the adjacent pair of
// lowest merge rank is merged, leftmost first, until no pair has a merge. Merging runs on a
// binary heap with lazy deletion, as Word::merge_all does, so a word of n characters takes
// O(n log n) time.
type bpe struct {
	vocab        map[string]int32
	merges       map[uint64]bpeMerge // (left id, right id) → rank and merged id
	unkID        int32               // -1: unknown characters are dropped
	fuseUnk      bool
	ignoreMerges bool
}

// bpeMerge is a merge rule: its rank (its position in the merges list) and the id of the
// merged token.
type bpeMerge struct {
	rank, id int32
}

// bpeSymbol is one symbol of a word being merged (word.rs Symbol): its id, its byte range
// in the word, and its neighbours; len 0 marks a symbol merged into its left neighbour.
type bpeSymbol struct {
	id         int32
	start, len int32
	prev, next int32
}

// bpeCand is a heap entry (word.rs Merge): merge the symbol at pos with its right
// neighbour into id.
type bpeCand struct {
	rank, pos, id int32
}

type bpeJSON struct {
	Type                    string          `json:"type"`
	Dropout                 *float64        `json:"dropout"`
	UnkToken                *string         `json:"unk_token"`
	ContinuingSubwordPrefix *string         `json:"continuing_subword_prefix"`
	EndOfWordSuffix         *string         `json:"end_of_word_suffix"`
	FuseUnk                 bool            `json:"fuse_unk"`
	ByteFallback            bool            `json:"byte_fallback"`
	IgnoreMerges            bool            `json:"ignore_merges"`
	Merges                  json.RawMessage `json:"merges"`
}

func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// newBPE builds the model from its JSON and the vocab already parsed.
func newBPE(m *bpeJSON, vocab map[string]int32) (*bpe, error) {
	if m.Dropout != nil && *m.Dropout != 0 {
		return nil, unsupportedf("model BPE with dropout %g (random at inference)", *m.Dropout)
	}
	if m.ContinuingSubwordPrefix != nil && *m.ContinuingSubwordPrefix != "" {
		return nil, UnsupportedError("model BPE with continuing_subword_prefix")
	}
	if m.EndOfWordSuffix != nil && *m.EndOfWordSuffix != "" {
		return nil, UnsupportedError("model BPE with end_of_word_suffix")
	}
	if m.ByteFallback {
		return nil, UnsupportedError("model BPE with byte_fallback")
	}
	b := &bpe{vocab: vocab, unkID: -1, fuseUnk: m.FuseUnk, ignoreMerges: m.IgnoreMerges}
	if m.UnkToken != nil {
		id, ok := vocab[*m.UnkToken]
		if !ok {
			return nil, formatErrorf("model: unk_token %q is not in the vocab", jsonin.Clip(*m.UnkToken))
		}
		b.unkID = id
	}
	if isNull(m.Merges) {
		return nil, FormatError("model BPE: no merges")
	}
	pairs, err := parseMerges(m.Merges)
	if err != nil {
		return nil, err
	}
	b.merges = make(map[uint64]bpeMerge, len(pairs))
	var key []byte
	for rank, pair := range pairs {
		l, ok1 := vocab[pair[0]]
		r, ok2 := vocab[pair[1]]
		if !ok1 || !ok2 {
			return nil, formatErrorf("model merges[%d]: %q or %q is not in the vocab", rank, jsonin.Clip(pair[0]), jsonin.Clip(pair[1]))
		}
		key = append(append(key[:0], pair[0]...), pair[1]...)
		id, ok := vocab[string(key)]
		if !ok {
			return nil, formatErrorf("model merges[%d]: %q is not in the vocab", rank, jsonin.Clip(pair[0]+pair[1]))
		}
		k := pairKey(l, r)
		if _, dup := b.merges[k]; !dup { // the first rank wins, as in the reference's map
			b.merges[k] = bpeMerge{rank: int32(rank), id: id}
		}
	}
	return b, nil
}

// parseMerges decodes the merges, each "left right" (older files) or ["left", "right"].
// The fast path scans the bytes and decodes only strings with escapes (GPT-2's 50,000
// merges took 0.4 s and 400k allocations through encoding/json); anything unexpected falls
// back to encoding/json, which also gives the error.
func parseMerges(raw []byte) ([][2]string, error) {
	n := 0
	for _, c := range raw {
		if c == ',' {
			n++
		}
	}
	if n+1 > 2*maxMerges {
		return nil, formatErrorf("model: more than %d merges", maxMerges)
	}
	if pairs, ok := parseMergesFast(raw, n+1); ok {
		if len(pairs) > maxMerges {
			return nil, formatErrorf("model: %d merges, at most %d", len(pairs), maxMerges)
		}
		return pairs, nil
	}
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, formatErrorf("model merges: %s", jsonin.Describe(err))
	}
	if len(list) > maxMerges {
		return nil, formatErrorf("model: %d merges, at most %d", len(list), maxMerges)
	}
	pairs := make([][2]string, len(list))
	for rank, r := range list {
		var one string
		if err := json.Unmarshal(r, &one); err == nil {
			l, rt, ok := strings.Cut(one, " ")
			if !ok || strings.Contains(rt, " ") {
				return nil, formatErrorf("model merges[%d]: %q is not two tokens", rank, jsonin.Clip(one))
			}
			pairs[rank] = [2]string{l, rt}
		} else if err := json.Unmarshal(r, &pairs[rank]); err != nil {
			return nil, formatErrorf("model merges[%d]: not a pair of tokens", rank)
		}
	}
	return pairs, nil
}

func parseMergesFast(raw []byte, capHint int) ([][2]string, bool) {
	s := string(raw) // one copy; the tokens are substrings of it
	pairs := make([][2]string, 0, capHint)
	i := skipSpace(raw, 0)
	str := func() (string, bool) {
		if i >= len(s) || s[i] != '"' {
			return "", false
		}
		end, ok := skipString(raw, i)
		if !ok {
			return "", false
		}
		v := s[i+1 : end-1]
		if strings.IndexByte(v, '\\') >= 0 {
			if json.Unmarshal(raw[i:end], &v) != nil {
				return "", false
			}
		} else {
			for k := 0; k < len(v); k++ {
				if v[k] < 0x20 {
					return "", false
				}
			}
		}
		i = skipSpace(raw, end)
		return v, true
	}
	if i >= len(s) || s[i] != '[' {
		return nil, false
	}
	i = skipSpace(raw, i+1)
	if i < len(s) && s[i] == ']' {
		return pairs, skipSpace(raw, i+1) == len(s)
	}
	for {
		var p [2]string
		if i < len(s) && s[i] == '[' {
			i = skipSpace(raw, i+1)
			var ok bool
			if p[0], ok = str(); !ok || i >= len(s) || s[i] != ',' {
				return nil, false
			}
			i = skipSpace(raw, i+1)
			if p[1], ok = str(); !ok || i >= len(s) || s[i] != ']' {
				return nil, false
			}
			i = skipSpace(raw, i+1)
		} else {
			one, ok := str()
			if !ok {
				return nil, false
			}
			l, r, ok := strings.Cut(one, " ")
			if !ok || strings.Contains(r, " ") {
				return nil, false
			}
			p = [2]string{l, r}
		}
		pairs = append(pairs, p)
		if i >= len(s) {
			return nil, false
		}
		if s[i] == ']' {
			return pairs, skipSpace(raw, i+1) == len(s)
		}
		if s[i] != ',' {
			return nil, false
		}
		i = skipSpace(raw, i+1)
	}
}

// maxWordChars: BPE keeps whole words (merging is O(n log n) in the word's length).
func (m *bpe) maxWordChars() int { return int(^uint(0) >> 1) }

// tokenize is BPE's Model::tokenize on the word in s.wbuf (merge_word, then merge_all).
func (m *bpe) tokenize(s *state, chars int, wstart, wend int32, word int32) {
	w := s.wbuf
	if len(w) == 0 {
		return
	}
	if m.ignoreMerges {
		if id, ok := m.vocab[string(w)]; ok {
			s.emit(token{id: id, start: s.walign[0][0], end: s.walign[len(w)-1][1], word: word})
			return
		}
	}
	syms := s.syms[:0]
	add := func(id, start, n int32) {
		p := int32(len(syms)) - 1
		if p >= 0 {
			syms[p].next = p + 1
		}
		syms = append(syms, bpeSymbol{id: id, start: start, len: n, prev: p, next: -1})
	}
	// merge_word: one symbol per character; unknown characters become the unknown token
	// (runs of them fused into one with fuse_unk) or are dropped without one.
	unkStart, unkLen := int32(-1), int32(0)
	for i := 0; i < len(w); {
		_, size := utf8.DecodeRune(w[i:])
		id, ok := m.vocab[string(w[i:i+size])]
		if ok {
			if unkStart >= 0 {
				add(m.unkID, unkStart, unkLen)
				unkStart = -1
			}
			add(id, int32(i), int32(size))
		} else if m.unkID >= 0 {
			switch {
			case unkStart >= 0 && m.fuseUnk:
				unkLen += int32(size)
			case unkStart >= 0:
				add(m.unkID, unkStart, unkLen)
				unkStart, unkLen = int32(i), int32(size)
			default:
				unkStart, unkLen = int32(i), int32(size)
			}
		}
		i += size
	}
	if unkStart >= 0 {
		add(m.unkID, unkStart, unkLen)
	}
	s.syms = syms
	m.mergeAll(s)
	for i := range s.syms {
		sy := &s.syms[i]
		if sy.len == 0 {
			continue
		}
		if s.stop {
			return
		}
		s.emit(token{id: sy.id, start: s.walign[sy.start][0], end: s.walign[sy.start+sy.len-1][1], word: word})
	}
}

// mergeAll is word.rs Word::merge_all on s.syms, with s.heap as its priority queue: the
// lowest rank first, and of equal ranks the leftmost.
func (m *bpe) mergeAll(s *state) {
	syms := s.syms
	h := s.heap[:0]
	for i := 0; i+1 < len(syms); i++ {
		if mg, ok := m.merges[pairKey(syms[i].id, syms[i+1].id)]; ok {
			h = heapPush(h, bpeCand{rank: mg.rank, pos: int32(i), id: mg.id})
		}
	}
	for len(h) > 0 {
		var top bpeCand
		top, h = heapPop(h)
		cur := &syms[top.pos]
		if cur.len == 0 || cur.next == -1 {
			continue
		}
		nextPos := cur.next
		right := syms[nextPos]
		if mg, ok := m.merges[pairKey(cur.id, right.id)]; !ok || mg.id != top.id {
			continue // an expired entry
		}
		cur.id = top.id
		cur.len += right.len
		cur.next = right.next
		syms[nextPos].len = 0
		if right.next >= 0 && int(right.next) < len(syms) {
			syms[right.next].prev = top.pos
		}
		if cur.prev >= 0 {
			if mg, ok := m.merges[pairKey(syms[cur.prev].id, cur.id)]; ok {
				h = heapPush(h, bpeCand{rank: mg.rank, pos: cur.prev, id: mg.id})
			}
		}
		if cur.next >= 0 && int(cur.next) < len(syms) {
			if mg, ok := m.merges[pairKey(cur.id, syms[cur.next].id)]; ok {
				h = heapPush(h, bpeCand{rank: mg.rank, pos: top.pos, id: mg.id})
			}
		}
	}
	s.heap = h
}

func candLess(a, b bpeCand) bool {
	if a.rank != b.rank {
		return a.rank < b.rank
	}
	return a.pos < b.pos
}

// heapPush and heapPop keep h a binary min-heap by candLess (container/heap would
// allocate through its interface).
func heapPush(h []bpeCand, c bpeCand) []bpeCand {
	h = append(h, c)
	for i := len(h) - 1; i > 0; {
		p := (i - 1) / 2
		if !candLess(h[i], h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
	return h
}

func heapPop(h []bpeCand) (bpeCand, []bpeCand) {
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h = h[:n]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < n && candLess(h[l], h[m]) {
			m = l
		}
		if r < n && candLess(h[r], h[m]) {
			m = r
		}
		if m == i {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	return top, h
}
