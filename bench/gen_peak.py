# gen_peak.py N OUT: writes peak.wat with N independent chains (python3 gen_peak.py 13 peak.wat).
import sys
NA=int(sys.argv[1]); out=sys.argv[2]
def fn(name, ty, op_add, op_mul, splat, consts, res, extract):
    L=[f'  (func (export "{name}") (param $n i32) (result {res})',
       '    '+' '.join(f'(local $a{i} v128)' for i in range(NA)),
       '    (local $x v128) (local $y v128)']
    for i in range(NA):
        L.append(f'    (local.set $a{i} ({splat} ({ty}.const {consts[0]+i})))')
    L.append(f'    (local.set $x ({splat} ({ty}.const {consts[1]})))')
    L.append(f'    (local.set $y ({splat} ({ty}.const {consts[2]})))')
    L += ['    (block $done (loop $l', '      (br_if $done (i32.eqz (local.get $n)))']
    for i in range(NA):
        L.append(f'      (local.set $a{i} ({op_add} ({op_mul} (local.get $a{i}) (local.get $y)) (local.get $x)))')
    L += ['      (local.set $n (i32.sub (local.get $n) (i32.const 1)))', '      (br $l)))']
    acc='(local.get $a0)'
    for i in range(1,NA): acc=f'({op_add} {acc} (local.get $a{i}))'
    L.append(f'    ({extract} 0 {acc}))')
    return '\n'.join(L)
src=f''';; peak.wat: the machine's SIMD ceiling for the bench: {NA} independent chains
;; a_i = a_i·y + x of register-only operations per loop iteration. fmadd: f32x4.mul then
;; f32x4.add ({NA*8} flops per iteration); dot16: i32x4.dot_i16x8_s then i32x4.add ({NA} dots of
;; 8 multiply-adds = {NA*16} ops). Every product depends on its own chain, so an engine can
;; neither hoist nor share one; {NA} chains cover the mul+add latency, and {NA} + 2 registers fit
;; in x86-64's 16. Generated (bench/README.md): edit both functions alike.
(module
{fn("fmadd","f32","f32x4.add","f32x4.mul","f32x4.splat",[1.0,1e-3,0.999],"f32","f32x4.extract_lane")}
{fn("dot16","i32","i32x4.add","i32x4.dot_i16x8_s","i32x4.splat",[3,7,65537],"i32","i32x4.extract_lane")})
'''
open(out,'w').write(src)
