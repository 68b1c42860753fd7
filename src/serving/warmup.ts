/**
 * TF Serving's warmup file, `assets.extra/tf_serving_warmup_requests` (saved_model_warmup.md): a TFRecord file of
 * serialized `tensorflow.serving.PredictionLog` messages. This module reads (and, for tests and tools, writes)
 * the TFRecord framing with both CRCs checked and returns the raw record bytes; decoding PredictionLog belongs
 * to the serving protos.
 *
 * TFRecord framing (tensorflow/core/lib/io/record_writer.h), little-endian:
 *   uint64 length | uint32 masked_crc32c(length bytes) | data[length] | uint32 masked_crc32c(data)
 * masked_crc = ((crc >>> 15) | (crc << 17)) + 0xa282ead8.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { maskedCrc32c } from '../io/crc32c';
import { DataLossError, InvalidArgumentError, ResourceExhaustedError } from '../errors';

/** Where a SavedModel keeps its warmup requests, relative to the version directory. */
export const WARMUP_FILE = path.join('assets.extra', 'tf_serving_warmup_requests');

/** TF Serving's WarmupConsts::kMaxNumRecords: a warmup file may hold at most this many records. */
export const MAX_WARMUP_RECORDS = 1000;

/** Limits of {@link readTfRecords}. */
export interface TfRecordLimits {
  /** Most records accepted (more: InvalidArgumentError). Default: unlimited. */
  maxRecords?: number;
  /** Largest record accepted, in bytes (larger: ResourceExhaustedError, before it is read). Default 256 MiB. */
  maxRecordBytes?: number;
  /** Name of the source in error messages (a file path). */
  source?: string;
}

const DEFAULT_MAX_RECORD_BYTES = 256 * 1024 * 1024;

export { maskedCrc32c } from '../io/crc32c';

/**
 * The records of a TFRecord file's bytes (uncompressed), each CRC checked. A damaged file is a `DataLossError`
 * naming the record and its byte offset, with TensorFlow's wording ("truncated record at N", "corrupted record
 * at N"); too many records is an `InvalidArgumentError`, a record over `maxRecordBytes` a
 * `ResourceExhaustedError`. The returned records are views into `bytes`.
 */
export function readTfRecords(bytes: Uint8Array, limits: TfRecordLimits = {}): Uint8Array[] {
  const maxRecords = limits.maxRecords ?? Infinity;
  const maxRecordBytes = limits.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  const where = (n: number) => ` (record ${n}${limits.source ? ` of ${limits.source}` : ''})`;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const records: Uint8Array[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const n = records.length;
    if (offset + 12 > bytes.length)
      throw new DataLossError(`truncated record at ${offset}${where(n)}: ${bytes.length - offset} bytes left, a header needs 12`);
    const header = bytes.subarray(offset, offset + 8);
    if (maskedCrc32c(header) !== view.getUint32(offset + 8, true)) {
      throw new DataLossError(`corrupted record at ${offset}${where(n)}: the length's CRC does not match`);
    }
    const length = view.getBigUint64(offset, true);
    if (length > BigInt(maxRecordBytes)) {
      throw new ResourceExhaustedError(`record at ${offset}${where(n)} is ${length} bytes, over the limit of ${maxRecordBytes}`);
    }
    const start = offset + 12;
    const end = start + Number(length);
    if (end + 4 > bytes.length)
      throw new DataLossError(
        `truncated record at ${offset}${where(n)}: ${length} bytes of data and a CRC announced, ${bytes.length - start} bytes left`,
      );
    const data = bytes.subarray(start, end);
    if (maskedCrc32c(data) !== view.getUint32(end, true)) {
      throw new DataLossError(`corrupted record at ${offset}${where(n)}: the data's CRC does not match`);
    }
    if (records.length >= maxRecords) {
      throw new InvalidArgumentError(`Number of records exceeds the maximum (${maxRecords})${limits.source ? ` at ${limits.source}` : ''}`);
    }
    records.push(data);
    offset = end + 4;
  }
  return records;
}

/** The bytes of a TFRecord file holding `records` (uncompressed), as `tf.io.TFRecordWriter` writes them. */
export function writeTfRecords(records: Iterable<Uint8Array>): Uint8Array {
  const parts: Uint8Array[] = [];
  let total = 0;
  for (const data of records) {
    if (!(data instanceof Uint8Array)) throw new TypeError('writeTfRecords: every record must be a Uint8Array');
    const head = new Uint8Array(12);
    const hv = new DataView(head.buffer);
    hv.setBigUint64(0, BigInt(data.length), true);
    hv.setUint32(8, maskedCrc32c(head.subarray(0, 8)), true);
    const tail = new Uint8Array(4);
    new DataView(tail.buffer).setUint32(0, maskedCrc32c(data), true);
    parts.push(head, data, tail);
    total += 16 + data.length;
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Limits of {@link readWarmupRecords}. */
export interface WarmupLimits {
  /** Most records (default {@link MAX_WARMUP_RECORDS}). */
  maxRecords?: number;
  /** Largest record in bytes (default 256 MiB). */
  maxRecordBytes?: number;
  /** Largest warmup file in bytes, checked before reading it (default 1 GiB). */
  maxFileBytes?: number;
}

const DEFAULT_MAX_WARMUP_FILE_BYTES = 1024 * 1024 * 1024;

/**
 * The raw `PredictionLog` records of a SavedModel version directory's warmup file, or null when it has none
 * (warmup is optional). At most {@link MAX_WARMUP_RECORDS} records (TF Serving's message when over: "Number of
 * warmup records exceeds the maximum (1000) at PATH"); a damaged file is a DataLossError naming the record,
 * with TF Serving's advice appended ("Please verify your warmup data is in TFRecord format.").
 */
export async function readWarmupRecords(versionDir: string, limits: WarmupLimits = {}): Promise<Uint8Array[] | null> {
  const file = path.join(versionDir, WARMUP_FILE);
  const stat = await fs.stat(file).catch(() => null);
  if (!stat) return null;
  const maxRecords = limits.maxRecords ?? MAX_WARMUP_RECORDS;
  const maxRecordBytes = limits.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  const maxFileBytes = limits.maxFileBytes ?? DEFAULT_MAX_WARMUP_FILE_BYTES;
  // Bounded before anything is read.
  if (stat.size > maxFileBytes) throw new ResourceExhaustedError(`${file} is ${stat.size} bytes, over the limit of ${maxFileBytes}`);
  const bytes = new Uint8Array(await fs.readFile(file));
  try {
    return readTfRecords(bytes, { maxRecords, maxRecordBytes, source: file });
  } catch (e) {
    if (e instanceof InvalidArgumentError && /^Number of records exceeds/.test(e.message)) {
      throw new InvalidArgumentError(`Number of warmup records exceeds the maximum (${maxRecords}) at ${file}`);
    }
    if (e instanceof DataLossError) throw new DataLossError(`${e.message}. Please verify your warmup data is in TFRecord format.`);
    throw e;
  }
}
