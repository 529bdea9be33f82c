package adapters

import (
	"github.com/adapterwasm/adapterwasm/runtime/bert"
)

// promptModule is PromptTuning of adapters/methods/prompt_tuning.py: prompt_length learned
// vectors joined to every sequence after the embeddings (and their LayerNorm), before the first
// token ("prefix") or after it ("prefix_after_bos"). The heads then read position 0 of the longer
// sequence, as the library's do (the first prompt vector's output with "prefix").
type promptModule struct {
	cfg    *PromptConfig
	prompt []float32 // prompt_embedding.weight [prompt_length, hidden]
}

// bindPrompt binds prompt_tuning.prompt_tunings.NAME.prompt_embedding.weight.
func bindPrompt(bd *binder, name string, cfg *PromptConfig, H int) *promptModule {
	w := bd.vec("prompt_tuning.prompt_tunings."+name+".prompt_embedding.weight", cfg.PromptLength, H)
	if w == nil {
		return nil
	}
	return &promptModule{cfg: cfg, prompt: w}
}

// Prompt implements bert.Hooks: PromptTuningLayer.forward, the prompt of the setup's first
// adapter (none if it has none).
func (st *State) Prompt(b bert.Batch) (int, []float32, bool) {
	m := st.m
	if st.err != nil {
		return 0, nil, false
	}
	a := m.adapters[m.active.first()]
	if a == nil || a.prompt == nil {
		return 0, nil, false
	}
	return a.prompt.cfg.PromptLength, a.prompt.prompt, a.prompt.cfg.AfterBOS
}
