;; kernels.wat: Wasm SIMD kernels for adapterwasm, assembled at build time (./build.sh wasm,
;; npm wabt) into js/dist/kernels.wasm. The module imports the Go instance's linear memory, so
;; every pointer below is an address in Go's heap; Go calls these through //go:wasmimport
;; (runtime/kernels/simd_js.go) and a small JS trampoline (js/src/runtime.js,
;; runtime/kernels/wat/go_js_wasm_exec). Each export has a plain-Go reference in
;; runtime/kernels/simd.go that the tests compare it with.
;;
;; Strides (ld*) are in elements; the caller guarantees K % 4 == 0 (f32) or K % 32 == 0 (int8)
;; and 4-byte aligned f32 rows.
(module
  (import "env" "mem" (memory 0))

  ;; abi: the version of these exports' names and signatures. runtime/kernels/simd_js.go
  ;; (kernelABI) uses the module only when they match: bump both whenever an export changes.
  (func (export "abi") (result i32) (i32.const 9))

  ;; A horizontal sum of an f32x4 v is written out as (v0+v1)+(v2+v3) wherever it is needed:
  ;; V8 (Node 20) does not inline Wasm calls, and a call per output tile shows in profiles.

  ;; sgemm_nn: d[i*ldd + j] = Σ_p x[i*ldx + p] · y[p*ldy + j] for i < M, j < N, p < K (N % 4 == 0):
  ;; a product with y in its natural [K, N] layout, attention's P·V with V's head columns read in
  ;; place (no transpose). Outer-product tiles of 4 rows × 8 columns: per p, two f32x4 of y's row
  ;; and one broadcast x[i+r, p] per row, so nothing is reduced across lanes; each output sums
  ;; its K products in order p = 0, 1, …. Then a 4-column tile when N % 8 == 4; rows past the
  ;; last multiple of 4 one at a time.
  (func $sgemm_nn (export "sgemm_nn")
    (param $d i32) (param $ldd i32) (param $x i32) (param $ldx i32) (param $y i32) (param $ldy i32)
    (param $M i32) (param $K i32) (param $N i32)
    (local $i i32) (local $j i32) (local $py i32) (local $pe i32) (local $pd i32) (local $ldy4 i32)
    (local $px0 i32) (local $px1 i32) (local $px2 i32) (local $px3 i32)
    (local $a v128) (local $y0 v128) (local $y1 v128)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128) (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local.set $ldy4 (i32.shl (local.get $ldy) (i32.const 2)))
    (local.set $j (i32.const 0))
    (block $j8_done (loop $j8
      (br_if $j8_done (i32.gt_u (i32.add (local.get $j) (i32.const 8)) (local.get $N)))
    (local.set $i (i32.const 0))
    (block $i4_done (loop $i4
      (br_if $i4_done (i32.gt_u (i32.add (local.get $i) (i32.const 4)) (local.get $M)))
        (local.set $c00 (v128.const i64x2 0 0))
        (local.set $c01 (v128.const i64x2 0 0))
        (local.set $c10 (v128.const i64x2 0 0))
        (local.set $c11 (v128.const i64x2 0 0))
        (local.set $c20 (v128.const i64x2 0 0))
        (local.set $c21 (v128.const i64x2 0 0))
        (local.set $c30 (v128.const i64x2 0 0))
        (local.set $c31 (v128.const i64x2 0 0))
        (local.set $px0 (i32.add (local.get $x) (i32.shl (i32.mul (i32.add (local.get $i) (i32.const 0)) (local.get $ldx)) (i32.const 2))))
        (local.set $px1 (i32.add (local.get $x) (i32.shl (i32.mul (i32.add (local.get $i) (i32.const 1)) (local.get $ldx)) (i32.const 2))))
        (local.set $px2 (i32.add (local.get $x) (i32.shl (i32.mul (i32.add (local.get $i) (i32.const 2)) (local.get $ldx)) (i32.const 2))))
        (local.set $px3 (i32.add (local.get $x) (i32.shl (i32.mul (i32.add (local.get $i) (i32.const 3)) (local.get $ldx)) (i32.const 2))))
        (local.set $py (i32.add (local.get $y) (i32.shl (local.get $j) (i32.const 2))))
        (local.set $pe (i32.add (local.get $px0) (i32.shl (local.get $K) (i32.const 2))))
        (block $p_done (loop $pl
          (br_if $p_done (i32.ge_u (local.get $px0) (local.get $pe)))
          (local.set $y0 (v128.load offset=0 (local.get $py)))
          (local.set $y1 (v128.load offset=16 (local.get $py)))
          (local.set $a (v128.load32_splat (local.get $px0)))
          (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $a) (local.get $y0))))
          (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $a) (local.get $y1))))
          (local.set $a (v128.load32_splat (local.get $px1)))
          (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $a) (local.get $y0))))
          (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $a) (local.get $y1))))
          (local.set $a (v128.load32_splat (local.get $px2)))
          (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $a) (local.get $y0))))
          (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $a) (local.get $y1))))
          (local.set $a (v128.load32_splat (local.get $px3)))
          (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $a) (local.get $y0))))
          (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $a) (local.get $y1))))
          (local.set $px0 (i32.add (local.get $px0) (i32.const 4)))
          (local.set $px1 (i32.add (local.get $px1) (i32.const 4)))
          (local.set $px2 (i32.add (local.get $px2) (i32.const 4)))
          (local.set $px3 (i32.add (local.get $px3) (i32.const 4)))
          (local.set $py (i32.add (local.get $py) (local.get $ldy4)))
          (br $pl)))
        (local.set $pd (i32.add (local.get $d) (i32.shl (i32.add (i32.mul (i32.add (local.get $i) (i32.const 0)) (local.get $ldd)) (local.get $j)) (i32.const 2))))
        (v128.store offset=0 (local.get $pd) (local.get $c00))
        (v128.store offset=16 (local.get $pd) (local.get $c01))
        (local.set $pd (i32.add (local.get $d) (i32.shl (i32.add (i32.mul (i32.add (local.get $i) (i32.const 1)) (local.get $ldd)) (local.get $j)) (i32.const 2))))
        (v128.store offset=0 (local.get $pd) (local.get $c10))
        (v128.store offset=16 (local.get $pd) (local.get $c11))
        (local.set $pd (i32.add (local.get $d) (i32.shl (i32.add (i32.mul (i32.add (local.get $i) (i32.const 2)) (local.get $ldd)) (local.get $j)) (i32.const 2))))
        (v128.store offset=0 (local.get $pd) (local.get $c20))
        (v128.store offset=16 (local.get $pd) (local.get $c21))
        (local.set $pd (i32.add (local.get $d) (i32.shl (i32.add (i32.mul (i32.add (local.get $i) (i32.const 3)) (local.get $ldd)) (local.get $j)) (i32.const 2))))
        (v128.store offset=0 (local.get $pd) (local.get $c30))
        (v128.store offset=16 (local.get $pd) (local.get $c31))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $i4)))
    (block $i1_done (loop $i1
      (br_if $i1_done (i32.ge_u (local.get $i) (local.get $M)))
        (local.set $c00 (v128.const i64x2 0 0))
        (local.set $c01 (v128.const i64x2 0 0))
        (local.set $px0 (i32.add (local.get $x) (i32.shl (i32.mul (i32.add (local.get $i) (i32.const 0)) (local.get $ldx)) (i32.const 2))))
        (local.set $py (i32.add (local.get $y) (i32.shl (local.get $j) (i32.const 2))))
        (local.set $pe (i32.add (local.get $px0) (i32.shl (local.get $K) (i32.const 2))))
        (block $p_done (loop $pl
          (br_if $p_done (i32.ge_u (local.get $px0) (local.get $pe)))
          (local.set $y0 (v128.load offset=0 (local.get $py)))
          (local.set $y1 (v128.load offset=16 (local.get $py)))
          (local.set $a (v128.load32_splat (local.get $px0)))
          (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $a) (local.get $y0))))
          (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $a) (local.get $y1))))
          (local.set $px0 (i32.add (local.get $px0) (i32.const 4)))
          (local.set $py (i32.add (local.get $py) (local.get $ldy4)))
          (br $pl)))
        (local.set $pd (i32.add (local.get $d) (i32.shl (i32.add (i32.mul (i32.add (local.get $i) (i32.const 0)) (local.get $ldd)) (local.get $j)) (i32.const 2))))
        (v128.store offset=0 (local.get $pd) (local.get $c00))
        (v128.store offset=16 (local.get $pd) (local.get $c01))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $i1)))
      (local.set $j (i32.add (local.get $j) (i32.const 8)))
      (br $j8)))
    (if (i32.lt_u (local.get $j) (local.get $N)) (then
    (local.set $i (i32.const 0))
    (block $i4_done (loop $i4
      (br_if $i4_done (i32.gt_u (i32.add (local.get $i) (i32.const 4)) (local.get $M)))
        (local.set $c00 (v128.const i64x2 0 0))
        (local.set $c10 (v128.const i64x2 0 0))
        (local.set $c20 (v128.const i64x2 0 0))
        (local.set $c30 (v128.const i64x2 0 0))
        (local.set $px0 (i32.add (local.get $x) (i32.shl (i32.mul (i32.add (local.get $i) (i32.const 0)) (local.get $ldx)) (i32.const 2))))
        (local.set $px1 (i32.add (local.get $x) (i32.shl (i32.mul (i32.add (local.get $i) (i32.const 1)) (local.get $ldx)) (i32.const 2))))
        (local.set $px2 (i32.add (local.get $x) (i32.shl (i32.mul (i32.add (local.get $i) (i32.const 2)) (local.get $ldx)) (i32.const 2))))
        (local.set $px3 (i32.add (local.get $x) (i32.shl (i32.mul (i32.add (local.get $i) (i32.const 3)) (local.get $ldx)) (i32.const 2))))
        (local.set $py (i32.add (local.get $y) (i32.shl (local.get $j) (i32.const 2))))
        (local.set $pe (i32.add (local.get $px0) (i32.shl (local.get $K) (i32.const 2))))
        (block $p_done (loop $pl
          (br_if $p_done (i32.ge_u (local.get $px0) (local.get $pe)))
          (local.set $y0 (v128.load offset=0 (local.get $py)))
          (local.set $a (v128.load32_splat (local.get $px0)))
          (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $a) (local.get $y0))))
          (local.set $a (v128.load32_splat (local.get $px1)))
          (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $a) (local.get $y0))))
          (local.set $a (v128.load32_splat (local.get $px2)))
          (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $a) (local.get $y0))))
          (local.set $a (v128.load32_splat (local.get $px3)))
          (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $a) (local.get $y0))))
          (local.set $px0 (i32.add (local.get $px0) (i32.const 4)))
          (local.set $px1 (i32.add (local.get $px1) (i32.const 4)))
          (local.set $px2 (i32.add (local.get $px2) (i32.const 4)))
          (local.set $px3 (i32.add (local.get $px3) (i32.const 4)))
          (local.set $py (i32.add (local.get $py) (local.get $ldy4)))
          (br $pl)))
        (local.set $pd (i32.add (local.get $d) (i32.shl (i32.add (i32.mul (i32.add (local.get $i) (i32.const 0)) (local.get $ldd)) (local.get $j)) (i32.const 2))))
        (v128.store offset=0 (local.get $pd) (local.get $c00))
        (local.set $pd (i32.add (local.get $d) (i32.shl (i32.add (i32.mul (i32.add (local.get $i) (i32.const 1)) (local.get $ldd)) (local.get $j)) (i32.const 2))))
        (v128.store offset=0 (local.get $pd) (local.get $c10))
        (local.set $pd (i32.add (local.get $d) (i32.shl (i32.add (i32.mul (i32.add (local.get $i) (i32.const 2)) (local.get $ldd)) (local.get $j)) (i32.const 2))))
        (v128.store offset=0 (local.get $pd) (local.get $c20))
        (local.set $pd (i32.add (local.get $d) (i32.shl (i32.add (i32.mul (i32.add (local.get $i) (i32.const 3)) (local.get $ldd)) (local.get $j)) (i32.const 2))))
        (v128.store offset=0 (local.get $pd) (local.get $c30))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $i4)))
    (block $i1_done (loop $i1
      (br_if $i1_done (i32.ge_u (local.get $i) (local.get $M)))
        (local.set $c00 (v128.const i64x2 0 0))
        (local.set $px0 (i32.add (local.get $x) (i32.shl (i32.mul (i32.add (local.get $i) (i32.const 0)) (local.get $ldx)) (i32.const 2))))
        (local.set $py (i32.add (local.get $y) (i32.shl (local.get $j) (i32.const 2))))
        (local.set $pe (i32.add (local.get $px0) (i32.shl (local.get $K) (i32.const 2))))
        (block $p_done (loop $pl
          (br_if $p_done (i32.ge_u (local.get $px0) (local.get $pe)))
          (local.set $y0 (v128.load offset=0 (local.get $py)))
          (local.set $a (v128.load32_splat (local.get $px0)))
          (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $a) (local.get $y0))))
          (local.set $px0 (i32.add (local.get $px0) (i32.const 4)))
          (local.set $py (i32.add (local.get $py) (local.get $ldy4)))
          (br $pl)))
        (local.set $pd (i32.add (local.get $d) (i32.shl (i32.add (i32.mul (i32.add (local.get $i) (i32.const 0)) (local.get $ldd)) (local.get $j)) (i32.const 2))))
        (v128.store offset=0 (local.get $pd) (local.get $c00))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $i1)))))
  )

  ;; sgemm_nt: d[i*ldd + j] = Σ_k x[i*ldx + k] · w[j*ldw + k] for i < M, j < N, k < K
  ;; (y = x·Wᵀ with W in nn.Linear's [out, in] layout). Tiles of 2 rows of x × 4 rows of w,
  ;; 8 f32x4 accumulators along K; w is walked in blocks of rows that fit in L1 and every pair
  ;; of x rows is run against a block before the next one. A tile's 4 accumulators of a row are
  ;; reduced together (two rounds of 32-bit interleaves and adds) into one f32x4 store: each
  ;; output is (v0+v2)+(v1+v3) of its accumulator. Attention's q·kᵀ (K = 32, the head size) is
  ;; 8 steps of K per tile, so 4 extract-and-add chains per 4 outputs used to cost as much.
  (func $sgemm (export "sgemm_nt")
    (param $d i32) (param $ldd i32) (param $x i32) (param $ldx i32) (param $w i32) (param $ldw i32)
    (param $M i32) (param $K i32) (param $N i32)
    (local $nb i32) (local $N4 i32) (local $j0 i32) (local $j1 i32) (local $i i32) (local $j i32)
    (local $k i32) (local $kb i32)
    (local $px0 i32) (local $px1 i32) (local $pw0 i32) (local $pw1 i32) (local $pw2 i32) (local $pw3 i32)
    (local $pd i32)
    (local $a v128) (local $b v128) (local $c v128)
    (local $s00 v128) (local $s01 v128) (local $s02 v128) (local $s03 v128)
    (local $s10 v128) (local $s11 v128) (local $s12 v128) (local $s13 v128)
    (local $f f32)
    (local.set $kb (i32.shl (local.get $K) (i32.const 2)))
    ;; rows of w per block: about 24 KB of w, at least one tile
    (local.set $nb (i32.and (i32.div_u (i32.const 6144) (local.get $K)) (i32.const -4)))
    (if (i32.lt_u (local.get $nb) (i32.const 4)) (then (local.set $nb (i32.const 4))))
    (local.set $N4 (i32.and (local.get $N) (i32.const -4)))
    (local.set $j0 (i32.const 0))
    (block $jb_done (loop $jb
      (br_if $jb_done (i32.ge_u (local.get $j0) (local.get $N4)))
      (local.set $j1 (i32.add (local.get $j0) (local.get $nb)))
      (if (i32.gt_u (local.get $j1) (local.get $N4)) (then (local.set $j1 (local.get $N4))))
      (local.set $i (i32.const 0))
      (block $i_done (loop $il
        (br_if $i_done (i32.ge_u (local.get $i) (local.get $M)))
        (local.set $px0 (i32.add (local.get $x) (i32.shl (i32.mul (local.get $i) (local.get $ldx)) (i32.const 2))))
        (local.set $px1 (i32.add (local.get $px0) (i32.shl (local.get $ldx) (i32.const 2))))
        (local.set $j (local.get $j0))
        (block $j_done (loop $jl
          (br_if $j_done (i32.ge_u (local.get $j) (local.get $j1)))
          (local.set $pw0 (i32.add (local.get $w) (i32.shl (i32.mul (local.get $j) (local.get $ldw)) (i32.const 2))))
          (local.set $pw1 (i32.add (local.get $pw0) (i32.shl (local.get $ldw) (i32.const 2))))
          (local.set $pw2 (i32.add (local.get $pw1) (i32.shl (local.get $ldw) (i32.const 2))))
          (local.set $pw3 (i32.add (local.get $pw2) (i32.shl (local.get $ldw) (i32.const 2))))
          (local.set $pd (i32.add (local.get $d) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $ldd)) (local.get $j)) (i32.const 2))))
          (if (i32.lt_u (i32.add (local.get $i) (i32.const 1)) (local.get $M))
            (then
              ;; 2×4 tile
              (local.set $s00 (v128.const i64x2 0 0)) (local.set $s01 (v128.const i64x2 0 0))
              (local.set $s02 (v128.const i64x2 0 0)) (local.set $s03 (v128.const i64x2 0 0))
              (local.set $s10 (v128.const i64x2 0 0)) (local.set $s11 (v128.const i64x2 0 0))
              (local.set $s12 (v128.const i64x2 0 0)) (local.set $s13 (v128.const i64x2 0 0))
              (local.set $k (i32.const 0))
              (block $k_done (loop $kl
                (br_if $k_done (i32.ge_u (local.get $k) (local.get $kb)))
                (local.set $a (v128.load (i32.add (local.get $px0) (local.get $k))))
                (local.set $b (v128.load (i32.add (local.get $px1) (local.get $k))))
                (local.set $c (v128.load (i32.add (local.get $pw0) (local.get $k))))
                (local.set $s00 (f32x4.add (local.get $s00) (f32x4.mul (local.get $a) (local.get $c))))
                (local.set $s10 (f32x4.add (local.get $s10) (f32x4.mul (local.get $b) (local.get $c))))
                (local.set $c (v128.load (i32.add (local.get $pw1) (local.get $k))))
                (local.set $s01 (f32x4.add (local.get $s01) (f32x4.mul (local.get $a) (local.get $c))))
                (local.set $s11 (f32x4.add (local.get $s11) (f32x4.mul (local.get $b) (local.get $c))))
                (local.set $c (v128.load (i32.add (local.get $pw2) (local.get $k))))
                (local.set $s02 (f32x4.add (local.get $s02) (f32x4.mul (local.get $a) (local.get $c))))
                (local.set $s12 (f32x4.add (local.get $s12) (f32x4.mul (local.get $b) (local.get $c))))
                (local.set $c (v128.load (i32.add (local.get $pw3) (local.get $k))))
                (local.set $s03 (f32x4.add (local.get $s03) (f32x4.mul (local.get $a) (local.get $c))))
                (local.set $s13 (f32x4.add (local.get $s13) (f32x4.mul (local.get $b) (local.get $c))))
                (local.set $k (i32.add (local.get $k) (i32.const 16)))
                (br $kl)))
              (local.set $a (f32x4.add (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $s00) (local.get $s01)) (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $s00) (local.get $s01))))
              (local.set $b (f32x4.add (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $s02) (local.get $s03)) (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $s02) (local.get $s03))))
              (v128.store (local.get $pd) (f32x4.add (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $a) (local.get $b)) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $a) (local.get $b))))
              (local.set $pd (i32.add (local.get $pd) (i32.shl (local.get $ldd) (i32.const 2))))
              (local.set $a (f32x4.add (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $s10) (local.get $s11)) (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $s10) (local.get $s11))))
              (local.set $b (f32x4.add (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $s12) (local.get $s13)) (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $s12) (local.get $s13))))
              (v128.store (local.get $pd) (f32x4.add (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $a) (local.get $b)) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $a) (local.get $b)))))
            (else
              ;; last odd row: 1×4 tile
              (local.set $s00 (v128.const i64x2 0 0)) (local.set $s01 (v128.const i64x2 0 0))
              (local.set $s02 (v128.const i64x2 0 0)) (local.set $s03 (v128.const i64x2 0 0))
              (local.set $k (i32.const 0))
              (block $k_done (loop $kl
                (br_if $k_done (i32.ge_u (local.get $k) (local.get $kb)))
                (local.set $a (v128.load (i32.add (local.get $px0) (local.get $k))))
                (local.set $s00 (f32x4.add (local.get $s00) (f32x4.mul (local.get $a) (v128.load (i32.add (local.get $pw0) (local.get $k))))))
                (local.set $s01 (f32x4.add (local.get $s01) (f32x4.mul (local.get $a) (v128.load (i32.add (local.get $pw1) (local.get $k))))))
                (local.set $s02 (f32x4.add (local.get $s02) (f32x4.mul (local.get $a) (v128.load (i32.add (local.get $pw2) (local.get $k))))))
                (local.set $s03 (f32x4.add (local.get $s03) (f32x4.mul (local.get $a) (v128.load (i32.add (local.get $pw3) (local.get $k))))))
                (local.set $k (i32.add (local.get $k) (i32.const 16)))
                (br $kl)))
              (local.set $a (f32x4.add (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $s00) (local.get $s01)) (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $s00) (local.get $s01))))
              (local.set $b (f32x4.add (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $s02) (local.get $s03)) (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $s02) (local.get $s03))))
              (v128.store (local.get $pd) (f32x4.add (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $a) (local.get $b)) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $a) (local.get $b))))))
          (local.set $j (i32.add (local.get $j) (i32.const 4)))
          (br $jl)))
        (local.set $i (i32.add (local.get $i) (i32.const 2)))
        (br $il)))
      (local.set $j0 (local.get $j1))
      (br $jb)))
    ;; the last N % 4 columns: one dot product each
    (local.set $j (local.get $N4))
    (block $jr_done (loop $jr
      (br_if $jr_done (i32.ge_u (local.get $j) (local.get $N)))
      (local.set $pw0 (i32.add (local.get $w) (i32.shl (i32.mul (local.get $j) (local.get $ldw)) (i32.const 2))))
      (local.set $i (i32.const 0))
      (block $ir_done (loop $ir
        (br_if $ir_done (i32.ge_u (local.get $i) (local.get $M)))
        (local.set $px0 (i32.add (local.get $x) (i32.shl (i32.mul (local.get $i) (local.get $ldx)) (i32.const 2))))
        (local.set $s00 (v128.const i64x2 0 0))
        (local.set $k (i32.const 0))
        (block $k_done (loop $kl
          (br_if $k_done (i32.ge_u (local.get $k) (local.get $kb)))
          (local.set $s00 (f32x4.add (local.get $s00)
            (f32x4.mul (v128.load (i32.add (local.get $px0) (local.get $k))) (v128.load (i32.add (local.get $pw0) (local.get $k))))))
          (local.set $k (i32.add (local.get $k) (i32.const 16)))
          (br $kl)))
        (f32.store (i32.add (local.get $d) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $ldd)) (local.get $j)) (i32.const 2)))
          (f32.add (f32.add (f32x4.extract_lane 0 (local.get $s00)) (f32x4.extract_lane 1 (local.get $s00))) (f32.add (f32x4.extract_lane 2 (local.get $s00)) (f32x4.extract_lane 3 (local.get $s00)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $ir)))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $jr)))
  )

  ;; quant_i16: quantizes x [M, K] (row stride ldx) into int16 q [M, K] (contiguous) with one f32
  ;; scale per 32 values s [M, K/32]: d = amax/32767, q = round-half-even(x · (1/d))
  ;; (0 when d == 0). ggml's Q8_0 activation quantization with 16-bit instead of 8-bit values: the
  ;; activations lose about 1/65534 of their block's amax instead of 1/254, so a Q8 product is
  ;; Q8.MulT's (float32 activations) to ~1e-5, at the same cost: i32x4.dot_i16x8_s takes 16-bit
  ;; lanes either way, and |x·w| ≤ 32767·127 over a block of 32 stays far inside int32. The
  ;; rounding is x·(1/d) + 1.5·2^23 (round half to even, exact for |x·(1/d)| ≤ 32767 < 2^22)
  ;; with the integer read back from the mantissa bits: cheaper in V8 than f32x4.nearest and
  ;; i32x4.trunc_sat_f32x4_s; no value can need the saturation.
  (func (export "quant_i16")
    (param $q i32) (param $s i32) (param $x i32) (param $ldx i32) (param $M i32) (param $K i32)
    (local $i i32) (local $px i32) (local $pe i32) (local $m v128) (local $id v128) (local $amax f32) (local $dd f32)
    (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $v3 v128)
    (local $v4 v128) (local $v5 v128) (local $v6 v128) (local $v7 v128)
    (block $i_done (loop $il
      (br_if $i_done (i32.ge_u (local.get $i) (local.get $M)))
      (local.set $px (i32.add (local.get $x) (i32.shl (i32.mul (local.get $i) (local.get $ldx)) (i32.const 2))))
      (local.set $pe (i32.add (local.get $px) (i32.shl (local.get $K) (i32.const 2))))
      (block $b_done (loop $bl
        (br_if $b_done (i32.ge_u (local.get $px) (local.get $pe)))
        (local.set $v0 (v128.load offset=0 (local.get $px)))
        (local.set $v1 (v128.load offset=16 (local.get $px)))
        (local.set $v2 (v128.load offset=32 (local.get $px)))
        (local.set $v3 (v128.load offset=48 (local.get $px)))
        (local.set $v4 (v128.load offset=64 (local.get $px)))
        (local.set $v5 (v128.load offset=80 (local.get $px)))
        (local.set $v6 (v128.load offset=96 (local.get $px)))
        (local.set $v7 (v128.load offset=112 (local.get $px)))
        ;; amax as an unsigned integer max of |x|'s bits: for non-negative floats the bit patterns
        ;; order as the values, and a NaN's bits exceed +inf's, so a NaN wins as in f32x4.max
        ;; (which V8 emits as ~8 instructions for its NaN and ±0 rules; i32x4.max_u is one).
        (local.set $m (i32x4.max_u
          (i32x4.max_u (i32x4.max_u (f32x4.abs (local.get $v0)) (f32x4.abs (local.get $v1)))
                       (i32x4.max_u (f32x4.abs (local.get $v2)) (f32x4.abs (local.get $v3))))
          (i32x4.max_u (i32x4.max_u (f32x4.abs (local.get $v4)) (f32x4.abs (local.get $v5)))
                       (i32x4.max_u (f32x4.abs (local.get $v6)) (f32x4.abs (local.get $v7))))))
        (local.set $m (i32x4.max_u (local.get $m) (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $m) (local.get $m))))
        (local.set $m (i32x4.max_u (local.get $m) (i8x16.shuffle 4 5 6 7 0 1 2 3 12 13 14 15 8 9 10 11 (local.get $m) (local.get $m))))
        (local.set $amax (f32x4.extract_lane 0 (local.get $m)))
        (local.set $dd (f32.div (local.get $amax) (f32.const 32767)))
        (f32.store (local.get $s) (local.get $dd))
        (local.set $id (f32x4.splat (select (f32.div (f32.const 1) (local.get $dd)) (f32.const 0)
          (f32.ne (local.get $dd) (f32.const 0)))))
        (v128.store offset=0 (local.get $q)
          (i16x8.narrow_i32x4_s
            (i32x4.sub (f32x4.add (f32x4.mul (local.get $v0) (local.get $id)) (v128.const f32x4 12582912 12582912 12582912 12582912)) (v128.const i32x4 0x4B400000 0x4B400000 0x4B400000 0x4B400000))
            (i32x4.sub (f32x4.add (f32x4.mul (local.get $v1) (local.get $id)) (v128.const f32x4 12582912 12582912 12582912 12582912)) (v128.const i32x4 0x4B400000 0x4B400000 0x4B400000 0x4B400000))))
        (v128.store offset=16 (local.get $q)
          (i16x8.narrow_i32x4_s
            (i32x4.sub (f32x4.add (f32x4.mul (local.get $v2) (local.get $id)) (v128.const f32x4 12582912 12582912 12582912 12582912)) (v128.const i32x4 0x4B400000 0x4B400000 0x4B400000 0x4B400000))
            (i32x4.sub (f32x4.add (f32x4.mul (local.get $v3) (local.get $id)) (v128.const f32x4 12582912 12582912 12582912 12582912)) (v128.const i32x4 0x4B400000 0x4B400000 0x4B400000 0x4B400000))))
        (v128.store offset=32 (local.get $q)
          (i16x8.narrow_i32x4_s
            (i32x4.sub (f32x4.add (f32x4.mul (local.get $v4) (local.get $id)) (v128.const f32x4 12582912 12582912 12582912 12582912)) (v128.const i32x4 0x4B400000 0x4B400000 0x4B400000 0x4B400000))
            (i32x4.sub (f32x4.add (f32x4.mul (local.get $v5) (local.get $id)) (v128.const f32x4 12582912 12582912 12582912 12582912)) (v128.const i32x4 0x4B400000 0x4B400000 0x4B400000 0x4B400000))))
        (v128.store offset=48 (local.get $q)
          (i16x8.narrow_i32x4_s
            (i32x4.sub (f32x4.add (f32x4.mul (local.get $v6) (local.get $id)) (v128.const f32x4 12582912 12582912 12582912 12582912)) (v128.const i32x4 0x4B400000 0x4B400000 0x4B400000 0x4B400000))
            (i32x4.sub (f32x4.add (f32x4.mul (local.get $v7) (local.get $id)) (v128.const f32x4 12582912 12582912 12582912 12582912)) (v128.const i32x4 0x4B400000 0x4B400000 0x4B400000 0x4B400000))))
        (local.set $q (i32.add (local.get $q) (i32.const 64)))
        (local.set $s (i32.add (local.get $s) (i32.const 4)))
        (local.set $px (i32.add (local.get $px) (i32.const 128)))
        (br $bl)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $il)))
  )

