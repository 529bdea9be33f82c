// Side-by-side benchmark core, shared by the Node driver (bench.mjs) and the Chromium page
// (chromium.html): adapterwasm (the Go Wasm module through js/src/runtime.js, one demo adapter +
// its head active) against onnxruntime-web (Wasm backend, 1 thread, SIMD) on the ONNX export of
// the same MiniLM + adapter + head (tools/reference/make_minilm.py), on the same token ids.
//
// Everything here takes bytes, so the caller decides where they come from (files or fetch).

// textOfTokens returns a text that MiniLM's tokenizer turns into exactly n tokens ([CLS] and
// [SEP] included): n-2 ordinary one-token words, cycling through a short sentence.
export function textOfTokens(n) {
  const words = "the film was a good and quiet story about people who love what they do".split(" ");
  const out = [];
  for (let i = 0; i < n - 2; i++) out.push(words[i % words.length]);
  return out.join(" ");
}

// stats returns the median and p90 (nearest rank) of times in ms.
export function stats(times) {
  const s = [...times].sort((a, b) => a - b);
  const rank = (p) => s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)];
  return { median: rank(0.5), p90: rank(0.9), n: s.length, times };
}

// Adapterwasm is one base model (q8 or f32 single file) with the adapter loaded and active.
export class Adapterwasm {
  static async create(rt, { modelFiles, adapterFiles, adapter }) {
    const h = await rt.call(rt.api, "createModel", modelFiles);
    await rt.call(h, "loadAdapter", adapter, adapterFiles);
    await rt.call(h, "setActive", adapter);
    return new Adapterwasm(rt, h, adapter);
  }
  constructor(rt, h, adapter) {
    this.rt = rt;
    this.h = h;
    this.adapter = adapter;
  }
  // tokenize returns the token ids of texts, checking that each is exactly n tokens long.
  async tokenize(texts, n) {
    const toks = await this.rt.call(this.h, "tokenize", texts, 0);
    for (const t of toks) {
      if (t.inputIds.length !== n) throw new Error(`text tokenized to ${t.inputIds.length} tokens, want ${n}`);
    }
    return toks.map((t) => t.inputIds);
  }
  // run classifies texts (tokenization, encoder, adapter, head, result objects: what a user pays).
  async run(texts) {
    return this.rt.call(this.h, "classify", texts);
  }
  // ids returns the token ids of one text (the model's own truncation).
  async ids(text) {
    return (await this.rt.call(this.h, "tokenize", [text], 0))[0].inputIds;
  }
  // logits of one text through base + adapter + head.
  async logits(text) {
    return Float64Array.from((await this.run([text]))[0].logits);
  }
  // embedding of one text: the base model's last hidden state, mean over its tokens.
  async embedding(text) {
    return Float64Array.from((await this.rt.call(this.h, "embed", [text], { pooling: "mean" })).data);
  }
}

// Ort is one onnxruntime-web session; base (optional) is a function giving the bytes of the base
// model alone (onnx_peer.py's NAME.base[.q8].onnx, output embeddings), for the accuracy columns.
export class Ort {
  // options are added to the session's (intraOpNumThreads: bench/threads.mjs).
  static async create(ort, bytes, base, options = {}) {
    const s = await ort.InferenceSession.create(bytes, { ...ORT_OPTIONS, ...options });
    return new Ort(ort, s, base);
  }
  constructor(ort, s, base) {
    this.ort = ort;
    this.s = s;
    this.base = base;
  }
  async logits(text, ids) {
    return Float64Array.from((await this.run(this.feeds([ids]))).logits.data);
  }
  async embedding(text, ids) {
    if (!this.baseSession) this.baseSession = await this.ort.InferenceSession.create(await this.base(), ORT_OPTIONS);
    return Float64Array.from((await this.baseSession.run(this.feeds([ids]))).embeddings.data);
  }
  async releaseBase() {
    if (this.baseSession) await this.baseSession.release();
    this.baseSession = null;
  }
  // feeds builds the int64 input tensors for a batch of token id lists (all of one length).
  feeds(ids) {
    const B = ids.length, T = ids[0].length;
    const t = (f) => new this.ort.Tensor("int64", BigInt64Array.from(ids.flat().map(f)), [B, T]);
    return { input_ids: t((v) => BigInt(v)), attention_mask: t(() => 1n), token_type_ids: t(() => 0n) };
  }
  async run(feeds) {
    return this.s.run(feeds);
  }
}

const ORT_OPTIONS = { executionProviders: ["wasm"], graphOptimizationLevel: "all" };

