package train

import (
	"fmt"
	"math"
	"strconv"

	"github.com/adapterwasm/adapterwasm/adapters"
	"github.com/adapterwasm/adapterwasm/runtime/bert"
	"github.com/adapterwasm/adapterwasm/runtime/kernels"
)

// DefaultMaxActivationBytes bounds the activations one step keeps (Options.MaxActivationBytes).
// On MiniLM-L6 (H 384, I 1536) a seq_bn adapter keeps ≈ 130 KB per padded token, so the default
// takes a batch of 16×256 or 32×128 tokens; BERT-base (12 layers, H 768) ≈ 455 KB per token, 8×128 or 16×64.
const DefaultMaxActivationBytes = 512 << 20

// Options configures a Trainer. Zero values mean the defaults given.
type Options struct {
	// Name is the adapter's (and its head's) name, as add_adapter's.
	Name string
	// Config is an adapter config string ("seq_bn", "lora[r=8]", "seq_bn[reduction_factor=16]").
	Config string
	// Head is the prediction head trained with the adapter.
	Head HeadSpec
	// ModelName is written as model_name in the saved configs (the base's hub id).
	ModelName string

	// AdamW (torch.optim.AdamW): LR (default 1e-3), Beta1/Beta2 (0.9, 0.999), Eps (1e-8),
	// WeightDecay (0.01; set NoWeightDecay for 0). Decay applies to every parameter, as
	// AdamW(model.parameters()) does.
	LR, Beta1, Beta2, Eps, WeightDecay float64
	NoWeightDecay                      bool

	// Seed initialises the adapter's modules when the config has no init_weights_seed (each
	// module then as the library would with init_weights_seed = Seed) and the head (as after
	// torch.manual_seed(Seed)). Default 42.
	Seed uint64

	// MaxActivationBytes bounds the activations a step keeps; a batch needing more is refused
	// with a *LimitError. Default DefaultMaxActivationBytes.
	MaxActivationBytes int64

	// MaxDequantizedBytes bounds the f32 copies of a q8 or f16 base's frozen weights the trainer
	// keeps for the backward products (mul.go); beyond it each product dequantizes its weight
	// again. Default DefaultMaxDequantizedBytes; negative: keep none.
	MaxDequantizedBytes int64
}

// Batch is a padded batch of token ids with its labels: one class id per sequence for a
// classification head, B×num_labels values 0/1 (row-major) for a multi-label head.
type Batch struct {
	Input  bert.Input
	Labels []int
}

// Trainer trains one adapter and its head on a frozen base model. It is not safe for
// concurrent use; the base model is only read (q8 weights may be repacked by the kernels on
// first use, as inference does).
type Trainer struct {
	Base   *bert.Model
	Name   string
	Config *adapters.Config
	Opt    Options

	params []*Param
	bn     [][2]*bnModule
	lora   [][bert.NumSites]*loraModule
	head   *head
	lowest int // the lowest layer with a module: the backward pass stops there
	step   int // AdamW steps taken

	st      bert.State
	keep    pool // activations kept for the backward pass
	tmp     pool // scratch of one hook call or one layer's backward
	acts    []layerActs
	batch   bert.Batch
	pooled  []float32
	scratch []float32

	dequant      map[any][]float32 // f32 copies of q8/f16 weights (Trainer.mulN), by matrix
	dequantBytes int64
}

// layerActs is what one encoder layer keeps between forward and backward.
type layerActs struct {
	q, k, v  []float32 // the projections after any LoRA/IA3 [rows, H]
	interPre []float32 // intermediate.dense's output after any module: the activation's input
	lora     [bert.NumSites]loraActs
	res      [2]residualActs
	ln       [2]*bert.LayerNorm
}

