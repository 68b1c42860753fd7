/**
 * The OpDef-typed attr codec: JS values → AttrValue protos as an op's OpDef types them (ints vs floats, shapes,
 * dtypes, tensors, lists, functions), inference of type attrs from inputs, and AttrValue → plain JS values.
 */
import { canonicalDType, dtypeFromTf, isDType, tfDataType } from './dtypes';
import { rangeError, typeError } from './errors';
import { NativeAttr } from './native';
import type { OperationInput } from './operation';
import { shapeProto, tensorflow, toSafeNumber } from './proto';
import { partialShape } from './shape';
import { Tensor } from './tensor';

/** The most elements a list attr may have (a guard against huge or lying array-likes, not a TF limit). */
const MAX_LIST_ATTR = 1 << 24;

/** Type, number and type-list attrs left out, inferred from the inputs as TF does. */
export function inferAttrsFromInputs(opDef: tensorflow.OpDef, inputs: OperationInput[], attrs: Record<string, unknown>): void {
  opDef.inputArg.forEach((arg, i) => {
    const input = inputs[i];
    if (input === undefined) return;
    const list = Array.isArray(input) ? input : [input];
    if (arg.numberAttr && attrs[arg.numberAttr] === undefined) attrs[arg.numberAttr] = list.length;
    if (arg.typeAttr && attrs[arg.typeAttr] === undefined && list.length > 0) attrs[arg.typeAttr] = list[0].dtype;
    if (arg.typeListAttr && attrs[arg.typeListAttr] === undefined) attrs[arg.typeListAttr] = list.map((o) => o.dtype);
  });
}

/** The attr type of a value for an attr the OpDef does not declare (internal `_…` attrs). */
export function guessAttrType(value: unknown): string {
  if (value instanceof Tensor) return 'tensor';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'string') return isDType(value) ? 'type' : 'string';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
  if (Array.isArray(value) && value.every((v) => v instanceof Tensor)) return 'list(tensor)';
  return 'unknown';
}

function dtypeAttr(v: unknown, op: string, name: string): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return tfDataType(canonicalDType(v));
  throw typeError('ERR_INVALID_ATTR', `attr '${name}' of ${op} must be a dtype name`);
}

function funcAttr(v: unknown): tensorflow.INameAttrList {
  if (typeof v === 'string') return { name: v };
  if (v && typeof v === 'object' && typeof (v as { name?: unknown }).name === 'string') return v as tensorflow.INameAttrList;
  throw typeError('ERR_INVALID_ATTR', 'function attrs take a function name or {name, attr}');
}

function stringBytes(v: unknown): Uint8Array {
  if (typeof v === 'string') return new TextEncoder().encode(v);
  if (v instanceof Uint8Array) return v;
  throw typeError('ERR_INVALID_ATTR', 'string attrs take a string or Uint8Array');
}

/** One attr value as the addon takes it, converted as the OpDef's attr `type` says. */
export function encodeAttr(name: string, type: string, value: unknown, op: string): NativeAttr {
  if (value instanceof tensorflow.AttrValue) return [name, 'proto', tensorflow.AttrValue.encode(value).finish()];
  const bad = (what: string) => typeError('ERR_INVALID_ATTR', `attr '${name}' of ${op} must be ${what}, got ${typeof value}`);
  const list = (check: (v: unknown) => boolean, what: string): unknown[] => {
    if (!Array.isArray(value)) throw bad(`an array of ${what}`);
    if (value.length > MAX_LIST_ATTR)
      throw rangeError('ERR_VALUE_TOO_LARGE', `attr '${name}' of ${op} has ${value.length} elements, more than ${MAX_LIST_ATTR}`);
    if (!value.every(check)) throw bad(`an array of ${what}`);
    return value;
  };
  let attr: tensorflow.IAttrValue;
  switch (type) {
    case 'tensor':
      if (!(value instanceof Tensor)) throw bad('a Tensor');
      return [name, 'tensor', value.native];
    case 'list(tensor)':
      return [name, 'tensors', (list((v) => v instanceof Tensor, 'Tensors') as Tensor[]).map((t) => t.native)];
    case 'int':
      if (typeof value !== 'number' && typeof value !== 'bigint') throw bad('an integer');
      if (typeof value === 'number' && !Number.isSafeInteger(value)) throw bad('an integer');
      attr = { i: Number(value) };
      break;
    case 'float':
      if (typeof value !== 'number') throw bad('a number');
      attr = { f: value };
      break;
    case 'bool':
      if (typeof value !== 'boolean') throw bad('a boolean');
      attr = { b: value };
      break;
    case 'string':
      attr = { s: stringBytes(value) };
      break;
    case 'type':
      attr = { type: dtypeAttr(value, op, name) };
      break;
    case 'shape':
      attr = { shape: shapeProto(partialShape(value, `attr '${name}' of ${op}`)) };
      break;
    case 'func':
      attr = { func: funcAttr(value) };
      break;
    case 'list(int)':
      attr = { list: { i: list((v) => Number.isSafeInteger(v), 'integers') as number[] } };
      break;
    case 'list(float)':
      attr = { list: { f: list((v) => typeof v === 'number', 'numbers') as number[] } };
      break;
    case 'list(bool)':
      attr = { list: { b: list((v) => typeof v === 'boolean', 'booleans') as boolean[] } };
      break;
    case 'list(string)':
      attr = { list: { s: list(() => true, 'strings').map(stringBytes) } };
      break;
    case 'list(type)':
      attr = { list: { type: list(() => true, 'dtypes').map((v) => dtypeAttr(v, op, name)) } };
      break;
    case 'list(shape)':
      attr = {
        list: { shape: list(() => true, 'shapes').map((v, i) => shapeProto(partialShape(v, `attr '${name}' of ${op}, shape ${i}`))) },
      };
      break;
    case 'list(func)':
      attr = { list: { func: list(() => true, 'functions').map(funcAttr) } };
      break;
    default:
      throw typeError('ERR_INVALID_ATTR', `attr '${name}' is not an attribute of ${op} (or its type is unknown)`);
  }
  return [name, 'proto', tensorflow.AttrValue.encode(attr).finish()];
}

/** Converts a decoded AttrValue to a plain JS value. */
export function attrToJs(a: tensorflow.IAttrValue): unknown {
  const num = (v: unknown) => toSafeNumber(v as number, 'attr value');
  const shape = (s: tensorflow.ITensorShapeProto | null | undefined) =>
    !s || s.unknownRank ? null : (s.dim ?? []).map((d) => num(d.size));
  switch ((a as { value?: string }).value) {
    case 's':
      return new TextDecoder().decode(a.s ?? new Uint8Array());
    case 'i':
      return num(a.i);
    case 'f':
      return a.f;
    case 'b':
      return a.b;
    case 'type':
      return dtypeFromTf(a.type as number);
    case 'shape':
      return shape(a.shape);
    case 'func':
      return a.func?.name;
    case 'tensor':
      return a.tensor;
    case 'placeholder':
      return a.placeholder;
    case 'list': {
      const l = a.list ?? {};
      if (l.i?.length) return l.i.map(num);
      if (l.f?.length) return l.f;
      if (l.b?.length) return l.b;
      if (l.type?.length) return l.type.map((t) => dtypeFromTf(t as number));
      if (l.shape?.length) return l.shape.map(shape);
      if (l.s?.length) return l.s.map((b) => new TextDecoder().decode(b));
      if (l.func?.length) return l.func.map((f) => f.name);
      if (l.tensor?.length) return l.tensor;
      return [];
    }
    default:
      return undefined;
  }
}
