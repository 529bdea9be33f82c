// train-run.js: what bench/train.mjs measures, the same code in Node (main thread) and in a
// Chromium tab (train.html, the model in a Web Worker as the demo page has it). Each `make` is a
// function (base URL or path) → a model with trainAdapter; `log` prints a line.
import { textOfTokens } from "./lib.mjs";

// speed: examples/s of model.trainAdapter (seq_bn rf 16 + a 2-layer head, AdamW), batches of B
// texts of exactly T tokens, the median step time of steps 2..n (the first also warms the
// kernels up).
export async function speed(make, bases, { B = 8, T = [32, 128], steps = 6, log }) {
  const rows = [];
  for (const [dtype, base] of Object.entries(bases)) {
    const model = await make(base);
    for (const t of T) {
      const text = textOfTokens(t);
      const ex = Array.from({ length: B * 2 }, (_, i) => ({ text, label: i % 2 ? "a" : "b" }));
      const times = [];
      let last = performance.now();
      await model.trainAdapter(`speed_${t}`, ex, {
        config: "seq_bn[reduction_factor=16]",
        epochs: Math.ceil(steps / 2),
        batchSize: B,
        lr: 1e-3,
        onProgress: () => {
          const now = performance.now();
          times.push(now - last);
          last = now;
        },
      });
      const s = times.slice(1).sort((a, b) => a - b);
      const med = s[Math.floor(s.length / 2)];
      const row = { dtype, T: t, B, stepMs: Math.round(med), examplesPerSecond: +((1000 * B) / med).toFixed(2) };
      rows.push(row);
      log(`${dtype} ${B}×${t}: ${row.stepMs} ms/step, ${row.examplesPerSecond} examples/s`);
      await model.unloadAdapter(`speed_${t}`);
    }
    model.dispose();
  }
  return rows;
}

// sentiment: the demo's sentiment task (train: the 2,700 training sentences; dev: the 300
// held-out ones) as the demo page trains it: seq_bn, lr 1e-3, batch 16, at most 128 tokens.
export async function sentiment(make, base, { train, dev, epochs = 3, batchSize = 16, maxLength = 128, log }) {
  const model = await make(base);
  const t0 = performance.now();
  const epochsOut = [];
  let tEpoch = t0;
  await model.trainAdapter("sentiment_bench", train, {
    config: "seq_bn",
    epochs,
    lr: 1e-3,
    batchSize,
    maxLength,
    dev,
    onProgress: (p) => {
      if (!p.epochDone) return;
      const now = performance.now();
      const e = { epoch: p.epoch, loss: +p.loss.toFixed(4), devAccuracy: p.devAccuracy, seconds: +((now - tEpoch) / 1000).toFixed(1) };
      tEpoch = now;
      epochsOut.push(e);
      log(`epoch ${e.epoch}: loss ${e.loss}, dev accuracy ${e.devAccuracy}, ${e.seconds} s`);
    },
  });
  const seconds = +((performance.now() - t0) / 1000).toFixed(1);
  log(`sentiment: ${train.length} examples × ${epochs} epochs in ${seconds} s (${((train.length * epochs) / seconds).toFixed(2)} examples/s, dev evaluation included)`);
  model.dispose();
  return { seconds, epochs: epochsOut };
}
