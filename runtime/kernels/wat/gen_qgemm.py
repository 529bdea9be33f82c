"""gen_qgemm.py R Q IN.wat OUT.wat [U]: rewrites the qgemm_packed function of IN.wat as a tile of
R rows of activations × 4·Q columns (Q packed quads), the block's 16 k-pairs in a loop of U per
iteration, and qgemm_u7 after it (the same loop, qgemm_r7's scaling), and writes OUT.wat. kernels.wat holds the output of

    python3 gen_qgemm.py 4 2 kernels.wat kernels.wat 1

Each block's scaled sums are added to the output tile in memory (read-modify-write of 4·Q
floats per row), not kept in 8 f32x4 locals: measured at 128×384·384×1536, best of 60, Node 20
and Chromium 156 on the project's EPYC — this form 87–90 / 87–89 GOPS; the same tile with the
sums in locals 88–90 / 65 (Chromium's V8 spills in the hot loop); 2×8: 85 / 65; 3×12: 75 / 87;
4×8 with U=2: 73 / 88; 4×12 and 6×8 spill in both. Unrolling the k-pair loop further lets V8
hoist every load to the top of the block and spill them. Edit the generator, not the function.

Issue 21, Node 20 on the same machine (best of 40, load 2–3): the activations of 4 rows
interleaved by k-pairs (quant_i16's layout), so that one pointer with constant offsets feeds the
tile, 3 fewer additions per k-pair: 384×1536 65–66 → 68–70 GOPS. V8's code for the k-pair loop
is then 6 loads, 8 vpmaddwd + 8 vpaddd, 3 pointer additions and the counter; ending the loop on
a pointer instead of the counter changed nothing measurable; U=2 still loses (54 GOPS).

Issue 21 (session 11): pack_q8 interleaves the quads of each panel of 8 columns by k-pairs (16
bytes a k-pair: 8 of quad j, 8 of quad j+4), so the tile reads its weights as one sequential
stream through one pointer (two v128.load8x8_s at offsets 0 and 8) instead of two streams 4·K
bytes apart: the same instructions less one addition per k-pair, and the hardware prefetcher
follows one stream across panels. Old against new module, medians of 30 interleaved rounds over
40 weight sets cycled (cold weights, as in a forward pass), same floats: 16 rows 0.90–0.97× the
time (384×384, 384×1536, 1536×384), 32 rows 0.89–0.97×, 128 rows 0.96–1.01×. Q must be even.
"""
import sys
R=int(sys.argv[1]); Q=int(sys.argv[2]); src=sys.argv[3]; out=sys.argv[4]
s=open(src).read()
a=s.index(';; qgemm_packed:'); a=s.rindex('\n', 0, a)+1; b=s.index(';; attention runs scaled')  # the next function (its comment starts in column 0)
C=4*Q
U=int(sys.argv[5]) if len(sys.argv)>5 else 1
assert Q % 2 == 0, "pack_q8's panels hold two quads: Q must be even"
P=Q//2  # panels of 8 columns, one weight pointer each
body=[]
for k in range(U):
    ao, wo = 4*k, 8*k
    body += [f"(local.set $w{q} (v128.load8x8_s offset={16*k+8*(q%2)} (local.get $pw{q//2})))" for q in range(Q)]
    for r in range(R):
        body.append(f"(local.set $a (v128.load32_splat offset={4*R*k+4*r} (local.get $pa)))")
        for q in range(Q):
            body.append(f"(local.set $t{r}{q} (i32x4.add (local.get $t{r}{q}) (i32x4.dot_i16x8_s (local.get $a) (local.get $w{q}))))")