;; quant_u7 quantizes x [M, K] (row stride ldx, K % 32 == 0) to 7-bit unsigned integers for
  ;; qgemm_r7 (kernels_relaxed.wat), per row and block of 32 values asymmetrically: lx = min,
  ;; dx = (max - lx)/127, ux = round-half-even((x - lx)·(1/dx)) (0 when dx == 0), at most 127, so
  ;; x ≈ lx + dx·ux. A row's ux lie 4 rows interleaved, as qgemm_r7 reads them: byte (i, k) at
  ;; q + ((i/4)·(K/4) + k/4)·16 + (i%4)·4 + k%4, and (dx, lx) at s + (((i/4)·nb + b)·4 + i%4)·8;
  ;; the rows from M to M rounded up to 4 are written as zeros (ux, dx, lx). The plain-Go
  ;; reference is QuantizeU7Rows (row-major). Rounding as in quant_i16; min and max with
  ;; f32x4.pmin/pmax (one instruction each: activations are never NaN).
  (func (export "quant_u7")
    (param $q i32) (param $s i32) (param $x i32) (param $ldx i32) (param $M i32) (param $K i32)
    (local $i i32) (local $M4 i32) (local $nb i32) (local $px i32) (local $pe i32) (local $pq i32) (local $ps i32)
    (local $lo v128) (local $hi v128) (local $id v128) (local $u v128) (local $dd f32) (local $lof f32)
    (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $v3 v128)
    (local $v4 v128) (local $v5 v128) (local $v6 v128) (local $v7 v128)
    (local.set $nb (i32.shr_u (local.get $K) (i32.const 5)))
    (local.set $M4 (i32.and (i32.add (local.get $M) (i32.const 3)) (i32.const -4)))
    (block $i_done (loop $il
      (br_if $i_done (i32.ge_u (local.get $i) (local.get $M4)))
      (local.set $pq (i32.add (i32.add (local.get $q) (i32.mul (i32.and (local.get $i) (i32.const -4)) (local.get $K)))
        (i32.shl (i32.and (local.get $i) (i32.const 3)) (i32.const 2))))
      (local.set $ps (i32.add (i32.add (local.get $s) (i32.shl (i32.mul (i32.and (local.get $i) (i32.const -4)) (local.get $nb)) (i32.const 3)))
        (i32.shl (i32.and (local.get $i) (i32.const 3)) (i32.const 3))))
      (local.set $px (i32.add (local.get $x) (i32.shl (i32.mul (local.get $i) (local.get $ldx)) (i32.const 2))))
      (local.set $pe (i32.add (local.get $px) (i32.shl (local.get $K) (i32.const 2))))
      (block $b_done (loop $bl
        (br_if $b_done (i32.ge_u (local.get $px) (local.get $pe)))
        (if (i32.lt_u (local.get $i) (local.get $M))
          (then
        (local.set $v0 (v128.load offset=0 (local.get $px)))
        (local.set $v1 (v128.load offset=16 (local.get $px)))
        (local.set $v2 (v128.load offset=32 (local.get $px)))
        (local.set $v3 (v128.load offset=48 (local.get $px)))
        (local.set $v4 (v128.load offset=64 (local.get $px)))
        (local.set $v5 (v128.load offset=80 (local.get $px)))
        (local.set $v6 (v128.load offset=96 (local.get $px)))
        (local.set $v7 (v128.load offset=112 (local.get $px)))
            (local.set $lo (f32x4.pmin (f32x4.pmin (f32x4.pmin (local.get $v0) (local.get $v1)) (f32x4.pmin (local.get $v2) (local.get $v3))) (f32x4.pmin (f32x4.pmin (local.get $v4) (local.get $v5)) (f32x4.pmin (local.get $v6) (local.get $v7)))))
            (local.set $hi (f32x4.pmax (f32x4.pmax (f32x4.pmax (local.get $v0) (local.get $v1)) (f32x4.pmax (local.get $v2) (local.get $v3))) (f32x4.pmax (f32x4.pmax (local.get $v4) (local.get $v5)) (f32x4.pmax (local.get $v6) (local.get $v7)))))
            (local.set $lo (f32x4.pmin (local.get $lo) (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $lo) (local.get $lo))))
            (local.set $lo (f32x4.pmin (local.get $lo) (i8x16.shuffle 4 5 6 7 0 1 2 3 12 13 14 15 8 9 10 11 (local.get $lo) (local.get $lo))))
            (local.set $hi (f32x4.pmax (local.get $hi) (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $hi) (local.get $hi))))
            (local.set $hi (f32x4.pmax (local.get $hi) (i8x16.shuffle 4 5 6 7 0 1 2 3 12 13 14 15 8 9 10 11 (local.get $hi) (local.get $hi))))
            (local.set $lof (f32x4.extract_lane 0 (local.get $lo)))
            (local.set $dd (f32.div (f32.sub (f32x4.extract_lane 0 (local.get $hi)) (local.get $lof)) (f32.const 127)))
            (f32.store (local.get $ps) (local.get $dd))
            (f32.store offset=4 (local.get $ps) (local.get $lof))
            (local.set $lo (f32x4.splat (local.get $lof)))
            (local.set $id (f32x4.splat (select (f32.div (f32.const 1) (local.get $dd)) (f32.const 0)
              (f32.ne (local.get $dd) (f32.const 0)))))
        (local.set $u (i8x16.min_u (i8x16.narrow_i16x8_u (i16x8.narrow_i32x4_s (i32x4.sub (f32x4.add (f32x4.mul (f32x4.sub (local.get $v0) (local.get $lo)) (local.get $id)) (v128.const f32x4 12582912 12582912 12582912 12582912)) (v128.const i32x4 0x4B400000 0x4B400000 0x4B400000 0x4B400000)) (i32x4.sub (f32x4.add (f32x4.mul (f32x4.sub (local.get $v1) (local.get $lo)) (local.get $id)) (v128.const f32x4 12582912 12582912 12582912 12582912)) (v128.const i32x4 0x4B400000 0x4B400000 0x4B400000 0x4B400000))) (i16x8.narrow_i32x4_s (i32x4.sub (f32x4.add (f32x4.mul (f32x4.sub (local.get $v2) (local.get $lo)) (local.get $id)) (v128.const f32x4 12582912 12582912 12582912 12582912)) (v128.const i32x4 0x4B400000 0x4B400000 0x4B400000 0x4B400000)) (i32x4.sub (f32x4.add (f32x4.mul (f32x4.sub (local.get $v3) (local.get $lo)) (local.get $id)) (v128.const f32x4 12582912 12582912 12582912 12582912)) (v128.const i32x4 0x4B400000 0x4B400000 0x4B400000 0x4B400000)))) (v128.const i8x16 127 127 127 127 127 127 127 127 127 127 127 127 127 127 127 127)))
        (v128.store32_lane offset=0 0 (local.get $pq) (local.get $u))
        (v128.store32_lane offset=16 1 (local.get $pq) (local.get $u))
        (v128.store32_lane offset=32 2 (local.get $pq) (local.get $u))
        (v128.store32_lane offset=48 3 (local.get $pq) (local.get $u))
        (local.set $u (i8x16.min_u (i8x16.narrow_i16x8_u (i16x8.narrow_i32x4_s (i32x4.sub (f32x4.add (f32x4.mul (f32x4.sub (local.get $v4) (local.get $lo)) (local.get $id)) (v128.const f32x4 12582912 12582912 12582912 12582912)) (v128.const i32x4 0x4B400000 0x4B400000 0x4B400000 0x4B400000)) (i32x4.sub (f32x4.add (f32x4.mul (f32x4.sub (local.get $v5) (local.get $lo)) (local.get $id)) (v128.const f32x4 12582912 12582912 12582912 12582912)) (v128.const i32x4 0x4B400000 0x4B400000 0x4B400000 0x4B400000))) (i16x8.narrow_i32x4_s (i32x4.sub (f32x4.add (f32x4.mul (f32x4.sub (local.get $v6) (local.get $lo)) (local.get $id)) (v128.const f32x4 12582912 12582912 12582912 12582912)) (v128.const i32x4 0x4B400000 0x4B400000 0x4B400000 0x4B400000)) (i32x4.sub (f32x4.add (f32x4.mul (f32x4.sub (local.get $v7) (local.get $lo)) (local.get $id)) (v128.const f32x4 12582912 12582912 12582912 12582912)) (v128.const i32x4 0x4B400000 0x4B400000 0x4B400000 0x4B400000)))) (v128.const i8x16 127 127 127 127 127 127 127 127 127 127 127 127 127 127 127 127)))
        (v128.store32_lane offset=64 0 (local.get $pq) (local.get $u))
        (v128.store32_lane offset=80 1 (local.get $pq) (local.get $u))
        (v128.store32_lane offset=96 2 (local.get $pq) (local.get $u))
        (v128.store32_lane offset=112 3 (local.get $pq) (local.get $u))
          )
          (else
            (local.set $u (v128.const i64x2 0 0))
            (v128.store32_lane offset=0 0 (local.get $pq) (local.get $u))
            (v128.store32_lane offset=16 0 (local.get $pq) (local.get $u))
            (v128.store32_lane offset=32 0 (local.get $pq) (local.get $u))
            (v128.store32_lane offset=48 0 (local.get $pq) (local.get $u))
            (v128.store32_lane offset=64 0 (local.get $pq) (local.get $u))
            (v128.store32_lane offset=80 0 (local.get $pq) (local.get $u))
            (v128.store32_lane offset=96 0 (local.get $pq) (local.get $u))
            (v128.store32_lane offset=112 0 (local.get $pq) (local.get $u))
            (i64.store (local.get $ps) (i64.const 0))))
        (local.set $pq (i32.add (local.get $pq) (i32.const 128)))
        (local.set $ps (i32.add (local.get $ps) (i32.const 32)))
        (local.set $px (i32.add (local.get $px) (i32.const 128)))
        (br $bl)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $il)))
  )

  ;; pack_q7 rearranges an int8 matrix qw [N, K] (N % 8 == 0, K % 32 == 0) and its scales sw
  ;; [N, K/32] for qgemm_r7 (kernels_relaxed.wat), as Go's Q8.packQ7 (its reference): for every 8
  ;; rows, the k-quads of the 8 rows side by side, wp [N/8][K/4][8][4] (a 4×4 transpose of 32-bit
  ;; lanes per 4 rows and 16 bytes), and tp [N/8][K/32][16]: per block the scales of rows 0-3,
  ;; those scales times the sums of the rows' int8 weights in the block, then the same for rows 4-7.
  (func (export "pack_q7") (param $wp i32) (param $tp i32) (param $qw i32) (param $sw i32) (param $N i32) (param $K i32)
    (local $j i32) (local $k i32) (local $c i32) (local $b i32) (local $nb i32) (local $r i32) (local $out i32) (local $src i32) (local $d f32)
    (local $x0 v128) (local $x1 v128) (local $x2 v128) (local $x3 v128) (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128) (local $s v128)
    (local.set $nb (i32.shr_u (local.get $K) (i32.const 5)))
    (block $j_done (loop $jl
      (br_if $j_done (i32.ge_u (local.get $j) (local.get $N)))
      (local.set $out (i32.add (local.get $wp) (i32.mul (local.get $j) (local.get $K))))
      ;; two halves of 4 rows each (c = 0, 4): 16 bytes of each row at a time
      (local.set $c (i32.const 0))
      (block $c_done (loop $cl
        (br_if $c_done (i32.ge_u (local.get $c) (i32.const 8)))
        (local.set $r (i32.add (local.get $qw) (i32.mul (i32.add (local.get $j) (local.get $c)) (local.get $K))))
        (local.set $k (i32.const 0))
        (block $k_done (loop $kl
          (br_if $k_done (i32.ge_u (local.get $k) (local.get $K)))
          (local.set $x0 (v128.load (i32.add (local.get $r) (local.get $k))))
          (local.set $x1 (v128.load (i32.add (i32.add (local.get $r) (local.get $K)) (local.get $k))))
          (local.set $x2 (v128.load (i32.add (i32.add (local.get $r) (i32.shl (local.get $K) (i32.const 1))) (local.get $k))))
          (local.set $x3 (v128.load (i32.add (i32.add (local.get $r) (i32.mul (local.get $K) (i32.const 3))) (local.get $k))))
          (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $x0) (local.get $x1)))
          (local.set $t1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $x0) (local.get $x1)))
          (local.set $t2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $x2) (local.get $x3)))
          (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $x2) (local.get $x3)))
          ;; k-quad k/4 + q of rows c..c+3 at out + (k/4 + q)·32 + c·4
          (local.set $src (i32.add (i32.add (local.get $out) (i32.shl (local.get $k) (i32.const 3))) (i32.shl (local.get $c) (i32.const 2))))
          (v128.store offset=0 (local.get $src) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t2)))
          (v128.store offset=32 (local.get $src) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t2)))
          (v128.store offset=64 (local.get $src) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t1) (local.get $t3)))
          (v128.store offset=96 (local.get $src) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t1) (local.get $t3)))
          (local.set $k (i32.add (local.get $k) (i32.const 16)))
          (br $kl)))
        (local.set $c (i32.add (local.get $c) (i32.const 4)))
        (br $cl)))
      ;; scales and block sums: row j+c, block b at tp + ((j/8)·nb + b)·64 + (c/4)·32 + (c%4)·4
      (local.set $c (i32.const 0))
      (block $s_done (loop $sl
        (br_if $s_done (i32.ge_u (local.get $c) (i32.const 8)))
        (local.set $r (i32.add (local.get $qw) (i32.mul (i32.add (local.get $j) (local.get $c)) (local.get $K))))
        (local.set $b (i32.const 0))
        (block $b_done (loop $bl
          (br_if $b_done (i32.ge_u (local.get $b) (local.get $nb)))
          (local.set $s (i32x4.extadd_pairwise_i16x8_s (i16x8.add
            (i16x8.extadd_pairwise_i8x16_s (v128.load offset=0 (i32.add (local.get $r) (i32.shl (local.get $b) (i32.const 5)))))
            (i16x8.extadd_pairwise_i8x16_s (v128.load offset=16 (i32.add (local.get $r) (i32.shl (local.get $b) (i32.const 5))))))))
          (local.set $d (f32.load (i32.add (local.get $sw) (i32.shl (i32.add (i32.mul (i32.add (local.get $j) (local.get $c)) (local.get $nb)) (local.get $b)) (i32.const 2)))))
          (local.set $src (i32.add (i32.add (local.get $tp) (i32.shl (i32.add (i32.mul (i32.shr_u (local.get $j) (i32.const 3)) (local.get $nb)) (local.get $b)) (i32.const 6)))
            (i32.add (i32.shl (i32.shr_u (local.get $c) (i32.const 2)) (i32.const 5)) (i32.shl (i32.and (local.get $c) (i32.const 3)) (i32.const 2)))))
          (f32.store offset=0 (local.get $src) (local.get $d))
          (f32.store offset=16 (local.get $src) (f32.mul (local.get $d) (f32.convert_i32_s
            (i32.add (i32.add (i32x4.extract_lane 0 (local.get $s)) (i32x4.extract_lane 1 (local.get $s)))
                     (i32.add (i32x4.extract_lane 2 (local.get $s)) (i32x4.extract_lane 3 (local.get $s)))))))
          (local.set $b (i32.add (local.get $b) (i32.const 1)))
          (br $bl)))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $sl)))
      (local.set $j (i32.add (local.get $j) (i32.const 8)))
      (br $jl)))
  )

  ;; pack_q8 rearranges an int8 matrix qw [N, K] (N % 4 == 0, K % 32 == 0) and its scales
  ;; sw [N, K/32] for qgemm_packed: for every 4 rows j..j+3 ("quad"), the k-pairs in order, each 8
  ;; bytes w[j][k] w[j][k+1] w[j+1][k] w[j+1][k+1] … w[j+3][k+1] (a transpose of 16-bit pairs,
  ;; 8 shuffles per 64 bytes) into wp [N/4][K/2][8], and the scales as sp [N/4][K/32][4].
  (func (export "pack_q8") (param $wp i32) (param $sp i32) (param $qw i32) (param $sw i32) (param $N i32) (param $K i32)
    (local $j i32) (local $k i32) (local $b i32) (local $l i32) (local $nb i32) (local $r0 i32) (local $out i32)
    (local $x0 v128) (local $x1 v128) (local $x2 v128) (local $x3 v128) (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    (local.set $nb (i32.shr_u (local.get $K) (i32.const 5)))
    (block $j_done (loop $jl
      (br_if $j_done (i32.ge_u (local.get $j) (local.get $N)))
      (local.set $r0 (i32.add (local.get $qw) (i32.mul (local.get $j) (local.get $K))))
      (local.set $out (i32.add (local.get $wp) (i32.mul (local.get $j) (local.get $K))))
      (local.set $k (i32.const 0))
      (block $k_done (loop $kl
        (br_if $k_done (i32.ge_u (local.get $k) (local.get $K)))
        (local.set $x0 (v128.load (i32.add (local.get $r0) (local.get $k))))
        (local.set $x1 (v128.load (i32.add (i32.add (local.get $r0) (local.get $K)) (local.get $k))))
        (local.set $x2 (v128.load (i32.add (i32.add (local.get $r0) (i32.shl (local.get $K) (i32.const 1))) (local.get $k))))
        (local.set $x3 (v128.load (i32.add (i32.add (local.get $r0) (i32.mul (local.get $K) (i32.const 3))) (local.get $k))))
        ;; 16-bit interleave of rows (0,1) and (2,3), then 32-bit interleave of those
        (local.set $t0 (i8x16.shuffle 0 1 16 17 2 3 18 19 4 5 20 21 6 7 22 23 (local.get $x0) (local.get $x1)))
        (local.set $t1 (i8x16.shuffle 8 9 24 25 10 11 26 27 12 13 28 29 14 15 30 31 (local.get $x0) (local.get $x1)))
        (local.set $t2 (i8x16.shuffle 0 1 16 17 2 3 18 19 4 5 20 21 6 7 22 23 (local.get $x2) (local.get $x3)))
        (local.set $t3 (i8x16.shuffle 8 9 24 25 10 11 26 27 12 13 28 29 14 15 30 31 (local.get $x2) (local.get $x3)))
        (v128.store offset=0 (i32.add (local.get $out) (i32.shl (local.get $k) (i32.const 2)))
          (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $t0) (local.get $t2)))
        (v128.store offset=16 (i32.add (local.get $out) (i32.shl (local.get $k) (i32.const 2)))
          (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $t0) (local.get $t2)))
        (v128.store offset=32 (i32.add (local.get $out) (i32.shl (local.get $k) (i32.const 2)))
          (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $t1) (local.get $t3)))
        (v128.store offset=48 (i32.add (local.get $out) (i32.shl (local.get $k) (i32.const 2)))
          (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $t1) (local.get $t3)))
        (local.set $k (i32.add (local.get $k) (i32.const 16)))
        (br $kl)))
      ;; scales of the quad: sp[j/4][b][l] = sw[(j+l)*nb + b]
      (local.set $b (i32.const 0))
      (block $b_done (loop $bl
        (br_if $b_done (i32.ge_u (local.get $b) (local.get $nb)))
        (local.set $l (i32.const 0))
        (block $l_done (loop $ll
          (br_if $l_done (i32.ge_u (local.get $l) (i32.const 4)))
          (f32.store
            (i32.add (local.get $sp) (i32.shl (i32.add (i32.shl (i32.add (i32.mul (i32.shr_u (local.get $j) (i32.const 2)) (local.get $nb)) (local.get $b)) (i32.const 2)) (local.get $l)) (i32.const 2)))
            (f32.load (i32.add (local.get $sw) (i32.shl (i32.add (i32.mul (i32.add (local.get $j) (local.get $l)) (local.get $nb)) (local.get $b)) (i32.const 2)))))
          (local.set $l (i32.add (local.get $l) (i32.const 1)))
          (br $ll)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $bl)))
      (local.set $j (i32.add (local.get $j) (i32.const 4)))
      (br $jl)))
  )

  ;; qgemm_packed: d[i*ldd + j] = Σ_b sx[i*nb + b] · sw[j*nb + b] · Σ_{k in block b} qx[i*K + k] · w[j][k]
  ;; (blocks of 32, nb = K/32) with qx the int16 activations of quant_i16 and w, sw packed
  ;; by pack_q8; N % 8 == 0. Outer-product form: a pair (qx[k], qx[k+1]) broadcast to every lane
  ;; (v128.load32_splat) times a packed k-pair of 4 columns (v128.load8x8_s) under
  ;; i32x4.dot_i16x8_s gives 4 outputs' partial sums at once, so nothing is reduced across lanes
  ;; and the per-block scales are one f32x4 multiply per 4 outputs, added to the output tile in
  ;; memory. Tiles of 4 rows × 8 columns, one block (16 k-pairs) per step, 1 per iteration
  ;; (generated by gen_qgemm.py 4 2); rows past M repeat the last row and accumulate into
  ;; tmp, a scratch of 8 floats.
  (func (export "qgemm_packed")
    (param $d i32) (param $ldd i32) (param $qx i32) (param $sx i32) (param $wp i32) (param $sp i32)
    (param $M i32) (param $K i32) (param $N i32) (param $tmp i32)
    (local $nb i32) (local $i i32) (local $j i32) (local $b i32) (local $row i32) (local $kp i32)
    (local $pa0 i32) (local $ps0 i32) (local $pa1 i32) (local $ps1 i32) (local $pa2 i32) (local $ps2 i32) (local $pa3 i32) (local $ps3 i32)
    (local $pt i32)
    (local $a v128) (local $s0 v128)
    (local $w0 v128) (local $v0 v128) (local $pw0 i32) (local $w1 v128) (local $v1 v128) (local $pw1 i32)
    (local $t00 v128) (local $t01 v128) (local $t10 v128) (local $t11 v128) (local $t20 v128) (local $t21 v128) (local $t30 v128) (local $t31 v128)
    (local $pd0 i32) (local $pd1 i32) (local $pd2 i32) (local $pd3 i32)
    (local.set $nb (i32.shr_u (local.get $K) (i32.const 5)))
    (local.set $j (i32.const 0))
    (block $j_done (loop $jl
      (br_if $j_done (i32.ge_u (local.get $j) (local.get $N)))
      (local.set $i (i32.const 0))
      (block $i_done (loop $il
        (br_if $i_done (i32.ge_u (local.get $i) (local.get $M)))
        (local.set $row (select (i32.add (local.get $i) (i32.const 0)) (i32.sub (local.get $M) (i32.const 1)) (i32.lt_u (i32.add (local.get $i) (i32.const 0)) (local.get $M))))
        (local.set $pa0 (i32.add (local.get $qx) (i32.shl (i32.mul (local.get $row) (local.get $K)) (i32.const 1))))
        (local.set $ps0 (i32.add (local.get $sx) (i32.shl (i32.mul (local.get $row) (local.get $nb)) (i32.const 2))))
        (local.set $pd0 (select (i32.add (local.get $d) (i32.shl (i32.add (i32.mul (i32.add (local.get $i) (i32.const 0)) (local.get $ldd)) (local.get $j)) (i32.const 2))) (local.get $tmp) (i32.lt_u (i32.add (local.get $i) (i32.const 0)) (local.get $M))))
        (v128.store offset=0 (local.get $pd0) (v128.const i64x2 0 0))
        (v128.store offset=16 (local.get $pd0) (v128.const i64x2 0 0))
        (local.set $row (select (i32.add (local.get $i) (i32.const 1)) (i32.sub (local.get $M) (i32.const 1)) (i32.lt_u (i32.add (local.get $i) (i32.const 1)) (local.get $M))))
        (local.set $pa1 (i32.add (local.get $qx) (i32.shl (i32.mul (local.get $row) (local.get $K)) (i32.const 1))))
        (local.set $ps1 (i32.add (local.get $sx) (i32.shl (i32.mul (local.get $row) (local.get $nb)) (i32.const 2))))
        (local.set $pd1 (select (i32.add (local.get $d) (i32.shl (i32.add (i32.mul (i32.add (local.get $i) (i32.const 1)) (local.get $ldd)) (local.get $j)) (i32.const 2))) (local.get $tmp) (i32.lt_u (i32.add (local.get $i) (i32.const 1)) (local.get $M))))
        (v128.store offset=0 (local.get $pd1) (v128.const i64x2 0 0))
        (v128.store offset=16 (local.get $pd1) (v128.const i64x2 0 0))
        (local.set $row (select (i32.add (local.get $i) (i32.const 2)) (i32.sub (local.get $M) (i32.const 1)) (i32.lt_u (i32.add (local.get $i) (i32.const 2)) (local.get $M))))
        (local.set $pa2 (i32.add (local.get $qx) (i32.shl (i32.mul (local.get $row) (local.get $K)) (i32.const 1))))
        (local.set $ps2 (i32.add (local.get $sx) (i32.shl (i32.mul (local.get $row) (local.get $nb)) (i32.const 2))))
        (local.set $pd2 (select (i32.add (local.get $d) (i32.shl (i32.add (i32.mul (i32.add (local.get $i) (i32.const 2)) (local.get $ldd)) (local.get $j)) (i32.const 2))) (local.get $tmp) (i32.lt_u (i32.add (local.get $i) (i32.const 2)) (local.get $M))))
        (v128.store offset=0 (local.get $pd2) (v128.const i64x2 0 0))
        (v128.store offset=16 (local.get $pd2) (v128.const i64x2 0 0))
        (local.set $row (select (i32.add (local.get $i) (i32.const 3)) (i32.sub (local.get $M) (i32.const 1)) (i32.lt_u (i32.add (local.get $i) (i32.const 3)) (local.get $M))))
        (local.set $pa3 (i32.add (local.get $qx) (i32.shl (i32.mul (local.get $row) (local.get $K)) (i32.const 1))))
        (local.set $ps3 (i32.add (local.get $sx) (i32.shl (i32.mul (local.get $row) (local.get $nb)) (i32.const 2))))
        (local.set $pd3 (select (i32.add (local.get $d) (i32.shl (i32.add (i32.mul (i32.add (local.get $i) (i32.const 3)) (local.get $ldd)) (local.get $j)) (i32.const 2))) (local.get $tmp) (i32.lt_u (i32.add (local.get $i) (i32.const 3)) (local.get $M))))
        (v128.store offset=0 (local.get $pd3) (v128.const i64x2 0 0))
        (v128.store offset=16 (local.get $pd3) (v128.const i64x2 0 0))
        (local.set $pw0 (i32.add (local.get $wp) (i32.mul (i32.add (local.get $j) (i32.const 0)) (local.get $K))))
        (local.set $pw1 (i32.add (local.get $wp) (i32.mul (i32.add (local.get $j) (i32.const 4)) (local.get $K))))
        (local.set $pt (i32.add (local.get $sp) (i32.shl (i32.mul (local.get $j) (local.get $nb)) (i32.const 2))))
        (local.set $b (i32.const 0))
        (block $b_done (loop $bl
          (br_if $b_done (i32.ge_u (local.get $b) (local.get $nb)))
            (local.set $t00 (v128.const i64x2 0 0))
            (local.set $t01 (v128.const i64x2 0 0))
            (local.set $t10 (v128.const i64x2 0 0))
            (local.set $t11 (v128.const i64x2 0 0))
            (local.set $t20 (v128.const i64x2 0 0))
            (local.set $t21 (v128.const i64x2 0 0))
            (local.set $t30 (v128.const i64x2 0 0))
            (local.set $t31 (v128.const i64x2 0 0))
            (local.set $kp (i32.const 0))
            (block $kp_done (loop $kpl
            (br_if $kp_done (i32.ge_u (local.get $kp) (i32.const 16)))
            (local.set $w0 (v128.load8x8_s offset=0 (local.get $pw0)))
            (local.set $w1 (v128.load8x8_s offset=0 (local.get $pw1)))
            (local.set $a (v128.load32_splat offset=0 (local.get $pa0)))
            (local.set $t00 (i32x4.add (local.get $t00) (i32x4.dot_i16x8_s (local.get $a) (local.get $w0))))
            (local.set $t01 (i32x4.add (local.get $t01) (i32x4.dot_i16x8_s (local.get $a) (local.get $w1))))
            (local.set $a (v128.load32_splat offset=0 (local.get $pa1)))
            (local.set $t10 (i32x4.add (local.get $t10) (i32x4.dot_i16x8_s (local.get $a) (local.get $w0))))
            (local.set $t11 (i32x4.add (local.get $t11) (i32x4.dot_i16x8_s (local.get $a) (local.get $w1))))
            (local.set $a (v128.load32_splat offset=0 (local.get $pa2)))
            (local.set $t20 (i32x4.add (local.get $t20) (i32x4.dot_i16x8_s (local.get $a) (local.get $w0))))
            (local.set $t21 (i32x4.add (local.get $t21) (i32x4.dot_i16x8_s (local.get $a) (local.get $w1))))
            (local.set $a (v128.load32_splat offset=0 (local.get $pa3)))
            (local.set $t30 (i32x4.add (local.get $t30) (i32x4.dot_i16x8_s (local.get $a) (local.get $w0))))
            (local.set $t31 (i32x4.add (local.get $t31) (i32x4.dot_i16x8_s (local.get $a) (local.get $w1))))
            (local.set $pa0 (i32.add (local.get $pa0) (i32.const 4)))
            (local.set $pa1 (i32.add (local.get $pa1) (i32.const 4)))
            (local.set $pa2 (i32.add (local.get $pa2) (i32.const 4)))
            (local.set $pa3 (i32.add (local.get $pa3) (i32.const 4)))
            (local.set $pw0 (i32.add (local.get $pw0) (i32.const 8)))
            (local.set $pw1 (i32.add (local.get $pw1) (i32.const 8)))
            (local.set $kp (i32.add (local.get $kp) (i32.const 1)))
            (br $kpl)))
            ;; scale the block's sums: sx[row, b] · sw[quad columns, b]
            (local.set $v0 (v128.load offset=0 (i32.add (local.get $pt) (i32.shl (i32.mul (local.get $nb) (i32.const 0)) (i32.const 4)))))
            (local.set $v1 (v128.load offset=0 (i32.add (local.get $pt) (i32.shl (i32.mul (local.get $nb) (i32.const 1)) (i32.const 4)))))
            (local.set $s0 (v128.load32_splat (local.get $ps0)))
            (v128.store offset=0 (local.get $pd0) (f32x4.add (v128.load offset=0 (local.get $pd0)) (f32x4.mul (f32x4.convert_i32x4_s (local.get $t00)) (f32x4.mul (local.get $s0) (local.get $v0)))))
            (v128.store offset=16 (local.get $pd0) (f32x4.add (v128.load offset=16 (local.get $pd0)) (f32x4.mul (f32x4.convert_i32x4_s (local.get $t01)) (f32x4.mul (local.get $s0) (local.get $v1)))))
            (local.set $s0 (v128.load32_splat (local.get $ps1)))
            (v128.store offset=0 (local.get $pd1) (f32x4.add (v128.load offset=0 (local.get $pd1)) (f32x4.mul (f32x4.convert_i32x4_s (local.get $t10)) (f32x4.mul (local.get $s0) (local.get $v0)))))
            (v128.store offset=16 (local.get $pd1) (f32x4.add (v128.load offset=16 (local.get $pd1)) (f32x4.mul (f32x4.convert_i32x4_s (local.get $t11)) (f32x4.mul (local.get $s0) (local.get $v1)))))
            (local.set $s0 (v128.load32_splat (local.get $ps2)))
            (v128.store offset=0 (local.get $pd2) (f32x4.add (v128.load offset=0 (local.get $pd2)) (f32x4.mul (f32x4.convert_i32x4_s (local.get $t20)) (f32x4.mul (local.get $s0) (local.get $v0)))))
            (v128.store offset=16 (local.get $pd2) (f32x4.add (v128.load offset=16 (local.get $pd2)) (f32x4.mul (f32x4.convert_i32x4_s (local.get $t21)) (f32x4.mul (local.get $s0) (local.get $v1)))))
            (local.set $s0 (v128.load32_splat (local.get $ps3)))
            (v128.store offset=0 (local.get $pd3) (f32x4.add (v128.load offset=0 (local.get $pd3)) (f32x4.mul (f32x4.convert_i32x4_s (local.get $t30)) (f32x4.mul (local.get $s0) (local.get $v0)))))
            (v128.store offset=16 (local.get $pd3) (f32x4.add (v128.load offset=16 (local.get $pd3)) (f32x4.mul (f32x4.convert_i32x4_s (local.get $t31)) (f32x4.mul (local.get $s0) (local.get $v1)))))
            (local.set $ps0 (i32.add (local.get $ps0) (i32.const 4)))
            (local.set $ps1 (i32.add (local.get $ps1) (i32.const 4)))
            (local.set $ps2 (i32.add (local.get $ps2) (i32.const 4)))
            (local.set $ps3 (i32.add (local.get $ps3) (i32.const 4)))
            (local.set $pt (i32.add (local.get $pt) (i32.const 16)))
            (local.set $b (i32.add (local.get $b) (i32.const 1)))
            (br $bl)))

        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $il)))
      (local.set $j (i32.add (local.get $j) (i32.const 8)))
      (br $jl)))
  )

