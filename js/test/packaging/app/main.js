// Vite and webpack: nothing to configure; they emit the Wasm module and the worker script the
// package names with new URL(…, import.meta.url).
import { run } from "./browser.js";

run();
