#!/usr/bin/env python3
"""Python half of the training benchmark (see bench/train/run.js).

Fine-tunes the TF1 Hub module test/fixtures/mlp_v1 in a tf.compat.v1 graph + Session, as tfhub-node does in
bench/train/node_train.js: the module's meta graph (tags []) is imported under the scope `module/` with its input
placeholder `x:0` mapped to a [32, width] float32 placeholder (so static shapes match the Node graph), the
variables are restored from test/fixtures/mlp_v1/variables/variables, the loss is built from the `default`
signature output (logits) and tf.compat.v1.train.AdamOptimizer(0.001).minimize(loss) makes the training op.

Timed variants (each step fetches the loss and runs the training op):
  run         sess.run([loss, train_op], feed_dict)
  callable    sess.make_callable([loss, train_op], [x, labels])(x_np, labels_np)
  run.inline  sess.run(..., options=RunOptions(inter_op_thread_pool=-1))  (ops on the calling thread)

Env: BENCH_TRAIN_S (default 3), BENCH_TRAIN_WARMUP_S (0.5), BENCH_TRAIN_SLICES (6), BENCH_TRAIN_LOSS (xent | mse).
Prints one JSON line on stdout.
"""

import json
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow.core.protobuf import saved_model_pb2  # noqa: E402

v1 = tf.compat.v1

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MODULE = os.path.join(ROOT, "test", "fixtures", "mlp_v1")
BATCH = 32
CHECK_STEPS = 10
TRAIN_S = float(os.environ.get("BENCH_TRAIN_S", "3"))
WARMUP_S = float(os.environ.get("BENCH_TRAIN_WARMUP_S", "0.5"))
SLICES = max(1, int(float(os.environ.get("BENCH_TRAIN_SLICES", "6"))))
LOSS = os.environ.get("BENCH_TRAIN_LOSS", "xent")


def uniform(n, seed):
  """mulberry32, exactly as bench/train/node_train.js: n values in [0, 1) as float64."""
  out = np.empty(n, np.float64)
  a = seed & 0xFFFFFFFF
  m = 0xFFFFFFFF

  def imul(x, y):
    return (x * y) & m

  for i in range(n):
    a = (a + 0x6D2B79F5) & m
    t = a
    t = imul(t ^ (t >> 15), t | 1)
    t ^= (t + imul(t ^ (t >> 7), t | 61)) & m
    out[i] = ((t ^ (t >> 14)) & m) / 4294967296.0
  return out


def module_meta_graph():
  sm = saved_model_pb2.SavedModel()
  with open(os.path.join(MODULE, "saved_model.pb"), "rb") as f:
    sm.ParseFromString(f.read())
  for mg in sm.meta_graphs:
    if not list(mg.meta_info_def.tags):
      return mg
  raise RuntimeError("mlp_v1 has no meta graph with tags []")


def main():
  if LOSS not in ("xent", "mse"):
    raise SystemExit("BENCH_TRAIN_LOSS must be xent or mse, got %r" % LOSS)
  mg = module_meta_graph()
  sig = mg.signature_def["default"]
  in_info = sig.inputs["default"]
  out_info = sig.outputs["default"]
  width = in_info.tensor_shape.dim[1].size
  classes = out_info.tensor_shape.dim[1].size

  g = tf.Graph()
  with g.as_default():
    x = v1.placeholder(tf.float32, [BATCH, width], name="x")
    v1.train.import_meta_graph(mg, import_scope="module", input_map={in_info.name: x},
                               clear_devices=True)
    # The module's own variables (checkpoint keys without the scope), before the optimizer adds its slots.
    module_vars = [v for v in v1.global_variables() if v.op.name.startswith("module/")]
    logits = g.get_tensor_by_name("module/" + out_info.name)
    if LOSS == "xent":
      labels = v1.placeholder(tf.int32, [BATCH], name="labels")
      per_example = tf.raw_ops.SparseSoftmaxCrossEntropyWithLogits(features=logits, labels=labels,
                                                                   name="xent")[0]
    else:
      labels = v1.placeholder(tf.float32, [BATCH, classes], name="labels")
      per_example = tf.square(logits - labels)
    loss = tf.reduce_mean(per_example, name="loss")
    train_op = v1.train.AdamOptimizer(0.001).minimize(loss)
    saver = v1.train.Saver({v.op.name[len("module/"):]: v for v in module_vars})
    init = v1.global_variables_initializer()
  g.finalize()

  x_np = uniform(BATCH * width, 1).astype(np.float32).reshape(BATCH, width)
  if LOSS == "xent":
    y_np = np.floor(uniform(BATCH, 2) * classes).astype(np.int32)
  else:
    y_np = uniform(BATCH * classes, 2).astype(np.float32).reshape(BATCH, classes)
  feed = {x: x_np, labels: y_np}
  fetches = [loss, train_op]

  sess = v1.Session(graph=g)
  with g.as_default():
    sess.run(init)
    saver.restore(sess, os.path.join(MODULE, "variables", "variables"))
  initial_loss = float(sess.run(loss, feed))
  loss_at_check = float("nan")
  for _ in range(CHECK_STEPS):
    loss_at_check = float(sess.run(fetches, feed)[0])

  call = sess.make_callable(fetches, [x, labels])
  inline_opts = v1.RunOptions(inter_op_thread_pool=-1)
  variants = {
      "run": lambda: sess.run(fetches, feed),
      "callable": lambda: call(x_np, y_np),
      "run.inline": lambda: sess.run(fetches, feed, options=inline_opts),
  }
  names = list(variants)
  acc = {n: {"lat": [], "steps": 0, "s": 0.0, "cpu": 0.0, "slice_medians": []} for n in names}

  warm_end = time.perf_counter() + WARMUP_S
  while time.perf_counter() < warm_end:
    for n in names:
      variants[n]()

  slice_s = TRAIN_S / SLICES
  for k in range(SLICES):
    for j in range(len(names)):
      n = names[(j + k) % len(names)]
      fn = variants[n]
      a = acc[n]
      lat = []
      cpu0 = time.process_time()
      t0 = time.perf_counter()
      end = t0 + slice_s
      t = t0
      while t < end:
        fn()
        t1 = time.perf_counter()
        lat.append((t1 - t) * 1e6)
        t = t1
      a["cpu"] += time.process_time() - cpu0
      a["s"] += t - t0
      a["steps"] += len(lat)
      a["slice_medians"].append(statistics.median(lat))
      a["lat"].extend(lat)
  final_loss = float(sess.run(loss, feed))
  sess.close()

  out = {
      "impl": "python",
      "tensorflow": tf.__version__,
      "runtime": "python " + sys.version.split()[0],
      "loss_kind": LOSS,
      "batch": BATCH,
      "input_width": width,
      "classes": classes,
      "initial_loss": initial_loss,
      "check_steps": CHECK_STEPS,
      "loss_at_check": loss_at_check,
      "final_loss": final_loss,
      "train_s": TRAIN_S,
      "slices": SLICES,
      "variants": {},
  }
  for n in names:
    a = acc[n]
    out["variants"][n] = {
        "median_us": statistics.median(a["lat"]),
        "steps_per_s": a["steps"] / a["s"],
        "cpu_us_per_step": a["cpu"] * 1e6 / a["steps"],
        "steps": a["steps"],
        "seconds": a["s"],
        "slice_median_us": a["slice_medians"],
    }
  sys.stdout.write(json.dumps(out) + "\n")


if __name__ == "__main__":
  main()