;; attention runs scaled dot-product attention for items [i0, i0+n) of B sequences × nh heads
  ;; (item i: sequence i/nh, head i%nh, its d columns at h·d): scores = q_h·k_hᵀ (sgemm_nt into
  ;; sc, row stride kvp = kv rounded up to 4), softmax_rows(scores·scale + bias[sequence]), then
  ;; ctx_h = P·v_h (sgemm_nn): the very calls Go makes per head otherwise, so the results are
  ;; theirs bit for bit. q and ctx are [B][T][H], k and v [B][kv][H], bias [B][kvp], sc a
  ;; scratch of T·kvp floats. One call per layer instead of three per head and sequence, and a
  ;; unit the kernel threads can split (js/src/kernel-pool.js, by items).
  (func (export "attention")
    (param $ctx i32) (param $q i32) (param $k i32) (param $v i32) (param $H i32) (param $T i32)
    (param $kv i32) (param $d i32) (param $nh i32) (param $scale f32) (param $bias i32) (param $sc i32)
    (param $i0 i32) (param $n i32)
    (local $i i32) (local $bi i32) (local $off i32) (local $kvp i32) (local $qo i32) (local $ko i32)
    (local.set $kvp (i32.and (i32.add (local.get $kv) (i32.const 3)) (i32.const -4)))
    (local.set $i (local.get $i0))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $i) (i32.add (local.get $i0) (local.get $n))))
      (local.set $bi (i32.div_u (local.get $i) (local.get $nh)))
      (local.set $off (i32.mul (i32.rem_u (local.get $i) (local.get $nh)) (local.get $d)))
      ;; element offsets of the sequence's q/ctx rows and k/v rows, at the head's columns
      (local.set $qo (i32.shl (i32.add (i32.mul (i32.mul (local.get $bi) (local.get $T)) (local.get $H)) (local.get $off)) (i32.const 2)))
      (local.set $ko (i32.shl (i32.add (i32.mul (i32.mul (local.get $bi) (local.get $kv)) (local.get $H)) (local.get $off)) (i32.const 2)))
      (call $sgemm (local.get $sc) (local.get $kvp) (i32.add (local.get $q) (local.get $qo)) (local.get $H)
        (i32.add (local.get $k) (local.get $ko)) (local.get $H) (local.get $T) (local.get $d) (local.get $kv))
      (call $softmax_rows (local.get $sc) (local.get $kvp) (local.get $T) (local.get $kv) (local.get $scale)
        (i32.add (local.get $bias) (i32.shl (i32.mul (local.get $bi) (local.get $kvp)) (i32.const 2))))
      (call $sgemm_nn (i32.add (local.get $ctx) (local.get $qo)) (local.get $H) (local.get $sc) (local.get $kvp)
        (i32.add (local.get $v) (local.get $ko)) (local.get $H) (local.get $T) (local.get $kv) (local.get $d))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l)))
  )

  ;; exp4 is e^v lane-wise as Cephes' expf (range reduction by ln 2 in two parts, degree-5
  ;; polynomial, 2^n built in the exponent bits), v clamped to [-87.34, 88.38] so that 2^n stays
  ;; a normal float: e^v for v ≤ -87.34 is 1.2e-38, not 0. About 2 ulp.
  (func $exp4 (param $v v128) (result v128)
    (local $n v128) (local $r v128) (local $p v128) (local $j v128)
    (local.set $v (f32x4.pmin (f32x4.pmax (local.get $v) (v128.const f32x4 -87.3365 -87.3365 -87.3365 -87.3365))
                             (v128.const f32x4 88.3762626647949 88.3762626647949 88.3762626647949 88.3762626647949)))
    ;; j = v·log2(e) + 1.5·2^23: the addition rounds to an integer (half to even, as f32x4.nearest)
    ;; that sits in j's low mantissa bits, so n = j - 1.5·2^23 and 2^n's bits are (j + 127) << 23
    ;; (the high bits shift out): no float-to-int conversion, which V8 emits as ~7 instructions.
    (local.set $j (f32x4.add (f32x4.mul (local.get $v) (v128.const f32x4 1.44269504088896341 1.44269504088896341 1.44269504088896341 1.44269504088896341)) (v128.const f32x4 12582912 12582912 12582912 12582912)))
    (local.set $n (f32x4.sub (local.get $j) (v128.const f32x4 12582912 12582912 12582912 12582912)))
    (local.set $r (f32x4.sub (f32x4.sub (local.get $v)
      (f32x4.mul (local.get $n) (v128.const f32x4 0.693359375 0.693359375 0.693359375 0.693359375)))
      (f32x4.mul (local.get $n) (v128.const f32x4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4))))
    (local.set $p (v128.const f32x4 1.9875691500E-4 1.9875691500E-4 1.9875691500E-4 1.9875691500E-4))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (v128.const f32x4 1.3981999507E-3 1.3981999507E-3 1.3981999507E-3 1.3981999507E-3)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (v128.const f32x4 8.3334519073E-3 8.3334519073E-3 8.3334519073E-3 8.3334519073E-3)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (v128.const f32x4 4.1665795894E-2 4.1665795894E-2 4.1665795894E-2 4.1665795894E-2)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (v128.const f32x4 1.6666665459E-1 1.6666665459E-1 1.6666665459E-1 1.6666665459E-1)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (v128.const f32x4 5.0000001201E-1 5.0000001201E-1 5.0000001201E-1 5.0000001201E-1)))
    ;; p·r² + r + 1
    (local.set $p (f32x4.add (f32x4.add (f32x4.mul (local.get $p) (f32x4.mul (local.get $r) (local.get $r))) (local.get $r))
                             (v128.const f32x4 1 1 1 1)))
    (f32x4.mul (local.get $p)
      (i32x4.shl (i32x4.add (local.get $j) (v128.const i32x4 127 127 127 127)) (i32.const 23))))

  ;; exp_f32: x[i] = e^x[i] for i < n (n % 4 == 0): exp4's test entry point.
  (func (export "exp_f32") (param $x i32) (param $n i32)
    (local $e i32)
    (local.set $e (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $x) (local.get $e)))
      (v128.store (local.get $x) (call $exp4 (v128.load (local.get $x))))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (br $l))))

  ;; gelu_erf: x[i] = 0.5·x·(1 + erf(x/√2)) in place for i < n (any n; the last n % 4 values
  ;; one lane at a time). erf(z) = z·P(z²)/Q(z²) for |z| ≤ 3.925 (z clamped there: erf(3.925) is
  ;; 1 in float32), P and Q of degree 5 with positive coefficients (Q ≥ 1), fitted by
  ;; fit_erf.py (iteratively reweighted least squares toward minimax, numpy/scipy of the reference
  ;; venv): |error| 1.6e-8 in exact arithmetic, 3.9e-7 evaluated in float32 over [0, 8]. About 25
  ;; operations per 4 values, against about 45 for Abramowitz & Stegun 7.1.26's polynomial and
  ;; exponential that this replaced.
  (func $gelu4 (param $x v128) (result v128)
    (local $z v128) (local $s v128) (local $p v128) (local $q v128) (local $h v128)
    (local.set $z (f32x4.pmin (f32x4.pmax (f32x4.mul (local.get $x) (v128.const f32x4 0.70710678118654752 0.70710678118654752 0.70710678118654752 0.70710678118654752)) (v128.const f32x4 -3.925 -3.925 -3.925 -3.925)) (v128.const f32x4 3.925 3.925 3.925 3.925)))
    (local.set $s (f32x4.mul (local.get $z) (local.get $z)))
    (local.set $p (v128.const f32x4 2.0308159491833067e-06 2.0308159491833067e-06 2.0308159491833067e-06 2.0308159491833067e-06))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $s)) (v128.const f32x4 0.0002874878700822592 0.0002874878700822592 0.0002874878700822592 0.0002874878700822592)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $s)) (v128.const f32x4 0.003876312403008342 0.003876312403008342 0.003876312403008342 0.003876312403008342)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $s)) (v128.const f32x4 0.05308429151773453 0.05308429151773453 0.05308429151773453 0.05308429151773453)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $s)) (v128.const f32x4 0.19297274947166443 0.19297274947166443 0.19297274947166443 0.19297274947166443)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $s)) (v128.const f32x4 1.128378987312317 1.128378987312317 1.128378987312317 1.128378987312317)))
    (local.set $q (v128.const f32x4 3.8030670111766085e-05 3.8030670111766085e-05 3.8030670111766085e-05 3.8030670111766085e-05))
    (local.set $q (f32x4.add (f32x4.mul (local.get $q) (local.get $s)) (v128.const f32x4 0.0011897390941157937 0.0011897390941157937 0.0011897390941157937 0.0011897390941157937)))
    (local.set $q (f32x4.add (f32x4.mul (local.get $q) (local.get $s)) (v128.const f32x4 0.015188328921794891 0.015188328921794891 0.015188328921794891 0.015188328921794891)))
    (local.set $q (f32x4.add (f32x4.mul (local.get $q) (local.get $s)) (v128.const f32x4 0.11516746133565903 0.11516746133565903 0.11516746133565903 0.11516746133565903)))
    (local.set $q (f32x4.add (f32x4.mul (local.get $q) (local.get $s)) (v128.const f32x4 0.5043492913246155 0.5043492913246155 0.5043492913246155 0.5043492913246155)))
    (local.set $q (f32x4.add (f32x4.mul (local.get $q) (local.get $s)) (v128.const f32x4 1.0 1.0 1.0 1.0)))
    (local.set $h (f32x4.mul (local.get $x) (v128.const f32x4 0.5 0.5 0.5 0.5)))
    (f32x4.add (local.get $h) (f32x4.mul (local.get $h) (f32x4.div (f32x4.mul (local.get $z) (local.get $p)) (local.get $q)))))

  (func (export "gelu_erf") (param $px i32) (param $n i32)
    (local $e i32) (local $gx v128)
    (local $z v128) (local $s v128) (local $p v128) (local $q v128) (local $h v128)
    (local.set $e (i32.add (local.get $px) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $px) (local.get $e)))
      ;; gelu4 written out (no call per vector)
      (local.set $gx (v128.load (local.get $px)))
      (local.set $z (f32x4.pmin (f32x4.pmax (f32x4.mul (local.get $gx) (v128.const f32x4 0.70710678118654752 0.70710678118654752 0.70710678118654752 0.70710678118654752)) (v128.const f32x4 -3.925 -3.925 -3.925 -3.925)) (v128.const f32x4 3.925 3.925 3.925 3.925)))
      (local.set $s (f32x4.mul (local.get $z) (local.get $z)))
      (local.set $p (v128.const f32x4 2.0308159491833067e-06 2.0308159491833067e-06 2.0308159491833067e-06 2.0308159491833067e-06))
      (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $s)) (v128.const f32x4 0.0002874878700822592 0.0002874878700822592 0.0002874878700822592 0.0002874878700822592)))
      (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $s)) (v128.const f32x4 0.003876312403008342 0.003876312403008342 0.003876312403008342 0.003876312403008342)))
      (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $s)) (v128.const f32x4 0.05308429151773453 0.05308429151773453 0.05308429151773453 0.05308429151773453)))
      (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $s)) (v128.const f32x4 0.19297274947166443 0.19297274947166443 0.19297274947166443 0.19297274947166443)))
      (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $s)) (v128.const f32x4 1.128378987312317 1.128378987312317 1.128378987312317 1.128378987312317)))
      (local.set $q (v128.const f32x4 3.8030670111766085e-05 3.8030670111766085e-05 3.8030670111766085e-05 3.8030670111766085e-05))
      (local.set $q (f32x4.add (f32x4.mul (local.get $q) (local.get $s)) (v128.const f32x4 0.0011897390941157937 0.0011897390941157937 0.0011897390941157937 0.0011897390941157937)))
      (local.set $q (f32x4.add (f32x4.mul (local.get $q) (local.get $s)) (v128.const f32x4 0.015188328921794891 0.015188328921794891 0.015188328921794891 0.015188328921794891)))
      (local.set $q (f32x4.add (f32x4.mul (local.get $q) (local.get $s)) (v128.const f32x4 0.11516746133565903 0.11516746133565903 0.11516746133565903 0.11516746133565903)))
      (local.set $q (f32x4.add (f32x4.mul (local.get $q) (local.get $s)) (v128.const f32x4 0.5043492913246155 0.5043492913246155 0.5043492913246155 0.5043492913246155)))
      (local.set $q (f32x4.add (f32x4.mul (local.get $q) (local.get $s)) (v128.const f32x4 1.0 1.0 1.0 1.0)))
      (local.set $h (f32x4.mul (local.get $gx) (v128.const f32x4 0.5 0.5 0.5 0.5)))
      (v128.store (local.get $px) (f32x4.add (local.get $h) (f32x4.mul (local.get $h) (f32x4.div (f32x4.mul (local.get $z) (local.get $p)) (local.get $q)))))
      (local.set $px (i32.add (local.get $px) (i32.const 16)))
      (br $l)))
    ;; the last n % 4 values, one lane each
    (local.set $e (i32.add (local.get $e) (i32.shl (i32.and (local.get $n) (i32.const 3)) (i32.const 2))))
    (block $tdone (loop $t
      (br_if $tdone (i32.ge_u (local.get $px) (local.get $e)))
      (f32.store (local.get $px) (f32x4.extract_lane 0 (call $gelu4 (f32x4.splat (f32.load (local.get $px))))))
      (local.set $px (i32.add (local.get $px) (i32.const 4)))
      (br $t))))

  ;; gelu_erf_backward: dy[i] = dy[i]·GELU'(x[i]) for i < n (any n; the last n % 4 values one
  ;; lane at a time), GELU'(x) = Φ(x) + x·φ(x): Φ(x) = 0.5·(1 + erf(x/√2)) with gelu_erf's
  ;; rational erf (the same clamp and coefficients), φ(x) = e^(−x²/2)/√(2π) with exp4. The
  ;; backward of the erf GELU (train/activation.go); reference GELUBackwardRef.
  (func $dgelu4 (param $x v128) (result v128)
    (local $z v128) (local $s v128) (local $p v128) (local $q v128)
    (local.set $z (f32x4.pmin (f32x4.pmax (f32x4.mul (local.get $x) (v128.const f32x4 0.70710678118654752 0.70710678118654752 0.70710678118654752 0.70710678118654752)) (v128.const f32x4 -3.925 -3.925 -3.925 -3.925)) (v128.const f32x4 3.925 3.925 3.925 3.925)))
    (local.set $s (f32x4.mul (local.get $z) (local.get $z)))
    (local.set $p (v128.const f32x4 2.0308159491833067e-06 2.0308159491833067e-06 2.0308159491833067e-06 2.0308159491833067e-06))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $s)) (v128.const f32x4 0.0002874878700822592 0.0002874878700822592 0.0002874878700822592 0.0002874878700822592)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $s)) (v128.const f32x4 0.003876312403008342 0.003876312403008342 0.003876312403008342 0.003876312403008342)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $s)) (v128.const f32x4 0.05308429151773453 0.05308429151773453 0.05308429151773453 0.05308429151773453)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $s)) (v128.const f32x4 0.19297274947166443 0.19297274947166443 0.19297274947166443 0.19297274947166443)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $s)) (v128.const f32x4 1.128378987312317 1.128378987312317 1.128378987312317 1.128378987312317)))
    (local.set $q (v128.const f32x4 3.8030670111766085e-05 3.8030670111766085e-05 3.8030670111766085e-05 3.8030670111766085e-05))
    (local.set $q (f32x4.add (f32x4.mul (local.get $q) (local.get $s)) (v128.const f32x4 0.0011897390941157937 0.0011897390941157937 0.0011897390941157937 0.0011897390941157937)))
    (local.set $q (f32x4.add (f32x4.mul (local.get $q) (local.get $s)) (v128.const f32x4 0.015188328921794891 0.015188328921794891 0.015188328921794891 0.015188328921794891)))
    (local.set $q (f32x4.add (f32x4.mul (local.get $q) (local.get $s)) (v128.const f32x4 0.11516746133565903 0.11516746133565903 0.11516746133565903 0.11516746133565903)))
    (local.set $q (f32x4.add (f32x4.mul (local.get $q) (local.get $s)) (v128.const f32x4 0.5043492913246155 0.5043492913246155 0.5043492913246155 0.5043492913246155)))
    (local.set $q (f32x4.add (f32x4.mul (local.get $q) (local.get $s)) (v128.const f32x4 1.0 1.0 1.0 1.0)))
    ;; Φ = 0.5 + 0.5·erf(z); x·φ = x·e^(−x²/2)·(1/√(2π))
    (f32x4.add
      (f32x4.add (v128.const f32x4 0.5 0.5 0.5 0.5) (f32x4.mul (v128.const f32x4 0.5 0.5 0.5 0.5) (f32x4.div (f32x4.mul (local.get $z) (local.get $p)) (local.get $q))))
      (f32x4.mul (f32x4.mul (local.get $x) (v128.const f32x4 0.3989422804014327 0.3989422804014327 0.3989422804014327 0.3989422804014327))
        (call $exp4 (f32x4.mul (f32x4.mul (local.get $x) (local.get $x)) (v128.const f32x4 -0.5 -0.5 -0.5 -0.5))))))

  (func (export "gelu_erf_backward") (param $dy i32) (param $x i32) (param $n i32)
    (local $e i32)
    (local.set $e (i32.add (local.get $dy) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $dy) (local.get $e)))
      (v128.store (local.get $dy) (f32x4.mul (v128.load (local.get $dy)) (call $dgelu4 (v128.load (local.get $x)))))
      (local.set $dy (i32.add (local.get $dy) (i32.const 16)))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (br $l)))
    (local.set $e (i32.add (local.get $e) (i32.shl (i32.and (local.get $n) (i32.const 3)) (i32.const 2))))
    (block $tdone (loop $t
      (br_if $tdone (i32.ge_u (local.get $dy) (local.get $e)))
      (f32.store (local.get $dy) (f32.mul (f32.load (local.get $dy))
        (f32x4.extract_lane 0 (call $dgelu4 (f32x4.splat (f32.load (local.get $x)))))))
      (local.set $dy (i32.add (local.get $dy) (i32.const 4)))
      (local.set $x (i32.add (local.get $x) (i32.const 4)))
      (br $t))))

  ;; softmax_rows: for each of rows rows of x (row stride ld ≥ n rounded up to 4, f32, 16-byte
  ;; readable past n), x[j] = softmax(x[j]·scale + bias[j]) over j < n (bias: n values, ld
  ;; readable), and x[j] = 0 for n ≤ j < n rounded up to 4.
  (func $softmax_rows (export "softmax_rows") (param $x i32) (param $ld i32) (param $rows i32) (param $n i32) (param $scale f32) (param $bias i32)
    (local $i i32) (local $j i32) (local $p i32) (local $nb i32)
    (local $sc v128) (local $m v128) (local $s v128) (local $v v128) (local $keep v128) (local $nfull i32)
    (local $ev v128) (local $en v128) (local $er v128) (local $ep v128) (local $ej v128)
    (local $mx f32) (local $inv f32)
    (local.set $sc (f32x4.splat (local.get $scale)))
    (local.set $nb (i32.shl (local.get $n) (i32.const 2)))
    ;; the full vectors' bytes, and the lanes of the last, partial vector that hold values
    (local.set $nfull (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (local.set $keep (i32x4.lt_s (v128.const i32x4 0 1 2 3) (i32x4.splat (i32.and (local.get $n) (i32.const 3)))))
    (block $i_done (loop $il
      (br_if $i_done (i32.ge_u (local.get $i) (local.get $rows)))
      (local.set $p (i32.add (local.get $x) (i32.shl (i32.mul (local.get $i) (local.get $ld)) (i32.const 2))))
      ;; pass 1: v = x·scale + bias, stored; running max. The full vectors, then the partial one
      ;; with its padding lanes -inf.
      (local.set $m (v128.const f32x4 -inf -inf -inf -inf))
      (local.set $j (i32.const 0))
      (block $j_done (loop $jl
        (br_if $j_done (i32.ge_u (local.get $j) (local.get $nfull)))
        (local.set $v (f32x4.add (f32x4.mul (v128.load (i32.add (local.get $p) (local.get $j))) (local.get $sc))
                                 (v128.load (i32.add (local.get $bias) (local.get $j)))))
        (v128.store (i32.add (local.get $p) (local.get $j)) (local.get $v))
        (local.set $m (f32x4.pmax (local.get $v) (local.get $m)))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $jl)))
      (if (i32.lt_u (local.get $nfull) (local.get $nb)) (then
        (local.set $v (v128.bitselect
          (f32x4.add (f32x4.mul (v128.load (i32.add (local.get $p) (local.get $nfull))) (local.get $sc))
                     (v128.load (i32.add (local.get $bias) (local.get $nfull))))
          (v128.const f32x4 -inf -inf -inf -inf)
          (local.get $keep)))
        (v128.store (i32.add (local.get $p) (local.get $nfull)) (local.get $v))
        (local.set $m (f32x4.pmax (local.get $v) (local.get $m)))))
      (local.set $mx (f32.max
        (f32.max (f32x4.extract_lane 0 (local.get $m)) (f32x4.extract_lane 1 (local.get $m)))
        (f32.max (f32x4.extract_lane 2 (local.get $m)) (f32x4.extract_lane 3 (local.get $m)))))
      (local.set $m (f32x4.splat (local.get $mx)))
      ;; pass 2: e = exp(v - max), stored; running sum. A padding lane (-inf) gets e^-87.3 =
      ;; 1.2e-38 (exp's clamp), nothing next to the max's 1 in a float32 sum; pass 3 zeroes it.
      (local.set $s (v128.const i64x2 0 0))
      (local.set $j (i32.const 0))
      (block $j_done (loop $jl
        (br_if $j_done (i32.ge_u (local.get $j) (local.get $nb)))
        ;; e^(v - max), exp4 written out (no call per vector)
        (local.set $ev (f32x4.pmax (f32x4.sub (v128.load (i32.add (local.get $p) (local.get $j))) (local.get $m))
          (v128.const f32x4 -87.3365 -87.3365 -87.3365 -87.3365))) ;; ≤ 0: no upper clamp
        (local.set $ej (f32x4.add (f32x4.mul (local.get $ev) (v128.const f32x4 1.44269504088896341 1.44269504088896341 1.44269504088896341 1.44269504088896341)) (v128.const f32x4 12582912 12582912 12582912 12582912)))
        (local.set $en (f32x4.sub (local.get $ej) (v128.const f32x4 12582912 12582912 12582912 12582912)))
        (local.set $er (f32x4.sub (f32x4.sub (local.get $ev)
        (f32x4.mul (local.get $en) (v128.const f32x4 0.693359375 0.693359375 0.693359375 0.693359375)))
        (f32x4.mul (local.get $en) (v128.const f32x4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4))))
        (local.set $ep (v128.const f32x4 1.9875691500E-4 1.9875691500E-4 1.9875691500E-4 1.9875691500E-4))
        (local.set $ep (f32x4.add (f32x4.mul (local.get $ep) (local.get $er)) (v128.const f32x4 1.3981999507E-3 1.3981999507E-3 1.3981999507E-3 1.3981999507E-3)))
        (local.set $ep (f32x4.add (f32x4.mul (local.get $ep) (local.get $er)) (v128.const f32x4 8.3334519073E-3 8.3334519073E-3 8.3334519073E-3 8.3334519073E-3)))
        (local.set $ep (f32x4.add (f32x4.mul (local.get $ep) (local.get $er)) (v128.const f32x4 4.1665795894E-2 4.1665795894E-2 4.1665795894E-2 4.1665795894E-2)))
        (local.set $ep (f32x4.add (f32x4.mul (local.get $ep) (local.get $er)) (v128.const f32x4 1.6666665459E-1 1.6666665459E-1 1.6666665459E-1 1.6666665459E-1)))
        (local.set $ep (f32x4.add (f32x4.mul (local.get $ep) (local.get $er)) (v128.const f32x4 5.0000001201E-1 5.0000001201E-1 5.0000001201E-1 5.0000001201E-1)))
        ;; p·r² + r + 1
        (local.set $ep (f32x4.add (f32x4.add (f32x4.mul (local.get $ep) (f32x4.mul (local.get $er) (local.get $er))) (local.get $er))
        (v128.const f32x4 1 1 1 1)))
        (local.set $ev (f32x4.mul (local.get $ep)
        (i32x4.shl (i32x4.add (local.get $ej) (v128.const i32x4 127 127 127 127)) (i32.const 23))))
        (v128.store (i32.add (local.get $p) (local.get $j)) (local.get $ev))
        (local.set $s (f32x4.add (local.get $s) (local.get $ev)))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $jl)))
      (local.set $inv (f32.div (f32.const 1) (f32.add (f32.add (f32x4.extract_lane 0 (local.get $s)) (f32x4.extract_lane 1 (local.get $s))) (f32.add (f32x4.extract_lane 2 (local.get $s)) (f32x4.extract_lane 3 (local.get $s))))))
      (local.set $s (f32x4.splat (local.get $inv)))
      ;; pass 3: normalize; the padding lanes to 0
      (local.set $j (i32.const 0))
      (block $j_done (loop $jl
        (br_if $j_done (i32.ge_u (local.get $j) (local.get $nb)))
        (v128.store (i32.add (local.get $p) (local.get $j))
          (f32x4.mul (v128.load (i32.add (local.get $p) (local.get $j))) (local.get $s)))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $jl)))
      (if (i32.lt_u (local.get $nfull) (local.get $nb)) (then
        (v128.store (i32.add (local.get $p) (local.get $nfull))
          (v128.and (v128.load (i32.add (local.get $p) (local.get $nfull))) (local.get $keep)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $il)))
  )

  ;; layer_norm: dst[i] = (x[i] - mean)·(1/√(var + eps))·gamma + beta for each of rows rows of n
  ;; values (n % 4 == 0, rows contiguous; dst may be x), mean and biased variance in two f32x4
  ;; passes (the reference, kernels.LayerNorm, accumulates in float64).
  (func (export "layer_norm")
    (param $dst i32) (param $x i32) (param $rows i32) (param $n i32) (param $g i32) (param $b i32) (param $eps f32)
    (local $i i32) (local $j i32) (local $nb i32) (local $px i32) (local $pd i32)
    (local $acc v128) (local $m v128) (local $c v128) (local $inv v128) (local $mean f32) (local $var f32)
    (local.set $nb (i32.shl (local.get $n) (i32.const 2)))
    (block $i_done (loop $il
      (br_if $i_done (i32.ge_u (local.get $i) (local.get $rows)))
      (local.set $px (i32.add (local.get $x) (i32.mul (local.get $i) (local.get $nb))))
      (local.set $pd (i32.add (local.get $dst) (i32.mul (local.get $i) (local.get $nb))))
      (local.set $acc (v128.const i64x2 0 0))
      (local.set $j (i32.const 0))
      (block $d (loop $l
        (br_if $d (i32.ge_u (local.get $j) (local.get $nb)))
        (local.set $acc (f32x4.add (local.get $acc) (v128.load (i32.add (local.get $px) (local.get $j)))))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $l)))
      (local.set $mean (f32.div
        (f32.add (f32.add (f32x4.extract_lane 0 (local.get $acc)) (f32x4.extract_lane 1 (local.get $acc)))
                 (f32.add (f32x4.extract_lane 2 (local.get $acc)) (f32x4.extract_lane 3 (local.get $acc))))
        (f32.convert_i32_u (local.get $n))))
      (local.set $m (f32x4.splat (local.get $mean)))
      (local.set $acc (v128.const i64x2 0 0))
      (local.set $j (i32.const 0))
      (block $d (loop $l
        (br_if $d (i32.ge_u (local.get $j) (local.get $nb)))
        (local.set $c (f32x4.sub (v128.load (i32.add (local.get $px) (local.get $j))) (local.get $m)))
        (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (local.get $c) (local.get $c))))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $l)))
      (local.set $var (f32.div
        (f32.add (f32.add (f32x4.extract_lane 0 (local.get $acc)) (f32x4.extract_lane 1 (local.get $acc)))
                 (f32.add (f32x4.extract_lane 2 (local.get $acc)) (f32x4.extract_lane 3 (local.get $acc))))
        (f32.convert_i32_u (local.get $n))))
      (local.set $inv (f32x4.splat (f32.div (f32.const 1) (f32.sqrt (f32.add (local.get $var) (local.get $eps))))))
      (local.set $j (i32.const 0))
      (block $d (loop $l
        (br_if $d (i32.ge_u (local.get $j) (local.get $nb)))
        (v128.store (i32.add (local.get $pd) (local.get $j))
          (f32x4.add
            (f32x4.mul (f32x4.mul (f32x4.sub (v128.load (i32.add (local.get $px) (local.get $j))) (local.get $m)) (local.get $inv))
                       (v128.load (i32.add (local.get $g) (local.get $j))))
            (v128.load (i32.add (local.get $b) (local.get $j)))))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $l)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $il)))
  )

  ;; layer_norm_backward: LayerNorm's input gradient from its output's, for each of rows rows of
  ;; n values (n % 4 == 0, rows contiguous; dx may be dy): with g = dy·gamma,
  ;; dx = rstd[i]·(g − mean(g) − x̂·mean(g·x̂)), x̂ the normalized input the forward kept. The two
  ;; means in f32x4 (the reference, kernels.LayerNormBackwardRef, in float64).
  (func (export "layer_norm_backward")
    (param $dx i32) (param $dy i32) (param $rows i32) (param $n i32) (param $g i32) (param $xh i32) (param $rstd i32)
    (local $i i32) (local $j i32) (local $nb i32) (local $py i32) (local $pd i32) (local $px i32)
    (local $gg v128) (local $xv v128) (local $ag v128) (local $agx v128) (local $mg v128) (local $mgx v128) (local $rs v128)
    (local $inv f32)
    (local.set $nb (i32.shl (local.get $n) (i32.const 2)))
    (local.set $inv (f32.div (f32.const 1) (f32.convert_i32_u (local.get $n))))
    (block $i_done (loop $il
      (br_if $i_done (i32.ge_u (local.get $i) (local.get $rows)))
      (local.set $py (i32.add (local.get $dy) (i32.mul (local.get $i) (local.get $nb))))
      (local.set $pd (i32.add (local.get $dx) (i32.mul (local.get $i) (local.get $nb))))
      (local.set $px (i32.add (local.get $xh) (i32.mul (local.get $i) (local.get $nb))))
      (local.set $ag (v128.const i64x2 0 0))
      (local.set $agx (v128.const i64x2 0 0))
      (local.set $j (i32.const 0))
      (block $d (loop $l
        (br_if $d (i32.ge_u (local.get $j) (local.get $nb)))
        (local.set $gg (f32x4.mul (v128.load (i32.add (local.get $py) (local.get $j))) (v128.load (i32.add (local.get $g) (local.get $j)))))
        (local.set $ag (f32x4.add (local.get $ag) (local.get $gg)))
        (local.set $agx (f32x4.add (local.get $agx) (f32x4.mul (local.get $gg) (v128.load (i32.add (local.get $px) (local.get $j))))))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $l)))
      (local.set $mg (f32x4.splat (f32.mul (local.get $inv)
        (f32.add (f32.add (f32x4.extract_lane 0 (local.get $ag)) (f32x4.extract_lane 1 (local.get $ag)))
                 (f32.add (f32x4.extract_lane 2 (local.get $ag)) (f32x4.extract_lane 3 (local.get $ag)))))))
      (local.set $mgx (f32x4.splat (f32.mul (local.get $inv)
        (f32.add (f32.add (f32x4.extract_lane 0 (local.get $agx)) (f32x4.extract_lane 1 (local.get $agx)))
                 (f32.add (f32x4.extract_lane 2 (local.get $agx)) (f32x4.extract_lane 3 (local.get $agx)))))))
      (local.set $rs (v128.load32_splat (i32.add (local.get $rstd) (i32.shl (local.get $i) (i32.const 2)))))
      (local.set $j (i32.const 0))
      (block $d (loop $l
        (br_if $d (i32.ge_u (local.get $j) (local.get $nb)))
        (local.set $gg (f32x4.mul (v128.load (i32.add (local.get $py) (local.get $j))) (v128.load (i32.add (local.get $g) (local.get $j)))))
        (v128.store (i32.add (local.get $pd) (local.get $j))
          (f32x4.mul (local.get $rs)
            (f32x4.sub (f32x4.sub (local.get $gg) (local.get $mg))
                       (f32x4.mul (v128.load (i32.add (local.get $px) (local.get $j))) (local.get $mgx)))))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $l)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $il)))
  )

  ;; add_bias: x[i*n + j] += bias[j] for i < rows, j < n (n % 4 == 0).
  (func (export "add_bias") (param $x i32) (param $rows i32) (param $n i32) (param $b i32)
    (local $e i32) (local $j i32) (local $nb i32)
    (local.set $nb (i32.shl (local.get $n) (i32.const 2)))
    (local.set $e (i32.add (local.get $x) (i32.mul (local.get $rows) (local.get $nb))))
    (block $i_done (loop $il
      (br_if $i_done (i32.ge_u (local.get $x) (local.get $e)))
      (local.set $j (i32.const 0))
      (block $d (loop $l
        (br_if $d (i32.ge_u (local.get $j) (local.get $nb)))
        (v128.store (i32.add (local.get $x) (local.get $j))
          (f32x4.add (v128.load (i32.add (local.get $x) (local.get $j))) (v128.load (i32.add (local.get $b) (local.get $j)))))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $l)))
      (local.set $x (i32.add (local.get $x) (local.get $nb)))
      (br $il)))
  )

  ;; add_f32: d[i] = a[i] + b[i] for i < n (n % 4 == 0; d may be a or b): residual sums.
  (func (export "add_f32") (param $d i32) (param $a i32) (param $b i32) (param $n i32)
    (local $e i32)
    (local.set $e (i32.add (local.get $d) (i32.shl (local.get $n) (i32.const 2))))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $d) (local.get $e)))
      (v128.store (local.get $d) (f32x4.add (v128.load (local.get $a)) (v128.load (local.get $b))))
      (local.set $d (i32.add (local.get $d) (i32.const 16)))
      (local.set $a (i32.add (local.get $a) (i32.const 16)))
      (local.set $b (i32.add (local.get $b) (i32.const 16)))
      (br $l))))

  ;; scale_f32: x[i] = x[i] · s for i < n (n % 4 == 0).
  (func (export "scale_f32") (param $x i32) (param $n i32) (param $s f32)
    (local $e i32) (local $v v128)
    (local.set $v (f32x4.splat (local.get $s)))
    (local.set $e (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $x) (local.get $e)))
      (v128.store (local.get $x) (f32x4.mul (v128.load (local.get $x)) (local.get $v)))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (br $l))))

  ;; dequant_q8: w[i] = sw[i/32] · qw[i] for i < n (n % 32 == 0): an int8 matrix with one scale
  ;; per 32 consecutive values (Q8's planar layout) to float32, for sgemm_nt.
  (func $dequant (export "dequant_q8") (param $w i32) (param $qw i32) (param $sw i32) (param $n i32)
    (local $e i32) (local $s v128) (local $v v128)
    (local.set $e (i32.add (local.get $qw) (local.get $n)))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $qw) (local.get $e)))
      (local.set $s (v128.load32_splat (local.get $sw)))
      (local.set $v (v128.load8x8_s offset=0 (local.get $qw)))
      (v128.store offset=0 (local.get $w) (f32x4.mul (local.get $s) (f32x4.convert_i32x4_s (i32x4.extend_low_i16x8_s (local.get $v)))))
      (v128.store offset=16 (local.get $w) (f32x4.mul (local.get $s) (f32x4.convert_i32x4_s (i32x4.extend_high_i16x8_s (local.get $v)))))
      (local.set $v (v128.load8x8_s offset=8 (local.get $qw)))
      (v128.store offset=32 (local.get $w) (f32x4.mul (local.get $s) (f32x4.convert_i32x4_s (i32x4.extend_low_i16x8_s (local.get $v)))))
      (v128.store offset=48 (local.get $w) (f32x4.mul (local.get $s) (f32x4.convert_i32x4_s (i32x4.extend_high_i16x8_s (local.get $v)))))
      (local.set $v (v128.load8x8_s offset=16 (local.get $qw)))
      (v128.store offset=64 (local.get $w) (f32x4.mul (local.get $s) (f32x4.convert_i32x4_s (i32x4.extend_low_i16x8_s (local.get $v)))))
      (v128.store offset=80 (local.get $w) (f32x4.mul (local.get $s) (f32x4.convert_i32x4_s (i32x4.extend_high_i16x8_s (local.get $v)))))
      (local.set $v (v128.load8x8_s offset=24 (local.get $qw)))
      (v128.store offset=96 (local.get $w) (f32x4.mul (local.get $s) (f32x4.convert_i32x4_s (i32x4.extend_low_i16x8_s (local.get $v)))))
      (v128.store offset=112 (local.get $w) (f32x4.mul (local.get $s) (f32x4.convert_i32x4_s (i32x4.extend_high_i16x8_s (local.get $v)))))
      (local.set $qw (i32.add (local.get $qw) (i32.const 32)))
      (local.set $sw (i32.add (local.get $sw) (i32.const 4)))
      (local.set $w (i32.add (local.get $w) (i32.const 128)))
      (br $l)))
  )

  ;; q8_gemm_nt: d[i*ldd + j] = Σ_k x[i*ldx + k] · W[j][k] for a Q8 matrix W [N, K] (int8 qw,
  ;; one scale per 32 in sw), float32 activations: W is dequantized R rows at a time into
  ;; scratch (R·K floats, sized by the caller to stay in L2) and each slab multiplied by
  ;; sgemm_nt, so the int8 weights are read from memory once and float32 weights never are.
  (func (export "q8_gemm_nt")
    (param $d i32) (param $ldd i32) (param $x i32) (param $ldx i32) (param $qw i32) (param $sw i32)
    (param $scratch i32) (param $M i32) (param $K i32) (param $N i32) (param $R i32)
    (local $j0 i32) (local $r i32)
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $j0) (local.get $N)))
      (local.set $r (i32.sub (local.get $N) (local.get $j0)))
      (if (i32.gt_u (local.get $r) (local.get $R)) (then (local.set $r (local.get $R))))
      (call $dequant (local.get $scratch)
        (i32.add (local.get $qw) (i32.mul (local.get $j0) (local.get $K)))
        (i32.add (local.get $sw) (i32.shl (i32.mul (local.get $j0) (i32.shr_u (local.get $K) (i32.const 5))) (i32.const 2)))
        (i32.mul (local.get $r) (local.get $K)))
      (call $sgemm (i32.add (local.get $d) (i32.shl (local.get $j0) (i32.const 2))) (local.get $ldd)
        (local.get $x) (local.get $ldx) (local.get $scratch) (local.get $K) (local.get $M) (local.get $K) (local.get $r))
      (local.set $j0 (i32.add (local.get $j0) (local.get $R)))
      (br $l)))
  )
)
