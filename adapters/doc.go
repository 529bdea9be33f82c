// Package adapters runs AdapterHub adapters (the Python `adapters` library, 1.x) on the BERT
// encoder of runtime/bert, numerically as the library does.
//
// A Model holds one base encoder and any number of adapters, fusions and prediction heads,
// loaded unchanged from saved AdapterHub directories (adapter_config.json with
// adapter.safetensors or pytorch_adapter.bin, head_config.json with its weights,
// adapter_fusion_config.json with its weights). Adapters plug into the encoder's single forward
// pass through bert.Hooks; nothing of the base model is copied, and switching the active setup
// allocates nothing once warm.
//
//	m := adapters.New(base)                          // base *bert.Model
//	m.LoadDir("sentiment", adapters.LoadOptions{})   // name from adapter_config.json
//	m.LoadDir("spam", adapters.LoadOptions{})
//	m.SetActive("Parallel(sentiment,spam)")          // or "sentiment", "Stack(a,b)", "Fuse(a,b)", …
//	out, err := m.Forward(&state, input)             // one HeadOutput per head
//	p := out.Heads[0].Head.Predict(out.Heads[0].Logits[:n])
//
// Methods mirror adapters/methods (bottleneck.py, modeling.py, lora.py, prefix_tuning.py),
// composition mirrors composition.py and the compose_* methods of adapter_layer_base.py, heads
// mirror heads/base.py, loading mirrors loading.py. See README.md for the feature table, the
// registry index format and the library behaviours reproduced on purpose.
package adapters