zero=[f"(local.set $t{r}{q} (v128.const i64x2 0 0))" for r in range(R) for q in range(Q)]
incs=[f"(local.set $pa (i32.add (local.get $pa) (i32.const {4*R*U})))"]+[f"(local.set $pw{p} (i32.add (local.get $pw{p}) (i32.const {16*U})))" for p in range(P)]
body = zero + ["(local.set $kp (i32.const 0))", "(block $kp_done (loop $kpl", "(br_if $kp_done (i32.ge_u (local.get $kp) KPN))"] + body + incs + [f"(local.set $kp (i32.add (local.get $kp) (i32.const {U})))", "(br $kpl)))"]
ind="            "
body_txt="\n".join(ind+l for l in body)
locs_t=" ".join(f"(local $t{r}{q} v128)" for r in range(R) for q in range(Q))
locs_f=" ".join(f"(local $pd{r} i32)" for r in range(R))
locs_p="(local $pa i32) "+" ".join(f"(local $ps{r} i32)" for r in range(R))
locs_w=" ".join(f"(local $w{q} v128) (local $v{q} v128)" for q in range(Q))+" "+" ".join(f"(local $pw{p} i32)" for p in range(P))
# the activations of rows i..i+3 (quant_i16's layout: 4 rows interleaved by k-pairs), at the
# same offset as row i's in a row-major layout; rows past M read zeros and land in tmp
setup=["(local.set $pa (i32.add (local.get $qx) (i32.shl (i32.mul (local.get $i) (local.get $K)) (i32.const 1))))"]
for r in range(R):
    setup.append(f"(local.set $row (select (i32.add (local.get $i) (i32.const {r})) (i32.sub (local.get $M) (i32.const 1)) (i32.lt_u (i32.add (local.get $i) (i32.const {r})) (local.get $M))))")
    setup.append(f"(local.set $ps{r} (i32.add (local.get $sx) (i32.shl (i32.mul (local.get $row) (local.get $nb)) (i32.const 2))))")
    # the output row (a rows past M: the caller's scratch row $tmp), zeroed
    setup.append(f"(local.set $pd{r} (select (i32.add (local.get $d) (i32.shl (i32.add (i32.mul (i32.add (local.get $i) (i32.const {r})) (local.get $ldd)) (local.get $j)) (i32.const 2))) (local.get $tmp) (i32.lt_u (i32.add (local.get $i) (i32.const {r})) (local.get $M))))")
    for q in range(Q): setup.append(f"(v128.store offset={16*q} (local.get $pd{r}) (v128.const i64x2 0 0))")
for q in range(Q):
    if q % 2 == 0:  # the panel of quads q and q+1 (8 columns, K/2 k-pairs of 16 bytes)
        setup.append(f"(local.set $pw{q//2} (i32.add (local.get $wp) (i32.mul (i32.add (local.get $j) (i32.const {4*q})) (local.get $K))))")
setup_txt="\n".join("        "+l for l in setup)
scale=[f"(local.set $v{q} (v128.load offset={0} (i32.add (local.get $pt) (i32.shl (i32.mul (local.get $nb) (i32.const {q})) (i32.const 4)))))" for q in range(Q)]
for r in range(R):
    scale.append(f"(local.set $s0 (v128.load32_splat (local.get $ps{r})))")
    for q in range(Q):
        scale.append(f"(v128.store offset={16*q} (local.get $pd{r}) (f32x4.add (v128.load offset={16*q} (local.get $pd{r})) (f32x4.mul (f32x4.convert_i32x4_s (local.get $t{r}{q})) (f32x4.mul (local.get $s0) (local.get $v{q})))))")
for r in range(R):
    scale.append(f"(local.set $ps{r} (i32.add (local.get $ps{r}) (i32.const 4)))")
scale_txt="\n".join(ind+l for l in scale)
# the bias, once the tile's last block is in: d += bias[j..j+4Q) on every row of the tile (rows
# past M: tmp), the same f32x4.add as add_bias, so the result is MulT's then AddBias's bit for bit
epi=[f"(local.set $v{q} (v128.load offset={16*q} (i32.add (local.get $bias) (i32.shl (local.get $j) (i32.const 2)))))" for q in range(Q)]
for r in range(R):
    for q in range(Q):
        epi.append(f"(v128.store offset={16*q} (local.get $pd{r}) (f32x4.add (v128.load offset={16*q} (local.get $pd{r})) (local.get $v{q})))")
epi_txt="\n".join("          "+l for l in epi)


