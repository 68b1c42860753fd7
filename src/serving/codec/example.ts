// tf.Example for the classify/regress APIs.
//
// - JSON (api_rest.md): `{"examples": [{feature: value | [values]}], "context": {...}}`, read as TF Serving's
//   json_tensor.cc reads it: strings and {"b64": ...} are bytes_list, numbers written with a fraction or exponent
//   are float_list, other numbers and booleans are int64_list (int64 exact), one kind per feature.
// - `tensorflow.serving.Input` (gRPC): example_list, or example_list_with_context whose context is merged into
//   each example as TF Serving does it (context bytes followed by the example's bytes, so the example's features
//   win), read at the wire level so the bytes fed are exactly the client's.

import * as protobuf from 'protobufjs';
import { InvalidArgumentError } from '../../errors';
import { toBigInt, toLong } from '../../proto';
import { decodeMessage, encodeMessage, servingTypes } from '../proto';
import { JsonDecimal } from '../rest/json';

/** One feature's values, as the REST JSON reader (src/serving/rest/json.ts) gives them. */
export type ExampleJsonValue = string | number | bigint | boolean | JsonDecimal | { b64: string };
/** A tf.Example as api_rest.md writes it: feature name -> a value or a list of values. */
export type ExampleJson = Record<string, ExampleJsonValue | ExampleJsonValue[]>;

type FeatureKind = 'bytesList' | 'floatList' | 'int64List';
interface FeatureObj {
  bytesList?: { value: Uint8Array[] };
  floatList?: { value: number[] };
  int64List?: { value: unknown[] };
}

const KIND_NAMES: Record<FeatureKind, string> = { bytesList: 'bytes', floatList: 'float', int64List: 'int64' };

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function addValue(v: unknown, name: string, f: FeatureObj): void {
  const kindOf = (): FeatureKind | undefined => (Object.keys(f) as FeatureKind[])[0];
  const put = (kind: FeatureKind, value: unknown): void => {
    const have = kindOf();
    if (have && have !== kind) {
      throw new InvalidArgumentError(`Unexpected element type in feature: ${name} expecting type: ${KIND_NAMES[have]}`);
    }
    ((f[kind] ??= { value: [] }).value as unknown[]).push(value);
  };
  if (typeof v === 'boolean') return put('int64List', v ? 1 : 0);
  if (typeof v === 'string') return put('bytesList', Buffer.from(v, 'utf8'));
  // Numbers: written with a fraction or exponent -> float (JsonDecimal when integral); integers -> int64.
  if (v instanceof JsonDecimal) return put('floatList', v.value);
  if (typeof v === 'bigint') {
    if (v >= 2n ** 63n) throw new InvalidArgumentError(`Feature: ${name} has uint64_t element. Only int64_t is supported.`);
    if (v < -(2n ** 63n)) throw new InvalidArgumentError(`Feature: ${name} has element with unexpected JSON type: Number`);
    return put('int64List', toLong(v));
  }
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v)) return put('int64List', v);
    if (!Number.isInteger(v)) return put('floatList', v);
    throw new InvalidArgumentError(`Feature: ${name} has an integer that is not exact: ${v} (use a reader that keeps int64)`);
  }
  if (
    v !== null &&
    typeof v === 'object' &&
    !Array.isArray(v) &&
    Object.keys(v).length === 1 &&
    typeof (v as { b64?: unknown }).b64 === 'string'
  ) {
    return put('bytesList', decodeBase64((v as { b64: string }).b64, name));
  }
  throw new InvalidArgumentError(`Feature: ${name} has element with unexpected JSON type: ${jsonType(v)}`);
}

function decodeBase64(s: string, name: string): Uint8Array {
  const clean = s.replace(/[\r\n]/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean) || clean.length % 4 === 1) {
    throw new InvalidArgumentError(`Unable to base64 decode: feature ${name}`);
  }
  return Buffer.from(clean, 'base64');
}

/** The `tensorflow.Example` message object of one api_rest.md example. @throws InvalidArgumentError */
export function exampleFromJson(json: unknown): { features: { feature: Record<string, FeatureObj> } } {
  if (json === null || typeof json !== 'object' || Array.isArray(json) || json instanceof JsonDecimal) {
    throw new InvalidArgumentError(`Example must be JSON object but got JSON ${jsonType(json)}`);
  }
  const feature: Record<string, FeatureObj> = Object.create(null);
  for (const [name, content] of Object.entries(json)) {
    const f: FeatureObj = {};
    if (Array.isArray(content)) for (const v of content) addValue(v, name, f);
    else addValue(content, name, f);
    feature[name] = f;
  }
  return { features: { feature } };
}

/**
 * Serialized tf.Example bytes of one api_rest.md example (features in sorted order, as a deterministic
 * protobuf serializer writes them).
 */
