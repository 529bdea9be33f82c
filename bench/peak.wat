;; peak.wat: the machine's SIMD ceiling for the bench, a loop of independent register-only ops.
;; fmadd: 10 accumulators a_i += x_(i%2) * y per iteration (10 f32x4.mul + 10 f32x4.add =
;; 80 flops, plus 2 adds that change x so that the engine cannot hoist the products out of
;; the loop), the GEMM kernel's inner operation without its loads; enough independent chains to
;; cover the add latency, few enough to stay in registers. dot16: the same with
;; i32x4.dot_i16x8_s (10 dots of 8 multiply-adds = 160 ops) + i32x4.add.
(module
  (func (export "fmadd") (param $n i32) (result f32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $a4 v128) (local $a5 v128) (local $a6 v128) (local $a7 v128) (local $a8 v128) (local $a9 v128)
    (local $x0 v128) (local $x1 v128) (local $y v128) (local $dx v128)
    (local.set $x0 (f32x4.splat (f32.const 1.0001)))
    (local.set $x1 (f32x4.splat (f32.const 0.9999)))
    (local.set $y (f32x4.splat (f32.const 0.5)))
    (local.set $dx (f32x4.splat (f32.const 1e-7)))
    (block $done (loop $l
      (br_if $done (i32.eqz (local.get $n)))
      ;; the multiplicands change every iteration, so no product can be hoisted out of the loop
      (local.set $x0 (f32x4.add (local.get $x0) (local.get $dx)))
      (local.set $x1 (f32x4.add (local.get $x1) (local.get $dx)))
      (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $x0) (local.get $y))))
      (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $x1) (local.get $y))))
      (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $x0) (local.get $y))))
      (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $x1) (local.get $y))))
      (local.set $a4 (f32x4.add (local.get $a4) (f32x4.mul (local.get $x0) (local.get $y))))
      (local.set $a5 (f32x4.add (local.get $a5) (f32x4.mul (local.get $x1) (local.get $y))))
      (local.set $a6 (f32x4.add (local.get $a6) (f32x4.mul (local.get $x0) (local.get $y))))
      (local.set $a7 (f32x4.add (local.get $a7) (f32x4.mul (local.get $x1) (local.get $y))))
      (local.set $a8 (f32x4.add (local.get $a8) (f32x4.mul (local.get $x0) (local.get $y))))
      (local.set $a9 (f32x4.add (local.get $a9) (f32x4.mul (local.get $x1) (local.get $y))))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $l)))
    (f32x4.extract_lane 0 (f32x4.add (f32x4.add (f32x4.add (f32x4.add (f32x4.add (f32x4.add (f32x4.add (f32x4.add (f32x4.add (local.get $a0) (local.get $a1)) (local.get $a2)) (local.get $a3)) (local.get $a4)) (local.get $a5)) (local.get $a6)) (local.get $a7)) (local.get $a8)) (local.get $a9))))
  (func (export "dot16") (param $n i32) (result i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $a4 v128) (local $a5 v128) (local $a6 v128) (local $a7 v128) (local $a8 v128) (local $a9 v128)
    (local $x0 v128) (local $x1 v128) (local $y v128) (local $dx v128)
    (local.set $x0 (i16x8.splat (i32.const 3)))
    (local.set $x1 (i16x8.splat (i32.const -5)))
    (local.set $y (i16x8.splat (i32.const 13)))
    (local.set $dx (i16x8.splat (i32.const 1)))
    (block $done (loop $l
      (br_if $done (i32.eqz (local.get $n)))
      ;; the multiplicands change every iteration, so no product can be hoisted out of the loop
      (local.set $x0 (i16x8.add (local.get $x0) (local.get $dx)))
      (local.set $x1 (i16x8.add (local.get $x1) (local.get $dx)))
      (local.set $a0 (i32x4.add (local.get $a0) (i32x4.dot_i16x8_s (local.get $x0) (local.get $y))))
      (local.set $a1 (i32x4.add (local.get $a1) (i32x4.dot_i16x8_s (local.get $x1) (local.get $y))))
      (local.set $a2 (i32x4.add (local.get $a2) (i32x4.dot_i16x8_s (local.get $x0) (local.get $y))))
      (local.set $a3 (i32x4.add (local.get $a3) (i32x4.dot_i16x8_s (local.get $x1) (local.get $y))))
      (local.set $a4 (i32x4.add (local.get $a4) (i32x4.dot_i16x8_s (local.get $x0) (local.get $y))))
      (local.set $a5 (i32x4.add (local.get $a5) (i32x4.dot_i16x8_s (local.get $x1) (local.get $y))))
      (local.set $a6 (i32x4.add (local.get $a6) (i32x4.dot_i16x8_s (local.get $x0) (local.get $y))))
      (local.set $a7 (i32x4.add (local.get $a7) (i32x4.dot_i16x8_s (local.get $x1) (local.get $y))))
      (local.set $a8 (i32x4.add (local.get $a8) (i32x4.dot_i16x8_s (local.get $x0) (local.get $y))))
      (local.set $a9 (i32x4.add (local.get $a9) (i32x4.dot_i16x8_s (local.get $x1) (local.get $y))))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $l)))
    (i32x4.extract_lane 0 (i32x4.add (i32x4.add (i32x4.add (i32x4.add (i32x4.add (i32x4.add (i32x4.add (i32x4.add (i32x4.add (local.get $a0) (local.get $a1)) (local.get $a2)) (local.get $a3)) (local.get $a4)) (local.get $a5)) (local.get $a6)) (local.get $a7)) (local.get $a8)) (local.get $a9)))))
