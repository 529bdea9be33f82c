module github.com/adapterwasm/adapterwasm

go 1.26

require github.com/x448/float16 v0.8.4

require github.com/syumai/workers v0.33.0
