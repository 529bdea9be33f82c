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

  ;; hsum4 returns the lanes of v summed as (v0+v1)+(v2+v3).
  (func $hsum4 (param $v v128) (result f32)
    (f32.add
      (f32.add (f32x4.extract_lane 0 (local.get $v)) (f32x4.extract_lane 1 (local.get $v)))
      (f32.add (f32x4.extract_lane 2 (local.get $v)) (f32x4.extract_lane 3 (local.get $v)))))

  ;; sgemm_nt: d[i*ldd + j] = Σ_k x[i*ldx + k] · w[j*ldw + k] for i < M, j < N, k < K
  ;; (y = x·Wᵀ with W in nn.Linear's [out, in] layout). Tiles of 2 rows of x × 4 rows of w,
  ;; 8 f32x4 accumulators along K; w is walked in blocks of rows that fit in L1 and every pair
  ;; of x rows is run against a block before the next one.
  (func (export "sgemm_nt")
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
              (f32.store offset=0 (local.get $pd) (call $hsum4 (local.get $s00)))
              (f32.store offset=4 (local.get $pd) (call $hsum4 (local.get $s01)))
              (f32.store offset=8 (local.get $pd) (call $hsum4 (local.get $s02)))
              (f32.store offset=12 (local.get $pd) (call $hsum4 (local.get $s03)))
              (local.set $pd (i32.add (local.get $pd) (i32.shl (local.get $ldd) (i32.const 2))))
              (f32.store offset=0 (local.get $pd) (call $hsum4 (local.get $s10)))
              (f32.store offset=4 (local.get $pd) (call $hsum4 (local.get $s11)))
              (f32.store offset=8 (local.get $pd) (call $hsum4 (local.get $s12)))
              (f32.store offset=12 (local.get $pd) (call $hsum4 (local.get $s13))))
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
              (f32.store offset=0 (local.get $pd) (call $hsum4 (local.get $s00)))
              (f32.store offset=4 (local.get $pd) (call $hsum4 (local.get $s01)))
              (f32.store offset=8 (local.get $pd) (call $hsum4 (local.get $s02)))
              (f32.store offset=12 (local.get $pd) (call $hsum4 (local.get $s03)))))
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
          (call $hsum4 (local.get $s00)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $ir)))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $jr)))
  )

  ;; quant_q8: quantizes x [M, K] (row stride ldx) into int8 q [M, K] (contiguous) and one
  ;; f32 scale per 32 values s [M, K/32], as ggml's quantize_row_q8_0_ref with an f32 scale:
  ;; d = amax/127, q = round-half-even(x · (1/d)) (0 when d == 0).
  (func (export "quant_q8")
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
        (local.set $m (f32x4.max
          (f32x4.max (f32x4.max (f32x4.abs (local.get $v0)) (f32x4.abs (local.get $v1)))
                     (f32x4.max (f32x4.abs (local.get $v2)) (f32x4.abs (local.get $v3))))
          (f32x4.max (f32x4.max (f32x4.abs (local.get $v4)) (f32x4.abs (local.get $v5)))
                     (f32x4.max (f32x4.abs (local.get $v6)) (f32x4.abs (local.get $v7))))))
        (local.set $amax (f32.max
          (f32.max (f32x4.extract_lane 0 (local.get $m)) (f32x4.extract_lane 1 (local.get $m)))
          (f32.max (f32x4.extract_lane 2 (local.get $m)) (f32x4.extract_lane 3 (local.get $m)))))
        (local.set $dd (f32.div (local.get $amax) (f32.const 127)))
        (f32.store (local.get $s) (local.get $dd))
        (local.set $id (f32x4.splat (select (f32.div (f32.const 1) (local.get $dd)) (f32.const 0)
          (f32.ne (local.get $dd) (f32.const 0)))))
        (v128.store offset=0 (local.get $q)
          (i8x16.narrow_i16x8_s
            (i16x8.narrow_i32x4_s
              (i32x4.trunc_sat_f32x4_s (f32x4.nearest (f32x4.mul (local.get $v0) (local.get $id))))
              (i32x4.trunc_sat_f32x4_s (f32x4.nearest (f32x4.mul (local.get $v1) (local.get $id)))))
            (i16x8.narrow_i32x4_s
              (i32x4.trunc_sat_f32x4_s (f32x4.nearest (f32x4.mul (local.get $v2) (local.get $id))))
              (i32x4.trunc_sat_f32x4_s (f32x4.nearest (f32x4.mul (local.get $v3) (local.get $id)))))))
        (v128.store offset=16 (local.get $q)
          (i8x16.narrow_i16x8_s
            (i16x8.narrow_i32x4_s
              (i32x4.trunc_sat_f32x4_s (f32x4.nearest (f32x4.mul (local.get $v4) (local.get $id))))
              (i32x4.trunc_sat_f32x4_s (f32x4.nearest (f32x4.mul (local.get $v5) (local.get $id)))))
            (i16x8.narrow_i32x4_s
              (i32x4.trunc_sat_f32x4_s (f32x4.nearest (f32x4.mul (local.get $v6) (local.get $id))))
              (i32x4.trunc_sat_f32x4_s (f32x4.nearest (f32x4.mul (local.get $v7) (local.get $id)))))))
        (local.set $q (i32.add (local.get $q) (i32.const 32)))
        (local.set $s (i32.add (local.get $s) (i32.const 4)))
        (local.set $px (i32.add (local.get $px) (i32.const 128)))
        (br $bl)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $il)))
  )

  ;; dot32 returns Σ qa[k]·qb[k] over 32 int8 values as i32x4 partial sums (v128.load8x8_s
  ;; sign-extends 8 bytes to i16x8 in the load; i32x4.dot_i16x8_s adds adjacent products).
  ;; Inlined by hand in qgemm_nt's tiles; kept for the 1×1 remainder.
  (func $dot32 (param $pa i32) (param $pb i32) (result v128)
    (i32x4.add
      (i32x4.add
        (i32x4.dot_i16x8_s (v128.load8x8_s offset=0 (local.get $pa)) (v128.load8x8_s offset=0 (local.get $pb)))
        (i32x4.dot_i16x8_s (v128.load8x8_s offset=8 (local.get $pa)) (v128.load8x8_s offset=8 (local.get $pb))))
      (i32x4.add
        (i32x4.dot_i16x8_s (v128.load8x8_s offset=16 (local.get $pa)) (v128.load8x8_s offset=16 (local.get $pb)))
        (i32x4.dot_i16x8_s (v128.load8x8_s offset=24 (local.get $pa)) (v128.load8x8_s offset=24 (local.get $pb))))))

  ;; qgemm_nt: d[i*ldd + j] = Σ_b sx[i*nb + b] · sw[j*nb + b] · Σ_{k in block b} qx[i*K + k] · qw[j*K + k]
  ;; with blocks of 32 (nb = K/32): int8 × int8 → int32 per block (exact), then scaled and summed
  ;; in f32. Tiles of 2 rows of x × 2 rows of w; w in L1-sized blocks of rows as sgemm_nt.
  (func (export "qgemm_nt")
    (param $d i32) (param $ldd i32) (param $qx i32) (param $sx i32) (param $qw i32) (param $sw i32)
    (param $M i32) (param $K i32) (param $N i32)
    (local $nb i32) (local $rb i32) (local $N2 i32) (local $j0 i32) (local $j1 i32) (local $i i32) (local $j i32)
    (local $k i32) (local $kb i32)
    (local $px0 i32) (local $px1 i32) (local $pw0 i32) (local $pw1 i32)
    (local $ps0 i32) (local $ps1 i32) (local $pt0 i32) (local $pt1 i32) (local $pd i32)
    (local $a v128) (local $b v128) (local $c v128)
    (local $t00 v128) (local $t01 v128) (local $t10 v128) (local $t11 v128)
    (local $f00 v128) (local $f01 v128) (local $f10 v128) (local $f11 v128)
    (local $sa f32) (local $sb f32) (local $sc f32) (local $sd f32)
    (local $one i32)
    (local.set $nb (i32.shr_u (local.get $K) (i32.const 5)))
    ;; rows of w per block: about 16 KB of int8, an even number, at least 2
    (local.set $rb (i32.and (i32.div_u (i32.const 16384) (local.get $K)) (i32.const -2)))
    (if (i32.lt_u (local.get $rb) (i32.const 2)) (then (local.set $rb (i32.const 2))))
    (local.set $N2 (i32.and (local.get $N) (i32.const -2)))
    (local.set $j0 (i32.const 0))
    (block $jb_done (loop $jb
      (br_if $jb_done (i32.ge_u (local.get $j0) (local.get $N2)))
      (local.set $j1 (i32.add (local.get $j0) (local.get $rb)))
      (if (i32.gt_u (local.get $j1) (local.get $N2)) (then (local.set $j1 (local.get $N2))))
      (local.set $i (i32.const 0))
      (block $i_done (loop $il
        (br_if $i_done (i32.ge_u (local.get $i) (local.get $M)))
        ;; an odd last row runs as a 2×2 tile with its own row twice, storing one row
        (local.set $one (i32.ge_u (i32.add (local.get $i) (i32.const 1)) (local.get $M)))
        (local.set $px0 (i32.add (local.get $qx) (i32.mul (local.get $i) (local.get $K))))
        (local.set $px1 (select (local.get $px0) (i32.add (local.get $px0) (local.get $K)) (local.get $one)))
        (local.set $ps0 (i32.add (local.get $sx) (i32.shl (i32.mul (local.get $i) (local.get $nb)) (i32.const 2))))
        (local.set $ps1 (select (local.get $ps0) (i32.add (local.get $ps0) (i32.shl (local.get $nb) (i32.const 2))) (local.get $one)))
        (local.set $j (local.get $j0))
        (block $j_done (loop $jl
          (br_if $j_done (i32.ge_u (local.get $j) (local.get $j1)))
          (local.set $pw0 (i32.add (local.get $qw) (i32.mul (local.get $j) (local.get $K))))
          (local.set $pw1 (i32.add (local.get $pw0) (local.get $K)))
          (local.set $pt0 (i32.add (local.get $sw) (i32.shl (i32.mul (local.get $j) (local.get $nb)) (i32.const 2))))
          (local.set $pt1 (i32.add (local.get $pt0) (i32.shl (local.get $nb) (i32.const 2))))
          (local.set $f00 (v128.const i64x2 0 0)) (local.set $f01 (v128.const i64x2 0 0))
          (local.set $f10 (v128.const i64x2 0 0)) (local.set $f11 (v128.const i64x2 0 0))
          (local.set $k (i32.const 0))
          (block $k_done (loop $kl
            (br_if $k_done (i32.ge_u (local.get $k) (local.get $K)))
            ;; one block of 32: four chunks of 8, 2×2 dot products each
            (local.set $a (v128.load8x8_s offset=0 (i32.add (local.get $px0) (local.get $k))))
            (local.set $b (v128.load8x8_s offset=0 (i32.add (local.get $px1) (local.get $k))))
            (local.set $c (v128.load8x8_s offset=0 (i32.add (local.get $pw0) (local.get $k))))
            (local.set $t00 (i32x4.dot_i16x8_s (local.get $a) (local.get $c)))
            (local.set $t10 (i32x4.dot_i16x8_s (local.get $b) (local.get $c)))
            (local.set $c (v128.load8x8_s offset=0 (i32.add (local.get $pw1) (local.get $k))))
            (local.set $t01 (i32x4.dot_i16x8_s (local.get $a) (local.get $c)))
            (local.set $t11 (i32x4.dot_i16x8_s (local.get $b) (local.get $c)))

            (local.set $a (v128.load8x8_s offset=8 (i32.add (local.get $px0) (local.get $k))))
            (local.set $b (v128.load8x8_s offset=8 (i32.add (local.get $px1) (local.get $k))))
            (local.set $c (v128.load8x8_s offset=8 (i32.add (local.get $pw0) (local.get $k))))
            (local.set $t00 (i32x4.add (local.get $t00) (i32x4.dot_i16x8_s (local.get $a) (local.get $c))))
            (local.set $t10 (i32x4.add (local.get $t10) (i32x4.dot_i16x8_s (local.get $b) (local.get $c))))
            (local.set $c (v128.load8x8_s offset=8 (i32.add (local.get $pw1) (local.get $k))))
            (local.set $t01 (i32x4.add (local.get $t01) (i32x4.dot_i16x8_s (local.get $a) (local.get $c))))
            (local.set $t11 (i32x4.add (local.get $t11) (i32x4.dot_i16x8_s (local.get $b) (local.get $c))))

            (local.set $a (v128.load8x8_s offset=16 (i32.add (local.get $px0) (local.get $k))))
            (local.set $b (v128.load8x8_s offset=16 (i32.add (local.get $px1) (local.get $k))))
            (local.set $c (v128.load8x8_s offset=16 (i32.add (local.get $pw0) (local.get $k))))
            (local.set $t00 (i32x4.add (local.get $t00) (i32x4.dot_i16x8_s (local.get $a) (local.get $c))))
            (local.set $t10 (i32x4.add (local.get $t10) (i32x4.dot_i16x8_s (local.get $b) (local.get $c))))
            (local.set $c (v128.load8x8_s offset=16 (i32.add (local.get $pw1) (local.get $k))))
            (local.set $t01 (i32x4.add (local.get $t01) (i32x4.dot_i16x8_s (local.get $a) (local.get $c))))
            (local.set $t11 (i32x4.add (local.get $t11) (i32x4.dot_i16x8_s (local.get $b) (local.get $c))))

            (local.set $a (v128.load8x8_s offset=24 (i32.add (local.get $px0) (local.get $k))))
            (local.set $b (v128.load8x8_s offset=24 (i32.add (local.get $px1) (local.get $k))))
            (local.set $c (v128.load8x8_s offset=24 (i32.add (local.get $pw0) (local.get $k))))
            (local.set $t00 (i32x4.add (local.get $t00) (i32x4.dot_i16x8_s (local.get $a) (local.get $c))))
            (local.set $t10 (i32x4.add (local.get $t10) (i32x4.dot_i16x8_s (local.get $b) (local.get $c))))
            (local.set $c (v128.load8x8_s offset=24 (i32.add (local.get $pw1) (local.get $k))))
            (local.set $t01 (i32x4.add (local.get $t01) (i32x4.dot_i16x8_s (local.get $a) (local.get $c))))
            (local.set $t11 (i32x4.add (local.get $t11) (i32x4.dot_i16x8_s (local.get $b) (local.get $c))))

            ;; scale the block's integer sums by sx·sw and add them to the f32 accumulators
            (local.set $sa (f32.load (local.get $ps0)))
            (local.set $sb (f32.load (local.get $ps1)))
            (local.set $sc (f32.load (local.get $pt0)))
            (local.set $sd (f32.load (local.get $pt1)))
            (local.set $f00 (f32x4.add (local.get $f00)
              (f32x4.mul (f32x4.convert_i32x4_s (local.get $t00)) (f32x4.splat (f32.mul (local.get $sa) (local.get $sc))))))
            (local.set $f01 (f32x4.add (local.get $f01)
              (f32x4.mul (f32x4.convert_i32x4_s (local.get $t01)) (f32x4.splat (f32.mul (local.get $sa) (local.get $sd))))))
            (local.set $f10 (f32x4.add (local.get $f10)
              (f32x4.mul (f32x4.convert_i32x4_s (local.get $t10)) (f32x4.splat (f32.mul (local.get $sb) (local.get $sc))))))
            (local.set $f11 (f32x4.add (local.get $f11)
              (f32x4.mul (f32x4.convert_i32x4_s (local.get $t11)) (f32x4.splat (f32.mul (local.get $sb) (local.get $sd))))))
            (local.set $ps0 (i32.add (local.get $ps0) (i32.const 4)))
            (local.set $ps1 (i32.add (local.get $ps1) (i32.const 4)))
            (local.set $pt0 (i32.add (local.get $pt0) (i32.const 4)))
            (local.set $pt1 (i32.add (local.get $pt1) (i32.const 4)))
            (local.set $k (i32.add (local.get $k) (i32.const 32)))
            (br $kl)))
          ;; rewind the x scale pointers for the next pair of w rows
          (local.set $ps0 (i32.sub (local.get $ps0) (i32.shl (local.get $nb) (i32.const 2))))
          (local.set $ps1 (i32.sub (local.get $ps1) (i32.shl (local.get $nb) (i32.const 2))))
          (local.set $pd (i32.add (local.get $d) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $ldd)) (local.get $j)) (i32.const 2))))
          (f32.store offset=0 (local.get $pd) (call $hsum4 (local.get $f00)))
          (f32.store offset=4 (local.get $pd) (call $hsum4 (local.get $f01)))
          (if (i32.eqz (local.get $one)) (then
            (local.set $pd (i32.add (local.get $pd) (i32.shl (local.get $ldd) (i32.const 2))))
            (f32.store offset=0 (local.get $pd) (call $hsum4 (local.get $f10)))
            (f32.store offset=4 (local.get $pd) (call $hsum4 (local.get $f11)))))
          (local.set $j (i32.add (local.get $j) (i32.const 2)))
          (br $jl)))
        (local.set $i (i32.add (local.get $i) (i32.const 2)))
        (br $il)))
      (local.set $j0 (local.get $j1))
      (br $jb)))
    ;; an odd last column
    (if (i32.lt_u (local.get $N2) (local.get $N)) (then
      (local.set $j (local.get $N2))
      (local.set $pw0 (i32.add (local.get $qw) (i32.mul (local.get $j) (local.get $K))))
      (local.set $i (i32.const 0))
      (block $ir_done (loop $ir
        (br_if $ir_done (i32.ge_u (local.get $i) (local.get $M)))
        (local.set $px0 (i32.add (local.get $qx) (i32.mul (local.get $i) (local.get $K))))
        (local.set $ps0 (i32.add (local.get $sx) (i32.shl (i32.mul (local.get $i) (local.get $nb)) (i32.const 2))))
        (local.set $pt0 (i32.add (local.get $sw) (i32.shl (i32.mul (local.get $j) (local.get $nb)) (i32.const 2))))
        (local.set $f00 (v128.const i64x2 0 0))
        (local.set $k (i32.const 0))
        (block $k_done (loop $kl
          (br_if $k_done (i32.ge_u (local.get $k) (local.get $K)))
          (local.set $f00 (f32x4.add (local.get $f00)
            (f32x4.mul
              (f32x4.convert_i32x4_s (call $dot32 (i32.add (local.get $px0) (local.get $k)) (i32.add (local.get $pw0) (local.get $k))))
              (f32x4.splat (f32.mul (f32.load (local.get $ps0)) (f32.load (local.get $pt0)))))))
          (local.set $ps0 (i32.add (local.get $ps0) (i32.const 4)))
          (local.set $pt0 (i32.add (local.get $pt0) (i32.const 4)))
          (local.set $k (i32.add (local.get $k) (i32.const 32)))
          (br $kl)))
        (f32.store (i32.add (local.get $d) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $ldd)) (local.get $j)) (i32.const 2)))
          (call $hsum4 (local.get $f00)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $ir)))))
  )

  ;; exp4 is e^v lane-wise as Cephes' expf (range reduction by ln 2 in two parts, degree-5
  ;; polynomial, 2^n built in the exponent bits), v clamped to [-87.34, 88.38] so that 2^n stays
  ;; a normal float: e^v for v ≤ -87.34 is 1.2e-38, not 0. About 2 ulp.
  (func $exp4 (param $v v128) (result v128)
    (local $n v128) (local $r v128) (local $p v128)
    (local.set $v (f32x4.min (f32x4.max (local.get $v) (v128.const f32x4 -87.3365 -87.3365 -87.3365 -87.3365))
                             (v128.const f32x4 88.3762626647949 88.3762626647949 88.3762626647949 88.3762626647949)))
    (local.set $n (f32x4.nearest (f32x4.mul (local.get $v) (v128.const f32x4 1.44269504088896341 1.44269504088896341 1.44269504088896341 1.44269504088896341))))
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
      (i32x4.shl (i32x4.add (i32x4.trunc_sat_f32x4_s (local.get $n)) (v128.const i32x4 127 127 127 127)) (i32.const 23))))

  ;; exp_f32: x[i] = e^x[i] for i < n (n % 4 == 0): exp4's test entry point.
  (func (export "exp_f32") (param $x i32) (param $n i32)
    (local $e i32)
    (local.set $e (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $x) (local.get $e)))
      (v128.store (local.get $x) (call $exp4 (v128.load (local.get $x))))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (br $l))))

  ;; gelu_erf: x[i] = 0.5·x·(1 + erf(x/√2)) in place for i < n (any n; the last partial
  ;; vector is done one lane at a time through a 16-byte stack-free copy in place). erf is
  ;; Abramowitz & Stegun 7.1.26: erf(z) = 1 - (a1 t + … + a5 t⁵)·e^(-z²), t = 1/(1 + p z), for
  ;; z ≥ 0, |error| ≤ 1.5e-7, odd-extended.
  (func $gelu4 (param $x v128) (result v128)
    (local $z v128) (local $a v128) (local $t v128) (local $p v128) (local $y v128)
    (local.set $z (f32x4.mul (local.get $x) (v128.const f32x4 0.70710678118654752 0.70710678118654752 0.70710678118654752 0.70710678118654752)))
    (local.set $a (f32x4.abs (local.get $z)))
    (local.set $t (f32x4.div (v128.const f32x4 1 1 1 1)
      (f32x4.add (v128.const f32x4 1 1 1 1) (f32x4.mul (local.get $a) (v128.const f32x4 0.3275911 0.3275911 0.3275911 0.3275911)))))
    (local.set $p (v128.const f32x4 1.061405429 1.061405429 1.061405429 1.061405429))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $t)) (v128.const f32x4 -1.453152027 -1.453152027 -1.453152027 -1.453152027)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $t)) (v128.const f32x4 1.421413741 1.421413741 1.421413741 1.421413741)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $t)) (v128.const f32x4 -0.284496736 -0.284496736 -0.284496736 -0.284496736)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $t)) (v128.const f32x4 0.254829592 0.254829592 0.254829592 0.254829592)))
    (local.set $p (f32x4.mul (local.get $p) (local.get $t)))
    ;; y = erf(|z|)
    (local.set $y (f32x4.sub (v128.const f32x4 1 1 1 1)
      (f32x4.mul (local.get $p) (call $exp4 (f32x4.neg (f32x4.mul (local.get $a) (local.get $a)))))))
    ;; erf(z) = sign(z)·y; gelu = 0.5·x·(1 + erf(z))
    (local.set $y (v128.or (local.get $y) (v128.and (local.get $z) (v128.const i32x4 0x80000000 0x80000000 0x80000000 0x80000000))))
    (f32x4.mul (f32x4.mul (local.get $x) (v128.const f32x4 0.5 0.5 0.5 0.5))
      (f32x4.add (v128.const f32x4 1 1 1 1) (local.get $y))))

  (func (export "gelu_erf") (param $x i32) (param $n i32)
    (local $e i32) (local $v v128)
    (local.set $e (i32.add (local.get $x) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $x) (local.get $e)))
      (v128.store (local.get $x) (call $gelu4 (v128.load (local.get $x))))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (br $l)))
    ;; the last n % 4 values, one lane each
    (local.set $e (i32.add (local.get $e) (i32.shl (i32.and (local.get $n) (i32.const 3)) (i32.const 2))))
    (block $tdone (loop $t
      (br_if $tdone (i32.ge_u (local.get $x) (local.get $e)))
      (f32.store (local.get $x) (f32x4.extract_lane 0 (call $gelu4 (f32x4.splat (f32.load (local.get $x))))))
      (local.set $x (i32.add (local.get $x) (i32.const 4)))
      (br $t))))

  ;; softmax_rows: for each of rows rows of x (row stride ld ≥ n rounded up to 4, f32, 16-byte
  ;; readable past n), x[j] = softmax(x[j]·scale + bias[j]) over j < n (bias: n values, ld
  ;; readable), and x[j] = 0 for n ≤ j < n rounded up to 4 (the padding the P·V product reads).
  (func (export "softmax_rows") (param $x i32) (param $ld i32) (param $rows i32) (param $n i32) (param $scale f32) (param $bias i32)
    (local $i i32) (local $j i32) (local $p i32) (local $nb i32)
    (local $sc v128) (local $m v128) (local $s v128) (local $v v128) (local $keep v128) (local $idx v128) (local $nv v128)
    (local $mx f32) (local $inv f32)
    (local.set $sc (f32x4.splat (local.get $scale)))
    (local.set $nv (i32x4.splat (local.get $n)))
    (local.set $nb (i32.shl (local.get $n) (i32.const 2)))
    (block $i_done (loop $il
      (br_if $i_done (i32.ge_u (local.get $i) (local.get $rows)))
      (local.set $p (i32.add (local.get $x) (i32.shl (i32.mul (local.get $i) (local.get $ld)) (i32.const 2))))
      ;; pass 1: v = x·scale + bias (padding lanes -inf), stored; running max
      (local.set $m (v128.const f32x4 -inf -inf -inf -inf))
      (local.set $idx (v128.const i32x4 0 1 2 3))
      (local.set $j (i32.const 0))
      (block $j_done (loop $jl
        (br_if $j_done (i32.ge_u (local.get $j) (local.get $nb)))
        (local.set $keep (i32x4.lt_s (local.get $idx) (local.get $nv)))
        (local.set $v (v128.bitselect
          (f32x4.add (f32x4.mul (v128.load (i32.add (local.get $p) (local.get $j))) (local.get $sc))
                     (v128.load (i32.add (local.get $bias) (local.get $j))))
          (v128.const f32x4 -inf -inf -inf -inf)
          (local.get $keep)))
        (v128.store (i32.add (local.get $p) (local.get $j)) (local.get $v))
        (local.set $m (f32x4.max (local.get $m) (local.get $v)))
        (local.set $idx (i32x4.add (local.get $idx) (v128.const i32x4 4 4 4 4)))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $jl)))
      (local.set $mx (f32.max
        (f32.max (f32x4.extract_lane 0 (local.get $m)) (f32x4.extract_lane 1 (local.get $m)))
        (f32.max (f32x4.extract_lane 2 (local.get $m)) (f32x4.extract_lane 3 (local.get $m)))))
      (local.set $m (f32x4.splat (local.get $mx)))
      ;; pass 2: e = exp(v - max) (padding lanes 0), stored; running sum
      (local.set $s (v128.const i64x2 0 0))
      (local.set $idx (v128.const i32x4 0 1 2 3))
      (local.set $j (i32.const 0))
      (block $j_done (loop $jl
        (br_if $j_done (i32.ge_u (local.get $j) (local.get $nb)))
        (local.set $keep (i32x4.lt_s (local.get $idx) (local.get $nv)))
        (local.set $v (v128.and
          (call $exp4 (f32x4.sub (v128.load (i32.add (local.get $p) (local.get $j))) (local.get $m)))
          (local.get $keep)))
        (v128.store (i32.add (local.get $p) (local.get $j)) (local.get $v))
        (local.set $s (f32x4.add (local.get $s) (local.get $v)))
        (local.set $idx (i32x4.add (local.get $idx) (v128.const i32x4 4 4 4 4)))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $jl)))
      (local.set $inv (f32.div (f32.const 1) (call $hsum4 (local.get $s))))
      (local.set $s (f32x4.splat (local.get $inv)))
      ;; pass 3: normalize
      (local.set $j (i32.const 0))
      (block $j_done (loop $jl
        (br_if $j_done (i32.ge_u (local.get $j) (local.get $nb)))
        (v128.store (i32.add (local.get $p) (local.get $j))
          (f32x4.mul (v128.load (i32.add (local.get $p) (local.get $j))) (local.get $s)))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $jl)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $il)))
  )
)
