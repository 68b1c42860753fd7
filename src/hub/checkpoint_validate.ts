/**
 * Checks a checkpoint's entries against its data files before any restore op runs: TensorFlow trusts them and
 * aborts, segfaults or allocates without bound on inconsistent ones (a 2^40-byte string, a shape that does not
 * fit its bytes). Each entry (already checked alone by the index reader: dtype, dims, slices) must name an
 * existing shard that is a regular file; its bytes must lie inside that shard; a fixed-size tensor's byte size
 * must be its element count × element size; a string tensor's length varints must add up to its byte size.
 * Errors are `ERR_INVALID_CHECKPOINT` (and the file errors of `read_model_file`).
 */
import { TfhubError } from '../errors';
import { ModelFile, openModelFile, readModelFileRange } from '../io/read_model_file';
import { CheckpointIndex, dataShardPath, readCheckpointIndex, stringRecordLengths } from './checkpoint';
import { checkpointElementBytes, elementCount } from './checkpoint_entry';

function bad(file: string, key: string, what: string): TfhubError {
  return new TfhubError(
    'ERR_INVALID_CHECKPOINT',
    `${file}: checkpoint entry '${key.length > 200 ? `${key.slice(0, 200)}…` : key}' ${what}`,
  );
}

/** Checks every entry of `index` against its data shards (see the module's doc). */
export async function validateCheckpointData(index: CheckpointIndex): Promise<void> {
  const file = `${index.prefix}.index`;
  const shards = new Map<number, ModelFile>();
  const shard = async (id: number): Promise<ModelFile> => {
    let f = shards.get(id);
    if (!f) {
      const name = dataShardPath(index, id);
      try {
        f = await openModelFile(name, { maxBytes: Number.MAX_SAFE_INTEGER });
      } catch (e) {
        const sys = (e as NodeJS.ErrnoException).code;
        if (sys === 'ENOENT' || sys === 'ENOTDIR')
          throw new TfhubError('ERR_INVALID_CHECKPOINT', `${name}: the checkpoint's data file does not exist`, { cause: e });
        throw e;
      }
      shards.set(id, f);
    }
    return f;
  };
  try {
    for (const e of index.entries.values()) {
      if (e.shardId >= index.numShards) throw bad(file, e.key, `lies in shard ${e.shardId} of ${index.numShards}`);
      if (e.sliced) continue; // a partitioned tensor's data lies under its slices' own keys
      const n = elementCount(e.shape ?? []);
      const bytes = checkpointElementBytes(e.dtype);
      if (bytes > 0 && e.size !== n * bytes)
        throw bad(file, e.key, `has ${e.size} bytes for ${n} ${e.dtype} elements (${n * bytes} expected)`);
      if (e.size === 0) continue;
      const data = await shard(e.shardId);
      const name = dataShardPath(index, e.shardId);
      if (e.offset + e.size > data.size)
        throw bad(file, e.key, `lies at bytes ${e.offset}..${e.offset + e.size}, beyond the ${data.size} bytes of ${name}`);
      if (e.dtype === 'string') {
        if (e.size < n + 4) throw bad(file, e.key, `has ${e.size} bytes, too few for ${n} strings`);
        const head = await readModelFileRange(name, data, e.offset, Math.min(e.size, n * 10 + 4));
        stringRecordLengths(head, n, e.size, `${name} (${e.key.slice(0, 200)})`);
      }
    }
  } finally {
    for (const f of shards.values()) await f.handle.close().catch(() => undefined);
  }
}

/**
 * Reads `<prefix>.index` and checks it against the data files: what every restore path calls before handing
 * the checkpoint to TensorFlow.
 */
export async function readValidatedCheckpoint(prefix: string): Promise<CheckpointIndex> {
  const index = await readCheckpointIndex(prefix);
  await validateCheckpointData(index);
  return index;
}