// ACCURACY_TEXTS are the fixed sentences of the accuracy columns: the golden sentences
// (tools/reference/sentences.py: accents, CJK, emoji, the empty text, one past 128 tokens) and
// the first 20 of the held-out sentiment set (testdata/minilm/heldout/sentiment.jsonl).
export function accuracyTexts(golden, heldoutJsonl) {
  return [...golden.sentences, ...heldoutJsonl.trim().split("\n").slice(0, 20).map((l) => JSON.parse(l).text)];
}

// accuracy compares every contender's logits (base + adapter + head) and embeddings (base model,
// mean pooling) with the reference contender's (adapterwasm f32) on texts, one text at a time:
// max and mean |Δlogit| over every logit, mean and min cosine of the embeddings, and how many
// labels (argmax) agree. ORT gets adapterwasm's token ids. Returns {name: {...}}.
export async function accuracy(contenders, refName, texts) {
  const ref = contenders.find((c) => c.name === refName);
  const ids = [];
  for (const t of texts) ids.push(await ref.impl.ids(t));
  const outputs = async (c) => {
    const logits = [], emb = [];
    for (let i = 0; i < texts.length; i++) {
      logits.push(await c.impl.logits(texts[i], ids[i]));
      emb.push(await c.impl.embedding(texts[i], ids[i]));
    }
    if (c.impl.releaseBase) await c.impl.releaseBase();
    return { logits, emb };
  };
  const want = await outputs(ref);
  const argmax = (v) => v.reduce((b, x, i) => (x > v[b] ? i : b), 0);
  const cos = (a, b) => {
    let ab = 0, aa = 0, bb = 0;
    for (let i = 0; i < a.length; i++) (ab += a[i] * b[i]), (aa += a[i] * a[i]), (bb += b[i] * b[i]);
    return ab / Math.sqrt(aa * bb);
  };
  const out = {};
  for (const c of contenders) {
    if (c === ref) continue;
    const got = await outputs(c);
    let max = 0, sum = 0, n = 0, cosSum = 0, cosMin = 1, same = 0;
    for (let i = 0; i < texts.length; i++) {
      got.logits[i].forEach((v, j) => {
        const d = Math.abs(v - want.logits[i][j]);
        (max = Math.max(max, d)), (sum += d), n++;
      });
      const cs = cos(got.emb[i], want.emb[i]);
      (cosSum += cs), (cosMin = Math.min(cosMin, cs));
      if (argmax(got.logits[i]) === argmax(want.logits[i])) same++;
    }
    out[c.name] = { maxAbs: max, meanAbs: sum / n, cosMean: cosSum / texts.length, cosMin, same, n: texts.length };
  }
  return out;
}

// accuracyTable formats accuracy()'s result as Markdown.
export function accuracyTable(acc, refName) {
  const lines = [`| engine | max \\|Δlogit\\| | mean \\|Δlogit\\| | embedding cosine mean (min) | same label |`, "|---|---|---|---|---|"];
  const num = (v) => (v !== 0 && v < 1e-3 ? v.toExponential(1) : v.toPrecision(3));
  for (const [name, a] of Object.entries(acc)) {
    lines.push(`| ${name} vs ${refName} | ${num(a.maxAbs)} | ${num(a.meanAbs)} | ${a.cosMean.toFixed(6)} (${a.cosMin.toFixed(6)}) | ${a.same}/${a.n} |`);
  }
  return lines.join("\n");
}

// Case is one shape: batch B of sequences of T tokens.
export const CASES = [
  { B: 1, T: 16 },
  { B: 1, T: 32 },
  { B: 1, T: 64 },
  { B: 1, T: 128 },
  { B: 1, T: 256 },
  { B: 8, T: 32 },
];

// warmUp runs each contender on its own, one after the other, at B×T for at least ms each
// (untimed), before the first case: V8 compiles each Wasm function with its baseline compiler
// first and tiers it up in the background, and on a machine whose cores the other contenders keep
// busy (kernel threads, onnxruntime-web's pool spinning after its runs, a child process) that took
// longer than a whole case: the first case of threads.mjs, 1×32, timed 26–29 ms for adapterwasm's
// one thread (13 ms once warm; 2026-12-07, load 1.0) and 28–35 for onnxruntime-web, with a few
// warm-up rounds only.
export async function warmUp(contenders, shape, { ms, now }) {
  for (const job of await caseJobs(contenders, shape)) {
    const t0 = now();
    do await job();
    while (now() - t0 < ms);
  }
}

