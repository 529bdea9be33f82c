package tokenizer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func BenchmarkEncode(b *testing.B) {
	tk := loadTokenizer(b)
	long := strings.Repeat("The quick brown fox jumps over the lazy dog while the band plays on. ", 8)
	for _, c := range []struct{ name, text string }{
		{"short", "I love this movie, it was absolutely wonderful!"},
		{"128tok", long}, // truncated at 128 tokens
		{"accents", strings.Repeat("Café déjà vu: naïve résumé, Ünïcödé façade. ", 10)},
		{"cjk", strings.Repeat("東京は日本の首都です。中文也可以。", 8)},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.text)))
			var n int
			for i := 0; i < b.N; i++ {
				n = len(tk.Encode(c.text, Options{}).IDs)
			}
			b.ReportMetric(float64(n), "tokens")
		})
	}
	b.Run("batch8x128pad", func(b *testing.B) {
		texts := make([]string, 8)
		for i := range texts {
			texts[i] = long[:len(long)-i*40]
		}
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			tk.EncodeBatch(texts, Options{Pad: true})
		}
	})
	b.Run("10MB-truncated", func(b *testing.B) {
		text := strings.Repeat("The quick brown fox jumps over the lazy dog. ", (10<<20)/45)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			tk.Encode(text, Options{})
		}
	})
	b.Run("10MB-full", func(b *testing.B) {
		text := strings.Repeat("The quick brown fox jumps over the lazy dog. ", (10<<20)/45)
		b.ReportAllocs()
		b.SetBytes(int64(len(text)))
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			tk.Encode(text, Options{MaxLength: -1})
		}
	})
}

func BenchmarkFromJSON(b *testing.B) {
	tk := loadTokenizer(b)
	_ = tk
	data := mustRead(b, "../../testdata/tiny/model/tokenizer.json")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := FromJSON(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeBPE(b *testing.B) {
	tk, _ := loadModelGolden(b, "bpe")
	b.ResetTimer()
	long := strings.Repeat("The quick brown fox jumps over the lazy dog while the band plays on. ", 8)
	for _, c := range []struct{ name, text string }{
		{"short", "I love this movie, it was absolutely wonderful!"},
		{"128tok", long},
		{"accents", strings.Repeat("Café déjà vu: naïve résumé, Ünïcödé façade. ", 10)},
		{"cjk", strings.Repeat("東京は日本の首都です。中文也可以。", 8)},
		{"longword", strings.Repeat("x", 10000)},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.text)))
			var n int
			for i := 0; i < b.N; i++ {
				n = len(tk.Encode(c.text, Options{MaxLength: -1}).IDs)
			}
			b.ReportMetric(float64(n), "tokens")
		})
	}
}

// BenchmarkFromJSONGPT2 loads GPT-2's real tokenizer.json (50,257 tokens, 50,000 merges).
func BenchmarkFromJSONGPT2(b *testing.B) {
	_, g := loadModelGolden(b, "gpt2")
	data := mustRead(b, filepath.Join(os.Getenv("ADAPTERWASM_CACHE"), strings.TrimPrefix(g.Tokenizer, "$ADAPTERWASM_CACHE/")))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := FromJSON(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeGPT2(b *testing.B) {
	tk, _ := loadModelGolden(b, "gpt2")
	text := strings.Repeat("The quick brown fox jumps over the lazy dog while the band plays on. ", 8)
	b.ReportAllocs()
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tk.Encode(text, Options{MaxLength: -1})
	}
}
