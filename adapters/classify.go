package adapters

import (
	"fmt"

	"github.com/adapterwasm/adapterwasm/runtime/bert"
	"github.com/adapterwasm/adapterwasm/runtime/pretrained"
	"github.com/adapterwasm/adapterwasm/runtime/tokenizer"
)

// GroupSize is the most texts one forward pass of Classify runs (pretrained.LengthGroups).
const GroupSize = pretrained.GroupSize

// MaxCountedTokens bounds how far a text is tokenized past truncation to count its tokens
// (InputStats.Tokens): ~30 ms natively, so that a 16 MiB text still costs about what its first
// tokens cost (counting all of a 10 MB text took 1.4 s natively, 0.55 s per MB in Wasm).
const MaxCountedTokens = 1 << 16

// MaxBatchSplit bounds the texts one BatchSplit forward pass reads (the sum of its batch_sizes).
const MaxBatchSplit = 4096

// Result is one text's prediction, shaped as `adapterwasm classify` prints it and the JS API
// returns it:
//
//	one classification head:  {"label": …, "score": p, "scores": {label: p}, "logits": […]}
//	                          (multilabel_classification adds "labels": every label with p ≥ 0.5;
//	                          its scores are per-label sigmoids, otherwise a softmax)
//	one tagging head:         {"words": [{"word","start","end","label","score"}],
//	                           "tokens": [{"token","word","label","score"}]}
//	Parallel(a,b,…):          {"heads": {"a": {…as above…}, "b": {…}}}, keyed by head name
//	BatchSplit(a,b,…):        the result of the head whose slice holds the text, plus "head": name
//
// and, for every text, "input": what the model read of it (InputStats).
type Result struct {
	Head string `json:"head,omitempty"`
	*Prediction
	Words  []WordPrediction   `json:"words,omitempty"`
	Tokens []TokenPrediction  `json:"tokens,omitempty"`
	Heads  map[string]*Result `json:"heads,omitempty"`
	Input  *InputStats        `json:"input,omitempty"`
}

// InputStats says how much of a text the model could read: a result is only as good as its
// input, and neither a cut nor a vocabulary miss shows in the probabilities.
type InputStats struct {
	// Tokens is the text's length in tokens before truncation, the special tokens ([CLS],
	// [SEP]) included: the model reads min(Tokens, its max length). Counting stops at
	// MaxCountedTokens text tokens: a longer text reports MaxCountedTokens + the special tokens.
	Tokens int `json:"tokens"`
	// Truncated says the text was cut to the max length: its end was not read.
	Truncated bool `json:"truncated"`
	// UnknownShare is the fraction of the tokens read (special tokens left out) that are the
	// unknown token ([UNK]): text the vocabulary cannot spell (emoji, most scripts the base
	// model was not trained on). 0 for an empty text.
	UnknownShare float64 `json:"unknownShare"`
}

// inputStats describes one encoded text (tokenized with CountUpTo).
func inputStats(e *tokenizer.Encoding, unk int32, specials int) *InputStats {
	read, unknown := 0, 0
	for i, s := range e.SequenceIDs {
		if s < 0 {
			continue
		}
		read++
		if e.IDs[i] == unk {
			unknown++
		}
	}
	st := &InputStats{Tokens: max(e.SourceTokens, read) + specials, Truncated: e.SourceTokens > read}
	if read > 0 {
		st.UnknownShare = float64(unknown) / float64(read)
	}
	return st
}

// Classify tokenizes texts with base's tokenizer (truncated to maxLength tokens; 0 = the
// model's), runs the active setup and returns one Result per text, in order. Texts are run in
// groups of similar length (GroupSize texts and pretrained.GroupRows padded tokens at most, the
// rows shared among Parallel's copies), except under BatchSplit, which assigns
// sequences by their place in the batch: there the texts are one batch, in order, and must be
// as many as its batch_sizes add up to. Under Split every text is padded (and cut) to the
// length its splits add up to. st may be reused across calls, not concurrently.
func (m *Model) Classify(st *State, base *pretrained.Model, texts []string, maxLength int) ([]*Result, error) {
	return m.ClassifyTasks(st, base, texts, nil, maxLength)
}

