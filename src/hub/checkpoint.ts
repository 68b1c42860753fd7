/**
 * Reading TensorFlow checkpoints (tensor bundles) without TensorFlow: the `.index` table (a LevelDB-style
 * SSTable of BundleEntryProtos) and scalar strings from the data files. Used to inspect a checkpoint before
 * any graph restores from it.
 */
import { uncompressSync } from 'snappy';

import { TfhubError } from '../errors';
import { maskedCrc32c } from '../io/crc32c';
import { MAX_MODEL_FILE_BYTES_ENV, maxModelFileBytes, openModelFile, readModelFile, readModelFileRange } from '../io/read_model_file';
import { decodeBundleEntry, decodeBundleHeader, tensorflow } from '../proto';
import { CheckpointEntry, checkedEntry } from './checkpoint_entry';

export type { CheckpointEntry } from './checkpoint_entry';

/** @internal A checkpoint's index: its tensors by key. */
export interface CheckpointIndex {
  readonly prefix: string;
  readonly numShards: number;
  readonly entries: Map<string, CheckpointEntry>;
}

/** Reads a varint of at most `maxBytes` bytes (5: varint32, 10: varint64) whose value is a safe integer. */
function readVarint(buf: Uint8Array, pos: number, what: string, maxBytes = 10): [number, number] {
  let result = 0;
  let scale = 1;
  for (let i = 0; i < maxBytes; i++) {
    if (pos >= buf.length) break;
    const b = buf[pos++];
    result += (b & 0x7f) * scale;
    if (b < 0x80) {
      if (result > Number.MAX_SAFE_INTEGER || (maxBytes === 5 && result > 0xffffffff)) break;
      return [result, pos];
    }
    scale *= 128;
  }
  throw new TfhubError('ERR_INVALID_CHECKPOINT', `${what}: malformed or oversized varint`);
}

function corrupt(what: string, why: string): TfhubError {
  return new TfhubError('ERR_INVALID_CHECKPOINT', `${what}: ${why}`);
}

/** The largest expansion of a snappy stream: a 3-byte copy tag yields at most 64 bytes. */
const SNAPPY_MAX_RATIO = 22;

/**
 * Entries of one block of a LevelDB-style table (TensorFlow's checkpoint index format): the block's CRC32C
 * (masked, over its contents and type byte) is verified, snappy blocks (type 1) are decompressed, and every
 * length is checked against the block before it is used.
 */
function readTableBlock(file: Buffer, offset: number, size: number, what: string): Array<[string, Uint8Array]> {
  if (offset + size + 5 > file.length) throw corrupt(what, 'block out of range');
  const stored = file.subarray(offset, offset + size);
  const type = file[offset + size];
  if (maskedCrc32c(file.subarray(offset, offset + size + 1)) !== file.readUInt32LE(offset + size + 1))
    throw corrupt(what, `block checksum mismatch at offset ${offset}`);
  let block: Buffer;
  if (type === 0) block = stored;
  else if (type === 1) {
    const declared = readVarint(stored, 0, what, 5)[0];
    if (declared > SNAPPY_MAX_RATIO * size + 64) throw corrupt(what, `snappy block declares ${declared} bytes from ${size}`);
    try {
      block = uncompressSync(stored, { asBuffer: true }) as Buffer;
    } catch (e) {
      throw new TfhubError('ERR_INVALID_CHECKPOINT', `${what}: corrupt snappy block at offset ${offset} (${(e as Error).message})`, {
        cause: e,
      });
    }
    if (block.length !== declared)
      throw corrupt(what, `snappy block at offset ${offset} expands to ${block.length} bytes, not ${declared}`);
  } else throw new TfhubError('ERR_UNSUPPORTED_CHECKPOINT', `${what}: unknown block compression type ${type}`);
  if (block.length < 4) throw corrupt(what, 'block too short');
  const restarts = block.readUInt32LE(block.length - 4);
  if (restarts > (block.length - 4) / 4) throw corrupt(what, `block claims ${restarts} restart points`);
  const limit = block.length - 4 - 4 * restarts;
  const out: Array<[string, Uint8Array]> = [];
  let key = Buffer.alloc(0);
  let pos = 0;
  while (pos < limit) {
    let shared: number, nonShared: number, valueLength: number;
    [shared, pos] = readVarint(block, pos, what, 5);
    [nonShared, pos] = readVarint(block, pos, what, 5);
    [valueLength, pos] = readVarint(block, pos, what, 5);
    if (shared > key.length || pos + nonShared + valueLength > limit) throw corrupt(what, `bad entry at block offset ${pos}`);
    key = Buffer.concat([key.subarray(0, shared), block.subarray(pos, pos + nonShared)]);
    pos += nonShared;
    out.push([key.toString('utf8'), block.subarray(pos, pos + valueLength)]);
    pos += valueLength;
  }
  return out;
}

