package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// addedToken is one entry of tokenizer.json's added_tokens (tokenizer/added_vocabulary.rs).
type addedToken struct {
	id         int32
	content    string
	singleWord bool
	lstrip     bool
	rstrip     bool
	normalized bool
	special    bool
}

// matcher finds added tokens in a text with aho-corasick's LeftmostLongest semantics: the
// match that starts first wins, and among those the longest. Patterns are few and short,
// so it is a byte trie walked from each candidate start, gated by a first-byte set.
type matcher struct {
	nodes []trieNode
	first [256]bool
}

type trieNode struct {
	next  map[byte]int32
	token int32 // index into Tokenizer.added, or -1
}

func newMatcher() *matcher {
	return &matcher{nodes: []trieNode{{token: -1}}}
}

func (m *matcher) add(pattern string, token int) {
	n := int32(0)
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		nx, ok := m.nodes[n].next[c]
		if !ok {
			if m.nodes[n].next == nil {
				m.nodes[n].next = make(map[byte]int32)
			}
			nx = int32(len(m.nodes))
			m.nodes[n].next[c] = nx
			m.nodes = append(m.nodes, trieNode{token: -1})
		}
		n = nx
	}
	if m.nodes[n].token < 0 { // the first of duplicate patterns wins, as in aho-corasick
		m.nodes[n].token = int32(token)
	}
	m.first[pattern[0]] = true
}

// longestAt returns the added-token index and end of the longest pattern starting at s[p:].
func (m *matcher) longestAt(s string, p int) (token, end int) {
	token, end = -1, -1
	n := int32(0)
	for i := p; i < len(s); i++ {
		nx, ok := m.nodes[n].next[s[i]]
		if !ok {
			break
		}
		n = nx
		if m.nodes[n].token >= 0 {
			token, end = int(m.nodes[n].token), i+1
		}
	}
	return token, end
}

// split is one piece of a text cut by added tokens: either a gap to normalize and
// pre-tokenize (token < 0) or an added token.
type split struct {
	start, end int
	token      int
}

// findMatches mirrors AddedVocabulary::find_matches: it calls yield with each split of s in
// order, honouring single_word, lstrip and rstrip, until yield returns false.
func (t *Tokenizer) findMatches(m *matcher, s string, yield func(split) bool) {
	startOffset := 0
	for p := 0; p < len(s); {
		if !m.first[s[p]] {
			p++
			continue
		}
		ti, end := m.longestAt(s, p)
		if ti < 0 {
			p++
			continue
		}
		start, stop, ok := t.acceptMatch(s, ti, p, end, startOffset)
		p = end // find_iter resumes after the match, even if it is discarded
		if !ok {
			continue
		}
		if startOffset < start && !yield(split{startOffset, start, -1}) {
			return
		}
		if !yield(split{start, stop, ti}) {
			return
		}
		startOffset = stop
	}
	if startOffset != len(s) {
		yield(split{startOffset, len(s), -1})
	}
}

// acceptMatch applies the single_word, lstrip and rstrip rules of find_matches to a match
// of added token ti at s[start:stop]; lastEnd is the end of the previous accepted match.
// It returns the extent of the added-token split, or ok=false to discard the match.
func (t *Tokenizer) acceptMatch(s string, ti, start, stop, lastEnd int) (int, int, bool) {
	a := &t.added[ti]
	if a.singleWord {
		startSpace := start == 0 || !endsWithWord(s[:start])
		stopSpace := stop == len(s) || !startsWithWord(s[stop:])
		if !startSpace || !stopSpace {
			return 0, 0, false
		}
	}
	if a.lstrip {
		ns := start
		for ns > 0 {
			r, size := utf8.DecodeLastRuneInString(s[:ns])
			if !unicode.Is(unicode.White_Space, r) {
				break
			}
			ns -= size
		}
		start = max(ns, lastEnd)
	}
	if a.rstrip {
		for stop < len(s) {
			r, size := utf8.DecodeRuneInString(s[stop:])
			if !unicode.Is(unicode.White_Space, r) {
				break
			}
			stop += size
		}
	}
	return start, stop, true
}

// isWordChar approximates the regex class \w of Rust's regex crate (Unicode mode).
func isWordChar(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) ||
		unicode.Is(unicode.Pc, r) || unicode.Is(unicode.Join_Control, r) ||
		unicode.Is(unicode.Other_Alphabetic, r) || unicode.Is(unicode.Nl, r)
}

func endsWithWord(s string) bool {
	r, _ := utf8.DecodeLastRuneInString(s)
	return isWordChar(r)
}

func startsWithWord(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return isWordChar(r)
}

// buildAdded builds the two matchers of AddedVocabulary::refresh_added_tokens: tokens with
// normalized=false are matched in the original text, the others in the normalized text
// (their content normalized the same way).
func (t *Tokenizer) buildAdded() {
	for i, a := range t.added {
		if !a.normalized {
			if t.rawMatcher == nil {
				t.rawMatcher = newMatcher()
			}
			t.rawMatcher.add(a.content, i)
			continue
		}
		pat := a.content
		if t.norm.kind != normNone {
			pat = t.norm.normalizeString(a.content)
		}
		if pat == "" {
			continue
		}
		if t.normMatcher == nil {
			t.normMatcher = newMatcher()
		}
		t.normMatcher.add(pat, i)
	}
}
