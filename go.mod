module github.com/adapterwasm/adapterwasm

go 1.26
