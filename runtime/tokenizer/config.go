package tokenizer

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"

	"github.com/adapterwasm/adapterwasm/internal/jsonin"
)

// The tokenizer.json schema, as written by huggingface/tokenizers
// (tokenizers/src/tokenizer/serialization.rs). Only the parts this package implements are
// decoded; every other component is reported as an UnsupportedError.

type fileJSON struct {
	Truncation    *truncationJSON `json:"truncation"`
	Padding       *paddingJSON    `json:"padding"`
	AddedTokens   []addedJSON     `json:"added_tokens"`
	Normalizer    json.RawMessage `json:"normalizer"`
	PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
	PostProcessor json.RawMessage `json:"post_processor"`
	Model         json.RawMessage `json:"model"`
}

type truncationJSON struct {
	Direction string `json:"direction"`
	MaxLength int    `json:"max_length"`
	Strategy  string `json:"strategy"`
	Stride    int    `json:"stride"`
}

type paddingJSON struct {
	Strategy        json.RawMessage `json:"strategy"`
	Direction       string          `json:"direction"`
	PadToMultipleOf *int            `json:"pad_to_multiple_of"`
	PadID           int32           `json:"pad_id"`
	PadTypeID       int32           `json:"pad_type_id"`
	PadToken        string          `json:"pad_token"`
}