export function serializeExampleJson(json: unknown): Uint8Array {
  const ex = exampleFromJson(json);
  const sorted: Record<string, FeatureObj> = {};
  for (const k of Object.keys(ex.features.feature).sort()) sorted[k] = ex.features.feature[k];
  return encodeMessage(servingTypes().Example, { features: { feature: sorted } });
}

/**
 * The serialized examples TF Serving feeds for a classify/regress JSON body's `examples` and optional
 * `context` (context bytes + example bytes, per example). @throws InvalidArgumentError with TF Serving's messages
 */
export function serializedExamplesFromJson(examples: unknown, context?: unknown): Uint8Array[] {
  if (examples === undefined) throw new InvalidArgumentError("When method is classify, key 'examples' is expected and was not found");
  if (!Array.isArray(examples)) throw new InvalidArgumentError("Expecting 'examples' value to be an list/array");
  if (examples.length === 0) throw new InvalidArgumentError("'examples' value is an empty array");
  const ctx = context === undefined ? null : serializeExampleJson(context);
  return examples.map((e) => {
    const bytes = serializeExampleJson(e);
    return ctx ? concat(ctx, bytes) : bytes;
  });
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/**
 * api_rest.md JSON of serialized tf.Example bytes: bytes as UTF-8 strings when valid, else {"b64"}; floats as
 * numbers (JsonDecimal when integral, so they read back as floats); int64 as numbers, or bigints past 2^53.
 */
export function exampleToJson(bytes: Uint8Array): ExampleJson {
  const ex = decodeMessage<{ features?: { feature?: Record<string, FeatureObj> } }>(servingTypes().Example, bytes, 'tf.Example');
  const out: ExampleJson = {};
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  for (const [name, f] of Object.entries(ex.features?.feature ?? {})) {
    if (f.floatList) out[name] = f.floatList.value.map((v) => (Number.isInteger(v) ? new JsonDecimal(v) : v));
    else if (f.int64List) {
      out[name] = f.int64List.value.map((v) => {
        const b = toBigInt(v as number);
        return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
      });
    } else if (f.bytesList) {
      out[name] = f.bytesList.value.map((b) => {
        try {
          return utf8.decode(b);
        } catch {
          return { b64: Buffer.from(b).toString('base64') };
        }
      });
    } else out[name] = [];
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// tensorflow.serving.Input, at the wire level

/** Length-delimited fields `fieldNo` of a message, as byte views (no copy). Malformed -> InvalidArgumentError. */
export function lengthDelimitedFields(bytes: Uint8Array, what: string): Array<{ field: number; bytes: Uint8Array }> {
  const r = protobuf.Reader.create(bytes);
  const out: Array<{ field: number; bytes: Uint8Array }> = [];
  try {
    while (r.pos < r.len) {
      const tag = r.uint32();
      const field = tag >>> 3;
      const wire = tag & 7;
      if (field === 0) throw new Error('field number 0');
      if (wire === 2) {
        const len = r.uint32();
        if (r.pos + len > r.len) throw new Error('truncated field');
        out.push({ field, bytes: bytes.subarray(r.pos, r.pos + len) });
        r.pos += len;
      } else {
        r.skipType(wire);
      }
    }
  } catch (e) {
    throw new InvalidArgumentError(`${what}: malformed protocol buffer (${(e as Error).message})`);
  }
  return out;
}

/**
 * The serialized examples of a `tensorflow.serving.Input` message's bytes, as TF Serving feeds them:
 * example_list's examples, or example_list_with_context's examples each prefixed with the context's bytes.
 * @throws InvalidArgumentError `Input is empty.` when there are none
 */
export function serializedExamplesFromInput(inputBytes: Uint8Array): Uint8Array[] {
  // Oneof: the last of example_list (1) / example_list_with_context (2) wins; repeats of one merge.
  let kind = 0;
  let parts: Uint8Array[] = [];
  for (const { field, bytes } of lengthDelimitedFields(inputBytes, 'Input')) {
    if (field !== 1 && field !== 2) continue;
    if (field !== kind) parts = [];
    kind = field;
    parts.push(bytes);
  }
  const examples: Uint8Array[] = [];
  const context: Uint8Array[] = [];
  for (const part of parts) {
    for (const { field, bytes } of lengthDelimitedFields(part, kind === 1 ? 'ExampleList' : 'ExampleListWithContext')) {
      if (field === 1) examples.push(bytes);
      else if (field === 2 && kind === 2) context.push(bytes);
    }
  }
  if (examples.length === 0) throw new InvalidArgumentError('Input is empty.');
  if (kind === 1 || context.length === 0) return examples.map((e) => Uint8Array.from(e));
  const ctx = context.length === 1 ? context[0] : context.reduce(concat);
  return examples.map((e) => concat(ctx, e));
}
