/**
 * The `:classify` / `:regress` bodies of TF Serving's REST API: `examples` (+ optional `context`) in, and the
 * `results` written back as TF Serving writes them (MakeJsonFromClassificationResult / …RegressionResult).
 */
import { InvalidArgumentError } from '../../errors';
import { serializedExamplesFromJson } from '../codec/example';
import { JsonValue } from './json';
import { formatDecimal } from './tensor_json';

/** Serialized tf.Examples of a classify/regress body (context merged into each example). */
export function examplesFromJson(doc: { [key: string]: JsonValue }, verb: string): Uint8Array[] {
  void verb;
  return serializedExamplesFromJson(doc.examples, 'context' in doc ? doc.context : undefined);
}

/** `{"results": [[[label, score], …], …]}`. */
export function classifyResponseJson(classifications: Array<Array<{ label: string; score: number }>>): string {
  if (classifications.length === 0) throw new InvalidArgumentError('Cannot convert empty ClassificationResults to JSON');
  const rows = classifications.map(
    (row) => `[${row.map((c) => `[${JSON.stringify(c.label)}, ${formatDecimal(c.score, true)}]`).join(', ')}]`,
  );
  return `{\n    "results": [\n        ${rows.join(',\n        ')}\n    ]\n}`;
}

/** `{"results": [v1, v2, …]}`. */
export function regressResponseJson(values: number[]): string {
  if (values.length === 0) throw new InvalidArgumentError('Cannot convert empty RegressionResults to JSON');
  return `{\n    "results": [${values.map((v) => formatDecimal(v, true)).join(', ')}]\n}`;
}
