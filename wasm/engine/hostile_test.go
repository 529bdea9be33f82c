package engine_test

import (
	"encoding/binary"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/adapterwasm/adapterwasm/adapters"
	"github.com/adapterwasm/adapterwasm/wasm/engine"
)

// heapGrowth runs f and returns how far the live heap grew past where it started (after a GC).
func heapGrowth(f func()) uint64 {
	var a, b runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	if b.TotalAlloc < a.TotalAlloc {
		return 0
	}
	return b.TotalAlloc - a.TotalAlloc // bytes allocated while f ran (an upper bound of its peak)
}

// TestHostileBaseFiles: deeply nested and oversized JSON in each base-model file gives a typed
// format error naming the file, allocates a bounded amount, and never panics.
func TestHostileBaseFiles(t *testing.T) {
	good := tinyFiles(t)
	nest := func(n int) []byte { return []byte(strings.Repeat("[", n) + strings.Repeat("]", n)) }
	nestObj := func(n int) []byte { return []byte(strings.Repeat(`{"a":`, n) + "1" + strings.Repeat("}", n)) }
	// A safetensors file whose header is valid up to one deeply nested metadata value.
	stNested := func(n int) []byte {
		h := []byte(`{"__metadata__":{"x":` + strings.Repeat("[", n) + strings.Repeat("]", n) + `}}`)
		b := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
		return append(b, h...)
	}
	for _, tc := range []struct {
		file string
		b    []byte
		want string
	}{
		{"config.json", nest(1_000_000), "config.json"},
		{"config.json", nestObj(100_000), "config.json"},
		{"config.json", []byte(`{"hidden_size":32,"x":"` + strings.Repeat("a", 32<<20) + `"`), "config.json"},
		{"tokenizer.json", nest(1_000_000), "tokenizer.json"},
		{"tokenizer.json", nestObj(100_000), "tokenizer.json"},
		{"tokenizer.json", []byte(`{"model":{"type":"WordPiece","vocab":` + strings.Repeat(`{"a":`, 100_000)), "tokenizer.json"},
		{"model.safetensors", stNested(1_000_000), "model.safetensors"},
		{"model.safetensors", nest(1 << 20), "model.safetensors"},
	} {
		t.Run(fmt.Sprintf("%s %.12q %d bytes", tc.file, tc.b, len(tc.b)), func(t *testing.T) {
			files := map[string][]byte{}
			for k, v := range good {
				files[k] = v
			}
			files[tc.file] = tc.b
			var err error
			start := time.Now()
			grew := heapGrowth(func() { _, err = engine.New(files) })
			if err == nil {
				t.Fatal("loaded")
			}
			if c := engine.CodeOf(err); c != engine.CodeFormat {
				t.Errorf("code %s: %v", c, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error does not name %s: %.300s", tc.want, err)
			}
			// The good files themselves take ~10 MB to load; a hostile file may add a few copies
			// of itself, never an unbounded amount.
			if limit := uint64(64<<20 + 8*len(tc.b)); grew > limit {
				t.Errorf("allocated %d MB (limit %d MB)", grew>>20, limit>>20)
			}
			t.Logf("%.200s (%v, %d MB allocated)", err, time.Since(start).Round(time.Millisecond), grew>>20)
		})
	}
}

// TestHugeTextAndLimits: a 10 MB text is truncated, not refused, gives the same answer as its
// first kilobytes, and runs in bounded time; texts and batches over the limits are refused with
// invalid_argument; the model keeps working after each.
func TestHugeTextAndLimits(t *testing.T) {
	m := newTiny(t)
	if _, err := m.LoadAdapter("", readAdapterDir(t, "adapters/seq_bn")); err != nil {
		t.Fatal(err)
	}
	size := 10 << 20
	if testing.Short() || runtime.GOOS == "js" {
		size = 1 << 20
	}
	huge := strings.Repeat("I love this movie, it is great! ", size/32)
	head := huge[:4096]
	start := time.Now()
	got, err := m.Classify([]string{huge, "short"}, "seq_bn", "")
	if err != nil {
		t.Fatal(err)
	}
	want, err := m.Classify([]string{head, "short"}, "seq_bn", "")
	if err != nil {
		t.Fatal(err)
	}
	// The same prediction as its first 4 KB; only the input stats tell the two apart: both are
	// cut at 128 tokens, and the huge one is counted only up to adapters.MaxCountedTokens.
	if !reflect.DeepEqual(got[0].Prediction, want[0].Prediction) || !reflect.DeepEqual(got[1], want[1]) {
		t.Errorf("classify of %d bytes differs from its first 4 KB: %+v vs %+v", len(huge), got[0], want[0])
	}
	if in := got[0].Input; in == nil || !in.Truncated || in.Tokens != adapters.MaxCountedTokens+2 || in.UnknownShare != 0 {
		t.Errorf("input stats of the huge text: %+v, want %d tokens (the cap), truncated", in, adapters.MaxCountedTokens+2)
	}
	if in := want[0].Input; in == nil || !in.Truncated || in.Tokens != 9*4096/32+2 {
		t.Errorf("input stats of its first 4 KB: %+v, want %d tokens, truncated", in, 9*4096/32+2)
	}
	toks, err := m.Tokenize([]string{huge}, 0)
	if err != nil || len(toks[0].InputIDs) > 128 {
		t.Fatalf("tokenize: %v, %d ids", err, len(toks[0].InputIDs))
	}
	if _, _, err := m.Embed([]string{huge}, engine.EmbedOptions{}); err != nil {
		t.Fatal(err)
	}
	d := time.Since(start)
	t.Logf("%d-byte text: classify + tokenize + embed in %v", len(huge), d)
	if d > 60*time.Second {
		t.Errorf("%v: too slow", d)
	}

	over := strings.Repeat("a", engine.MaxTextBytes+1)
	for name, call := range map[string]func() error{
		"classify long text": func() error { _, err := m.Classify([]string{"x", over}, "seq_bn", ""); return err },
		"embed long text":    func() error { _, _, err := m.Embed([]string{over}, engine.EmbedOptions{}); return err },
		"classify big batch": func() error { _, err := m.Classify(make([]string, engine.MaxBatch+1), "seq_bn", ""); return err },
		"adapter too big": func() error {
			_, err := m.LoadAdapter("big", map[string][]byte{"adapter_config.json": []byte("{}"), "adapter.safetensors": make([]byte, engine.MaxAdapterBytes)})
			return err
		},
	} {
		err := call()
		if engine.CodeOf(err) != engine.CodeInvalidArgument || !strings.Contains(err.Error(), "at most") {
			t.Errorf("%s: %v", name, err)
		}
		again, err := m.Classify([]string{head, "short"}, "seq_bn", "")
		if err != nil || !reflect.DeepEqual(again, want) {
			t.Fatalf("after %s: %v", name, err)
		}
	}
}

// TestMaxAdapters: at most engine.MaxAdapters are loaded at once; replacing a loaded one and
// loading after an unload still work.
func TestMaxAdapters(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	m := newTiny(t)
	files := readAdapterDir(t, "adapters/lora_qv")
	for i := range engine.MaxAdapters {
		if _, err := m.LoadAdapter(fmt.Sprintf("a%d", i), files); err != nil {
			t.Fatal(i, err)
		}
	}
	_, err := m.LoadAdapter("one-more", files)
	if engine.CodeOf(err) != engine.CodeInvalidArgument || !strings.Contains(err.Error(), "unload one first") {
		t.Fatalf("adapter %d: %v", engine.MaxAdapters+1, err)
	}
	if _, err := m.LoadAdapter("a7", files); err != nil {
		t.Fatalf("replacing a loaded adapter at the limit: %v", err)
	}
	if err := m.UnloadAdapter("a0"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.LoadAdapter("one-more", files); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Classify([]string{"x"}, "one-more", ""); err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentClassifyWhileLoading: 100 goroutines classify with mixed setups while another
// loads, replaces and unloads an adapter; every answer equals the sequential one, and a setup
// whose adapter is unloaded at that moment fails with CodeSetup, never with another's result.
func TestConcurrentClassifyWhileLoading(t *testing.T) {
	m := newTiny(t)
	dirs := map[string]string{"seq_bn": "adapters/seq_bn", "prefix": "adapters/prefix", "lora_qv": "adapters/lora_qv", "ia3": "adapters/ia3"}
	loaded := map[string]map[string][]byte{}
	for name, d := range dirs {
		loaded[name] = readAdapterDir(t, d)
		if _, err := m.LoadAdapter(name, loaded[name]); err != nil {
			t.Fatal(err)
		}
	}
	texts := []string{"I love this movie", "terrible, just terrible", "a b c"}
	setups := []string{"seq_bn", "prefix", "lora_qv", "ia3", "Stack(lora_qv,seq_bn)"}
	want := map[string][]*engine.Result{}
	for _, s := range setups {
		r, err := m.Classify(texts, s, "")
		if err != nil {
			t.Fatal(s, err)
		}
		want[s] = r
	}
	stop := make(chan struct{})
	var churn sync.WaitGroup
	churn.Add(1)
	go func() { // ia3 comes and goes; seq_bn is replaced by itself
		defer churn.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if i%2 == 1 {
				m.UnloadAdapter("ia3")
			} else if _, err := m.LoadAdapter("ia3", loaded["ia3"]); err != nil {
				t.Error(err)
			}
			runtime.Gosched()
			if _, err := m.LoadAdapter("seq_bn", loaded["seq_bn"]); err != nil {
				t.Error(err)
			}
		}
	}()
	var wg sync.WaitGroup
	var mu sync.Mutex
	missing := 0
	for k := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := setups[k%len(setups)]
			r, err := m.Classify(texts, s, "")
			if err != nil {
				if s == "ia3" && engine.CodeOf(err) == engine.CodeSetup {
					mu.Lock()
					missing++
					mu.Unlock()
					return
				}
				t.Errorf("%s: %v", s, err)
				return
			}
			if !reflect.DeepEqual(r, want[s]) {
				t.Errorf("%s: concurrent result differs from the sequential one", s)
			}
		}()
	}
	wg.Wait()
	close(stop)
	churn.Wait()
	t.Logf("ia3 was unloaded for %d of 20 calls", missing)
}

