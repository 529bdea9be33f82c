// shareMemory rewrites a Wasm binary so that its memory 0 is shared, with a maximum: what kernel
// threads need (kernel-pool.js). Go's js/wasm linker defines its memory unshared with no maximum
// (`(memory (export "mem") N)`) and the kernel module imports it the same way
// (runtime/kernels/wat/kernels.wat: `(import "env" "mem" (memory 0))`); a shared memory needs a
// maximum, since its buffer can never move. Only the limits of memory 0 change: the memory
// section's first entry (flags 0 → 3, maximum added) or the first memory import's; every other
// byte is copied, so code, data and exports are untouched. The binary format is the core spec's
// (https://webassembly.github.io/spec/core/binary/modules.html): sections of id, u32 LEB128 size.
import { AdapterwasmError } from "./errors.js";

// MAX_PAGES is the maximum a shared memory is given: 65,536 pages of 64 KiB, 4 GiB, the most a
// 32-bit Wasm memory can ever have, so sharing changes no limit Go's allocator meets. Engines only
// reserve address space for it.
export const MAX_PAGES = 65536;

const SECTION_IMPORT = 2;
const SECTION_MEMORY = 5;

function formatError(msg) {
  return new AdapterwasmError("format", `shareMemory: ${msg}`);
}

// reader reads u32 LEB128s and bytes from b, failing with a typed error past its end.
function reader(b, pos, end) {
  const r = {
    pos,
    u32() {
      let v = 0;
      for (let shift = 0; shift < 35; shift += 7) {
        if (r.pos >= end) throw formatError(`truncated at byte ${r.pos}`);
        const x = b[r.pos++];
        v += (x & 0x7f) * 2 ** shift;
        if (!(x & 0x80)) {
          if (v > 0xffffffff) throw formatError(`LEB128 over 32 bits at byte ${r.pos}`);
          return v;
        }
      }
      throw formatError(`LEB128 too long at byte ${r.pos}`);
    },
    skip(n) {
      if (n > end - r.pos) throw formatError(`truncated at byte ${r.pos}`);
      r.pos += n;
    },
    byte() {
      if (r.pos >= end) throw formatError(`truncated at byte ${r.pos}`);
      return b[r.pos++];
    },
  };
  return r;
}

function leb(v) {
  const out = [];
  do {
    let x = v % 128;
    v = Math.floor(v / 128);
    if (v) x |= 0x80;
    out.push(x);
  } while (v);
  return out;
}

// limits reads the limits at r (flags, min, max?) and returns their bytes' extent and values.
function readLimits(r) {
  const start = r.pos;
  const flags = r.byte();
  if (flags > 3) throw formatError(`memory limits flags ${flags} (64-bit or unknown memories are not supported)`);
  const min = r.u32();
  const max = flags & 1 ? r.u32() : null;
  return { start, end: r.pos, flags, min, max };
}

// sharedLimits is the encoding of limits lim made shared with maximum maxPages (a maximum already
// there is kept if it is smaller).
function sharedLimits(lim, maxPages) {
  const max = lim.max ?? maxPages;
  if (lim.min > max) throw formatError(`memory minimum ${lim.min} pages is over the maximum ${max}`);
  return [0x03, ...leb(lim.min), ...leb(max)];
}

// shareMemory returns a copy of the Wasm binary bytes (Uint8Array or ArrayBuffer) whose memory 0
// is shared with maximum maxPages; a memory already shared is returned as it is. A binary with no
// memory, or that is not Wasm, is a typed "format" error.
export function shareMemory(bytes, maxPages = MAX_PAGES) {
  const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  if (b.length < 8 || b[0] !== 0 || b[1] !== 0x61 || b[2] !== 0x73 || b[3] !== 0x6d || b[4] !== 1 || b[5] || b[6] || b[7]) {
    throw formatError("not a Wasm module (magic, version 1)");
  }
  const r = reader(b, 8, b.length);
  while (r.pos < b.length) {
    const secStart = r.pos;
    const id = r.byte();
    const size = r.u32();
    const body = r.pos;
    r.skip(size);
    if (id !== SECTION_IMPORT && id !== SECTION_MEMORY) continue;
    const s = reader(b, body, body + size);
    const count = s.u32();
    for (let i = 0; i < count; i++) {
      if (id === SECTION_IMPORT) {
        s.skip(s.u32()); // module name
        s.skip(s.u32()); // field name
        const kind = s.byte();
        if (kind === 0) s.u32(); // function: type index
        else if (kind === 1) { s.byte(); readLimits(s); } // table: reftype, limits
        else if (kind === 3) s.skip(2); // global: valtype, mutability
        else if (kind === 4) { s.byte(); s.u32(); } // tag
        else if (kind === 2) return patch(b, secStart, body, size, readLimits(s), maxPages);
        else throw formatError(`import kind ${kind}`);
      } else {
        return patch(b, secStart, body, size, readLimits(s), maxPages);
      }
    }
  }
  throw formatError("the module has no memory");
}

// patch replaces the limits lim inside the section whose id byte is at secStart (body at body,
// size bytes) and rewrites the section's size.
function patch(b, secStart, body, size, lim, maxPages) {
  if (lim.flags & 2) return b; // already shared
  const repl = sharedLimits(lim, maxPages);
  const newSize = size - (lim.end - lim.start) + repl.length;
  const head = [b[secStart], ...leb(newSize)];
  const out = new Uint8Array(secStart + head.length + newSize + (b.length - body - size));
  out.set(b.subarray(0, secStart), 0);
  let o = secStart;
  out.set(head, o);
  o += head.length;
  out.set(b.subarray(body, lim.start), o);
  o += lim.start - body;
  out.set(repl, o);
  o += repl.length;
  out.set(b.subarray(lim.end), o);
  return out;
}
