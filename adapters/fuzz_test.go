package adapters

import (
	"testing"
)

// FuzzParseSetup: any expression parses or fails with a *SetupError, never panics, and what
// parses prints back to an expression that parses to the same block.
func FuzzParseSetup(f *testing.F) {
	for _, s := range append(switchSetups, "Split(a,Stack(b,c),splits=[16,32])", "Average(a,b,weights=[1,2],normalize_weights=False)",
		"Fuse(a,b,name=x)", "Stack(a,Parallel(b,c))", "Parallel(", "BatchSplit(a,b,batch_sizes=[1,", ")", "Stack(a,,)",
		"MultiTask(a,Stack(b,c),Average(d,e))", "Stack(a,MultiTask(b,Fuse(c,d)))", "MultiTask(a,b,x=1)") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		b, err := ParseSetup(expr)
		if err != nil {
			if !isType[*SetupError](err) {
				t.Fatalf("%q: %T %v", expr, err, err)
			}
			return
		}
		b2, err := ParseSetup(b.String())
		if err != nil || b2.String() != b.String() {
			t.Fatalf("%q -> %s -> %v %v", expr, b, b2, err)
		}
	})
}

// FuzzLoadConfig: any adapter_config.json (with real weights beside it) loads or fails with a
// typed error, never panics.
func FuzzLoadConfig(f *testing.F) {
	base := tinyBase(f)
	for _, d := range []string{"seq_bn", "lora_qv", "prefix", "bn_custom", "ia3"} {
		files := tinyFiles(f, "adapters_st/"+d)
		f.Add(string(files[ConfigFile]), d)
	}
	f.Add(`{"config":"mam","name":"x"}`, "prefix")
	f.Add(`{"config":{"architecture":"union","configs":[{"architecture":"lora"},{}]},"name":"x"}`, "lora_qv")
	// Generated seeds larger than the mutator builds: nesting just past the bound and far past it,
	// a config string nested deep, a union of many parts, out-of-range and huge numbers.
	f.Add(`{"name":"x","config":`+nestedJSON(65, true)+`}`, "lora_qv")
	f.Add(`{"name":"x","config":{"architecture":"lora","leave_out":`+nestedJSON(9990, false)+`}}`, "lora_qv")
	f.Add(`{"name":"x","config":"`+nestedConfigString(100_000)+`"}`, "lora_qv")
	f.Add(string(unionJSON(1000)), "lora_qv")
	f.Add(`{"name":"x","config":{"architecture":"lora","r":1e300,"alpha":1e400}}`, "lora_qv")
	f.Add(`{"name":"x","config":{"architecture":"lora","r":9223372036854775808,"alpha":1e300}}`, "lora_qv")
	f.Add(`{"name":"x","config":{"architecture":"mtl_lora","n_up_projection":1e9,"weights_sharpness":0}}`, "lora_qv")
	f.Add(`{"name":"x","config":"mtl_lora[r=8,n_up_projection=2]"}`, "lora_qv")
	f.Fuzz(func(t *testing.T, cfg, dir string) {
		switch dir {
		case "seq_bn", "lora_qv", "prefix", "bn_custom", "ia3":
		default:
			return
		}
		files := cachedFiles(t, "adapters_st/"+dir)
		files[ConfigFile] = []byte(cfg)
		m := New(base)
		name, err := m.Load(files, LoadOptions{})
		if err != nil {
			if !(isType[*FormatError](err) || isType[*UnsupportedError](err) || isType[*LoadError](err) || isType[*MismatchError](err)) {
				t.Fatalf("%T %v", err, err)
			}
			return
		}
		if err := m.SetActive(name); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Forward(&State{}, fuzzInput(t)); err != nil && !isType[*SetupError](err) && !isType[*UnsupportedError](err) {
			t.Fatalf("%T %v", err, err)
		}
	})
}
