/**
 * Gradients of the TensorList ops (DT_VARIANT lists: what `tf.TensorArray` becomes in TF2 graphs, and the per-step
 * outputs of Keras RNN layers), with the maths of Python's `tensorflow/python/ops/list_ops.py`. The gradient of a
 * list is a list of the gradients of its elements: elements nothing flows back to stay uninitialized, and TensorFlow
 * reads them as zeros (`TensorListStack`, `TensorListGetItem`) and adds lists element by element (`AddN`).
 *
 * `LIST_GRADIENTS` is registered by `train/gradients`. `TensorListElementShape`, `TensorListLength`,
 * `TensorListConcatLists` and `TensorListPushBackBatch` have no gradient (Python's `NotDifferentiable`), nor do the
 * list constructors without a tensor input (`TensorListReserve`, `EmptyTensorList`): they give none, without error.
 */
import { DType } from '../dtypes';
import { Graph, Operation, Output } from '../graph';
import * as ops from './ops';

type ListGradient = (graph: Graph, op: Operation, outputGradients: Array<Output | null>) => Array<Output | null>;

/** The element shape of `list` as an int32 vector (-1 for unknown dimensions, a scalar -1 for unknown rank). */
function elementShapeOf(g: Graph, list: Output): Output {
  return ops.op0(g, 'TensorListElementShape', [list], { shape_type: 'int32' });
}

/** `shape(t)[1:]`: the shape of the elements of a tensor that is split along its first dimension. */
function innerShape(g: Graph, t: Output): Output {
  return ops.op0(g, 'Slice', [ops.shape(g, t), ops.constant(g, [1], 'int32'), ops.constant(g, [-1], 'int32')]);
}

/** A static element shape as the list ops take it: -1 for unknown rank, -1 per unknown dimension. */
function staticElementShape(g: Graph, shape: number[] | null): Output {
  if (shape === null) return ops.constant(g, -1, 'int32');
  return ops.constant(g, shape.slice(1), 'int32');
}

const length = (g: Graph, list: Output) => ops.op0(g, 'TensorListLength', [list]);

/** A list of `n` uninitialized elements of `dtype`, with the element shape of `like`. */
function reserveLike(g: Graph, like: Output, n: Output, dtype: DType): Output {
  return ops.op0(g, 'TensorListReserve', [elementShapeOf(g, like), n], { element_dtype: dtype, shape_type: 'int32' });
}

const pushBack: ListGradient = (g, op, [dresult]) => {
  if (!dresult) return [null, null];
  const item = op.inputs[1];
  const pop = g.addOperation('TensorListPopBack', {
    name: g.uniqueName('TensorListPopBack'),
    inputs: [dresult, ops.shape(g, item)],
    attrs: { element_dtype: op.getAttr('element_dtype') },
  });
  return [pop.output(0), pop.output(1)];
};

const popBack: ListGradient = (g, op, [dlist, delement]) => {
  if (!dlist && !delement) return [null, null];
  const dtype = op.getAttr('element_dtype') as DType;
  const list =
    dlist ?? ops.op0(g, 'EmptyTensorList', [elementShapeOf(g, op.output(0)), ops.constant(g, -1, 'int32')], { element_dtype: dtype });
  const element = delement ?? ops.zerosLike(g, op.output(1));
  return [ops.op0(g, 'TensorListPushBack', [list, element], { element_dtype: dtype }), null];
};

const stack: ListGradient = (g, _op, [dtensor]) => {
  if (!dtensor) return [null, null];
  const fromTensor = ops.op0(g, 'TensorListFromTensor', [dtensor, staticElementShape(g, dtensor.shape)], {
    element_dtype: dtensor.dtype,
    shape_type: 'int32',
  });
  return [fromTensor, null];
};

const concat: ListGradient = (g, op, [dtensor]) => {
  const v2 = op.type === 'TensorListConcatV2';
  const none = v2 ? [null, null] : [];
  if (!dtensor) return [null, ...none];
  const dlist = ops.op0(g, 'TensorListSplit', [dtensor, elementShapeOf(g, op.inputs[0]), op.output(1)], {
    element_dtype: dtensor.dtype,
    shape_type: 'int32',
  });
  return [dlist, ...none];
};

const split: ListGradient = (g, op, [dlist]) => {
  if (!dlist) return [null, null, null];
  const [tensor, , lengths] = op.inputs;
  const elementShape = ops.concat(g, [ops.constant(g, [-1], 'int32'), innerShape(g, tensor)]);
  const concatOp = g.addOperation('TensorListConcatV2', {
    name: g.uniqueName('TensorListConcatV2'),
    inputs: [dlist, elementShape, lengths],
    attrs: { element_dtype: tensor.dtype, shape_type: 'int32' },
  });
  return [concatOp.output(0), null, null];
};

