#!/usr/bin/env python3
# Copyright the tfhub-node authors. Licensed under the Apache License 2.0.
"""Writes test/tf2/fixtures/functions_tf2 (+ functions_tf2.json): a TF2 SavedModel
exercising restored tf.functions beyond the shared fixtures.

Usage:  python3 test/tf2/gen/make_functions_tf2.py test/tf2/fixtures

The model (tf.saved_model.save of a tf.Module, TensorFlow 2.21):
  __call__(x, training=False)   no input_signature; traced for x [None,3] with
                                training=False and training=True (Python bool
                                literals select the trace); y = encoder(x)+bias,
                                doubled when training
  encoder.__call__(x)           a child module's function: x @ W (W [3,2])
  scale(x, factor=2.0)          Python float literal, traces factor=2.0 and 3.0
  combine(d)                    dict input {'a': f32[None], 'b': i64[None]} ->
                                {'sum': a+b, 'pair': (a, b), 'none': None}
  increment(n)                  stateful: counter.assign_add(n); returns it
  tokens(words)                 a MutableHashTable (checkpointed contents)
                                lookup, default -1
  signatures serving_default(x) -> {'y'} and with_training(x, training) -> {'y'}
Oracles are computed in Python and cross-checked on the model loaded back
with tf.saved_model.load.
"""
import collections
import json
import os
import shutil
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402


def tensor_json(value):
  arr = np.asarray(value)
  if arr.dtype.kind in ("S", "O", "U"):
    return {"dtype": "string", "shape": list(arr.shape),
            "values": [tf.compat.as_str(v) for v in arr.reshape(-1).tolist()]}
  name = arr.dtype.name
  if arr.dtype.kind == "f":
    vals = [float(v) for v in arr.reshape(-1)]
  elif arr.dtype.kind == "b":
    vals = [bool(v) for v in arr.reshape(-1)]
  else:
    vals = [int(v) for v in arr.reshape(-1)]
  return {"dtype": name, "shape": list(arr.shape), "values": vals}


def to_json(v):
  if v is None:
    return None
  if isinstance(v, dict):
    return {k: to_json(x) for k, x in sorted(v.items())}
  if isinstance(v, (list, tuple)):
    return [to_json(x) for x in v]
  return tensor_json(v.numpy() if hasattr(v, "numpy") else v)


def close(a, b, what):
  if a is None or b is None:
    assert a is None and b is None, what
    return
  if isinstance(a, dict):
    assert sorted(a) == sorted(b), what
    for k in a:
      close(a[k], b[k], what + "." + k)
    return
  if isinstance(a, (list, tuple)):
    assert len(a) == len(b), what
    for i, (x, y) in enumerate(zip(a, b)):
      close(x, y, "%s[%d]" % (what, i))
    return
  a, b = np.asarray(a), np.asarray(b)
  if a.dtype.kind == "f":
    assert np.allclose(a, b, rtol=1e-5, atol=1e-5), (what, a, b)
  else:
    assert a.tolist() == b.tolist(), (what, a, b)


class Encoder(tf.Module):

  def __init__(self):
    super().__init__(name="encoder")
    self.w = tf.Variable([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], name="w")

  @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32)])
  def __call__(self, x):
    return tf.matmul(x, self.w)


class Functions(tf.Module):

  def __init__(self):
    super().__init__(name="functions")
    self.encoder = Encoder()
    self.bias = tf.Variable([0.5, -0.5], name="bias")
    self.counter = tf.Variable(0, dtype=tf.int32, trainable=False,
                               name="counter")
    self.table = tf.lookup.experimental.MutableHashTable(
        key_dtype=tf.string, value_dtype=tf.int64, default_value=-1)

  @tf.function
  def __call__(self, x, training=False):
    y = self.encoder(x) + self.bias
    if training:
      y = y * 2.0
    return y

  @tf.function
  def scale(self, x, factor=2.0):
    return x * factor

  @tf.function(input_signature=[{"a": tf.TensorSpec([None], tf.float32),
                                  "b": tf.TensorSpec([None], tf.int64)}])
  def combine(self, d):
    return {"sum": d["a"] + tf.cast(d["b"], tf.float32),
            "pair": (d["a"], d["b"]), "none": None}

  @tf.function(input_signature=[tf.TensorSpec([], tf.int32)])
  def increment(self, n):
    self.counter.assign_add(n)
    return self.counter.read_value()

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
  def tokens(self, words):
    return self.table.lookup(words)