// ClassifyTasks is Classify with one task id per text for the active setup's MultiTask block
// (ForwardTasks; nil without one). Each text keeps its id whatever group it runs in.
func (m *Model) ClassifyTasks(st *State, base *pretrained.Model, texts []string, taskIDs []int, maxLength int) ([]*Result, error) {
	active := m.Active()
	if active == nil {
		return nil, &SetupError{Reason: "no active adapters: set the active setup first"}
	}
	if FindBlock(active, MultiTask) == nil {
		taskIDs = nil // ignored, as the library ignores task_ids without a MultiTask block
	} else if err := m.checkTaskIDs(taskIDs, len(texts)); err != nil {
		return nil, err
	}
	out := make([]*Result, len(texts))
	if len(texts) == 0 {
		return out, nil
	}
	// Sizes are bounded before anything is allocated from them: batch_sizes=[1e12] or
	// splits=[1e9,1] would otherwise ask for terabytes or gigabytes (a fatal out-of-memory in Wasm).
	padTo := 0
	if sp := FindBlock(active, Split); sp != nil {
		for _, n := range sp.Sizes {
			padTo += n
			if n < 0 || padTo > base.Config.MaxTokens() {
				return nil, &SetupError{Setup: active.String(), Reason: fmt.Sprintf("splits add up to more than the model's %d positions", base.Config.MaxTokens())}
			}
		}
		if maxLength <= 0 || maxLength > padTo {
			maxLength = padTo
		}
	}
	var groups [][]int
	if bs := FindBlock(active, BatchSplit); bs != nil {
		n := 0
		for _, s := range bs.Sizes {
			n += s
			if s < 0 || n > MaxBatchSplit {
				return nil, &SetupError{Setup: active.String(), Reason: fmt.Sprintf("batch_sizes add up to more than %d texts", MaxBatchSplit)}
			}
		}
		all := make([]int, len(texts))
		for i := range all {
			all[i] = i
		}
		groups = [][]int{all}
	} else {
		// Parallel runs every row once per branch: the row budget is shared among the copies.
		groups = base.LengthGroups(texts, maxLength, GroupSize, pretrained.GroupRows/max(1, active.ParallelChannels()))
	}
	for _, g := range groups {
		if err := m.classifyGroup(st, base, texts, taskIDs, g, maxLength, padTo, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// classifyGroup runs one forward pass over texts[idx...] and stores each result at out[idx[i]].
func (m *Model) classifyGroup(st *State, base *pretrained.Model, all []string, allIDs []int, idx []int, maxLength, padTo int, out []*Result) error {
	texts := make([]string, len(idx))
	var ids []int
	if allIDs != nil {
		ids = make([]int, len(idx))
	}
	for i, j := range idx {
		texts[i] = all[j]
		if ids != nil {
			ids[i] = allIDs[j]
		}
	}
	in, encs := base.TokenizeCounted(texts, maxLength, MaxCountedTokens)
	if padTo > 0 {
		in = padInput(in, padTo, base.Tokenizer.PadID())
	}
	o, err := m.ForwardTasks(st, in, ids)
	if err != nil {
		return err
	}
	if len(o.Heads) == 0 {
		return &SetupError{Setup: m.Active().String(), Reason: "no prediction head: load adapters with head_config.json, or pick a head"}
	}
	for _, h := range o.Heads {
		k := h.Head.NumLabels()
		for i := 0; i < h.NSeq; i++ {
			t := h.Seq0 + i
			r := &Result{}
			if h.Head.Type == HeadTagging {
				if h.T != in.T {
					// Prompt tuning added positions that are no token of the text.
					return &UnsupportedError{What: "per-word labels of a tagging head with prompt tuning (its logits include the prompt positions)"}
				}
				r.Words, r.Tokens = h.Head.PredictTokens(h.Logits[i*in.T*k:(i+1)*in.T*k], &encs[t], texts[t])
			} else {
				p := h.Head.Predict(h.Logits[i*k : (i+1)*k])
				r.Prediction = &p
			}
			j := idx[t]
			switch {
			case len(o.Heads) > 1 && o.Replicas > 1: // Parallel
				if out[j] == nil {
					out[j] = &Result{Heads: map[string]*Result{}}
				}
				out[j].Heads[h.Head.Name] = r
			case len(o.Heads) > 1: // BatchSplit
				r.Head = h.Head.Name
				out[j] = r
			default:
				out[j] = r
			}
		}
	}
	specials := base.Tokenizer.NumSpecialTokens(false)
	for t, j := range idx {
		if out[j] != nil {
			out[j].Input = inputStats(&encs[t], base.Tokenizer.UnkID(), specials)
		}
	}
	return nil
}

// FindBlock returns the first block of kind k in b (depth first), or nil.
func FindBlock(b *Block, k Kind) *Block {
	if b == nil {
		return nil
	}
	if b.Kind == k {
		return b
	}
	for _, c := range b.Children {
		if f := FindBlock(c, k); f != nil {
			return f
		}
	}
	return nil
}

// padInput pads every sequence of in to T tokens (Split needs the exact length its splits sum to).
func padInput(in bert.Input, T int, pad int32) bert.Input {
	if in.T >= T {
		return in
	}
	out := bert.Input{B: in.B, T: T, IDs: make([]int32, in.B*T), TypeIDs: make([]int32, in.B*T), AttentionMask: make([]int32, in.B*T)}
	for b := 0; b < in.B; b++ {
		for t := 0; t < T; t++ {
			r := b*T + t
			if t >= in.T {
				out.IDs[r] = pad
				continue
			}
			s := b*in.T + t
			out.IDs[r] = in.IDs[s]
			if in.TypeIDs != nil {
				out.TypeIDs[r] = in.TypeIDs[s]
			}
			if in.AttentionMask != nil {
				out.AttentionMask[r] = in.AttentionMask[s]
			} else {
				out.AttentionMask[r] = 1
			}
		}
	}
	return out
}