// New builds a trainer for a new adapter on base, initialised as the library initialises it.
func New(base *bert.Model, opt Options) (*Trainer, error) {
	if opt.Name == "" {
		return nil, &ConfigError{Reason: "the adapter needs a name"}
	}
	if opt.Config == "" {
		return nil, &ConfigError{Reason: "no adapter config"}
	}
	cfg, err := adapters.ParseConfig(opt.Config, "config")
	if err != nil {
		return nil, err
	}
	setDefaults(&opt)
	c := &base.Config
	H, L := c.HiddenSize, c.NumHiddenLayers
	if _, ok := activationByName(c.HiddenAct); !ok {
		return nil, &UnsupportedError{What: "training on a base with hidden_act " + strconv.Quote(c.HiddenAct)}
	}
	if len(cfg.Prefix)+len(cfg.Reft)+len(cfg.Prompt) > 0 || len(cfg.Bottleneck)+len(cfg.LoRA) != 1 {
		return nil, &UnsupportedError{What: "training method " + strconv.Quote(cfg.Method()) + " (seq_bn, double_seq_bn, par_bn, lora and ia3 are trained)"}
	}
	// Parameters are named as the library's <Arch>AdapterModel names them: the base's keys
	// (its Layout: "roberta.encoder.layer.3.output", "distilbert.transformer.layer.3.ffn.lin1")
	// with the modules it registers there (".adapters.NAME.", ".loras.NAME.").
	lay := base.Layout()
	t := &Trainer{Base: base, Name: opt.Name, Config: cfg, Opt: opt,
		bn: make([][2]*bnModule, L), lora: make([][bert.NumSites]*loraModule, L), lowest: L}
	initKind, _ := cfg.Raw["init_weights"].(string)
	seed := opt.Seed
	if s, ok := cfg.Raw["init_weights_seed"].(float64); ok && s > 0 {
		seed = uint64(s)
	} else if s := pyIntOf(cfg.Raw["init_weights_seed"]); s > 0 {
		seed = uint64(s)
	}
	for _, bc := range cfg.Bottleneck {
		if err := checkBn(bc, initKind); err != nil {
			return nil, err
		}
		for l := 0; l < L; l++ {
			if leftOut(bc.LeaveOut, l) {
				continue
			}
			for r, on := range [2]bool{bc.MhAdapter, bc.OutputAdapter} {
				if !on {
					continue
				}
				m, err := newBnModule(bc, lay.Prefix+lay.ResidualKey(l, bert.Residual(r))+".adapters."+opt.Name+".", H, l)
				if err != nil {
					return nil, err
				}
				m.init(initKind, seed)
				t.bn[l][r] = m
				t.params = append(t.params, m.params()...)
				t.lowest = min(t.lowest, l)
			}
		}
	}
	for _, lc := range cfg.LoRA {
		if lc.UseGating || lc.Vera || lc.DoRA {
			return nil, &UnsupportedError{What: "training LoRA with use_gating, VeRA or DoRA"}
		}
		switch initKind {
		case "lora", "bert", "ia3":
		default:
			return nil, &UnsupportedError{What: "training LoRA with init_weights " + strconv.Quote(initKind)}
		}
		for l := 0; l < L; l++ {
			if leftOut(lc.LeaveOut, l) {
				continue
			}
			for s := bert.Site(0); s < bert.NumSites; s++ {
				if !loraOn(lc, s) {
					continue
				}
				in, out := s.Dims(c)
				m := newLoRAModule(lc, lay.Prefix+lay.SiteKey(l, s)+".loras."+opt.Name+".", in, out)
				m.init(initKind, seed)
				t.lora[l][s] = m
				t.params = append(t.params, m.params()...)
				t.lowest = min(t.lowest, l)
			}
		}
	}
	if t.lowest == L {
		return nil, &ConfigError{Reason: "the config leaves no layer with a module"}
	}
	t.head, err = newHead(opt.Name, opt.Head, H, &t.params)
	if err != nil {
		return nil, err
	}
	if t.head.spec.UsePooler && base.Pooler == nil {
		return nil, &ConfigError{Reason: "use_pooler, but the base model has no pooler"}
	}
	ir := c.InitializerRange
	if ir == 0 {
		ir = 0.02
	}
	t.head.init(opt.Seed, ir)
	t.acts = make([]layerActs, L)
	return t, nil
}

