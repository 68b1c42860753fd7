/**
 * The `:classify` / `:regress` bodies of TF Serving's REST API: `examples` (+ optional `context`) in, and the
 * `results` written back as TF Serving writes them (MakeJsonFromClassificationResult / …RegressionResult).
 */
import { InvalidArgumentError, UnimplementedError } from '../../errors';
import { JsonValue } from './json';
import { formatDecimal } from './tensor_json';

/** Serialized tf.Examples of a classify/regress body (context merged into each example). */
export function examplesFromJson(doc: { [key: string]: JsonValue }, verb: string): Uint8Array[] {
  void doc; void verb;
  // REQUEST(serve-grpc): serializedExamplesFromJson from src/serving/codec/example.ts replaces this once merged.
  throw new UnimplementedError('classify/regress over REST needs the tf.Example codec');
}

/** `{"results": [[[label, score], …], …]}`. */
export function classifyResponseJson(classifications: Array<Array<{ label: string; score: number }>>): string {
  if (classifications.length === 0) throw new InvalidArgumentError('Cannot convert empty ClassificationResults to JSON');
  const rows = classifications.map((row) => `[${row.map((c) => `[${JSON.stringify(c.label)}, ${formatDecimal(c.score, true)}]`).join(', ')}]`);
  return `{\n    "results": [\n        ${rows.join(',\n        ')}\n    ]\n}`;
}

/** `{"results": [v1, v2, …]}`. */
export function regressResponseJson(values: number[]): string {
  if (values.length === 0) throw new InvalidArgumentError('Cannot convert empty RegressionResults to JSON');
  return `{\n    "results": [${values.map((v) => formatDecimal(v, true)).join(', ')}]\n}`;
}
