// Types of adapterwasm under Node (src/node.js): the package's, plus FsStore.
import type { Store } from "./index.js";
export * from "./index.js";

/** A cache directory (default $ADAPTERWASM_CACHE_DIR or ~/.cache/adapterwasm); the default store in Node. */
export class FsStore implements Store {
  constructor(dir?: string);
  readonly dir: string;
  get(key: string): Promise<{ bytes: Uint8Array; sha256?: string } | undefined>;
  put(key: string, bytes: Uint8Array, sha256?: string): Promise<void>;
  delete(key: string): Promise<void>;
}