def gemm(doc, name, params, locals_, setup_txt, pointers, scale_note, scale_txt, lb):
    """The text of a tile kernel: doc, then the j (columns) and i (rows) loops around the block
    loop of body_txt, the block's scaling scale_txt, and the pointers' setup (pointers: extra
    lines before the block loop). lb: the block's log2, "$lb" (a parameter; the k-pair loop
    runs to a local $kpn = 2^(lb-1)) or a constant."""
    ptrs="\n".join("        "+l for l in pointers)
    if lb == "$lb":
        nb_set = "(local.set $nb (i32.shr_u (local.get $K) (local.get $lb)))\n    (local.set $kpn (i32.shl (i32.const 1) (i32.sub (local.get $lb) (i32.const 1))))"
        kpn = "(local.get $kpn)"
    else:
        nb_set = f"(local.set $nb (i32.shr_u (local.get $K) (i32.const {lb})))"
        kpn = f"(i32.const {1 << (lb - 1)})"
    body=body_txt.replace("KPN", kpn)
    return doc+f'''  (func (export "{name}")
    {params}
    {locals_}
    {nb_set}
    (local.set $j (i32.const 0))
    (block $j_done (loop $jl
      (br_if $j_done (i32.ge_u (local.get $j) (local.get $N)))
      (local.set $i (i32.const 0))
      (block $i_done (loop $il
        (br_if $i_done (i32.ge_u (local.get $i) (local.get $M)))
{setup_txt}
{ptrs}
        (local.set $b (i32.const 0))
        (block $b_done (loop $bl
          (br_if $b_done (i32.ge_u (local.get $b) (local.get $nb)))
{body}
            ;; {scale_note}
{scale_txt}
            (local.set $pt (i32.add (local.get $pt) (i32.const 16)))
            (local.set $b (i32.add (local.get $b) (i32.const 1)))
            (br $bl)))
        ;; bias (0: none)
        (if (local.get $bias) (then
{epi_txt}))
        (local.set $i (i32.add (local.get $i) (i32.const {R})))
        (br $il)))
      (local.set $j (i32.add (local.get $j) (i32.const {C})))
      (br $jl)))
  )

'''

pt_set="(local.set $pt (i32.add (local.get $sp) (i32.shl (i32.mul (local.get $j) (local.get $nb)) (i32.const 2))))"
new=gemm(f'''  ;; qgemm_packed: d[i*ldd + j] = Σ_b sx[i*nb + b] · sw[j*nb + b] · Σ_{{k in block b}} qx[i*K + k] · w[j][k]
  ;; (blocks of 2^lb, lb 5, 6 or 7: nb = K >> lb) with qx the int16 activations of quant_i16 (4 rows interleaved by
  ;; k-pairs) and w, sw packed by pack_q8; N % {C} == 0. Outer-product form: a pair (qx[k], qx[k+1]) broadcast to every lane
  ;; (v128.load32_splat, the {R} rows' pairs at offsets 0, 4, … of one pointer) times a packed k-pair of 4 columns (v128.load8x8_s) under
  ;; i32x4.dot_i16x8_s gives 4 outputs' partial sums at once, so nothing is reduced across lanes
  ;; and the per-block scales are one f32x4 multiply per 4 outputs, added to the output tile in
  ;; memory. Tiles of {R} rows × {C} columns, one block (2^(lb-1) k-pairs) per step, {U} per iteration
  ;; (generated by gen_qgemm.py {R} {Q}); rows past M (quant_i16 zeroes their activations; their
  ;; scales are the last row's) accumulate into tmp, a scratch of {4*Q} floats. bias, unless 0,
  ;; points at N floats added to every row once a tile's sums are complete (add_bias's
  ;; operation, so d is the product then add_bias's bit for bit; a pass over d saved).
''', "qgemm_packed",
    "(param $d i32) (param $ldd i32) (param $qx i32) (param $sx i32) (param $wp i32) (param $sp i32)\n    (param $M i32) (param $K i32) (param $N i32) (param $tmp i32) (param $bias i32) (param $lb i32)",
    f"(local $nb i32) (local $kpn i32) (local $i i32) (local $j i32) (local $b i32) (local $row i32) (local $kp i32)\n    {locs_p}\n    (local $pt i32)\n    (local $a v128) (local $s0 v128)\n    {locs_w}\n    {locs_t}\n    {locs_f}",
    setup_txt, [pt_set], "scale the block's sums: sx[row, b] · sw[quad columns, b]", scale_txt, "$lb")