type addedJSON struct {
	ID         int32  `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	LStrip     bool   `json:"lstrip"`
	RStrip     bool   `json:"rstrip"`
	Normalized bool   `json:"normalized"`
	Special    bool   `json:"special"`
}

type typed struct {
	Type string `json:"type"`
}

type bertNormalizerJSON struct {
	CleanText          *bool `json:"clean_text"`
	HandleChineseChars *bool `json:"handle_chinese_chars"`
	StripAccents       *bool `json:"strip_accents"`
	Lowercase          *bool `json:"lowercase"`
}

type templatePieceJSON struct {
	SpecialToken *struct {
		ID     string `json:"id"`
		TypeID int32  `json:"type_id"`
	} `json:"SpecialToken"`
	Sequence *struct {
		ID     string `json:"id"`
		TypeID int32  `json:"type_id"`
	} `json:"Sequence"`
}

type templateJSON struct {
	Single        []templatePieceJSON `json:"single"`
	Pair          []templatePieceJSON `json:"pair"`
	SpecialTokens map[string]struct {
		ID     string   `json:"id"`
		IDs    []int32  `json:"ids"`
		Tokens []string `json:"tokens"`
	} `json:"special_tokens"`
}

type bertProcessingJSON struct {
	Sep [2]json.RawMessage `json:"sep"`
	Cls [2]json.RawMessage `json:"cls"`
	// RobertaProcessing only
	TrimOffsets    *bool `json:"trim_offsets"`
	AddPrefixSpace *bool `json:"add_prefix_space"`
}

// maxVocabID bounds the vocab entries and ids a tokenizer.json may have (the largest real
// vocabs hold ~250,000 tokens). Ids must also stay below idLimit of the number of tokens, so that
// the id→token table is sized by the tokens, never by an id alone: one added token with id
// 2^24-1 in a 100-byte file used to allocate 1.5 GB.
const maxVocabID = 1 << 20

// idLimit is the bound on the ids of n tokens (vocab and added): real vocabs number their tokens
// from 0 without gaps; twice n plus 1024 leaves room for hand-made ones.
func idLimit(n int) int { return 2*n + 1024 }

func isNull(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || bytes.Equal(t, []byte("null"))
}

// FromJSON parses a Hugging Face tokenizer.json. It supports a WordPiece model with an
// optional BertNormalizer, BertPreTokenizer and TemplateProcessing or BertProcessing
// post-processor. A malformed file gives a FormatError; a well-formed file using any other
// component gives an UnsupportedError naming it.
func FromJSON(b []byte) (*Tokenizer, error) {
	var f fileJSON
	if err := jsonin.CheckDepth(b, jsonin.MaxDepth); err != nil {
		return nil, FormatError(err.Error())
	}
	rest, vocab, cut := cutVocab(b)
	if !cut {
		rest, vocab = b, nil
	}
	if err := json.Unmarshal(rest, &f); err != nil {
		return nil, formatErrorf("%s", jsonin.Describe(err))
	}
	t := &Tokenizer{}
	if err := t.parseModel(f.Model, vocab, len(f.AddedTokens)); err != nil {
		return nil, err
	}
	if err := t.parseAdded(f.AddedTokens); err != nil {
		return nil, err
	}
	if err := t.parseNormalizer(f.Normalizer); err != nil {
		return nil, err
	}
	if err := t.parsePreTokenizer(f.PreTokenizer); err != nil {
		return nil, err
	}
	if err := t.parsePostProcessor(f.PostProcessor); err != nil {
		return nil, err
	}
	if err := t.parseTruncation(f.Truncation); err != nil {
		return nil, err
	}
	if err := t.parsePadding(f.Padding); err != nil {
		return nil, err
	}
	// Ids the post-processor or padding insert must index the vocab, or a model's
	// embedding lookup would fail far from the cause.
	for _, tpl := range [][]templatePiece{t.single, t.pair} {
		for _, p := range tpl {
			if p.seq < 0 && int(p.id) >= len(t.idToToken) {
				return nil, formatErrorf("post_processor: special token %q has id %d, vocab size %d", p.token, p.id, len(t.idToToken))
			}
		}
	}
	if int(t.padID) >= len(t.idToToken) {
		return nil, formatErrorf("padding: pad_id %d, vocab size %d", t.padID, len(t.idToToken))
	}
	t.buildAdded()
	return t, nil
}

// parseUnigram decodes a Unigram model.
func (t *Tokenizer) parseUnigram(raw json.RawMessage) error {
	u, pieces, err := newUnigram(raw)
	if err != nil {
		return err
	}
	t.vocab, t.idToToken = u.vocab, pieces
	t.model, t.unkID, t.maxChars = u, u.unkID, u.maxWordChars()
	return nil
}

// parseModel decodes the model; vocab, if not nil, is its vocab cut out by cutVocab; nAdded is
// the number of added tokens, whose ids may follow the vocab's.
func (t *Tokenizer) parseModel(raw json.RawMessage, vocab []byte, nAdded int) error {
	if isNull(raw) {
		return FormatError("no model")
	}
	var m wordPieceJSON
	if err := json.Unmarshal(raw, &m); err != nil {
		return formatErrorf("model: %s", jsonin.Describe(err))
	}
	kind := m.Type
	switch m.Type {
	case "WordPiece", "BPE":
	case "Unigram":
		return t.parseUnigram(raw)
	case "":
		// Older files omit the tag; serde then tells the models apart by their fields.
		kind = "WordPiece"
		if !isNull(m.Merges) {
			kind = "BPE"
			break
		}
		if v := bytes.TrimSpace(m.Vocab); len(v) > 0 && v[0] == '[' { // (cutVocab only cuts objects)
			return t.parseUnigram(raw)
		}
		if m.ContinuingSubwordPrefix == nil && m.MaxInputCharsPerWord == nil {
			return UnsupportedError("model without a type (not WordPiece)")
		}
	default:
		return unsupportedf("model %s (WordPiece, BPE and Unigram are implemented)", jsonin.Clip(m.Type))
	}
	if vocab == nil {
		vocab = m.Vocab
	}
	if isNull(vocab) {
		return FormatError("model: no vocab")
	}
	words, err := parseVocab(vocab)
	if fe, ok := err.(FormatError); ok {
		return formatErrorf("model vocab: %s", string(fe))
	} else if err != nil {
		return formatErrorf("model vocab: %v", err)
	}
	if len(words) == 0 {
		return FormatError("model: empty vocab")
	}
	t.vocab = words
	maxID, maxTok := int32(-1), ""
	for tok, id := range words {
		if id > maxID {
			maxID, maxTok = id, tok
		}
	}
	if n := len(words) + nAdded; int(maxID) >= idLimit(n) {
		return formatErrorf("model vocab: token %.32q has id %d; %d tokens may use ids below %d", maxTok, maxID, n, idLimit(n))
	}
	t.idToToken = make([]string, maxID+1)
	for tok, id := range t.vocab {
		t.idToToken[id] = tok
	}
	if kind == "BPE" {
		var bj bpeJSON
		if err := json.Unmarshal(raw, &bj); err != nil {
			return formatErrorf("model: %s", jsonin.Describe(err))
		}
		b, err := newBPE(&bj, words)
		if err != nil {
			return err
		}
		t.model, t.unkID = b, b.unkID
	} else {
		wp, err := newWordPiece(&m, words)
		if err != nil {
			return err
		}
		t.model, t.unkID = wp, wp.unkID
	}
	t.maxChars = t.model.maxWordChars()
	return nil
}

func (t *Tokenizer) parseAdded(list []addedJSON) error {
	n := len(t.vocab) + len(list)
	for _, a := range list {
		if a.Content == "" {
			return formatErrorf("added token %d has empty content", a.ID)
		}
		if a.ID < 0 {
			return formatErrorf("added token %.32q has id %d out of range", a.Content, a.ID)
		}
		if int(a.ID) >= idLimit(n) {
			return formatErrorf("added token %.32q has id %d; %d tokens may use ids below %d", a.Content, a.ID, n, idLimit(n))
		}
		for int(a.ID) >= len(t.idToToken) {
			t.idToToken = append(t.idToToken, "")
		}
		t.idToToken[a.ID] = a.Content
		t.added = append(t.added, addedToken{
			id: a.ID, content: a.Content, singleWord: a.SingleWord,
			lstrip: a.LStrip, rstrip: a.RStrip, normalized: a.Normalized, special: a.Special,
		})
	}
	return nil
}

func (t *Tokenizer) parseNormalizer(raw json.RawMessage) error {
	if isNull(raw) {
		return nil
	}
	var ty typed
	if err := json.Unmarshal(raw, &ty); err != nil {
		return formatErrorf("normalizer: %s", jsonin.Describe(err))
	}
	switch ty.Type {
	case "Sequence", "Precompiled", "Strip", "Replace":
		steps, err := parseSteps(raw, nil, 0)
		if err != nil {
			return err
		}
		t.norm = normalizer{kind: normSeq, steps: steps}
		return nil
	}
	if ty.Type != "BertNormalizer" {
		return unsupportedf("normalizer %s (BertNormalizer, Precompiled, Strip, Replace and their Sequence are implemented)", jsonin.Clip(ty.Type))
	}
	var n bertNormalizerJSON
	if err := json.Unmarshal(raw, &n); err != nil {
		return formatErrorf("normalizer: %s", jsonin.Describe(err))
	}
	// Defaults as in BertNormalizer::default (normalizers/bert.rs).
	t.norm = normalizer{kind: normBert, cleanText: true, chinese: true, lowercase: true}
	if n.CleanText != nil {
		t.norm.cleanText = *n.CleanText
	}
	if n.HandleChineseChars != nil {
		t.norm.chinese = *n.HandleChineseChars
	}
	if n.Lowercase != nil {
		t.norm.lowercase = *n.Lowercase
	}
	// strip_accents: null follows lowercase.
	t.norm.stripAccents = t.norm.lowercase
	if n.StripAccents != nil {
		t.norm.stripAccents = *n.StripAccents
	}
	return nil
}

func (t *Tokenizer) parsePreTokenizer(raw json.RawMessage) error {
	if isNull(raw) {
		return nil
	}
	var ty typed
	if err := json.Unmarshal(raw, &ty); err != nil {
		return formatErrorf("pre_tokenizer: %s", jsonin.Describe(err))
	}
	switch ty.Type {
	case "BertPreTokenizer":
		t.pre = preTokenizer{kind: preBert}
	case "ByteLevel":
		// Defaults as in ByteLevel::default (pre_tokenizers/byte_level.rs); trim_offsets
		// only matters when ByteLevel is the post-processor.
		bl := struct {
			AddPrefixSpace *bool `json:"add_prefix_space"`
			UseRegex       *bool `json:"use_regex"`
		}{}
		if err := json.Unmarshal(raw, &bl); err != nil {
			return formatErrorf("pre_tokenizer: %s", jsonin.Describe(err))
		}
		t.pre = preTokenizer{kind: preByteLevel, addPrefixSpace: true, useRegex: true}
		if bl.AddPrefixSpace != nil {
			t.pre.addPrefixSpace = *bl.AddPrefixSpace
		}
		if bl.UseRegex != nil {
			t.pre.useRegex = *bl.UseRegex
		}
	case "Metaspace":
		// Defaults as in Metaspace::default (pre_tokenizers/metaspace.rs); files from before
		// prepend_scheme say add_prefix_space.
		ms := struct {
			Replacement    *string `json:"replacement"`
			PrependScheme  *string `json:"prepend_scheme"`
			AddPrefixSpace *bool   `json:"add_prefix_space"`
			Split          *bool   `json:"split"`
		}{}
		if err := json.Unmarshal(raw, &ms); err != nil {
			return formatErrorf("pre_tokenizer: %s", jsonin.Describe(err))
		}
		t.pre = preTokenizer{kind: preMetaspace, replacement: "▁", prepend: prependAlways, split: true}
		if ms.Replacement != nil {
			if utf8.RuneCountInString(*ms.Replacement) != 1 {
				return formatErrorf("pre_tokenizer Metaspace: replacement %q is not one character", jsonin.Clip(*ms.Replacement))
			}
			t.pre.replacement = *ms.Replacement
		}
		if ms.AddPrefixSpace != nil && !*ms.AddPrefixSpace {
			t.pre.prepend = prependNever
		}
		if ms.PrependScheme != nil {
			switch *ms.PrependScheme {
			case "always":
				t.pre.prepend = prependAlways
			case "first":
				t.pre.prepend = prependFirst
			case "never":
				t.pre.prepend = prependNever
			default:
				return formatErrorf("pre_tokenizer Metaspace: prepend_scheme %q", jsonin.Clip(*ms.PrependScheme))
			}
		}
		if ms.Split != nil {
			t.pre.split = *ms.Split
		}
	default:
		return unsupportedf("pre_tokenizer %s", jsonin.Clip(ty.Type))
	}
	return nil
}

func (t *Tokenizer) parsePostProcessor(raw json.RawMessage) error {
	if isNull(raw) {
		return nil
	}
	var ty typed
	if err := json.Unmarshal(raw, &ty); err != nil {
		return formatErrorf("post_processor: %s", jsonin.Describe(err))
	}
	switch ty.Type {
	case "TemplateProcessing":
		var tj templateJSON
		if err := json.Unmarshal(raw, &tj); err != nil {
			return formatErrorf("post_processor: %s", jsonin.Describe(err))
		}
		conv := func(name string, pieces []templatePieceJSON) ([]templatePiece, error) {
			var out []templatePiece
			for i, p := range pieces {
				switch {
				case p.SpecialToken != nil:
					st, ok := tj.SpecialTokens[p.SpecialToken.ID]
					if !ok {
						return nil, formatErrorf("post_processor %s[%d]: special token %q not in special_tokens", name, i, p.SpecialToken.ID)
					}
					if len(st.IDs) != len(st.Tokens) {
						return nil, formatErrorf("post_processor: special token %q has %d ids and %d tokens", st.ID, len(st.IDs), len(st.Tokens))
					}
					for k, id := range st.IDs {
						if id < 0 || id >= maxVocabID {
							return nil, formatErrorf("post_processor: special token %q has id %d", st.ID, id)
						}
						out = append(out, templatePiece{seq: -1, id: id, token: st.Tokens[k], typeID: p.SpecialToken.TypeID})
					}
				case p.Sequence != nil:
					seq := 0
					switch p.Sequence.ID {
					case "A":
					case "B":
						seq = 1
					default:
						return nil, formatErrorf("post_processor %s[%d]: sequence id %q", name, i, p.Sequence.ID)
					}
					out = append(out, templatePiece{seq: seq, typeID: p.Sequence.TypeID})
				default:
					return nil, formatErrorf("post_processor %s[%d]: neither SpecialToken nor Sequence", name, i)
				}
			}
			return out, nil
		}
		var err error
		if t.single, err = conv("single", tj.Single); err != nil {
			return err
		}
		if t.pair, err = conv("pair", tj.Pair); err != nil {
			return err
		}
	case "BertProcessing", "RobertaProcessing":
		var bj bertProcessingJSON
		if err := json.Unmarshal(raw, &bj); err != nil {
			return formatErrorf("post_processor: %s", jsonin.Describe(err))
		}
		var sepTok, clsTok string
		var sepID, clsID int32
		if err := json.Unmarshal(bj.Sep[0], &sepTok); err != nil {
			return formatErrorf("post_processor sep: %s", jsonin.Describe(err))
		}
		if err := json.Unmarshal(bj.Sep[1], &sepID); err != nil {
			return formatErrorf("post_processor sep: %s", jsonin.Describe(err))
		}
		if err := json.Unmarshal(bj.Cls[0], &clsTok); err != nil {
			return formatErrorf("post_processor cls: %s", jsonin.Describe(err))
		}
		if err := json.Unmarshal(bj.Cls[1], &clsID); err != nil {
			return formatErrorf("post_processor cls: %s", jsonin.Describe(err))
		}
		if sepID < 0 || clsID < 0 {
			return formatErrorf("post_processor: negative id")
		}
		cls := templatePiece{seq: -1, id: clsID, token: clsTok}
		sep := templatePiece{seq: -1, id: sepID, token: sepTok}
		sep1 := sep
		sep1.typeID = 1
		t.single = []templatePiece{cls, {seq: 0}, sep}
		t.pair = []templatePiece{cls, {seq: 0}, sep, {seq: 1, typeID: 1}, sep1}
		if ty.Type == "RobertaProcessing" {
			// processors/roberta.rs: <s> A </s> </s> B </s>, every type id 0; offsets
			// trimmed of spaces (defaults true).
			t.pair = []templatePiece{cls, {seq: 0}, sep, sep, {seq: 1}, sep}
			t.postTrim, t.postPrefixSpace = true, true
			if bj.TrimOffsets != nil {
				t.postTrim = *bj.TrimOffsets
			}
			if bj.AddPrefixSpace != nil {
				t.postPrefixSpace = *bj.AddPrefixSpace
			}
		}
	case "ByteLevel":
		// GPT-2: no special tokens, only the offsets trimmed of spaces (when trim_offsets).
		bl := struct {
			TrimOffsets    *bool `json:"trim_offsets"`
			AddPrefixSpace *bool `json:"add_prefix_space"`
		}{}
		if err := json.Unmarshal(raw, &bl); err != nil {
			return formatErrorf("post_processor: %s", jsonin.Describe(err))
		}
		t.postTrim, t.postPrefixSpace = true, true // ByteLevel::default
		if bl.TrimOffsets != nil {
			t.postTrim = *bl.TrimOffsets
		}
		if bl.AddPrefixSpace != nil {
			t.postPrefixSpace = *bl.AddPrefixSpace
		}
		return nil
	default:
		return unsupportedf("post_processor %s", jsonin.Clip(ty.Type))
	}
	t.hasPost = true
	return nil
}

func (t *Tokenizer) parseTruncation(tr *truncationJSON) error {
	if tr == nil {
		return nil
	}
	if tr.MaxLength < 0 {
		return formatErrorf("truncation: max_length %d", tr.MaxLength)
	}
	switch tr.Strategy {
	case "", "LongestFirst":
	default:
		return unsupportedf("truncation strategy %s", tr.Strategy)
	}
	if tr.Stride != 0 {
		return unsupportedf("truncation stride %d (overflowing tokens)", tr.Stride)
	}
	switch tr.Direction {
	case "", "Right":
	case "Left":
		t.truncLeft = true
	default:
		return formatErrorf("truncation direction %q", tr.Direction)
	}
	t.maxLength = tr.MaxLength
	return nil
}

func (t *Tokenizer) parsePadding(p *paddingJSON) error {
	// Defaults as in PaddingParams::default (utils/padding.rs); the file's strategy
	// (Fixed/BatchLongest) is ignored: callers choose with Options.Pad.
	t.padID, t.padTypeID, t.padToken = 0, 0, "[PAD]"
	if id, ok := t.vocab["[PAD]"]; ok {
		t.padID = id
	}
	if p == nil {
		return nil
	}
	t.padID, t.padTypeID, t.padToken = p.PadID, p.PadTypeID, p.PadToken
	if p.PadID < 0 {
		return formatErrorf("padding: pad_id %d", p.PadID)
	}
	switch p.Direction {
	case "", "Right":
	case "Left":
		t.padLeft = true
	default:
		return formatErrorf("padding direction %q", p.Direction)
	}
	return nil
}