func setDefaults(o *Options) {
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.LR, 1e-3)
	def(&o.Beta1, 0.9)
	def(&o.Beta2, 0.999)
	def(&o.Eps, 1e-8)
	def(&o.WeightDecay, 0.01)
	if o.NoWeightDecay {
		o.WeightDecay = 0
	}
	if o.Seed == 0 {
		o.Seed = 42
	}
	if o.MaxActivationBytes == 0 {
		o.MaxActivationBytes = DefaultMaxActivationBytes
	}
	if o.MaxDequantizedBytes == 0 {
		o.MaxDequantizedBytes = DefaultMaxDequantizedBytes
	}
}

func pyIntOf(v any) int64 {
	if s, err := strconv.ParseInt(fmt.Sprint(v), 10, 64); err == nil {
		return s
	}
	return 0
}

func checkBn(c *adapters.BnConfig, initKind string) error {
	switch {
	case c.LnBefore || c.LnAfter:
		return &UnsupportedError{What: "training a bottleneck with ln_before or ln_after"}
	case c.UseGating:
		return &UnsupportedError{What: "training a bottleneck with use_gating"}
	case c.ScalingMode != "float":
		return &UnsupportedError{What: "training a bottleneck with scaling " + strconv.Quote(c.ScalingMode)}
	case c.PHM != nil:
		return &UnsupportedError{What: "training Compacter (phm_layer)"}
	case c.InvAdapter != "":
		return &UnsupportedError{What: "training invertible adapters"}
	case c.AdapterResidualBeforeLn:
		return &UnsupportedError{What: "training a bottleneck with adapter_residual_before_ln"}
	case c.ResidualPostAdd && !c.OriginalLnBefore:
		return &UnsupportedError{What: `residual_before_ln "post_add" without original_ln_before`}
	}
	switch initKind {
	case "bert", "mam_adapter":
	default:
		return &UnsupportedError{What: "training a bottleneck with init_weights " + strconv.Quote(initKind)}
	}
	return nil
}

func leftOut(l []int, i int) bool {
	for _, v := range l {
		if v == i {
			return true
		}
	}
	return false
}

// loraOn is where the library wraps the linears with LoRALinear (models/bert/mixin_bert.py,
// which RoBERTa and XLM-R reuse; models/distilbert/mixin_distilbert.py: the same sites).
func loraOn(c *adapters.LoRAConfig, s bert.Site) bool { return c.At(s) }

// Params returns the trainable parameters in the library's order (adapter modules by layer,
// then the head).
func (t *Trainer) Params() []*Param { return t.params }

// Steps returns the number of optimizer steps taken.
func (t *Trainer) Steps() int { return t.step }

// ActivationBytes estimates what a batch of B×T tokens keeps (the figure MaxActivationBytes
// bounds): the kept layers' activations plus the encoder's own scratch.
func (t *Trainer) ActivationBytes(B, T int) int64 {
	c := &t.Base.Config
	H, I := int64(c.HiddenSize), int64(c.IntermediateSize)
	rows := int64(B) * int64(T)
	var per int64
	for l := t.lowest; l < len(t.acts); l++ {
		per += 3*H + I + 2*(H+1) // q, k, v, the intermediate, two LayerNorms
		for _, m := range t.bn[l] {
			if m != nil {
				per += 2*H + 2*int64(m.d) + 1 // hIn, the first LayerNorm, pre, a
			}
		}
		for s, m := range t.lora[l] {
			if m != nil {
				in, out := bert.Site(s).Dims(c)
				if m.ia3 {
					per += int64(out)
				} else {
					per += int64(in) + int64(m.r)
				}
			}
		}
	}
	scratch := 10*H + 2*I // the encoder's State and one layer's backward
	return 4 * rows * (per + scratch)
}

