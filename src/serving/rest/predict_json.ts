/**
 * The `:predict` body of TF Serving's REST API: `instances` (row format) or `inputs` (columnar format) decoded
 * against the signature's inputs, and outputs written back as `predictions` or `outputs`
 * (FillPredictRequestFromJson / MakeJsonFromTensors of util/json_tensor.cc).
 */
import { InvalidArgumentError } from '../../errors';
import { tensorflow } from '../../proto';
import { Tensor } from '../../tensor';
import { toTfError } from '../errors';
import { JsonDecimal, JsonValue, jsonDebugString } from './json';
import { dtypeOfEnum, elementWriter, isBase64Object, jsonToElements, makeTensor, tensorJson } from './tensor_json';

/** Row (`instances` → `predictions`) or columnar (`inputs` → `outputs`). */
export type PredictFormat = 'row' | 'columnar';

type JsonObject = { [key: string]: JsonValue };

function isObject(v: JsonValue): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof JsonDecimal);
}

function isElementObject(v: JsonValue): boolean {
  return isObject(v) && !isBase64Object(v);
}

function sameShape(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function tensorsFrom(
  map: Map<string, { shape: number[]; values: unknown[] }>,
  infos: Record<string, tensorflow.ITensorInfo>,
): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  try {
    for (const [name, t] of map) out[name] = makeTensor(dtypeOfEnum(infos[name].dtype), t.shape, t.values);
  } catch (e) {
    throw toTfError(e);
  }
  return out;
}

function fromInstances(instances: JsonValue[], infos: Record<string, tensorflow.ITensorInfo>): Record<string, Tensor> {
  const names = Object.keys(infos).sort();
  if (!isObject(instances[0]) && names.length > 1) {
    throw new InvalidArgumentError(
      'instances is a plain list, but expecting list of objects as multiple input tensors required as per tensorinfo_map',
    );
  }
  const objects = isElementObject(instances[0]);
  const acc = new Map<string, { shape: number[]; values: unknown[]; size: number }>();
  const add = (item: JsonValue, name: string) => {
    if (!(name in infos)) throw new InvalidArgumentError(`JSON object: does not have named input: ${name}`);
    const { shape, values } = jsonToElements(item, dtypeOfEnum(infos[name].dtype));
    const prev = acc.get(name);
    if (!prev) acc.set(name, { shape, values, size: values.length });
    else if (prev.size !== values.length) throw new InvalidArgumentError(`Expecting tensor size: ${prev.size} but got: ${values.length}`);
    else if (!sameShape(prev.shape, shape))
      throw new InvalidArgumentError(`Expecting shape [${prev.shape.join(',')}] but got: [${shape.join(',')}]`);
    else for (const x of values) prev.values.push(x);
  };
  instances.forEach((elem, n) => {
    if (objects) {
      if (!isElementObject(elem)) throw new InvalidArgumentError(`Expecting object but got list at item ${n} of input list`);
      const keys = Object.keys(elem as JsonObject);
      for (const k of keys) {
        try {
          add((elem as JsonObject)[k], k);
        } catch (e) {
          throw new InvalidArgumentError(
            `Failed to process element: ${n} key: ${k} of 'instances' list. Error: ${toTfError(e).code}: ${(e as Error).message}`,
          );
        }
      }
      if (keys.length !== names.length || keys.some((k) => !names.includes(k))) {
        throw new InvalidArgumentError(
          `Failed to process element: ${n} of 'instances' list. JSON object: ${jsonDebugString(elem)} keys must be equal to: ${names.join(',')}`,
        );
      }
    } else {
      if (isElementObject(elem)) throw new InvalidArgumentError(`Expecting value/list but got object at item ${n} of input list`);
      try {
        add(elem, names[0]);
      } catch (e) {
        throw new InvalidArgumentError(
          `Failed to process element: ${n} of 'instances' list. Error: ${toTfError(e).code}: ${(e as Error).message}`,
        );
      }
    }
  });
  const batched = new Map<string, { shape: number[]; values: unknown[] }>();
  for (const [name, t] of acc) batched.set(name, { shape: [instances.length, ...t.shape], values: t.values });
  return tensorsFrom(batched, infos);
}

