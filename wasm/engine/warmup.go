package engine

import (
	_ "embed" // []byte variables only: an embed.FS would link io/fs and time formatting (~170 KB)
	"sync"

	"github.com/adapterwasm/adapterwasm/adapters"
	"github.com/adapterwasm/adapterwasm/runtime/bert"
)

// The warm-up adapters are two of testdata/tiny/adapters (tools/reference/make_tiny.py; the test
// keeps them identical): seq_bn without its head and lora_qv with its classification head, the
// kinds of the MiniLM demo adapters, for a 2-layer BERT of hidden size 32.
var (
	//go:embed warmup/seq_bn/adapter_config.json
	warmSeqBnConfig []byte
	//go:embed warmup/seq_bn/pytorch_adapter.bin
	warmSeqBnWeights []byte
	//go:embed warmup/lora_qv/adapter_config.json
	warmLoRAConfig []byte
	//go:embed warmup/lora_qv/pytorch_adapter.bin
	warmLoRAWeights []byte
	//go:embed warmup/lora_qv/head_config.json
	warmLoRAHeadConfig []byte
	//go:embed warmup/lora_qv/pytorch_model_head.bin
	warmLoRAHeadWeights []byte
)

// warmupDirs are the warm-up adapters as Load takes them, keyed by their testdata directory.
func warmupDirs() map[string]map[string][]byte {
	return map[string]map[string][]byte{
		"seq_bn": {adapters.ConfigFile: warmSeqBnConfig, adapters.WeightsFile: warmSeqBnWeights},
		"lora_qv": {adapters.ConfigFile: warmLoRAConfig, adapters.WeightsFile: warmLoRAWeights,
			adapters.HeadConfigFile: warmLoRAHeadConfig, adapters.HeadWeightsFile: warmLoRAHeadWeights},
	}
}

var warmOnce sync.Once

// warmLoadPath loads the warm-up adapters onto a stand-in for a tiny base and throws them away;
// New runs it once per Go instance, on the first base model. A Wasm engine compiles a function
// when it is first called (V8: lazily, in its baseline tier), and loading an adapter calls ~150
// functions that loading a base never does (zip, the pickle machine, CRC-32, config and head
// parsing, the binder): in Node 20 that compile made the first adapter load of an instance
// several times slower than the next (20-50 ms against 2-5 on a loaded 2-core machine). Paid
// here, it sits beside the base model's load (hundreds of ms) instead of in the caller's first
// loadAdapter. The stand-in base has a config and no weights, which is all loading reads;
// nothing of it reaches a Model.
func warmLoadPath() error {
	return Guard(func() error {
		base := &bert.Model{Config: bert.Config{ModelType: "bert", HiddenSize: 32, NumHiddenLayers: 2,
			NumAttentionHeads: 4, IntermediateSize: 64, LayerNormEps: 1e-12}}
		am := adapters.New(base)
		for _, dir := range []string{"seq_bn", "lora_qv"} {
			// Load keeps slices of the bytes (weights alias them): never the embedded ones.
			files := map[string][]byte{}
			for name, b := range warmupDirs()[dir] {
				files[name] = append([]byte(nil), b...)
			}
			if _, err := am.Load(files, adapters.LoadOptions{}); err != nil {
				return err
			}
		}
		return nil
	})
}