// Gradients runs the forward and backward pass on a batch and leaves ∂loss/∂p in every
// Param's G. It returns the loss and the logits [B, num_labels] (owned by the trainer).
func (t *Trainer) Gradients(b Batch) (loss float64, logits []float32, err error) {
	if err := t.checkBatch(b); err != nil {
		return 0, nil, err
	}
	for _, p := range t.params {
		clear(p.G)
	}
	t.keep.reset()
	t.tmp.reset()
	hidden, err := t.Base.Forward(&t.st, b.Input, t)
	if err != nil {
		return 0, nil, err
	}
	in := b.Input
	H := t.Base.Config.HiddenSize
	B := in.B
	cls := t.keep.get(B * H)
	for i := 0; i < B; i++ {
		copy(cls[i*H:(i+1)*H], hidden[i*in.T*H:i*in.T*H+H])
	}
	x := cls
	if t.head.spec.UsePooler {
		t.pooled = t.keep.get(B * H)
		t.Base.Pooler.Forward(t.pooled, cls, B)
		for i, v := range t.pooled {
			t.pooled[i] = float32(math.Tanh(float64(v)))
		}
		x = t.pooled
	}
	logits = t.head.forward(x, B, &t.keep)
	dLogits := t.keep.get(len(logits))
	loss = t.head.loss(logits, B, b.Labels, dLogits)
	dx := t.head.backward(dLogits, B, &t.keep)
	if t.head.spec.UsePooler {
		for i, p := range t.pooled {
			dx[i] *= 1 - p*p
		}
		dc := t.keep.get(B * H)
		t.mulN(dc, dx, t.Base.Pooler.W, B)
		dx = dc
	}
	dOut := t.keep.get(in.B * in.T * H)
	for i := 0; i < B; i++ {
		copy(dOut[i*in.T*H:i*in.T*H+H], dx[i*H:(i+1)*H])
	}
	t.backward(dOut)
	return loss, logits, nil
}

// Step runs Gradients and one AdamW step; it returns the loss before the step.
func (t *Trainer) Step(b Batch) (float64, error) {
	loss, _, err := t.Gradients(b)
	if err != nil {
		return 0, err
	}
	t.adamw()
	return loss, nil
}

func (t *Trainer) checkBatch(b Batch) error {
	in := b.Input
	if in.B <= 0 || in.T <= 0 {
		return &InputError{Reason: fmt.Sprintf("empty batch (B=%d, T=%d)", in.B, in.T)}
	}
	if n := t.ActivationBytes(in.B, in.T); n > t.Opt.MaxActivationBytes {
		return &LimitError{B: in.B, T: in.T, Bytes: n, Max: t.Opt.MaxActivationBytes}
	}
	N := len(t.head.spec.Labels)
	if t.head.spec.Type == HeadMultiLabelClassification {
		if len(b.Labels) != in.B*N {
			return &InputError{Reason: fmt.Sprintf("%d labels for %d sequences × %d classes", len(b.Labels), in.B, N)}
		}
		for _, y := range b.Labels {
			if y != 0 && y != 1 {
				return &InputError{Reason: fmt.Sprintf("multi-label target %d, want 0 or 1", y)}
			}
		}
		return nil
	}
	if len(b.Labels) != in.B {
		return &InputError{Reason: fmt.Sprintf("%d labels for %d sequences", len(b.Labels), in.B)}
	}
	for _, y := range b.Labels {
		if y < 0 || y >= N {
			return &InputError{Reason: fmt.Sprintf("label id %d outside [0,%d)", y, N)}
		}
	}
	return nil
}

// ---- the forward pass: bert.Hooks ----

// Linear implements bert.Hooks: runs the LoRA/IA3 module at the site and keeps what the
// backward pass needs.
func (t *Trainer) Linear(l int, site bert.Site, x, out []float32, b bert.Batch) {
	if l < t.lowest {
		return
	}
	rows := b.Rows()
	a := &t.acts[l]
	if m := t.lora[l][site]; m != nil {
		in, _ := site.Dims(&t.Base.Config)
		m.forward(&a.lora[site], x[:rows*in], out, rows, &t.keep)
	}
	_, od := site.Dims(&t.Base.Config)
	switch site {
	case bert.SiteQuery:
		a.q = t.keep.clone(out[:rows*od])
	case bert.SiteKey:
		a.k = t.keep.clone(out[:rows*od])
	case bert.SiteValue:
		a.v = t.keep.clone(out[:rows*od])
	case bert.SiteIntermediate:
		a.interPre = t.keep.clone(out[:rows*od])
	}
}

