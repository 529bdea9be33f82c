// Package train trains AdapterHub adapters and their prediction heads on a frozen encoder
// (runtime/bert), as the Python `adapters` library does with `train_adapter`: only the adapter's
// and the head's parameters learn, and the files it saves are the ones `save_adapter` and
// `save_head` write, which the library and package adapters load unchanged.
//
// Bases: every architecture package bert runs (BERT, RoBERTa, XLM-R, DistilBERT). Parameters
// are named from the base's bert.Layout as the library's <Arch>AdapterModel names them
// ("roberta.encoder.layer.3.output.adapters.NAME.…", "distilbert.transformer.layer.3.
// output_adapters.adapters.NAME.…", "….ffn.lin1.loras.NAME.lora_A"), and the saved configs carry
// its model_class (bert.Model.AdapterModelClass). Position ids, token types and padding are the
// forward pass's; a head with use_pooler on a base without a pooler (DistilBERT) is refused.
//
// The forward pass is the encoder's own (bert.Model.Forward): the trainer plugs in through
// bert.Hooks, runs the adapter modules itself and keeps the activations the backward pass
// needs. The backward pass propagates the loss's gradient down through the frozen layers —
// LayerNorms, the dense products (dX = dY·W with W as stored: f32, f16 or q8, mul.go),
// attention (the softmax recomputed from the kept q and k) — into the adapter and head
// parameters only, and stops below the lowest layer that has any. The optimizer is
// torch.optim.AdamW with PyTorch's semantics and defaults (adamw.go).
//
// Methods: bottleneck adapters (seq_bn, double_seq_bn, par_bn and BnConfig's
// original_ln_before/after, residual_before_ln, is_parallel, float scaling, leave_out, per-layer
// reduction factors; activations relu, gelu, gelu_new, silu/swish, tanh), LoRA (q, k, v,
// intermediate, output) and IA3. Heads: classification (cross-entropy) and multi-label
// classification (BCE with logits), as the library's heads compute their losses, with 2 to
// MaxLabels (1,024) labels of at most MaxLabelBytes each (a *LabelsError beyond). Refused with
// an UnsupportedError: ln_before/ln_after, gating, learned or channel scaling, Compacter,
// prefix tuning and the other methods.
//
// Initialisation follows the library's init_weights ("bert", "lora", "ia3", "mam_adapter") and
// its seeds: each module is initialised as the library does after fix_seed(init_weights_seed)
// — torch's mt19937 and its normal_/uniform_ algorithms are reproduced in rng.go — and the head
// as after torch.manual_seed(seed) right before add_classification_head. There is no dropout:
// the library's training runs dropout (hidden_dropout_prob on the base, the head's dropout_prob);
// ours is its eval-mode computation, which is what the gradients are checked against.
package train
