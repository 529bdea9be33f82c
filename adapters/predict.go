package adapters

import (
	"math"
	"strconv"

	"github.com/adapterwasm/adapterwasm/runtime/tokenizer"
)

// Prediction is one head's answer for one text: probabilities (softmax for classification,
// sigmoid per label for multilabel_classification), the top label, and the raw logits.
type Prediction struct {
	Label  string             `json:"label"`
	Score  float32            `json:"score"`
	Scores map[string]float32 `json:"scores"`
	Labels []string           `json:"labels,omitempty"` // multilabel: every label with p >= 0.5
	Logits []float32          `json:"logits"`
}

// label returns the name of output i.
func (h *Head) label(i int) string {
	if i < len(h.Labels) && h.Labels[i] != "" {
		return h.Labels[i]
	}
	return "LABEL_" + strconv.Itoa(i)
}

// Predict turns one row of logits into a Prediction.
func (h *Head) Predict(logits []float32) Prediction {
	p := Prediction{Logits: append([]float32(nil), logits...), Scores: make(map[string]float32, len(logits))}
	probs := probabilities(h.Type == HeadMultiLabelClassification, logits)
	best := 0
	for i, q := range probs {
		p.Scores[h.label(i)] = float32(q)
		if q > probs[best] {
			best = i
		}
		if h.Type == HeadMultiLabelClassification && q >= 0.5 {
			p.Labels = append(p.Labels, h.label(i))
		}
	}
	if len(probs) > 0 {
		p.Label, p.Score = h.label(best), float32(probs[best])
	}
	return p
}

func probabilities(sigmoid bool, logits []float32) []float64 {
	probs := make([]float64, len(logits))
	if sigmoid {
		for i, v := range logits {
			probs[i] = 1 / (1 + math.Exp(-float64(v)))
		}
		return probs
	}
	mx := math.Inf(-1)
	for _, v := range logits {
		mx = math.Max(mx, float64(v))
	}
	var sum float64
	for i, v := range logits {
		probs[i] = math.Exp(float64(v) - mx)
		sum += probs[i]
	}
	for i := range probs {
		probs[i] /= sum
	}
	return probs
}

// WordPrediction is a tagging head's label for one word of the input text.
type WordPrediction struct {
	Word  string  `json:"word"`
	Start int     `json:"start"` // byte offsets into the text
	End   int     `json:"end"`
	Label string  `json:"label"`
	Score float32 `json:"score"`
}

// TokenPrediction is a tagging head's label for one (sub-word) token.
type TokenPrediction struct {
	Token string  `json:"token"`
	Word  int     `json:"word"` // index into the words; -1 for special tokens
	Label string  `json:"label"`
	Score float32 `json:"score"`
}

// PredictTokens labels each token of one encoded text from its rows of tagging logits
// ([T, NumLabels]) and aligns the labels back to words of text through the encoding's word ids
// and offsets: a word takes the label of its first sub-word token (as token-classification
// pipelines do with aggregation "first"). Padding is skipped.
func (h *Head) PredictTokens(logits []float32, enc *tokenizer.Encoding, text string) ([]WordPrediction, []TokenPrediction) {
	n := h.numLabels
	var words []WordPrediction
	var toks []TokenPrediction
	lastWord := -1
	for t := range enc.IDs {
		if t*n+n > len(logits) || (enc.AttentionMask != nil && enc.AttentionMask[t] == 0) {
			break
		}
		probs := probabilities(false, logits[t*n:(t+1)*n])
		best := 0
		for i, q := range probs {
			if q > probs[best] {
				best = i
			}
		}
		w := -1
		if t < len(enc.WordIDs) {
			w = enc.WordIDs[t]
		}
		tp := TokenPrediction{Token: enc.Tokens[t], Word: -1, Label: h.label(best), Score: float32(probs[best])}
		if w >= 0 && t < len(enc.Offsets) {
			o := enc.Offsets[t]
			if w != lastWord {
				words = append(words, WordPrediction{Start: o[0], End: o[1], Label: tp.Label, Score: tp.Score})
				lastWord = w
			} else if o[1] > words[len(words)-1].End {
				words[len(words)-1].End = o[1]
			}
			tp.Word = len(words) - 1
		}
		toks = append(toks, tp)
	}
	for i := range words {
		if s, e := words[i].Start, words[i].End; s >= 0 && e <= len(text) && s <= e {
			words[i].Word = text[s:e]
		}
	}
	return words, toks
}