// Residual implements bert.Hooks: the step dst = LN(h + in), with the adapter there if any,
// always run here so that LayerNorm keeps its statistics.
func (t *Trainer) Residual(l int, r bert.Residual, h, residual []float32, ln *bert.LayerNorm, dst []float32, b bert.Batch) bool {
	if l < t.lowest {
		return false
	}
	rows := b.Rows()
	H := t.Base.Config.HiddenSize
	a := &t.acts[l]
	a.ln[r] = ln
	t.batch = b
	t.tmp.reset()
	n := rows * H
	if m := t.bn[l][r]; m != nil {
		m.forward(&a.res[r], h[:n], residual[:n], dst[:n], rows, ln, &t.keep)
	} else {
		plainForward(&a.res[r], h[:n], residual[:n], dst[:n], rows, ln, &t.keep)
	}
	return true
}

// Prefix implements bert.Hooks (no prefix tuning).
func (t *Trainer) Prefix(int, []float32, bert.Batch) (int, []float32, []float32) { return 0, nil, nil }

// Layer implements bert.Hooks (nothing to do).
func (t *Trainer) Layer(int, []float32, bert.Batch) {}

// Prompt implements bert.Hooks (no prompt tuning).
func (t *Trainer) Prompt(bert.Batch) (int, []float32, bool) { return 0, nil, false }

// Embedded implements bert.Hooks (no invertible adapter).
func (t *Trainer) Embedded([]float32, bert.Batch) {}

// ---- the backward pass ----

// backward propagates dOut = ∂L/∂(last hidden state) down to the lowest layer with a module.
func (t *Trainer) backward(dOut []float32) {
	c := &t.Base.Config
	H, I := c.HiddenSize, c.IntermediateSize
	b := t.batch
	rows := b.Rows()
	p := &t.tmp
	hact, _ := activationByName(c.HiddenAct)
	for l := len(t.Base.Layers) - 1; l >= t.lowest; l-- {
		p.reset()
		L := &t.Base.Layers[l]
		a := &t.acts[l]
		// output: dst = LN(dense(act(inter)) + attnOut), with the adapter there
		dH2 := p.get(rows * H)
		dAttn := p.get(rows * H)
		t.residualBackward(l, bert.ResidualOutput, dOut, dH2, dAttn, rows)
		// output.dense, then the activation
		dAct := p.get(rows * I)
		if m := t.lora[l][bert.SiteOutput]; m != nil {
			m.backward(&a.lora[bert.SiteOutput], dH2, dAct, rows, p) // dAct gets LoRA's path first
			tmp := p.get(rows * I)
			t.mulN(tmp, dH2, L.Output.W, rows)
			addTo(dAct, tmp)
		} else {
			t.mulN(dAct, dH2, L.Output.W, rows)
		}
		hact.backward(dAct, a.interPre)
		// intermediate.dense
		if m := t.lora[l][bert.SiteIntermediate]; m != nil {
			m.backward(&a.lora[bert.SiteIntermediate], dAct, dAttn, rows, p)
		}
		tmp := p.get(rows * H)
		t.mulN(tmp, dAct, L.Intermediate.W, rows)
		addTo(dAttn, tmp)
		if l == t.lowest && !t.needsAttention(l) {
			return
		}
		// attention.output: dst = LN(dense(ctx) + x)
		dH1 := p.get(rows * H)
		dX := p.get(rows * H)
		t.residualBackward(l, bert.ResidualAttention, dAttn, dH1, dX, rows)
		if l == t.lowest && !t.needsQKV(l) {
			return
		}
		dCtx := p.get(rows * H)
		t.mulN(dCtx, dH1, L.AttentionOutput.W, rows)
		dQ, dK, dV := p.get(rows*H), p.get(rows*H), p.get(rows*H)
		t.attentionBackward(a, dCtx, dQ, dK, dV, b, p)
		for s, d := range [3][]float32{dQ, dK, dV} {
			site := bert.Site(s)
			if m := t.lora[l][site]; m != nil {
				m.backward(&a.lora[site], d, dX, rows, p)
			}
		}
		if l == t.lowest {
			return
		}
		for s, d := range [3][]float32{dQ, dK, dV} {
			t.mulN(tmp, d, L.Linear(bert.Site(s)).W, rows)
			addTo(dX, tmp)
		}
		copy(dOut, dX)
	}
}