# qgemm_u7: the same tile and k-pair loop on quant_u7_i16's activations (the relaxed recipe's
# 7-bit values as int16), with qgemm_r7's scaling: (T·dx)·sw + lx·ws, ws the scales times the
# sums of the block's weights in a third array cp laid out as sp.
setu=[s_ for s_ in setup if "$ps" not in s_ and "$row" not in s_]
setu.append("(local.set $ps (i32.add (local.get $sx) (i32.shl (i32.mul (local.get $i) (local.get $nb)) (i32.const 3))))")
setu_txt="\n".join("        "+l for l in setu)
scu=[f"(local.set $v{q} (v128.load (i32.add (local.get $pt) (i32.shl (i32.mul (local.get $nb) (i32.const {q})) (i32.const 4)))))" for q in range(Q)]
scu+=[f"(local.set $c{q} (v128.load (i32.add (local.get $pc) (i32.shl (i32.mul (local.get $nb) (i32.const {q})) (i32.const 4)))))" for q in range(Q)]
for r in range(R):
    scu.append(f"(local.set $s0 (v128.load32_splat offset={8*r} (local.get $ps)))")
    scu.append(f"(local.set $l0 (v128.load32_splat offset={8*r+4} (local.get $ps)))")
    for q in range(Q):
        scu.append(f"(v128.store offset={16*q} (local.get $pd{r}) (f32x4.add (v128.load offset={16*q} (local.get $pd{r})) (f32x4.add (f32x4.mul (f32x4.mul (f32x4.convert_i32x4_s (local.get $t{r}{q})) (local.get $s0)) (local.get $v{q})) (f32x4.mul (local.get $l0) (local.get $c{q})))))")
scu+=["(local.set $ps (i32.add (local.get $ps) (i32.const 32)))", "(local.set $pc (i32.add (local.get $pc) (i32.const 16)))"]
scu_txt="\n".join(ind+l for l in scu)
locs_c=" ".join(f"(local $c{q} v128)" for q in range(Q))

newu=gemm(f'''  ;; qgemm_u7: qgemm_r7 (kernels_relaxed.wat) without relaxed SIMD, for engines that lack it, with
  ;; its result bit for bit: d[i*ldd + j] = Σ_b [(T[i,j,b]·dx[i,b])·sw[j,b] + lx[i,b]·ws[j,b]] in
  ;; order of b, T the exact sum over block b of the 7-bit activations ux times the int8 weights.
  ;; qgemm_packed's tile and k-pair loop (generated with it by gen_qgemm.py {R} {Q}) on ux as int16
  ;; in quant_i16's layout (quant_u7_i16; its scales sx as quant_u7's, [⌈M/4⌉][nb][4][dx, lx]),
  ;; the weights and scales sw packed by pack_q8 (wp, sp), and ws laid out as sp (cp: Go computes
  ;; it, as pack_q7 does for qgemm_r7); then each block's sums scaled exactly as qgemm_r7 does. Rows
  ;; past M (zero activations and scales) accumulate into tmp. bias as qgemm_packed's. Reference:
  ;; GemmQ8U7.
''', "qgemm_u7",
    "(param $d i32) (param $ldd i32) (param $qx i32) (param $sx i32) (param $wp i32) (param $sp i32) (param $cp i32)\n    (param $M i32) (param $K i32) (param $N i32) (param $tmp i32) (param $bias i32)",
    f"(local $nb i32) (local $i i32) (local $j i32) (local $b i32) (local $kp i32)\n    (local $pa i32) (local $ps i32) (local $pt i32) (local $pc i32)\n    (local $a v128) (local $s0 v128) (local $l0 v128)\n    {locs_w}\n    {locs_c}\n    {locs_t}\n    {locs_f}",
    setu_txt, [pt_set, "(local.set $pc (i32.add (local.get $cp) (i32.shl (i32.mul (local.get $j) (local.get $nb)) (i32.const 2))))"],
    "scale the block's sums as qgemm_r7: (T·dx)·sw + lx·ws", scu_txt, 5)
open(out,'w').write(s[:a]+new+newu+s[b:])
