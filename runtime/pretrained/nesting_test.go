package pretrained_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/adapterwasm/adapterwasm/runtime/pretrained"
)

// TestDeepJSON: config.json, tokenizer.json and sentence_bert_config.json nesting deeper than 64
// levels are refused with a typed error naming the file before they are decoded, natively and
// under GOOS=js, at depths both under encoding/json's 10,000 and far over it.
func TestDeepJSON(t *testing.T) {
	files := tinyModelFiles(t)
	deep := func(n int) string { return strings.Repeat(`{"a":[`, n) + "1" + strings.Repeat("]}", n) }
	for _, depth := range []int{33, 4995, 100_000} {
		for _, tc := range []struct{ file, content string }{
			{pretrained.ConfigFile, `{"hidden_size":32,"extra":` + deep(depth) + `}`},
			{pretrained.TokenizerFile, `{"version":"1.0","normalizer":` + deep(depth) + `}`},
			{pretrained.SentenceBertConfig, `{"max_seq_length":8,"extra":` + deep(depth) + `}`},
		} {
			t.Run(fmt.Sprintf("%s %d deep", tc.file, 2*depth), func(t *testing.T) {
				f := map[string][]byte{}
				for k, v := range files {
					f[k] = v
				}
				f[tc.file] = []byte(tc.content)
				_, err := pretrained.Load(f)
				if err == nil || !loadTypedError(err) || !strings.Contains(err.Error(), tc.file) || !strings.Contains(err.Error(), "JSON nests deeper than 64 levels") {
					t.Fatalf("err = %.300v", err)
				}
				t.Log(err)
			})
		}
	}
}
