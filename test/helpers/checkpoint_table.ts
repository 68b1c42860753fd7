// A raw reader/writer of TensorFlow checkpoint index tables (LevelDB-style SSTables) for tests and the mutation
// harness: entries are kept as raw BundleEntryProto bytes so that tests can write what src/ must refuse.
import { readFileSync, writeFileSync } from 'node:fs';
import { compressSync, uncompressSync } from 'snappy';
import { tensorflow } from '../../src/proto';
import { maskedCrc32c } from '../../src/io/crc32c';

export type RawEntry = [key: Buffer, value: Buffer];

function varint(n: number | bigint): Buffer {
  let v = BigInt(n);
  const out: number[] = [];
  for (;;) {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    if (v === 0n) {
      out.push(b);
      return Buffer.from(out);
    }
    out.push(b | 0x80);
  }
}

function readVarint(b: Uint8Array, p: number): [number, number] {
  let r = 0,
    s = 1;
  for (;;) {
    const x = b[p++];
    r += (x & 0x7f) * s;
    if (x < 0x80) return [r, p];
    s *= 128;
  }
}

function readBlock(buf: Buffer, off: number, size: number): RawEntry[] {
  const raw = buf.subarray(off, off + size);
  const block = buf[off + size] === 1 ? (uncompressSync(raw, { asBuffer: true }) as Buffer) : raw;
  const limit = block.length - 4 - 4 * block.readUInt32LE(block.length - 4);
  const out: RawEntry[] = [];
  let key = Buffer.alloc(0);
  for (let p = 0; p < limit;) {
    let shared: number, nonShared: number, len: number;
    [shared, p] = readVarint(block, p);
    [nonShared, p] = readVarint(block, p);
    [len, p] = readVarint(block, p);
    key = Buffer.concat([key.subarray(0, shared), block.subarray(p, p + nonShared)]);
    p += nonShared;
    out.push([key, Buffer.from(block.subarray(p, p + len))]);
    p += len;
  }
  return out;
}

/** Every (key, value) of a table file, in order (the header entry '' included). */
export function readTable(file: string): RawEntry[] {
  const buf = readFileSync(file);
  const f = buf.subarray(buf.length - 48);
  let p = readVarint(f, 0)[1];
  p = readVarint(f, p)[1];
  const [off, p2] = readVarint(f, p);
  const [size] = readVarint(f, p2);
  const out: RawEntry[] = [];
  for (const [, h] of readBlock(buf, off, size)) {
    const [o, q] = readVarint(h, 0);
    const [s] = readVarint(h, q);
    out.push(...readBlock(buf, o, s));
  }
  return out;
}

function block(entries: RawEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const [k, v] of entries) parts.push(varint(0), varint(k.length), varint(v.length), k, v);
  const body = Buffer.concat(parts);
  const restarts = Buffer.alloc(8);
  restarts.writeUInt32LE(0, 0);
  restarts.writeUInt32LE(1, 4);
  return Buffer.concat([body, restarts]);
}

/** Writes a table of `entries` (one data block per `perBlock` entries), optionally snappy-compressed. */
export function writeTable(file: string, entries: RawEntry[], options: { snappy?: boolean; perBlock?: number } = {}): void {
  const out: Buffer[] = [];
  let length = 0;
  const emit = (raw: Buffer): Buffer => {
    const data = options.snappy ? compressSync(raw) : raw;
    const trailer = Buffer.alloc(5);
    trailer[0] = options.snappy ? 1 : 0;
    trailer.writeUInt32LE(maskedCrc32c(Buffer.concat([data, trailer.subarray(0, 1)])), 1);
    const handle = Buffer.concat([varint(length), varint(data.length)]);
    out.push(data, trailer);
    length += data.length + 5;
    return handle;
  };
  const per = options.perBlock ?? 1000;
  const index: RawEntry[] = [];
  for (let i = 0; i < entries.length; i += per) {
    const chunk = entries.slice(i, i + per);
    index.push([chunk[chunk.length - 1][0], emit(block(chunk))]);
  }
  const meta = emit(block([]));
  const idx = emit(block(index));
  const footer = Buffer.alloc(48);
  Buffer.concat([meta, idx]).copy(footer, 0);
  Buffer.from('57fb808b247547db', 'hex').copy(footer, 40);
  out.push(footer);
  writeFileSync(file, Buffer.concat(out));
}

/** Rewrites the BundleEntryProto of `key` in `<prefix>.index` through `edit` (a decoded, mutable message). */
export function editEntry(
  prefix: string,
  key: string,
  edit: (e: tensorflow.BundleEntryProto) => void,
  options: { snappy?: boolean } = {},
): void {
  const entries = readTable(`${prefix}.index`);
  const hit = entries.find(([k]) => k.toString() === key);
  if (!hit) throw new Error(`no entry ${key}`);
  const e = tensorflow.BundleEntryProto.decode(hit[1]);
  edit(e);
  hit[1] = Buffer.from(tensorflow.BundleEntryProto.encode(e).finish());
  writeTable(`${prefix}.index`, entries, options);
}
