package train

// Param is one trainable tensor under its checkpoint name (the key save_adapter / save_head
// write, e.g. "bert.encoder.layer.0.output.adapters.NAME.adapter_down.0.weight" on BERT,
// "distilbert.transformer.layer.0.output_adapters.adapters.NAME.adapter_down.0.weight" on
// DistilBERT: the base's Layout), with its gradient and AdamW's moments.
type Param struct {
	Name  string
	Shape []int
	W     []float32 // the values
	G     []float32 // the gradient of the last Gradients call (summed over the batch's loss)
	m, v  []float32 // AdamW exp_avg, exp_avg_sq
}

func newParam(name string, shape ...int) *Param {
	n := 1
	for _, s := range shape {
		n *= s
	}
	return &Param{Name: name, Shape: shape, W: make([]float32, n), G: make([]float32, n)}
}

func (p *Param) fill(v float32) {
	for i := range p.W {
		p.W[i] = v
	}
}
