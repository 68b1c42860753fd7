/** CRC32C as TensorFlow's file formats store it (TFRecord records, LevelDB-style table blocks): masked. */
import { buf as crc32c } from 'crc-32/crc32c';

const MASK_DELTA = 0xa282ead8;

/** The masked CRC32C of `bytes` (LevelDB's and TFRecord's `crc32c::Mask`). */
export function maskedCrc32c(bytes: Uint8Array): number {
  const crc = crc32c(bytes) >>> 0;
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + MASK_DELTA) >>> 0;
}
