// Package archtest holds the project's import boundaries: its test lists every package with
// `go list -json ./...` (natively and for js/wasm, with the build tags the project uses) and
// checks each import between the project's packages against one table of allowed edges.
// ARCHITECTURE.md's package diagram is drawn from that table; change both together.
package archtest