function fromInputs(val: JsonValue, infos: Record<string, tensorflow.ITensorInfo>): Record<string, Tensor> {
  const names = Object.keys(infos).sort();
  const map = new Map<string, { shape: number[]; values: unknown[] }>();
  if (!isObject(val) || isBase64Object(val)) {
    if (names.length > 1)
      throw new InvalidArgumentError(
        'inputs is a plain value/list, but expecting an object as multiple input tensors required as per tensorinfo_map',
      );
    map.set(names[0], jsonToElements(val, dtypeOfEnum(infos[names[0]].dtype)));
  } else {
    for (const name of names) {
      if (!Object.prototype.hasOwnProperty.call(val, name))
        throw new InvalidArgumentError(`Missing named input: ${name} in 'inputs' object.`);
      map.set(name, jsonToElements(val[name], dtypeOfEnum(infos[name].dtype)));
    }
  }
  return tensorsFrom(map, infos);
}

/** The signature name of a request body (`signature_name`, optional). */
export function signatureNameOf(doc: JsonObject): string | undefined {
  if (!('signature_name' in doc)) return undefined;
  const s = doc.signature_name;
  if (typeof s !== 'string')
    throw new InvalidArgumentError(
      `JSON Value: ${jsonDebugString(doc)} not formatted correctly. 'signature_name' key must be a string value.`,
    );
  return s;
}

/** Decodes the inputs of a `:predict` body for a signature's inputs. */
export function predictInputsFromJson(
  doc: JsonObject,
  infos: Record<string, tensorflow.ITensorInfo>,
  signatureName: string,
): { format: PredictFormat; inputs: Record<string, Tensor> } {
  if (Object.keys(infos).length === 0)
    throw new InvalidArgumentError(`Failed to get input map for signature: ${signatureName || 'DEFAULT'}`);
  const hasInstances = 'instances' in doc;
  const hasInputs = 'inputs' in doc;
  if (hasInstances && hasInputs) {
    throw new InvalidArgumentError(
      `JSON Value: ${jsonDebugString(doc)} Not formatted correctly expecting only one of 'inputs' or 'instances' keys to exist `,
    );
  }
  if (hasInstances) {
    const instances = doc.instances;
    if (!Array.isArray(instances))
      throw new InvalidArgumentError(`JSON Value: ${jsonDebugString(doc)} Expecting 'instances' to be an list/array`);
    if (instances.length === 0) throw new InvalidArgumentError(`JSON Value: ${jsonDebugString(doc)} No values in 'instances' array`);
    return { format: 'row', inputs: fromInstances(instances, infos) };
  }
  if (hasInputs) return { format: 'columnar', inputs: fromInputs(doc.inputs, infos) };
  throw new InvalidArgumentError("Missing 'inputs' or 'instances' key");
}

const bytesName = (name: string, t: Tensor) => t.dtype === 'string' && name.endsWith('_bytes');

/** The response body of `:predict`: `{"predictions": …}` (row) or `{"outputs": …}` (columnar). */
export function predictResponseJson(outputs: Record<string, Tensor>, format: PredictFormat): string {
  const names = Object.keys(outputs).sort();
  if (names.length === 0) throw new InvalidArgumentError('Cannot convert empty tensor map to JSON');
  const writers = new Map(names.map((n) => [n, elementWriter(outputs[n], bytesName(n, outputs[n]))]));
  const shapes = new Map(names.map((n) => [n, outputs[n].shape]));
  if (format === 'columnar') {
    if (names.length === 1) return `{\n    "outputs": ${tensorJson(shapes.get(names[0])!, writers.get(names[0])!, 0, 0)[0]}\n}`;
    const parts = names.map((n) => `        ${JSON.stringify(n)}: ${tensorJson(shapes.get(n)!, writers.get(n)!, 0, 0)[0]}`);
    return `{\n    "outputs": {\n${parts.join(',\n')}\n    }\n}`;
  }
  let batch = -1;
  for (const n of names) {
    const s = shapes.get(n)!;
    if (s.length === 0) throw new InvalidArgumentError(`Tensor name: ${n} has no shape information `);
    if (batch >= 0 && s[0] !== batch)
      throw new InvalidArgumentError(`Tensor name: ${n} has inconsistent batch size: ${s[0]} expecting: ${batch}`);
    batch = s[0];
  }
  const offsets = new Map(names.map((n) => [n, 0]));
  const rows: string[] = [];
  for (let r = 0; r < batch; r++) {
    const cells = names.map((n) => {
      const [s, next] = tensorJson(shapes.get(n)!, writers.get(n)!, 1, offsets.get(n)!);
      offsets.set(n, next);
      return names.length > 1 ? `${JSON.stringify(n)}: ${s}` : s;
    });
    rows.push(names.length > 1 ? `{${cells.join(', ')}}` : cells[0]);
  }
  return `{\n    "predictions": [${rows.join(', ')}\n    ]\n}`;
}
