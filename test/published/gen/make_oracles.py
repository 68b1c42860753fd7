"""Oracles for the published models in test/published/<name>/ (see ../SOURCES.md).

For each model: Python TF's `tf.saved_model.load(dir)` (TF1 meta graphs go through load_v1_in_v2, as hub.load
does), then every signature is called with fixed inputs derived from its input specs, and the outputs (or the
call's error class and message) are written to test/published/<name>.json. When the load itself fails, the
error class and message are written instead (`load_error`), and, where Python's TF1 loader
(`tf.compat.v1.saved_model.loader.load` + `Session.run`, what TF Serving does) can load the model, the same calls
through it (`tf1_session`), else its error (`tf1_session_error`).

Inputs: an unknown dimension is 2; an unknown rank is a scalar (strings: a vector of 2); floats are ((7*i) % 11) / 4 - 1, integers
i + 1, int64 [N, 2] inputs named like SparseTensor indices are [[0, 0], [1, 0]] and int64 [2] dense shapes
[2, 1]; string inputs are serialized tf.Examples with float features x and x2 (TF Serving's half_plus_two
convention) and TFX's penguin features, stored base64-encoded.

Run from the repository root:  python3 test/published/gen/make_oracles.py   (TF 2.21)
"""
import base64
import json
import os
import re
import sys

import numpy as np
import tensorflow as tf

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def example_bytes(i):
  ex = tf.train.Example(features=tf.train.Features(feature={
      'x': tf.train.Feature(float_list=tf.train.FloatList(value=[float(i) + 1.0])),
      'x2': tf.train.Feature(float_list=tf.train.FloatList(value=[float(i) * 2.0 - 1.0])),
      # TFX's penguin example (trainer/keras testdata).
      'body_mass_g': tf.train.Feature(float_list=tf.train.FloatList(value=[4000.0 + 100 * i])),
      'culmen_depth_mm': tf.train.Feature(float_list=tf.train.FloatList(value=[17.0 + i])),
      'culmen_length_mm': tf.train.Feature(float_list=tf.train.FloatList(value=[44.0 - i])),
      'flipper_length_mm': tf.train.Feature(float_list=tf.train.FloatList(value=[200.0 + 3 * i])),
  }))
  return ex.SerializeToString()


def make_input(name, spec):
  dtype = spec.dtype
  if spec.shape.rank is None:
    shape = [2] if dtype == tf.string else []
  else:
    shape = [2 if d is None else d for d in spec.shape.as_list()]
  n = int(np.prod(shape)) if shape else 1
  if dtype == tf.string:
    vals = [example_bytes(i) for i in range(n)]
    return np.array(vals, dtype=object).reshape(shape), {'dtype': 'string', 'shape': shape, 'values_b64': [base64.b64encode(v).decode() for v in vals]}
  if dtype == tf.int64 and shape == [2, 2] and spec.shape.as_list() == [None, 2]:
    vals = [0, 0, 1, 0]
  elif dtype == tf.int64 and spec.shape.as_list() == [2]:
    vals = [2, 1]
  elif dtype.is_floating:
    vals = [((7 * i) % 11) / 4 - 1 for i in range(n)]
  elif dtype == tf.bool:
    vals = [i % 2 == 0 for i in range(n)]
  else:
    vals = [i + 1 for i in range(n)]
  arr = np.array(vals, dtype=dtype.as_numpy_dtype).reshape(shape)
  return arr, {'dtype': dtype.name, 'shape': shape, 'values': vals}


def tensor_json(t):
  return array_json(t.numpy(), t.dtype)


def array_json(a, dtype):
  a = np.asarray(a)
  t = tf.dtypes.as_dtype(dtype).base_dtype
  if t == tf.string:
    flat = [v.decode('utf-8', 'backslashreplace') for v in a.reshape(-1).tolist()]
  elif t == tf.bool:
    flat = [bool(v) for v in a.reshape(-1).tolist()]
  else:
    flat = [float(v) if t.is_floating else int(v) for v in a.reshape(-1).tolist()]
  return {'dtype': t.name, 'shape': list(a.shape), 'values': flat}


