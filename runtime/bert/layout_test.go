package bert_test

import (
	"os"
	"testing"

	"github.com/adapterwasm/adapterwasm/internal/golden"
	"github.com/adapterwasm/adapterwasm/runtime/bert"
	"github.com/adapterwasm/adapterwasm/runtime/weights"
)

// TestBERTLayoutKeys pins BertModel's module keys, which AdapterHub's weight files extend.
func TestBERTLayoutKeys(t *testing.T) {
	k := (&bert.Model{}).Layout()
	for _, c := range []struct{ got, want string }{
		{k.LayerKey(3), "encoder.layer.3"},
		{k.SiteKey(3, bert.SiteQuery), "encoder.layer.3.attention.self.query"},
		{k.SiteKey(0, bert.SiteKey), "encoder.layer.0.attention.self.key"},
		{k.SiteKey(0, bert.SiteValue), "encoder.layer.0.attention.self.value"},
		{k.SiteKey(11, bert.SiteAttentionOutput), "encoder.layer.11.attention.output.dense"},
		{k.SiteKey(1, bert.SiteIntermediate), "encoder.layer.1.intermediate.dense"},
		{k.SiteKey(1, bert.SiteOutput), "encoder.layer.1.output.dense"},
		{k.ResidualKey(2, bert.ResidualAttention), "encoder.layer.2.attention.output"},
		{k.ResidualKey(2, bert.ResidualOutput), "encoder.layer.2.output"},
		{k.SelfAttentionKey(5), "encoder.layer.5.attention.self"},
		{k.TrimPrefix("bert.encoder.layer.0.output.adapters.a.adapter_up.weight"), "encoder.layer.0.output.adapters.a.adapter_up.weight"},
		{k.TrimPrefix("encoder.layer.0.output.dense.weight"), "encoder.layer.0.output.dense.weight"},
		{k.TrimPrefix("heads.a.1.weight"), "heads.a.1.weight"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

// TestBERTLayoutMatchesCheckpoint checks every key the layout gives against a real checkpoint.
func TestBERTLayoutMatchesCheckpoint(t *testing.T) {
	m := loadTiny(t)
	wb, err := os.ReadFile(golden.Path("tiny", "model", "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := weights.ParseSafetensors("model.safetensors", wb)
	if err != nil {
		t.Fatal(err)
	}
	k := m.Layout()
	var keys []string
	for l := range m.Layers {
		for s := bert.Site(0); s < bert.NumSites; s++ {
			keys = append(keys, k.SiteKey(l, s)+".weight", k.SiteKey(l, s)+".bias")
		}
		for _, r := range []bert.Residual{bert.ResidualAttention, bert.ResidualOutput} {
			keys = append(keys, k.ResidualKey(l, r)+".LayerNorm.weight")
		}
	}
	for _, key := range keys {
		if f.Tensors[key] == nil && f.Tensors[k.Prefix+key] == nil {
			t.Errorf("checkpoint has no %s", key)
		}
	}
}