/** @internal Reads `<prefix>.index`: every tensor's dtype, shape and location (each entry checked, see checkedEntry). */
export async function readCheckpointIndex(prefix: string): Promise<CheckpointIndex> {
  const file = `${prefix}.index`;
  const buf = await readModelFile(file);
  const magic = '57fb808b247547db';
  if (buf.length < 48 || buf.subarray(buf.length - 8).toString('hex') !== magic) {
    throw new TfhubError('ERR_INVALID_CHECKPOINT', `${file} is not a TensorFlow checkpoint index`);
  }
  // Footer: the metaindex and index block handles (offset, size varints), padding, magic.
  const footer = buf.subarray(buf.length - 48, buf.length - 8);
  let pos = readVarint(footer, 0, file)[1];
  pos = readVarint(footer, pos, file)[1];
  const [indexOffset, afterOffset] = readVarint(footer, pos, file);
  const [indexSize] = readVarint(footer, afterOffset, file);
  const entries = new Map<string, CheckpointEntry>();
  let numShards = 1;
  let sawHeader = false;
  for (const [, handle] of readTableBlock(buf, indexOffset, indexSize, file)) {
    const [off, afterOff] = readVarint(handle, 0, file);
    const [size] = readVarint(handle, afterOff, file);
    for (const [key, value] of readTableBlock(buf, off, size, file)) {
      if (key === '') {
        const header = decodeBundleHeader(value, file);
        if (header.endianness !== tensorflow.BundleHeaderProto.Endianness.LITTLE)
          throw new TfhubError('ERR_UNSUPPORTED_CHECKPOINT', `${file}: big-endian checkpoints are not supported`);
        if (!Number.isInteger(header.numShards) || header.numShards < 0 || header.numShards > 1_000_000)
          throw corrupt(file, `header declares ${header.numShards} shards`);
        numShards = header.numShards || 1;
        sawHeader = true;
        continue;
      }
      entries.set(key, checkedEntry(key, decodeBundleEntry(value, `${file} (${key.slice(0, 200)})`), file));
    }
  }
  if (!sawHeader && entries.size > 0) throw corrupt(file, 'no header entry');
  return { prefix, numShards, entries };
}

/** @internal The data file `<prefix>.data-0000i-of-0000n` holding shard `shardId`. */
export function dataShardPath(index: CheckpointIndex, shardId: number): string {
  const pad = (n: number) => String(n).padStart(5, '0');
  return `${index.prefix}.data-${pad(shardId)}-of-${pad(index.numShards)}`;
}

/**
 * @internal Reads the length varints of a string tensor's record: `[varint64 len]*n [masked crc32c of the
 * lengths] [bytes]*n`. Checks that they add up to the entry's size.
 */
export function stringRecordLengths(head: Uint8Array, count: number, size: number, what: string): { lengths: number[]; dataStart: number } {
  const lengths: number[] = [];
  let pos = 0;
  let total = 0;
  for (let i = 0; i < count; i++) {
    let n: number;
    [n, pos] = readVarint(head, pos, what);
    lengths.push(n);
    total += n;
    if (pos + 4 + total > size) throw corrupt(what, `string element ${i} declares ${n} bytes, beyond the entry's ${size} bytes`);
  }
  if (pos + 4 + total !== size) throw corrupt(what, `string lengths add up to ${pos + 4 + total} bytes, not the entry's ${size}`);
  return { lengths, dataStart: pos + 4 };
}

/** @internal Reads a scalar string tensor of a checkpoint directly from its data file (sizes checked first). */
export async function readCheckpointString(index: CheckpointIndex, key: string): Promise<Uint8Array> {
  const e = index.entries.get(key);
  if (!e) throw new TfhubError('ERR_INVALID_CHECKPOINT', `${index.prefix}: no tensor '${key}' in the checkpoint`);
  if (e.dtype !== 'string' || (e.shape !== null && e.shape.length !== 0))
    throw new TfhubError('ERR_INVALID_CHECKPOINT', `${index.prefix}: '${key}' is not a string scalar`);
  const file = dataShardPath(index, e.shardId);
  if (e.size > maxModelFileBytes())
    throw new TfhubError(
      'ERR_MODEL_FILE_TOO_LARGE',
      `${file}: '${key}' has ${e.size} bytes, more than the limit of ${maxModelFileBytes()} (${MAX_MODEL_FILE_BYTES_ENV})`,
    );
  const opened = await openModelFile(file, { maxBytes: Number.MAX_SAFE_INTEGER });
  try {
    if (e.offset + e.size > opened.size)
      throw corrupt(file, `'${key}' lies at ${e.offset}..${e.offset + e.size}, beyond the file's ${opened.size} bytes`);
    const head = await readModelFileRange(file, opened, e.offset, Math.min(e.size, 14));
    const { dataStart } = stringRecordLengths(head, 1, e.size, `${file} (${key})`);
    const buf = await readModelFileRange(file, opened, e.offset + dataStart, e.size - dataStart);
    return buf;
  } finally {
    await opened.handle.close();
  }
}