def main(argv):
  out_dir = os.path.abspath(argv[1] if len(argv) > 1 else ".")
  name = "functions_tf2"
  path = os.path.join(out_dir, name)
  if os.path.exists(path):
    shutil.rmtree(path)
  m = Functions()
  m.table.insert(tf.constant(["alpha", "beta", "gamma"]),
                 tf.constant([10, 20, 30], tf.int64))
  spec3 = tf.TensorSpec([None, 3], tf.float32)
  m.__call__.get_concrete_function(spec3, training=False)
  m.__call__.get_concrete_function(spec3, training=True)
  m.scale.get_concrete_function(tf.TensorSpec([None], tf.float32), factor=2.0)
  m.scale.get_concrete_function(tf.TensorSpec([None], tf.float32), factor=3.0)

  @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32,
                                              name="x")])
  def serving(x):
    return {"y": m(x, training=False)}

  @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32, name="x"),
                                tf.TensorSpec([], tf.bool, name="training")])
  def with_training(x, training):
    return {"y": tf.cond(training, lambda: m(x, training=True),
                         lambda: m(x, training=False))}

  tf.saved_model.save(m, path, signatures={
      "serving_default": serving, "with_training": with_training})
  fp = os.path.join(path, "fingerprint.pb")
  if os.path.exists(fp):
    os.remove(fp)

  x = np.array([[1.0, 0.0, -1.0], [0.5, 2.0, 1.0]], np.float32)
  v = np.array([1.0, -2.0, 4.0], np.float32)
  d = {"a": np.array([1.5, 2.5], np.float32), "b": np.array([3, 4], np.int64)}
  words = np.array([b"beta", b"delta", b"alpha"], dtype=object)
  cases = [
      ("__call__", [x], {}, m(x)),
      ("__call__", [x, False], {}, m(x, False)),
      ("__call__", [x], {"training": True}, m(x, training=True)),
      ("encoder.__call__", [x], {}, m.encoder(x)),
      ("scale", [v], {}, m.scale(v)),
      ("scale", [v, 3.0], {}, m.scale(v, 3.0)),
      ("scale", [v], {"factor": 3.0}, m.scale(v, factor=3.0)),
      ("combine", [d], {}, m.combine(d)),
      ("tokens", [words], {}, m.tokens(words)),
  ]
  loaded = tf.saved_model.load(path)
  calls = []
  for fn, args, kwargs, expected in cases:
    target = loaded
    for part in fn.split("."):
      target = getattr(target, part)
    got = target(*args, **kwargs)
    close(to_json(got), to_json(expected), fn)
    calls.append(collections.OrderedDict([
        ("callable", fn), ("inputs", [to_json(a) if not isinstance(a, (bool, float, int)) else a for a in args]),
        ("kwargs", kwargs), ("outputs", to_json(expected))]))
  sigs = []
  for sig, inputs in [("serving_default", {"x": x}),
                      ("with_training", {"x": x, "training": np.array(True)})]:
    got = loaded.signatures[sig](**{k: tf.constant(v) for k, v in inputs.items()})
    sigs.append(collections.OrderedDict([
        ("signature", sig), ("inputs", {k: tensor_json(v) for k, v in inputs.items()}),
        ("outputs", {k: tensor_json(t.numpy()) for k, t in got.items()})]))
  # increment is stateful: on a fresh load, 2 then 5 (counter starts at 0).
  fresh = tf.saved_model.load(path)
  inc = [int(fresh.increment(tf.constant(2)).numpy()),
         int(fresh.increment(tf.constant(3)).numpy())]
  assert inc == [2, 5], inc
  doc = collections.OrderedDict([
      ("format", "tf2_saved_model"),
      ("generator", "test/tf2/gen/make_functions_tf2.py"),
      ("tags", [["serve"]]),
      ("signatures", sorted(loaded.signatures.keys())),
      ("calls", calls + sigs),
      ("increment", {"args": [2, 3], "results": inc}),
      ("variables", sorted(v.name for v in m.variables)),
      ("note", __doc__.split("The model")[1].strip()),
  ])
  with open(path + ".json", "w") as f:
    json.dump(doc, f, indent=1)
    f.write("\n")
  print("wrote", path)


if __name__ == "__main__":
  if os.environ.get("PYTHONHASHSEED") != "0":
    os.environ["PYTHONHASHSEED"] = "0"
    os.execv(sys.executable, [sys.executable] + sys.argv)
  sys.exit(main(sys.argv))
