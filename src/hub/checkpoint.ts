/**
 * Reading TensorFlow checkpoints (tensor bundles) without TensorFlow: the `.index` table (a LevelDB-style
 * SSTable of BundleEntryProtos) and scalar strings from the data files. Used to inspect a checkpoint before
 * any graph restores from it.
 */
import { promises as fs } from 'node:fs';

import { DType, dtypeFromTf } from '../dtypes';
import { TfhubError } from '../errors';
import { decodeBundleEntry, decodeBundleHeader, dimsOf, toSafeNumber } from '../proto';

/** @internal One tensor of a checkpoint (a BundleEntryProto of its `.index` table). */
export interface CheckpointEntry {
  readonly key: string;
  readonly dtype: DType;
  readonly shape: number[] | null;
  readonly shardId: number;
  readonly offset: number;
  readonly size: number;
  readonly sliced: boolean;
}

/** @internal A checkpoint's index: its tensors by key. */
export interface CheckpointIndex {
  readonly prefix: string;
  readonly numShards: number;
  readonly entries: Map<string, CheckpointEntry>;
}

function readVarint(buf: Uint8Array, pos: number, what: string): [number, number] {
  let result = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= buf.length) break;
    const b = buf[pos++];
    result += (b & 0x7f) * scale;
    if (b < 0x80) return [result, pos];
    scale *= 128;
  }
  throw new TfhubError('ERR_INVALID_CHECKPOINT', `${what}: malformed varint`);
}

/** Entries of one uncompressed block of a LevelDB-style table (TensorFlow's checkpoint index format). */
function readTableBlock(file: Buffer, offset: number, size: number, what: string): Array<[string, Uint8Array]> {
  if (offset + size + 5 > file.length) throw new TfhubError('ERR_INVALID_CHECKPOINT', `${what}: block out of range`);
  if (file[offset + size] !== 0) throw new TfhubError('ERR_UNSUPPORTED_CHECKPOINT', `${what}: compressed checkpoint index blocks are not supported`);
  const block = file.subarray(offset, offset + size);
  const restarts = block.readUInt32LE(size - 4);
  const limit = size - 4 - 4 * restarts;
  const out: Array<[string, Uint8Array]> = [];
  let key = Buffer.alloc(0);
  let pos = 0;
  while (pos < limit) {
    let shared: number, nonShared: number, valueLength: number;
    [shared, pos] = readVarint(block, pos, what);
    [nonShared, pos] = readVarint(block, pos, what);
    [valueLength, pos] = readVarint(block, pos, what);
    key = Buffer.concat([key.subarray(0, shared), block.subarray(pos, pos + nonShared)]);
    pos += nonShared;
    out.push([key.toString('utf8'), block.subarray(pos, pos + valueLength)]);
    pos += valueLength;
  }
  return out;
}

/** @internal Reads `<prefix>.index`: every tensor's dtype, shape and location. */
export async function readCheckpointIndex(prefix: string): Promise<CheckpointIndex> {
  const file = `${prefix}.index`;
  const buf = await fs.readFile(file);
  const magic = '57fb808b247547db';
  if (buf.length < 48 || buf.subarray(buf.length - 8).toString('hex') !== magic) {
    throw new TfhubError('ERR_INVALID_CHECKPOINT', `${file} is not a TensorFlow checkpoint index`);
  }
  // Footer: the metaindex and index block handles (offset, size varints), padding, magic.
  const footer = buf.subarray(buf.length - 48);
  let pos = readVarint(footer, 0, file)[1];
  pos = readVarint(footer, pos, file)[1];
  let indexOffset: number, indexSize: number;
  [indexOffset, pos] = readVarint(footer, pos, file);
  [indexSize, pos] = readVarint(footer, pos, file);
  const entries = new Map<string, CheckpointEntry>();
  let numShards = 1;
  for (const [, handle] of readTableBlock(buf, indexOffset, indexSize, file)) {
    let off: number, size: number, p = 0;
    [off, p] = readVarint(handle, p, file);
    [size, p] = readVarint(handle, p, file);
    for (const [key, value] of readTableBlock(buf, off, size, file)) {
      if (key === '') {
        numShards = decodeBundleHeader(value, file).numShards || 1;
        continue;
      }
      const e = decodeBundleEntry(value, `${file} (${key})`);
      entries.set(key, {
        key,
        dtype: dtypeFromTf(e.dtype),
        shape: e.shape ? dimsOf(e.shape) : null,
        shardId: e.shardId ?? 0,
        offset: toSafeNumber(e.offset ?? 0, 'checkpoint offset'),
        size: toSafeNumber(e.size ?? 0, 'checkpoint size'),
        sliced: (e.slices?.length ?? 0) > 0,
      });
    }
  }
  return { prefix, numShards, entries };
}

/** @internal Reads a scalar string tensor of a checkpoint directly from its data file. */
export async function readCheckpointString(index: CheckpointIndex, key: string): Promise<Uint8Array> {
  const e = index.entries.get(key);
  if (!e) throw new TfhubError('ERR_INVALID_CHECKPOINT', `${index.prefix}: no tensor '${key}' in the checkpoint`);
  if (e.dtype !== 'string' || (e.shape !== null && e.shape.length !== 0)) throw new TfhubError('ERR_INVALID_CHECKPOINT', `${index.prefix}: '${key}' is not a string scalar`);
  const pad = (n: number) => String(n).padStart(5, '0');
  const file = `${index.prefix}.data-${pad(e.shardId)}-of-${pad(index.numShards)}`;
  const handle = await fs.open(file, 'r');
  try {
    const buf = Buffer.alloc(e.size);
    await handle.read(buf, 0, e.size, e.offset);
    // [varint64 length][4-byte masked crc32c of the lengths][bytes]
    const [length, pos] = readVarint(buf, 0, file);
    return buf.subarray(pos + 4, pos + 4 + length);
  } finally {
    await handle.close();
  }
}
