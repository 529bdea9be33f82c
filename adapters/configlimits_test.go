package adapters

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// unionJSON is an adapter_config.json whose config is a union of n LoRA parts, each leaving out
// a different layer (so that no two collide in validateUnion).
func unionJSON(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"name":"lora_qv","config":{"architecture":"union","configs":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"architecture":"lora","r":4,"alpha":8,"leave_out":[`)
		b.WriteString(itoa(i))
		b.WriteString(`]}`)
	}
	b.WriteString(`]}}`)
	return b.Bytes()
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var d []byte
	for ; i > 0; i /= 10 {
		d = append([]byte{byte('0' + i%10)}, d...)
	}
	return string(d)
}

// TestHostileConfigValues: config values that would only fail later (a non-finite or huge
// scaling or alpha, a rank that is not a small integer, a union of 300,000 parts) are refused at
// load with a FormatError that names the key, echoes a short value and no Go type name, in time
// and memory linear in the file.
func TestHostileConfigValues(t *testing.T) {
	base := tinyBase(t)
	replace := func(dir, old, new string) map[string][]byte {
		files := tinyFiles(t, "adapters_st/"+dir)
		c := files[ConfigFile]
		if !bytes.Contains(c, []byte(old)) {
			t.Fatalf("%s: no %q", dir, old)
		}
		files[ConfigFile] = bytes.Replace(c, []byte(old), []byte(new), 1)
		return files
	}
	for _, tc := range []struct {
		name  string
		files map[string][]byte
		want  string
	}{
		{"scaling 1e400", replace("seq_bn", `"scaling": 1.0`, `"scaling": 1e400`), "invalid config: scaling = 1e400 is out of range"},
		{"scaling -1e400", replace("seq_bn", `"scaling": 1.0`, `"scaling": -1e400`), "invalid config: scaling = -1e400 is out of range"},
		{"scaling 1e300", replace("seq_bn", `"scaling": 1.0`, `"scaling": 1e300`), "config scaling = 1e+300, want a number of magnitude at most 1e+06"},
		{"reduction_factor 1e-300", replace("seq_bn", `"reduction_factor": 4`, `"reduction_factor": 1e-300`), "config reduction_factor = 1e-300, want"},
		{"alpha 1e300", replace("lora_qv", `"alpha": 8`, `"alpha": 1e300`), "config alpha = 1e+300, want a number of magnitude at most 1e+06"},
		{"alpha 1e400", replace("lora_qv", `"alpha": 8`, `"alpha": 1e400`), "invalid config: alpha = 1e400 is out of range"},
		{"r 1e300", replace("lora_qv", `"r": 4`, `"r": 1e300`), "config r = 1e+300, want an integer from 1 to 65536"},
		{"r 2.5", replace("lora_qv", `"r": 4`, `"r": 2.5`), "config r = 2.5, want an integer from 1 to 65536"},
		{"r 2^63", replace("lora_qv", `"r": 4`, `"r": 9223372036854775808`), "invalid config: r = 9223372036854775808 is out of range"},
		{"config is a number", map[string][]byte{ConfigFile: []byte(`{"name":"x","config":5}`)}, `"config" is 5, want an object or a config string`},
		{"config is a list", map[string][]byte{ConfigFile: []byte(`{"name":"x","config":[1,2]}`)}, `"config" is [1, 2], want an object or a config string`},
		{"union of 17", map[string][]byte{ConfigFile: unionJSON(17)}, "config union of 17 configs; a union has at most 16"},
		{"union of 60000", map[string][]byte{ConfigFile: unionJSON(60_000)}, "config union of 60000 configs; a union has at most 16"},
		{"union of 300000", map[string][]byte{ConfigFile: unionJSON(300_000)}, "18188954 bytes; a config file has at most 4194304"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := New(base)
			var err error
			d, alloc := measure(func() { _, err = m.Load(tc.files, LoadOptions{}) })
			t.Logf("%.200v in %v, %d KB allocated", err, d.Round(time.Millisecond), alloc>>10)
			if !isType[*FormatError](err) || !strings.Contains(err.Error(), "adapter_config.json: ") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %.300v (%T), want a FormatError containing %q", err, err, tc.want)
			}
			if strings.Contains(err.Error(), "adapters.") || strings.Contains(err.Error(), "pyInt") {
				t.Errorf("error names a Go type: %v", err)
			}
			if limit := uint64(16*len(tc.files[ConfigFile]) + 4<<20); alloc > limit {
				t.Errorf("allocated %d KB for a %d-byte config", alloc>>10, len(tc.files[ConfigFile]))
			}
		})
	}
	// A union of 16 distinct parts still loads as far as its weights.
	if _, err := New(base).Load(map[string][]byte{ConfigFile: unionJSON(16)}, LoadOptions{}); err == nil || strings.Contains(err.Error(), "union") {
		t.Errorf("union of 16: %v", err)
	}
}

// TestNoGoTypeNames: JSON values of the wrong kind are reported in JSON's terms, never with the
// Go types they were to be decoded into (encoding/json: "cannot unmarshal object into Go struct
// field HeadConfig.label2id of type int").
func TestNoGoTypeNames(t *testing.T) {
	base := tinyBase(t)
	for _, tc := range []struct{ file, content, want string }{
		{HeadConfigFile, `{"name":"lora_qv","config":{"head_type":"classification","label2id":{"a":{"b":1}}}}`, `invalid head config: "label2id" is an object, want an integer`},
		{ConfigFile, `{"name":["x"],"config":"lora"}`, `invalid JSON: "name" is an array, want a string`},
		{ConfigFile, `{"name":"x","hidden_size":"32","config":"lora"}`, `invalid JSON: "hidden_size" is a string, want an integer`},
	} {
		files := tinyFiles(t, "adapters_st/lora_qv")
		files[tc.file] = []byte(tc.content)
		_, err := New(base).Load(files, LoadOptions{})
		if !isType[*FormatError](err) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "Go ") {
			t.Errorf("%s: err = %v, want %q", tc.file, err, tc.want)
		}
	}
}

// TestLabelTableAfterWeights: a head config declaring 2^20 labels over weights for 3 is refused
// (a LoadError naming the misshaped tensor) before a label table of 2^20 names is built.
func TestLabelTableAfterWeights(t *testing.T) {
	base := tinyBase(t)
	files := tinyFiles(t, "adapters_st/seq_bn")
	files[HeadConfigFile] = []byte(`{"name":"seq_bn","config":{"head_type":"classification","num_labels":1048576,"layers":2,"activation_function":"tanh"}}`)
	var err error
	d, alloc := measure(func() { _, err = New(base).Load(files, LoadOptions{}) })
	t.Logf("%.200v in %v, %d KB allocated", err, d.Round(time.Millisecond), alloc>>10)
	if !isType[*LoadError](err) || !strings.Contains(err.Error(), "heads.seq_bn.4.weight has shape [3 32], want [1048576 32]") {
		t.Fatalf("err = %v", err)
	}
	if alloc > 4<<20 {
		t.Errorf("allocated %d KB", alloc>>10)
	}
	// 300,000 labels in label2id: a 5 MB head_config.json, refused by its size before decoding.
	var b strings.Builder
	b.WriteString(`{"name":"seq_bn","config":{"head_type":"classification","num_labels":300000,"label2id":{`)
	for i := range 300_000 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"label` + itoa(i) + `":` + itoa(i))
	}
	b.WriteString(`}}}`)
	files[HeadConfigFile] = []byte(b.String())
	d, alloc = measure(func() { _, err = New(base).Load(files, LoadOptions{}) })
	t.Logf("%.200v in %v, %d KB allocated", err, d.Round(time.Millisecond), alloc>>10)
	if !isType[*FormatError](err) || !strings.Contains(err.Error(), "head_config.json: 6077870 bytes; a config file has at most 4194304") || alloc > 1<<20 {
		t.Fatalf("err = %v, %d KB allocated", err, alloc>>10)
	}
}
