// Package kernels holds the plain-Go numeric kernels of the encoder: matrix products against
// PyTorch-layout weights, layer norm, softmax and activations. It knows nothing of models.
//
// Every activation is a row-major float32 slice; a matrix of r rows and c columns is r*c values.
// Every kernel here is the reference: faster variants (Wasm SIMD, int8) are tested against it.
package kernels