// caseJobs returns, for each contender, a function that runs it once on batch B of texts of T
// tokens: adapterwasm on the texts (it tokenizes them), onnxruntime-web on the same token ids.
async function caseJobs(contenders, { B, T }) {
  const texts = Array.from({ length: B }, () => textOfTokens(T));
  const aw = contenders.find((c) => c.kind === "aw");
  const ids = await aw.impl.tokenize(texts, T);
  return contenders.map((c) => {
    if (c.kind === "aw") return () => c.impl.run(texts);
    const feeds = c.impl.feeds(ids);
    return () => c.impl.run(feeds);
  });
}

// runCase times every contender on one shape, interleaved (A B C D, A B C D, … with the order
// rotating each round so that none always follows another), after `warmup` untimed rounds.
// contenders: [{name, kind: "aw"|"ort", impl}]. Returns {name: stats}. A job whose result has a
// number selfTimedMs (a session in another process: threads.mjs) is timed by that, not by now().
// With block > 1, each contender's turn in a round is untimed runs for at least settleMs (one at
// least) then `block` timed ones (threads.mjs): a multi-threaded engine's threads may keep a core
// busy for tens of ms after its run (onnxruntime-web's pool spins), which would otherwise land on
// the next contender.
export async function runCase(contenders, { B, T }, { runs, warmup, now, log, block = 1, settleMs = 0 }) {
  const jobs = await caseJobs(contenders, { B, T });
  const times = contenders.map(() => []);
  const rounds = warmup + Math.ceil(runs / block);
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < jobs.length; k++) {
      const i = (k + r) % jobs.length;
      if (r >= warmup && block > 1) {
        const s0 = now();
        do await jobs[i]();
        while (now() - s0 < settleMs);
      }
      const n = r < warmup ? 1 : Math.min(block, runs - times[i].length);
      for (let j = 0; j < n; j++) {
        const t0 = now();
        const res = await jobs[i]();
        const dt = typeof res?.selfTimedMs === "number" ? res.selfTimedMs : now() - t0;
        if (r >= warmup) times[i].push(dt);
      }
    }
  }
  const out = {};
  contenders.forEach((c, i) => (out[c.name] = stats(times[i])));
  if (log) log(`B=${B} T=${T}: ` + contenders.map((c) => `${c.name} ${out[c.name].median.toFixed(2)}`).join("  "));
  return out;
}

// Q8_DIR is the suffix of the q8 single-file models the bench runs as aw-q8 ($CACHE/models/<name>.<Q8_DIR>):
// the default conversion ("q8"), or with BENCH_Q8_BLOCK=64 or 128 (./build.sh bench block64) the
// opt-in conversion `convert --block N` ("q8b64"); Q8_NOTE says which in the header.
// (In Chromium, bench/chromium.html, there is no process: the page gets the suffix in its URL.)
const envBlock = globalThis.process?.env?.BENCH_Q8_BLOCK;
export const Q8_BLOCK = envBlock ? Number(envBlock) : 0;
if (Q8_BLOCK && ![32, 64, 128].includes(Q8_BLOCK)) throw new Error(`BENCH_Q8_BLOCK ${envBlock}: want 32, 64 or 128`);
export const Q8_DIR = Q8_BLOCK ? `q8b${Q8_BLOCK}` : "q8";
export const Q8_NOTE = Q8_BLOCK ? `aw-q8 = q8 with blocks of ${Q8_BLOCK} (adapterwasm convert --block ${Q8_BLOCK}, opt-in)` : "aw-q8 = q8 as converted by default (blocks of 32)";

// PAIRS are the ratios reported: adapterwasm / onnxruntime-web at the same precision class.
export const PAIRS = [
  ["aw-q8", "ort-int8", "q8/ort-int8"],
  ["aw-q8-2t", "ort-int8-2t", "q8-2t/ort-int8-2t"],
  ["aw-f32", "ort-f32", "f32/ort-f32"],
];

