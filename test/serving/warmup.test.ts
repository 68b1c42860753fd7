// TFRecord framing of TF Serving's warmup file: a file written by Python's tf.io.TFRecordWriter reads back
// exactly, our writer writes the same bytes, and every damaged or oversized file is a typed error naming the record.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DataLossError, InvalidArgumentError, ResourceExhaustedError } from '../../src/errors';
import { MAX_WARMUP_RECORDS, WARMUP_FILE, maskedCrc32c, readTfRecords, readWarmupRecords, writeTfRecords } from '../../src/serving/warmup';

const DIR = path.join(__dirname, '../../../test/fixtures/tfrecord');
const fromPython = new Uint8Array(readFileSync(path.join(DIR, 'records.tfrecord')));
const expected = (JSON.parse(readFileSync(path.join(DIR, 'records.json'), 'utf8')).records as string[]).map(
  (h) => new Uint8Array(Buffer.from(h, 'hex')),
);

/** Byte offsets where each record starts, and the end. */
function boundaries(records: Uint8Array[]): number[] {
  const out = [0];
  for (const r of records) out.push(out[out.length - 1] + 16 + r.length);
  return out;
}

describe('TFRecord reader and writer (warmup requests)', () => {
  it('reads the records tf.io.TFRecordWriter wrote, and writes the same bytes', () => {
    assert.deepEqual(
      readTfRecords(fromPython).map((r) => Buffer.from(r).toString('hex')),
      expected.map((r) => Buffer.from(r).toString('hex')),
    );
    assert.deepEqual(Buffer.from(writeTfRecords(expected)), Buffer.from(fromPython));
    assert.deepEqual(readTfRecords(new Uint8Array(readFileSync(path.join(DIR, 'empty.tfrecord')))), []);
    // CRC32C check value of the iSCSI standard ("123456789" → 0xe3069283), masked as TFRecord does.
    const crc = 0xe3069283;
    assert.equal(maskedCrc32c(new TextEncoder().encode('123456789')), ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0);
  });

  it('every flipped bit is a DataLossError naming the record', () => {
    const small = writeTfRecords(expected.slice(0, 4));
    const starts = boundaries(expected.slice(0, 4));
    for (let i = 0; i < small.length; i++) {
      for (const bit of [0, 7]) {
        const bad = Uint8Array.from(small);
        bad[i] ^= 1 << bit;
        const record = starts.findIndex((s, j) => i >= s && i < starts[j + 1]);
        assert.throws(
          () => readTfRecords(bad, { source: 'f.tfrecord' }),
          (e: Error) =>
            e instanceof DataLossError &&
            e.code === 'DATA_LOSS' &&
            new RegExp(`^(corrupted|truncated) record at ${starts[record]} \\(record ${record} of f\\.tfrecord\\)`).test(e.message),
          `byte ${i} bit ${bit}`,
        );
      }
    }
  });

  it('a truncated file is a DataLossError, except at a record boundary (fewer records, as TensorFlow reads it)', () => {
    const starts = boundaries(expected);
    for (let n = 1; n < fromPython.length; n++) {
      const cut = fromPython.subarray(0, n);
      const k = starts.indexOf(n);
      if (k >= 0) assert.equal(readTfRecords(cut).length, k);
      else
        assert.throws(
          () => readTfRecords(cut),
          (e: Error) => e instanceof DataLossError && /^truncated record at \d+ \(record \d+\)/.test(e.message),
          `cut at ${n}`,
        );
    }
  });

  it('limits: a length over maxRecordBytes is refused before reading; more than maxRecords is INVALID_ARGUMENT', () => {
    const huge = new Uint8Array(16);
    const v = new DataView(huge.buffer);
    v.setBigUint64(0, 2n ** 40n, true);
    v.setUint32(8, maskedCrc32c(huge.subarray(0, 8)), true);
    assert.throws(
      () => readTfRecords(huge),
      (e: Error) => e instanceof ResourceExhaustedError && /1099511627776 bytes, over the limit/.test(e.message),
    );
    assert.throws(() => readTfRecords(fromPython, { maxRecordBytes: 100 }), ResourceExhaustedError);
    assert.throws(
      () => readTfRecords(fromPython, { maxRecords: 5 }),
      (e: Error) => e instanceof InvalidArgumentError && /exceeds the maximum \(5\)/.test(e.message),
    );
    assert.equal(readTfRecords(fromPython, { maxRecords: 6 }).length, 6);
    assert.throws(() => writeTfRecords(['x' as never]), TypeError);
  });

  it("readWarmupRecords: assets.extra/tf_serving_warmup_requests of a version directory, with TF Serving's limits and messages", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'warmup-'));
    try {
      assert.equal(await readWarmupRecords(dir), null);
      mkdirSync(path.join(dir, 'assets.extra'));
      const file = path.join(dir, WARMUP_FILE);
      writeFileSync(file, fromPython);
      assert.equal((await readWarmupRecords(dir))!.length, expected.length);
      const one = new Uint8Array([1]);
      writeFileSync(file, writeTfRecords(Array(MAX_WARMUP_RECORDS).fill(one)));
      assert.equal((await readWarmupRecords(dir))!.length, 1000);
      writeFileSync(file, writeTfRecords(Array(MAX_WARMUP_RECORDS + 1).fill(one)));
      await assert.rejects(readWarmupRecords(dir), {
        name: 'InvalidArgumentError',
        message: `Number of warmup records exceeds the maximum (1000) at ${file}`,
      });
      const bad = Uint8Array.from(fromPython);
      bad[40] ^= 1;
      writeFileSync(file, bad);
      await assert.rejects(
        readWarmupRecords(dir),
        (e: Error) =>
          e instanceof DataLossError &&
          e.message.includes(file) &&
          /\(record 2 of .*\)/.test(e.message) &&
          e.message.endsWith('Please verify your warmup data is in TFRecord format.'),
      );
      await assert.rejects(readWarmupRecords(dir, { maxFileBytes: 100 }), ResourceExhaustedError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