func (t *Trainer) needsAttention(l int) bool {
	return t.bn[l][bert.ResidualAttention] != nil || t.needsQKV(l)
}

func (t *Trainer) needsQKV(l int) bool {
	return t.lora[l][bert.SiteQuery] != nil || t.lora[l][bert.SiteKey] != nil || t.lora[l][bert.SiteValue] != nil
}

func (t *Trainer) residualBackward(l int, r bert.Residual, dDst, dH, dIn []float32, rows int) {
	a := &t.acts[l]
	if m := t.bn[l][r]; m != nil {
		m.backward(&a.res[r], dDst, dH, dIn, rows, a.ln[r], &t.tmp)
		return
	}
	plainBackward(&a.res[r], dDst, dH, dIn, rows, a.ln[r])
}

// attentionBackward turns ∂L/∂ctx into ∂L/∂q, ∂L/∂k, ∂L/∂v, per sequence and head, with the
// softmax recomputed from the kept q and k as the forward pass computed it (scores = q·kᵀ/√d
// plus the mask's bias; P = softmax; ctx = P·v):
//
//	dP = dctx·vᵀ, dv = Pᵀ·dctx, dS = P ⊙ (dP − rowsum(P ⊙ dP)), dq = dS·k/√d, dk = dSᵀ·q/√d.
func (t *Trainer) attentionBackward(a *layerActs, dCtx, dQ, dK, dV []float32, b bert.Batch, p *pool) {
	c := &t.Base.Config
	H, nh := c.HiddenSize, c.NumAttentionHeads
	d := H / nh
	T := b.T
	scale := float32(1 / math.Sqrt(float64(d)))
	tp := (T + 3) &^ 3
	P := p.get(T * tp)
	dP := p.get(T * tp)
	Pt := p.get(T * tp)
	bias := p.get(tp)
	for bi := 0; bi < b.B; bi++ {
		for j := 0; j < T; j++ {
			if b.Mask[bi*T+j] != 0 {
				bias[j] = 0
			} else {
				bias[j] = -math.MaxFloat32
			}
		}
		off := bi * T * H
		qb, kb, vb := a.q[off:off+T*H], a.k[off:off+T*H], a.v[off:off+T*H]
		cb := dCtx[off : off+T*H]
		dq, dk, dv := dQ[off:off+T*H], dK[off:off+T*H], dV[off:off+T*H]
		for h := 0; h < nh; h++ {
			o := h * d
			kernels.GemmNT(P, tp, qb[o:], H, kb[o:], H, T, d, T)
			kernels.SoftmaxRows(P, tp, T, T, scale, bias)
			kernels.GemmNT(dP, tp, cb[o:], H, vb[o:], H, T, d, T)
			for i := 0; i < T; i++ {
				pr, gr := P[i*tp:i*tp+T], dP[i*tp:i*tp+T]
				var s float32
				for j, pv := range pr {
					s += pv * gr[j]
				}
				for j, pv := range pr {
					gr[j] = pv * (gr[j] - s) * scale
				}
			}
			// dv_h = Pᵀ·dctx_h
			transpose(Pt, tp, P, tp, T, T)
			kernels.GemmNN(dv[o:], H, Pt, tp, cb[o:], H, T, T, d)
			// dq_h = dS·k_h
			kernels.GemmNN(dq[o:], H, dP, tp, kb[o:], H, T, T, d)
			// dk_h = dSᵀ·q_h
			transpose(Pt, tp, dP, tp, T, T)
			kernels.GemmNN(dk[o:], H, Pt, tp, qb[o:], H, T, T, d)
		}
	}
}

// transpose writes src [rows, cols] (stride lds) transposed into dst [cols, rows] (stride ldd).
func transpose(dst []float32, ldd int, src []float32, lds, rows, cols int) {
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			dst[j*ldd+i] = src[i*lds+j]
		}
	}
}