// table formats results ({case: {name: stats}}) as a Markdown table plus the worst-ratio line
// (prefixed by `prefix`, e.g. "bert-base "). Each ratio is that of the medians, then in brackets
// the median of the per-round ratios (the two runs of a round are back to back, so a machine
// whose load changes during the run skews it less).
export function table(results, names, prefix = "") {
  const pairs = PAIRS.filter(([a, b]) => names.includes(a) && names.includes(b));
  const head = ["batch×seq", ...names.map((n) => `${n} ms (p90)`), ...pairs.map((p) => p[2])];
  const lines = ["| " + head.join(" | ") + " |", "|" + head.map(() => "---").join("|") + "|"];
  const worst = Object.fromEntries(pairs.map((p) => [p[2], 0]));
  for (const [key, r] of Object.entries(results)) {
    const cells = [key, ...names.map((n) => `${r[n].median.toFixed(2)} (${r[n].p90.toFixed(2)})`)];
    for (const [a, b, label] of pairs) {
      const ratio = r[a].median / r[b].median;
      worst[label] = Math.max(worst[label], ratio);
      const rounds = r[a].times ? stats(r[a].times.map((t, i) => t / r[b].times[i])).median.toFixed(2) : "";
      cells.push(`${ratio.toFixed(2)}${rounds && ` (${rounds})`}`);
    }
    lines.push("| " + cells.join(" | ") + " |");
  }
  lines.push("");
  lines.push(prefix + "worst ratio " + Object.entries(worst).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(" "));
  return lines.join("\n");
}

// peak measures, with a WAT loop of independent register-only SIMD operations (peak.wat), the
// machine's f32x4 mul+add rate (GFLOPS) and i32x4.dot_i16x8_s rate (GOPS: 8 multiply-adds = 16
// ops per dot), and times the kernel module's GEMMs on MiniLM's FFN shape (128 tokens × 384 →
// 1536) to give their share of that peak. Each figure is the best of `reps` short runs, the four
// measurements interleaved, so that a busy machine lowers them all alike.
export async function peak(peakBytes, kernelBytes, now, reps = 40, relaxedBytes = null) {
  const { instance: p } = await WebAssembly.instantiate(peakBytes, {});
  const iters = 1_000_000;
  const jobs = {
    // Each iteration: 13 chains of f32x4 mul + add = 104 flops; 13 dot_i16x8_s = 208 ops.
    peakF32GFLOPS: { ops: 104 * iters, run: () => p.exports.fmadd(iters) },
    peakDotGOPS: { ops: 208 * iters, run: () => p.exports.dot16(iters) },
  };
  if (kernelBytes) {
    const mem = new WebAssembly.Memory({ initial: 512 });
    const { instance: k } = await WebAssembly.instantiate(kernelBytes, { env: { mem } });
    const M = 128, K = 384, N = 1536, nb = K / 32;
    const x = 1 << 16, w = x + M * K * 4, d = w + N * K * 4;
    const f = new Float32Array(mem.buffer);
    for (let i = 0; i < M * K + N * K; i++) f[x / 4 + i] = Math.sin(i);
    // int16 activations (quant_i16's output), int8 weights packed once (pack_q8), as the
    // runtime packs each matrix in place on its first product
    const qx = d + M * N * 4, sx = qx + M * K * 2, qw = sx + M * nb * 4, sw = qw + N * K, wp = sw + N * nb * 4, sp = wp + N * K;
    const i16 = new Int16Array(mem.buffer), b8 = new Int8Array(mem.buffer);
    for (let i = 0; i < M * K; i++) i16[qx / 2 + i] = ((i * 37) % 255) - 127;
    for (let i = 0; i < N * K; i++) b8[qw + i] = ((i * 31) % 255) - 127;
    for (let i = 0; i < (M + N) * nb; i++) f[sx / 4 + i] = 0.01;
    jobs.sgemmGFLOPS = { ops: 2 * M * K * N, run: () => k.exports.sgemm_nt(d, N, x, K, w, K, M, K, N) };
    const slab = sp + N * nb * 4, R = 64; // runtime/kernels/simd_js.go: 96 KB of float32 rows
    jobs.deqGFLOPS = { ops: 2 * M * K * N, run: () => k.exports.q8_gemm_nt(d, N, x, K, qw, sw, slab, M, K, N, R, 5) };
    k.exports.pack_q8(wp, sp, qw, sw, N, K, 5);
    jobs.qgemmGOPS = { ops: 2 * M * K * N, run: () => k.exports.qgemm_packed(d, N, qx, sx, wp, sp, M, K, N, slab + R * K * 4, 0, 5) };
    // The same with blocks of 64 and 128 (half and a quarter of the scalings; the scales read are
    // the first K/64 and K/128 of each column's, which is all timing needs)
    jobs.qgemm64GOPS = { ops: 2 * M * K * N, run: () => k.exports.qgemm_packed(d, N, qx, sx, wp, sp, M, K, N, slab + R * K * 4, 0, 6) };
    jobs.qgemm128GOPS = { ops: 2 * M * K * N, run: () => k.exports.qgemm_packed(d, N, qx, sx, wp, sp, M, K, N, slab + R * K * 4, 0, 7) };
    // The 7-bit recipe's kernels on the same shape (timing only: any bytes do): qgemm_u7 (plain
    // SIMD, what an engine without relaxed SIMD runs for relaxedSimd: true: qgemm_packed's layouts,
    // (d, min) per row and block, scaled block sums laid out as sp) and, where the engine has
    // relaxed SIMD, qgemm_r7 (kernels_relaxed.wat: quant_u7's bytes, packQ7's layout).
    const ux = slab + R * K * 4 + 64, su = ux + M * K, tp = su + M * nb * 8, tmp = tp + N * nb * 8, cp = tmp + 64;
    const u8 = new Uint8Array(mem.buffer);
    for (let i = 0; i < M * K; i++) u8[ux + i] = (i * 37) % 128;
    for (let i = 0; i < (M + N) * nb * 2; i++) f[su / 4 + i] = 0.01;
    for (let i = 0; i < N * nb; i++) f[cp / 4 + i] = 0.01;
    jobs.qgemmU7GOPS = { ops: 2 * M * K * N, run: () => k.exports.qgemm_u7(d, N, qx, su, wp, sp, cp, M, K, N, tmp, 0) };
    if (relaxedBytes && WebAssembly.validate(relaxedBytes)) {
      const { instance: r } = await WebAssembly.instantiate(relaxedBytes, { env: { mem } });
      jobs.qgemmR7GOPS = { ops: 2 * M * K * N, run: () => r.exports.qgemm_r7(d, N, ux, su, wp, tp, M, K, N, tmp) };
    }
  }
  const best = {};
  for (const [name, j] of Object.entries(jobs)) {
    j.run(); // compile (tier up) first
    best[name] = Infinity;
  }
  for (let r = 0; r < reps; r++) {
    for (const [name, j] of Object.entries(jobs)) {
      const t0 = now();
      j.run();
      best[name] = Math.min(best[name], now() - t0);
    }
  }
  return Object.fromEntries(Object.entries(jobs).map(([name, j]) => [name, j.ops / (best[name] / 1e3) / 1e9]));
}