// TestSplitSizesBounded: Split sizes are checked against the model's positions before padding
// allocates them (splits=[1e9,1] asked for 12 GB: a fatal out-of-memory in Wasm).
func TestSplitSizesBounded(t *testing.T) {
	m := newTiny(t)
	for _, d := range []string{"adapters/seq_bn", "adapters/seq_bn_b"} {
		if _, err := m.LoadAdapter("", readAdapterDir(t, d)); err != nil {
			t.Fatal(err)
		}
	}
	var err error
	grew := heapGrowth(func() { _, err = m.Classify([]string{"x"}, "Split(seq_bn,seq_bn_b,splits=[1000000000,1])", "") })
	if engine.CodeOf(err) != engine.CodeSetup || !strings.Contains(err.Error(), "more than the model's 64 positions") {
		t.Fatalf("err = %v", err)
	}
	if grew > 1<<20 {
		t.Errorf("allocated %d KB refusing the setup", grew>>10)
	}
	if _, err := m.Classify([]string{"x"}, "seq_bn", ""); err != nil {
		t.Fatal(err)
	}
}

// TestNaNInBaseWeights documents what a NaN in the base model's weights does: the base is not
// scanned (adapters are), loading succeeds and outputs carry NaN; nothing panics, and results
// stay well-formed (the JS bridge passes NaN through; the CLI's JSON output refuses it).
func TestNaNInBaseWeights(t *testing.T) {
	files := tinyFiles(t)
	b := []byte(string(files["model.safetensors"]))
	n := binary.LittleEndian.Uint64(b)
	// Poison every float of the data section's first kilobyte (it belongs to some weight).
	for i := 0; i < 1024; i += 4 {
		binary.LittleEndian.PutUint32(b[8+int(n)+i:], 0x7fc00000)
	}
	files["model.safetensors"] = b
	m, err := engine.New(files)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if _, err := m.LoadAdapter("", readAdapterDir(t, "adapters/seq_bn")); err != nil {
		t.Fatal(err)
	}
	res, err := m.Classify([]string{"I love this movie"}, "seq_bn", "")
	if err != nil {
		t.Fatalf("Classify: %v", err)
	}
	t.Logf("result with a NaN base: %+v", *res[0].Prediction)
	if _, _, err := m.Embed([]string{"x"}, engine.EmbedOptions{Normalize: true}); err != nil {
		t.Fatalf("Embed: %v", err)
	}
}
