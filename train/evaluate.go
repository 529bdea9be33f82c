package train

import (
	"math"

	"github.com/adapterwasm/adapterwasm/adapters"
	"github.com/adapterwasm/adapterwasm/runtime/pretrained"
)

// Accuracy loads the adapter as it stands (its files, into a package adapters manager of its own:
// what classify runs) and returns its accuracy on held-out texts, rounded to 4 decimals: the
// share of texts whose top class is y[k][0] for a classification head; for a multi-label head,
// where y[k] lists the ids of the labels that apply, the share of right label decisions
// (logit ≥ 0, i.e. sigmoid ≥ 0.5) over texts × labels. m must be the model the trainer's base
// belongs to. The CLI's --eval and the engine's dev split (model.trainAdapter's dev) use it.
func Accuracy(t *Trainer, m *pretrained.Model, texts []string, y [][]int, maxLength int) (float64, error) {
	if len(texts) == 0 {
		return 0, nil
	}
	files, err := t.Files(FormatSafetensors)
	if err != nil {
		return 0, err
	}
	am := adapters.New(m.Encoder)
	name, err := am.Load(files, adapters.LoadOptions{})
	if err != nil {
		return 0, err
	}
	if err := am.SetActive(name); err != nil {
		return 0, err
	}
	multi := t.head.spec.Type == HeadMultiLabelClassification
	N := len(t.head.spec.Labels)
	on := make([]bool, N)
	st := &adapters.State{}
	right, total := 0, 0
	for _, g := range m.LengthGroups(texts, maxLength, 0, 0) {
		bt := make([]string, len(g))
		for i, k := range g {
			bt[i] = texts[k]
		}
		in, _ := m.Tokenize(bt, maxLength)
		out, err := am.Forward(st, in)
		if err != nil {
			return 0, err
		}
		lg := out.Heads[0].Logits
		for i, k := range g {
			row := lg[i*N : (i+1)*N]
			if multi {
				clear(on)
				for _, id := range y[k] {
					on[id] = true
				}
				for j, v := range row {
					if (v >= 0) == on[j] {
						right++
					}
					total++
				}
				continue
			}
			best := 0
			for j, v := range row {
				if v > row[best] {
					best = j
				}
			}
			if best == y[k][0] {
				right++
			}
			total++
		}
	}
	return math.Round(float64(right)/float64(total)*1e4) / 1e4, nil
}
