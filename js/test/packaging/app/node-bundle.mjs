// A Node app bundled with esbuild (--platform=node --bundle): the README's recipe ships the Wasm
// module beside the bundle (--loader:.wasm=file) and passes its file URL. argv: base index adapter.
import { AutoModelWithHeads } from "adapterwasm";
import wasm from "adapterwasm/adapterwasm.wasm";

const [base, index, adapter, forget] = process.argv.slice(2);
try {
  const model = await AutoModelWithHeads.fromPretrained(base, { index, wasm: forget ? undefined : new URL(wasm, import.meta.url) });
  const [result] = await model.classify("I love this movie", { adapters: adapter });
  console.log(JSON.stringify({ result, stats: { bytesFetched: model.stats.bytesFetched, bytesFromCache: model.stats.bytesFromCache } }));
} catch (e) {
  console.log(JSON.stringify({ error: { code: e.code, message: e.message } }));
}
