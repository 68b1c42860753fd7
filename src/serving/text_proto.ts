/**
 * Protobuf text format against the real schema: the tree of src/serving/text_format.ts checked and converted
 * field by field with the reflected TF Serving protos (src/serving/proto.ts), as C++'s TextFormat::Parser
 * checks it: unknown field names, wrong value kinds, integers out of range, unknown enum names, a non-repeated
 * field or two members of a oneof given twice are TextFormatErrors naming file:line:column. The result is a
 * plain object for `Type.fromObject` (camelCase names; 64-bit integers past 2^53 as decimal strings).
 *
 * Used for `--batching_parameters_file` (BatchingParameters), `--monitoring_config_file` (MonitoringConfig)
 * and, for any message, `parseTextProto`.
 */
import * as protobuf from 'protobufjs';
import { messageType } from './proto';
import { parseTextFormat, TextField, TextFormatError, TextMessage, TextScalar } from './text_format';

const INT_RANGES: Record<string, [bigint, bigint]> = {
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  sint32: [-(2n ** 31n), 2n ** 31n - 1n],
  sfixed32: [-(2n ** 31n), 2n ** 31n - 1n],
  uint32: [0n, 2n ** 32n - 1n],
  fixed32: [0n, 2n ** 32n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  sint64: [-(2n ** 63n), 2n ** 63n - 1n],
  sfixed64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
  fixed64: [0n, 2n ** 64n - 1n],
};

function shortName(t: protobuf.ReflectionObject): string {
  return t.fullName.replace(/^\./, '');
}

/** The .proto spelling of a name protobufjs camelCased (policyChoice -> policy_choice). */
function snake(name: string): string {
  return name.replace(/[A-Z]/g, (m) => `_${m.toLowerCase()}`);
}

function scalarText(v: TextScalar): string {
  return v.kind === 'string' ? JSON.stringify(v.value) : v.text;
}

function convertScalar(
  type: string,
  resolved: protobuf.ReflectionObject | null,
  f: TextField,
  v: TextScalar,
  fail: (reason: string) => Error,
): unknown {
  if (resolved instanceof protobuf.Enum) {
    if (v.kind === 'ident') {
      if (!(v.text in resolved.values)) throw fail(`Unknown enumeration value of "${v.text}" for field "${f.name}".`);
      return v.text;
    }
    if (v.kind === 'number' && /^-?\d+$/.test(v.text)) return Number(v.text);
    throw fail(`Expected integer or identifier, got: ${scalarText(v)}`);
  }
  if (type in INT_RANGES) {
    if (v.kind !== 'number' || !/^[-+]?(\d+|0[xX][0-9a-fA-F]+)$/.test(v.text)) throw fail(`Expected integer, got: ${scalarText(v)}`);
    const neg = v.text.startsWith('-');
    const b = (neg ? -1n : 1n) * BigInt(v.text.replace(/^[-+]/, ''));
    const [lo, hi] = INT_RANGES[type];
    if (b < lo || b > hi) throw fail(`Integer out of range (${v.text})`);
    return b >= -(2n ** 53n) && b <= 2n ** 53n ? Number(b) : b.toString();
  }
  if (type === 'double' || type === 'float') {
    if (v.kind === 'ident' && /^-?(inf|infinity|nan)$/i.test(v.text))
      return /nan/i.test(v.text) ? NaN : v.text.startsWith('-') ? -Infinity : Infinity;
    if (v.kind !== 'number') throw fail(`Expected double, got: ${scalarText(v)}`);
    if (/^[-+]?0[xX]/.test(v.text)) throw fail(`Expected double, got: ${v.text}`);
    return Number(
      v.text
        .replace(/[fF]$/, '')
        .replace(/^[-+]?(inf(inity)?|nan)$/i, (m) => (/nan/i.test(m) ? 'NaN' : m.startsWith('-') ? '-Infinity' : 'Infinity')),
    );
  }
  if (type === 'bool') {
    const t = v.kind === 'string' ? '' : v.text;
    if (['true', 't', '1', 'True'].includes(t)) return true;
    if (['false', 'f', '0', 'False'].includes(t)) return false;
    throw fail(`Invalid value for boolean field "${f.name}". Value: "${scalarText(v)}".`);
  }
  if (type === 'string' || type === 'bytes') {
    if (v.kind !== 'string') throw fail(`Expected string, got: ${scalarText(v)}`);
    return type === 'bytes' ? Buffer.from(v.value, 'latin1') : v.value;
  }
  throw fail(`Fields of type ${type} are not supported here`);
}

function convertMessage(type: protobuf.Type, msg: TextMessage, file: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const seen = new Map<string, TextField>();
  const oneofSeen = new Map<string, TextField>();
  for (const f of msg.fields) {
    const fail = (reason: string, at: 'name' | 'value' = 'value') =>
      new TextFormatError(file, at === 'name' ? f.line : (f.valueLine ?? f.line), at === 'name' ? f.col : (f.valueCol ?? f.col), reason);
    const field = /^[a-z][a-z0-9_]*$/.test(f.name) ? type.fields[protobuf.util.camelCase(f.name)] : undefined;
    if (!field) throw fail(`Message type "${shortName(type)}" has no field named "${f.name}".`, 'name');
    field.resolve();
    if (!field.repeated && !field.map) {
      if (seen.has(field.name)) throw fail(`Non-repeated field "${f.name}" is specified multiple times.`, 'name');
      seen.set(field.name, f);
      const oneof = field.partOf;
      if (oneof) {
        const other = oneofSeen.get(oneof.name);
        if (other)
          throw fail(
            `Field "${f.name}" is specified along with field "${other.name}", another member of oneof "${snake(oneof.name)}".`,
            'name',
          );
        oneofSeen.set(oneof.name, f);
      }
    }
    if (field.map) {
      if (f.value.kind !== 'message') throw fail(`Expected "{", found "${scalarText(f.value)}".`);
      const entry: Record<string, unknown> = {};
      for (const e of f.value.fields) {
        if (e.name !== 'key' && e.name !== 'value')
          throw new TextFormatError(
            file,
            e.line,
            e.col,
            `Message type "${shortName(type)}.${field.name[0].toUpperCase()}${field.name.slice(1)}Entry" has no field named "${e.name}".`,
          );
        if (e.name in entry) throw new TextFormatError(file, e.line, e.col, `Non-repeated field "${e.name}" is specified multiple times.`);
        const efail = (reason: string) => new TextFormatError(file, e.valueLine ?? e.line, e.valueCol ?? e.col, reason);
        if (e.name === 'key') {
          if (e.value.kind === 'message') throw efail('Expected a value for the map key');
          entry.key = convertScalar((field as unknown as protobuf.MapField).keyType, null, e, e.value, efail);
        } else if (field.resolvedType instanceof protobuf.Type) {
          if (e.value.kind !== 'message') throw efail(`Expected "{", found "${scalarText(e.value)}".`);
          entry.value = convertMessage(field.resolvedType, e.value, file);
        } else {
          if (e.value.kind === 'message') throw efail('Expected a value, got a message');
          entry.value = convertScalar(field.type, field.resolvedType, e, e.value, efail);
        }
      }
      const map = (out[field.name] ??= {}) as Record<string, unknown>;
      map[String(entry.key ?? '')] = entry.value ?? (field.resolvedType instanceof protobuf.Type ? {} : undefined);
      continue;
    }
    let value: unknown;
    if (field.resolvedType instanceof protobuf.Type) {
      if (field.resolvedType.fullName === '.google.protobuf.Any')
        throw fail('google.protobuf.Any fields are not supported in text format here', 'name');
      if (f.value.kind !== 'message') throw fail(`Expected "{", found "${scalarText(f.value)}".`);
      value = convertMessage(field.resolvedType, f.value, file);
    } else {
      if (f.value.kind === 'message') throw fail(`Field "${f.name}" is a scalar (${field.type}), got a message`);
      value = convertScalar(field.type, field.resolvedType, f, f.value, fail);
    }
    if (field.repeated) ((out[field.name] ??= []) as unknown[]).push(value);
    else out[field.name] = value;
  }
  return out;
}

/**
 * Parses `text` as the text format of message `typeName` (e.g. `'tensorflow.serving.BatchingParameters'`),
 * checked against its schema. @throws TextFormatError naming `file`, line and column
 */
export function parseTextProto(typeName: string, text: string, file = '<text>'): Record<string, unknown> {
  try {
    return convertMessage(messageType(typeName), parseTextFormat(text, file), file);
  } catch (e) {
    if (e instanceof TextFormatError) e.messageType = typeName;
    throw e;
  }
}

/** `--batching_parameters_file`: a `tensorflow.serving.BatchingParameters` in text format, as the object `batching.parseBatchingParameters` takes. */
export function parseBatchingParametersText(text: string, file = '<batching_parameters>'): Record<string, unknown> {
  return parseTextProto('tensorflow.serving.BatchingParameters', text, file);
}

/** `--monitoring_config_file`: a `tensorflow.serving.MonitoringConfig` in text format. */
export function parseMonitoringConfigText(text: string, file = '<monitoring_config>'): Record<string, unknown> {
  return parseTextProto('tensorflow.serving.MonitoringConfig', text, file);
}
