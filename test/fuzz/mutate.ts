// Seeded mutations for the fuzz harness: a small PRNG, byte-level mutations, and a generic protobuf mutation
// that walks a decoded message and changes one field (numbers to boundary values, strings, repeated fields,
// sub-messages dropped). Everything derives from the PRNG, so a case is reproduced by its seed and number.

/** A deterministic PRNG (mulberry32) with helpers. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

/** The seed of case `id` of a run seeded with `seed`. */
export function caseSeed(seed: number, id: number): number {
  return (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(id + 1, 0xc2b2ae35)) >>> 0;
}

const INTERESTING_BYTES = [0x00, 0xff, 0x7f, 0x80, 0x01, 0x08, 0x10, 0x12, 0x1a, 0x22];

/** 1-8 byte-level mutations: flips, interesting bytes, insertions, deletions, truncation, duplication. */
export function mutateBytes(rng: Rng, input: Uint8Array): Buffer {
  let b = Buffer.from(input);
  const n = 1 + rng.int(8);
  for (let k = 0; k < n; k++) {
    const at = b.length === 0 ? 0 : rng.int(b.length);
    switch (rng.int(7)) {
      case 0:
        if (b.length) b[at] ^= 1 << rng.int(8);
        break;
      case 1:
        if (b.length) b[at] = rng.pick(INTERESTING_BYTES);
        break;
      case 2:
        b = Buffer.concat([b.subarray(0, at), Buffer.from([rng.int(256)]), b.subarray(at)]);
        break;
      case 3:
        b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + rng.int(16)))]);
        break;
      case 4:
        b = b.subarray(0, at);
        break;
      case 5:
        b = Buffer.concat([b.subarray(0, at), b.subarray(at, Math.min(b.length, at + 1 + rng.int(64))), b.subarray(at)]);
        break;
      default:
        if (b.length >= 10) b.fill(0xff, at, Math.min(b.length, at + 10));
        break; // oversized varints
    }
  }
  return b;
}

const INTERESTING_NUMBERS = [
  0,
  -1,
  1,
  2,
  3,
  7,
  20,
  21,
  100,
  101,
  119,
  255,
  256,
  65535,
  2 ** 31 - 1,
  -(2 ** 31),
  2 ** 32,
  2 ** 40,
  2 ** 53 - 1,
  -(2 ** 53),
];

type Slot = { parent: Record<string, unknown> | unknown[]; key: string | number; value: unknown };

function isLongLike(v: unknown): v is { low: number; high: number } {
  return !!v && typeof v === 'object' && 'low' in v && 'high' in v;
}

function collect(v: unknown, out: Slot[], depth: number): void {
  if (depth > 60 || v === null || typeof v !== 'object' || v instanceof Uint8Array || isLongLike(v)) return;
  const entries: Array<[string | number, unknown]> = Array.isArray(v)
    ? v.map((x, i) => [i, x])
    : Object.entries(v).filter(([k]) => !k.startsWith('$'));
  for (const [key, value] of entries) {
    if (value === undefined) continue;
    out.push({ parent: v as Record<string, unknown>, key, value });
    collect(value, out, depth + 1);
  }
}

/** Changes one field of a decoded protobufjs message in place (see the module's doc). */
export function mutateMessage(rng: Rng, message: object): string {
  const slots: Slot[] = [];
  collect(message, slots, 0);
  if (slots.length === 0) return 'empty';
  const s = rng.pick(slots);
  const set = (v: unknown): void => {
    (s.parent as Record<string | number, unknown>)[s.key] = v;
  };
  const v = s.value;
  if (typeof v === 'number' || isLongLike(v)) {
    const n = rng.chance(0.8) ? rng.pick(INTERESTING_NUMBERS) : rng.int(1000) - 100;
    set(n);
    return `number ${String(s.key)}=${n}`;
  }
  if (typeof v === 'boolean') {
    set(!v);
    return `bool ${String(s.key)}`;
  }
  if (typeof v === 'string') {
    const choice = rng.int(4);
    const nv =
      choice === 0
        ? ''
        : choice === 1
          ? v + rng.pick(['/', ':0', '^', '\0', ':99', '_1'])
          : choice === 2
            ? v.split('').reverse().join('')
            : 'x'.repeat(1 + rng.int(5000));
    set(nv);
    return `string ${String(s.key)}`;
  }
  if (v instanceof Uint8Array) {
    set(mutateBytes(rng, v));
    return `bytes ${String(s.key)}`;
  }
  if (Array.isArray(v)) {
    if (v.length > 0 && rng.chance(0.5)) {
      v.splice(rng.int(v.length), 1);
      return `drop element of ${String(s.key)}`;
    }
    if (v.length > 0) {
      v.push(v[rng.int(v.length)]);
      return `duplicate element of ${String(s.key)}`;
    }
    return 'empty array';
  }
  if (v && typeof v === 'object') {
    if (Array.isArray(s.parent)) s.parent.splice(Number(s.key), 1);
    else delete (s.parent as Record<string, unknown>)[s.key as string];
    return `drop ${String(s.key)}`;
  }
  return 'none';
}