const fromTensor: ListGradient = (g, op, [dlist]) => {
  if (!dlist) return [null, null];
  const t = op.inputs[0];
  const dim0 = t.shape?.[0];
  const tensorGrad = ops.op0(g, 'TensorListStack', [dlist, innerShape(g, t)], {
    element_dtype: t.dtype,
    num_elements: dim0 !== undefined && dim0 >= 0 ? dim0 : -1,
  });
  return [tensorGrad, null];
};

const getItem: ListGradient = (g, op, [ditem]) => {
  if (!ditem) return [null, null, null];
  const [list, index] = op.inputs;
  const reserved = reserveLike(g, list, length(g, list), ditem.dtype);
  return [ops.op0(g, 'TensorListSetItem', [reserved, index, ditem], { element_dtype: ditem.dtype }), null, null];
};

const setItem: ListGradient = (g, op, [dlist]) => {
  if (!dlist) return [null, null, null];
  const [list, index, item] = op.inputs;
  let listGrad = ops.op0(g, 'TensorListSetItem', [dlist, index, ops.zerosLike(g, item)], { element_dtype: item.dtype });
  const elementGrad = ops.op0(g, 'TensorListGetItem', [dlist, index, ops.shape(g, item)], { element_dtype: item.dtype });
  if (op.nodeDef().attr?.resize_if_index_out_of_bounds && op.getAttr('resize_if_index_out_of_bounds')) {
    listGrad = ops.op0(g, 'TensorListResize', [listGrad, length(g, list)]);
  }
  return [listGrad, null, elementGrad];
};

const resize: ListGradient = (g, op, [dlist]) => {
  if (!dlist) return [null, null];
  return [ops.op0(g, 'TensorListResize', [dlist, length(g, op.inputs[0])]), null];
};

const gather: ListGradient = (g, op, [dtensor]) => {
  if (!dtensor) return [null, null, null];
  const [list, indices] = op.inputs;
  const reserved = reserveLike(g, list, length(g, list), dtensor.dtype);
  const scattered = ops.op0(g, 'TensorListScatterIntoExistingList', [reserved, dtensor, indices], { element_dtype: dtensor.dtype });
  return [scattered, null, null];
};

/** The elements at `indices` of `dlist` as one tensor shaped like `tensor` (the scattered one). */
function gatherLike(g: Graph, dlist: Output, indices: Output, tensor: Output): Output {
  return ops.op0(g, 'TensorListGather', [dlist, indices, innerShape(g, tensor)], { element_dtype: tensor.dtype });
}

const scatter: ListGradient = (g, op, [dlist]) => {
  const extra = op.type === 'TensorListScatterV2' ? [null, null, null] : [null, null];
  if (!dlist) return [null, ...extra];
  const [tensor, indices] = op.inputs;
  return [gatherLike(g, dlist, indices, tensor), ...extra];
};

const scatterIntoExisting: ListGradient = (g, op, [dlist]) => {
  if (!dlist) return [null, null, null];
  const [, tensor, indices] = op.inputs;
  const dtensor = gatherLike(g, dlist, indices, tensor);
  const zeroed = ops.op0(g, 'TensorListScatterIntoExistingList', [dlist, ops.zerosLike(g, tensor), indices], {
    element_dtype: tensor.dtype,
  });
  return [zeroed, dtensor, null];
};

const noGradient: ListGradient = (_g, op) => new Array(op.numInputs).fill(null);

/** The gradient functions of the TensorList ops, by op type. */
export const LIST_GRADIENTS: ReadonlyArray<[string, ListGradient]> = [
  ['TensorListPushBack', pushBack],
  ['TensorListPopBack', popBack],
  ['TensorListStack', stack],
  ['TensorListConcat', concat],
  ['TensorListConcatV2', concat],
  ['TensorListSplit', split],
  ['TensorListFromTensor', fromTensor],
  ['TensorListGetItem', getItem],
  ['TensorListSetItem', setItem],
  ['TensorListResize', resize],
  ['TensorListGather', gather],
  ['TensorListScatter', scatter],
  ['TensorListScatterV2', scatter],
  ['TensorListScatterIntoExistingList', scatterIntoExisting],
  ...[
    'TensorListElementShape',
    'TensorListLength',
    'TensorListConcatLists',
    'TensorListPushBackBatch',
    'TensorListReserve',
    'EmptyTensorList',
  ].map((type): [string, ListGradient] => [type, noGradient]),
];