def value_json(v):
  if isinstance(v, tf.SparseTensor):
    return {'kind': 'sparse', 'indices': tensor_json(v.indices), 'values': tensor_json(v.values), 'dense_shape': tensor_json(v.dense_shape)}
  if isinstance(v, dict):
    return {k: value_json(x) for k, x in v.items()}
  return tensor_json(v)


def error_json(e):
  # Graph execution errors start with a traceback of where the op was defined: keep TF's own message.
  lines = [l.strip() for l in str(e).split('\n')]
  keep = [l for l in lines if l and not l.startswith(('<stack traces', 'Graph execution error', 'Detected at node', 'File ', '[[', 'Encountered when'))
          and not l.endswith(':') and not re.match(r'^[\w.]+\(', l)]
  return {'class': type(e).__name__, 'message': (keep[0] if keep else lines[0])[:500].replace(ROOT + os.sep, '')}


def tf1_session_oracle(d):
  """The same calls through Python's TF1 loader (tf.compat.v1.saved_model.loader.load and Session.run)."""
  from tensorflow.core.protobuf import saved_model_pb2  # pylint: disable=g-import-not-at-top
  sm = saved_model_pb2.SavedModel()
  with open(os.path.join(d, 'saved_model.pb'), 'rb') as f:
    sm.ParseFromString(f.read())
  tags = list(sm.meta_graphs[0].meta_info_def.tags)
  sigs = {}
  with tf.Graph().as_default() as g, tf.compat.v1.Session(graph=g) as sess:
    mg = tf.compat.v1.saved_model.loader.load(sess, tags, d)
    for key in sorted(mg.signature_def.keys()):
      if key == '__saved_model_init_op':
        continue
      sig = mg.signature_def[key]
      inputs, feeds = {}, {}
      for k in sorted(sig.inputs):
        t = g.get_tensor_by_name(sig.inputs[k].name)
        spec = tf.TensorSpec(t.shape, t.dtype.base_dtype)
        arr, j = make_input(k, spec)
        feeds[t] = arr
        inputs[k] = j
      names = sorted(sig.outputs)
      try:
        values = sess.run([sig.outputs[k].name for k in names], feeds)
        sigs[key] = {'inputs': inputs, 'outputs': {k: array_json(v, g.get_tensor_by_name(sig.outputs[k].name).dtype) for k, v in zip(names, values)}}
      except Exception as e:  # pylint: disable=broad-except
        sigs[key] = {'inputs': inputs, 'error': error_json(e)}
  return sigs


def oracle(name):
  d = os.path.join(ROOT, name)
  try:
    model = tf.saved_model.load(d)
  except Exception as e:  # pylint: disable=broad-except
    result = {'model': name, 'load_error': error_json(e)}
    try:
      result['tf1_session'] = tf1_session_oracle(d)
    except Exception as e2:  # pylint: disable=broad-except
      result['tf1_session_error'] = error_json(e2)
    return result
  sigs = {}
  for key in sorted(model.signatures.keys()):
    f = model.signatures[key]
    _, kwargs = f.structured_input_signature
    inputs, feeds = {}, {}
    for k in sorted(kwargs):
      arr, j = make_input(k, kwargs[k])
      feeds[k] = tf.constant(arr, dtype=kwargs[k].dtype)
      inputs[k] = j
    try:
      out = f(**feeds)
      sigs[key] = {'inputs': inputs, 'outputs': value_json(out)}
    except Exception as e:  # pylint: disable=broad-except
      sigs[key] = {'inputs': inputs, 'error': error_json(e)}
  return {'model': name, 'signatures': sigs}


def main():
  names = sys.argv[1:] or sorted(n for n in os.listdir(ROOT) if os.path.isfile(os.path.join(ROOT, n, 'saved_model.pb')))
  for name in names:
    result = oracle(name)
    with open(os.path.join(ROOT, name + '.json'), 'w') as f:
      json.dump(result, f, indent=1, sort_keys=True)
      f.write('\n')
    print(name, 'load_error' in result and result['load_error']['class'] or {k: ('error' in v and v['error']['class']) or 'ok' for k, v in result['signatures'].items()})


if __name__ == '__main__':
  main()
