package adapters

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

// measure runs f and returns how long it took and the bytes it allocated.
func measure(f func()) (time.Duration, uint64) {
	var a, b runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	t0 := time.Now()
	f()
	d := time.Since(t0)
	runtime.ReadMemStats(&b)
	return d, b.TotalAlloc - a.TotalAlloc
}

// nestedJSON is a JSON value nested depth deep: arrays ([[…1…]]) or objects ({"a":{"a":…}}).
func nestedJSON(depth int, objects bool) string {
	if objects {
		return strings.Repeat(`{"a":`, depth) + "1" + strings.Repeat("}", depth)
	}
	return strings.Repeat("[", depth) + "1" + strings.Repeat("]", depth)
}

// nestedConfigString is a config string whose r is a Python list nested depth deep.
func nestedConfigString(depth int) string {
	return "lora[r=" + strings.Repeat("[", depth) + "1" + strings.Repeat("]", depth) + "]"
}

// TestDeepNesting: JSON and config strings nested deeper than any real file are refused with a
// FormatError naming the file, natively and under GOOS=js, in time and memory linear in the file;
// the model loads and runs an adapter afterwards. Depths just under encoding/json's 10,000 used
// to be decoded into any (and walked by toPy, clonePy and the config hash): harmless natively,
// a fatal "traceback did not unwind completely" in Wasm. The config-string lexer recursed once
// per "[", with no bound but the stack.
func TestDeepNesting(t *testing.T) {
	base := tinyBase(t)
	cfg := func(config string) []byte { return []byte(`{"name":"lora_qv","config":` + config + `}`) }
	for _, tc := range []struct {
		name, file string
		content    []byte
		want       string
	}{
		{"config object 65 deep", ConfigFile, cfg(nestedJSON(65, true)), "nests deeper than 64"},
		{"config object 3000 deep", ConfigFile, cfg(nestedJSON(3000, true)), "nests deeper than 64"},
		{"config list 9990 deep", ConfigFile, cfg(`{"architecture":"lora","leave_out":` + nestedJSON(9990, false) + `}`), "nests deeper than 64"},
		{"config 100000 deep", ConfigFile, cfg(nestedJSON(100_000, false)), "nests deeper than 64"},
		{"peft_type 9990 deep", ConfigFile, []byte(`{"peft_type":` + nestedJSON(9990, false) + `}`), "nests deeper than 64"},
		{"head config 9990 deep", HeadConfigFile, []byte(`{"name":"lora_qv","config":{"label2id":` + nestedJSON(9990, true) + `}}`), "nests deeper than 64"},
		{"config string list 65 deep", ConfigFile, cfg(`"` + nestedConfigString(65) + `"`), "lists nest deeper than 64"},
		{"config string list 100000 deep", ConfigFile, cfg(`"` + nestedConfigString(100_000) + `"`), "lists nest deeper than 64"},
		{"config string list 2000000 deep", ConfigFile, cfg(`"` + nestedConfigString(2_000_000) + `"`), "lists nest deeper than 64"},
		{"config string list 10000000 deep", ConfigFile, cfg(`"` + nestedConfigString(10_000_000) + `"`), "20000039 bytes; a config file has at most 4194304"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := New(base)
			files := tinyFiles(t, "adapters_st/lora_qv")
			files[tc.file] = tc.content
			var err error
			d, alloc := measure(func() { _, err = m.Load(files, LoadOptions{}) })
			t.Logf("%d-byte %s: %.200v in %v, %d KB allocated", len(tc.content), tc.file, err, d.Round(time.Millisecond), alloc>>10)
			if !isType[*FormatError](err) || !strings.Contains(err.Error(), tc.file) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %.300v, want a FormatError naming %s, containing %q", err, tc.file, tc.want)
			}
			if len(err.Error()) > 300 {
				t.Errorf("error of %d bytes", len(err.Error()))
			}
			if limit := uint64(8*len(tc.content) + 4<<20); alloc > limit {
				t.Errorf("allocated %d KB for a %d-byte file", alloc>>10, len(tc.content))
			}
			name, err := m.Load(tinyFiles(t, "adapters_st/lora_qv"), LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if err := m.SetActive(name); err != nil {
				t.Fatal(err)
			}
			if _, err := m.Forward(&State{}, tinyInput(t)); err != nil {
				t.Fatal(err)
			}
		})
	}
	// Nesting a real config needs is accepted: a list 64 deep in a config string fails on its
	// value, not its depth.
	if _, err := resolveConfigString(nestedConfigString(63)); err != nil {
		t.Errorf("63 deep: %v", err)
	}
}
