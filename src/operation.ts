/** `Output` and `Operation`: the wrappers of a graph's nodes and the tensors they produce. */
import { DType, dtypeFromTf, isRefDtype } from './dtypes';
import { rangeError } from './errors';
import { NativeOperation, NativeOutput } from './native';
import { tensorflow } from './proto';
import { attrToJs } from './attr_codec';
import type { Graph } from './graph';

/** One output of an operation: what Python calls a `tf.Tensor` in graph mode. */
export class Output {
  /** The operation that produces this tensor. */
  readonly op: Operation;
  /** Which of the operation's outputs it is (0-based). */
  readonly index: number;

  constructor(op: Operation, index: number) {
    this.op = op;
    this.index = index;
  }

  /** `"op_name:index"`, as TensorFlow names tensors. */
  get name(): string {
    return `${this.op.name}:${this.index}`;
  }

  /** Element type. */
  get dtype(): DType {
    return dtypeFromTf(this.op.native.outputType(this.index));
  }

  /** Whether the output is a reference (TF1 `VariableV2` and friends). */
  get isRef(): boolean {
    return isRefDtype(this.op.native.outputType(this.index));
  }

  /** Static shape from shape inference: `null` for unknown rank, `-1` for unknown dimensions. */
  get shape(): number[] | null {
    return this.op.graph.native.tensorShape(this.native);
  }

  /** The graph this output lives in. */
  get graph(): Graph {
    return this.op.graph;
  }

  /** Operations consuming this output, with the input slot each uses. */
  consumers(): Array<{ op: Operation; inputIndex: number }> {
    return this.op.native.consumers(this.index).map(([op, i]) => ({ op: this.op.graph.wrapOperation(op), inputIndex: i }));
  }

  /** @internal */
  get native(): NativeOutput {
    return [this.op.native, this.index];
  }

  /** A short description for logs, e.g. `Output(dense/MatMul:0, float32)`. */
  toString(): string {
    return `Output(${this.name}, ${this.dtype})`;
  }
}

/** A node of a Graph. */
export class Operation {
  /** The graph this operation belongs to. */
  readonly graph: Graph;
  /** @internal */
  readonly native: NativeOperation;
  /** The operation's unique name in its graph, e.g. `dense/MatMul`. */
  readonly name: string;

  /** @internal */
  constructor(graph: Graph, native: NativeOperation, name: string) {
    this.graph = graph;
    this.native = native;
    this.name = name;
  }

  /** Op type, e.g. `"MatMul"`. */
  get type(): string {
    return this.native.type();
  }

  /** Requested device (may be empty). */
  get device(): string {
    return this.native.device();
  }

  /** How many outputs (tensors) it produces. */
  get numOutputs(): number {
    return this.native.numOutputs();
  }

  /** How many data inputs it takes (control inputs not counted). */
  get numInputs(): number {
    return this.native.numInputs();
  }

  /** Output `i` (RangeError if out of range). */
  output(i: number): Output {
    if (!Number.isInteger(i) || i < 0 || i >= this.numOutputs) {
      throw rangeError('ERR_OUT_OF_RANGE', `operation '${this.name}' has ${this.numOutputs} outputs, no output ${String(i)}`);
    }
    return new Output(this, i);
  }

  /** All outputs. */
  get outputs(): Output[] {
    return Array.from({ length: this.numOutputs }, (_, i) => new Output(this, i));
  }

  /** The outputs feeding this operation's inputs. */
  get inputs(): Output[] {
    return Array.from({ length: this.numInputs }, (_, i) => {
      const [op, index] = this.native.input(i);
      return new Output(this.graph.wrapOperation(op), index);
    });
  }

  /** Operations this one has control dependencies on. */
  get controlInputs(): Operation[] {
    return this.native.controlInputs().map((op) => this.graph.wrapOperation(op));
  }

  /** Operations that depend on this one through control edges. */
  get controlOutputs(): Operation[] {
    return this.native.controlOutputs().map((op) => this.graph.wrapOperation(op));
  }

  /** The serialized NodeDef. */
  nodeDef(): tensorflow.NodeDef {
    return tensorflow.NodeDef.decode(this.native.nodeDef());
  }

  /** An attribute as a decoded AttrValue proto (throws InvalidArgumentError when absent). */
  attrValue(name: string): tensorflow.AttrValue {
    return tensorflow.AttrValue.decode(this.native.attrValue(name));
  }

  /** An attribute as a plain JS value (int → number, type → dtype name, shape → dims, tensor → Tensor …). */
  getAttr(name: string): unknown {
    return attrToJs(this.attrValue(name));
  }

  /** A short description for logs, e.g. `Operation(dense/MatMul, MatMul)`. */
  toString(): string {
    return `Operation(${this.name}, ${this.type})`;
  }
}

/** Inputs of `addOperation`: an Output, or an array of Outputs for a list input. */
export type OperationInput = Output | Output[];