export function peakLines(p) {
  const l = [`SIMD peak (register-only loop, 13 chains): f32x4 mul+add ${p.peakF32GFLOPS.toFixed(1)} GFLOPS, i32x4.dot_i16x8_s ${p.peakDotGOPS.toFixed(1)} GOPS`];
  if (p.sgemmGFLOPS) l.push(`f32 GEMM kernel (128×384·384×1536): ${p.sgemmGFLOPS.toFixed(1)} GFLOPS = ${((100 * p.sgemmGFLOPS) / p.peakF32GFLOPS).toFixed(0)}% of the f32 peak`);
  if (p.deqGFLOPS) l.push(`q8 GEMM, float32 path (q8_gemm_nt: dequant_q8 slabs + sgemm_nt, same shape; SetQ8Int(false)): ${p.deqGFLOPS.toFixed(1)} GOPS = ${((100 * p.deqGFLOPS) / p.peakF32GFLOPS).toFixed(0)}% of the f32 peak`);
  if (p.qgemmGOPS) l.push(`q8 GEMM, default integer path (qgemm_packed on weights packed once, int16 × int8, same shape, blocks of 32): ${p.qgemmGOPS.toFixed(1)} GOPS = ${((100 * p.qgemmGOPS) / p.peakDotGOPS).toFixed(0)}% of the dot_i16x8_s peak`);
  if (p.qgemm64GOPS) l.push(`q8 GEMM, the same with blocks of 64 / 128: ${p.qgemm64GOPS.toFixed(1)} / ${p.qgemm128GOPS.toFixed(1)} GOPS = ${((100 * p.qgemm64GOPS) / p.peakDotGOPS).toFixed(0)}% / ${((100 * p.qgemm128GOPS) / p.peakDotGOPS).toFixed(0)}% of the peak`);
  if (p.qgemmU7GOPS) l.push(`q8 GEMM, the relaxed recipe without relaxed SIMD (qgemm_u7, 7-bit × int8 on qgemm_packed's loop, same shape): ${p.qgemmU7GOPS.toFixed(1)} GOPS = ${(p.qgemmU7GOPS / p.qgemmGOPS).toFixed(2)}× qgemm_packed`);
  if (p.qgemmR7GOPS) l.push(`q8 GEMM, relaxed-SIMD path (qgemm_r7, 7-bit × int8, i16x8.relaxed_dot_i8x16_i7x16_s, same shape): ${p.qgemmR7GOPS.toFixed(1)} GOPS = ${(p.qgemmR7GOPS / p.qgemmGOPS).toFixed(2)}× qgemm_packed`);
  return l.join("\n");
}
