// Composition blocks, as in the Python library (adapters/composition.py). A setup is an adapter
// name or one of these; it travels to Go as its expression string (e.g. "Stack(a,Parallel(b,c))"),
// which the Go setup parser (adapters.ParseSetup) reads and checks.
import { AdapterwasmError } from "./errors.js";

const PARAMS = { Average: { weights: "weights" }, BatchSplit: { batchSizes: "batch_sizes" }, Split: { splits: "splits" } };

export class AdapterSetup {
  constructor(type, children, params = {}) {
    for (const c of children) {
      if (typeof c !== "string" && !(c instanceof AdapterSetup)) {
        throw new TypeError(`${type}: each child must be an adapter name or a composition block`);
      }
    }
    this.type = type;
    this.children = children;
    this.params = params;
  }

  toString() {
    const parts = this.children.map(String);
    for (const [js, py] of Object.entries(PARAMS[this.type] ?? {})) {
      const v = this.params[js] ?? this.params[py];
      if (v !== undefined) parts.push(`${py}=[${v.join(",")}]`);
    }
    return `${this.type}(${parts.join(",")})`;
  }

  toJSON() {
    return this.toString();
  }
}

function block(type) {
  return (...args) => {
    let params = {};
    if (args.length && typeof args.at(-1) === "object" && !(args.at(-1) instanceof AdapterSetup)) params = args.pop();
    return new AdapterSetup(type, args, params);
  };
}

export const Stack = block("Stack");
export const Fuse = block("Fuse");
export const Parallel = block("Parallel");
export const Split = block("Split"); // Split(a, b, { splits: [n, …] })
export const BatchSplit = block("BatchSplit"); // BatchSplit(a, b, { batchSizes: [n, …] })
export const Average = block("Average"); // Average(a, b, { weights: [w, …] })
export const MultiTask = block("MultiTask"); // MultiTask(a, b): classify(texts, { taskIds: [0, 1, "b", …] })

// checkSetup throws unless setup is what activeAdapters takes: an adapter name, a composition
// block or null (both model classes' setters).
export function checkSetup(setup) {
  if (setup !== null && typeof setup !== "string" && !(setup instanceof AdapterSetup)) {
    throw new AdapterwasmError("invalid_argument", "activeAdapters: want an adapter name, a composition block or null");
  }
}

