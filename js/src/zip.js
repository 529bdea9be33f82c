// zipFiles packs files into a zip archive (PKWARE APPNOTE 6.3.10): every entry stored, not
// deflated (adapter weights barely compress), with its CRC-32, UTF-8 names (flag bit 11) and a
// fixed date (1980-01-01 00:00), so the same files always give the same bytes. It is what the
// demo page's "Download zip" writes from saveAdapter's files; unzip, Python's zipfile and
// Windows' Explorer read it. No zip64: at most 65,535 entries and 4 GiB in all.
//
//   const files = await model.saveAdapter("mine");            // { "adapter_config.json": Uint8Array, … }
//   const zip = zipFiles(files, { folder: "mine" });          // Uint8Array: mine/adapter_config.json, …
import { AdapterwasmError } from "./errors.js";

const MAX_ZIP_BYTES = 0xffffffff;

let table;

// crc32 is the zip (and gzip, PNG) CRC: reflected polynomial 0xEDB88320, initial and final
// value 0xFFFFFFFF.
export function crc32(bytes) {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = table[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function asBytes(name, v) {
  if (v instanceof Uint8Array) return v;
  if (typeof v === "string") return new TextEncoder().encode(v);
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  throw new AdapterwasmError("invalid_argument", `zipFiles: ${JSON.stringify(name)} is not bytes or a string`);
}

// zipFiles: files is { name: Uint8Array | ArrayBuffer | string } (or [name, bytes] pairs), in the
// order given; folder, when set, is put in front of every name ("mine" → "mine/adapter_config.json").
// Names are relative, "/"-separated, without "..", "." or empty parts.
export function zipFiles(files, { folder = "" } = {}) {
  const entries = Array.isArray(files) ? files : Object.entries(files ?? {});
  if (entries.length > 0xffff) throw new AdapterwasmError("invalid_argument", `zipFiles: ${entries.length} files; at most 65535`);
  const enc = new TextEncoder();
  const prefix = folder ? `${String(folder).replace(/\/+$/, "")}/` : "";
  const items = entries.map(([name, data]) => {
    const full = prefix + String(name);
    if (full.split("/").some((p) => p === "" || p === "." || p === "..") || full.includes("\\")) {
      throw new AdapterwasmError("invalid_argument", `zipFiles: ${JSON.stringify(full)} is not a relative file name`);
    }
    const nameBytes = enc.encode(full);
    if (nameBytes.length > 0xffff) throw new AdapterwasmError("invalid_argument", "zipFiles: a file name longer than 65535 bytes");
    const bytes = asBytes(name, data);
    return { nameBytes, bytes, crc: crc32(bytes) };
  });
  let size = 22;
  for (const it of items) size += 30 + 46 + 2 * it.nameBytes.length + it.bytes.length;
  if (size > MAX_ZIP_BYTES) throw new AdapterwasmError("invalid_argument", "zipFiles: more than 4 GiB");
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  let p = 0;
  const u16 = (v) => {
    dv.setUint16(p, v, true);
    p += 2;
  };
  const u32 = (v) => {
    dv.setUint32(p, v, true);
    p += 4;
  };
  const DATE = (0 << 9) | (1 << 5) | 1; // 1980-01-01 (MS-DOS date: years since 1980, month, day)
  // the fields local and central headers share: version needed 2.0, UTF-8 names, stored
  const common = (it) => {
    u16(20);
    u16(0x0800);
    u16(0);
    u16(0); // time 00:00:00
    u16(DATE);
    u32(it.crc);
    u32(it.bytes.length);
    u32(it.bytes.length);
    u16(it.nameBytes.length);
    u16(0); // extra field
  };
  for (const it of items) {
    it.offset = p;
    u32(0x04034b50);
    common(it);
    out.set(it.nameBytes, p);
    p += it.nameBytes.length;
    out.set(it.bytes, p);
    p += it.bytes.length;
  }
  const central = p;
  for (const it of items) {
    u32(0x02014b50);
    u16(20); // made by: MS-DOS attributes, 2.0
    common(it);
    u16(0); // comment
    u16(0); // disk
    u16(0); // internal attributes
    u32(0); // external attributes
    u32(it.offset);
    out.set(it.nameBytes, p);
    p += it.nameBytes.length;
  }
  const centralSize = p - central;
  u32(0x06054b50);
  u16(0);
  u16(0);
  u16(items.length);
  u16(items.length);
  u32(centralSize);
  u32(central);
  u16(0); // comment
  return out;
}
