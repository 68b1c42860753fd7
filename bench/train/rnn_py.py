#!/usr/bin/env python3
# Copyright the tfhub-node authors. Licensed under the Apache License 2.0.
"""Python side of bench/train/rnn_run.js: training steps/s of the recurrent fixture test/fixtures/cf_rnn_tf2 (an
LSTM-style tf.while_loop over a padded [4,6,4] sequence), loaded with tf.saved_model.load, loss =
mean(square(__call__(x) - target)), tf.compat.v1.train.AdamOptimizer(0.01), one step = a tf.function computing
the loss, its gradients (tf.GradientTape, while_v2's backward loop) and the Adam update.

Usage: rnn_py.py SECONDS SLICES WARMUP_S   (prints one JSON line)
"""

import json
import os
import resource
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def main():
  seconds, slices, warmup = float(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
  with open(os.path.join(ROOT, "test", "fixtures", "control_flow_grads.json")) as f:
    adam = json.load(f)["models"]["cf_rnn_tf2"]["adam"]
  x = tf.constant(np.array(adam["x"]["values"], np.float32).reshape(adam["x"]["shape"]))
  target = tf.constant(np.array(adam["target"]["values"], np.float32).reshape(adam["target"]["shape"]))
  model = tf.saved_model.load(os.path.join(ROOT, "test", "fixtures", "cf_rnn_tf2"))
  variables = [model.b, model.bo, model.wh, model.wo, model.wx]
  opt = tf.compat.v1.train.AdamOptimizer(adam["learning_rate"])

  def loss_fn():
    return tf.reduce_mean(tf.square(model(x) - target))

  @tf.function
  def step():
    with tf.GradientTape() as tape:
      loss = loss_fn()
    grads = tape.gradient(loss, variables)
    opt.apply_gradients(zip(grads, variables))
    return loss

  initial = float(step().numpy())
  for _ in range(8):
    check = float(step().numpy())  # the loss fetched by step 10 (1-based) from the start
  check = float(step().numpy())
  end = time.perf_counter() + warmup
  while time.perf_counter() < end:
    step()
  rates = []
  total_steps = 0
  total_s = 0.0
  cpu0 = resource.getrusage(resource.RUSAGE_SELF)
  for _ in range(slices):
    t0 = time.perf_counter()
    n = 0
    while time.perf_counter() - t0 < seconds / slices:
      step().numpy()
      n += 1
    dt = time.perf_counter() - t0
    rates.append(n / dt)
    total_steps += n
    total_s += dt
  cpu1 = resource.getrusage(resource.RUSAGE_SELF)
  cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
  print(json.dumps({"impl": "python", "steps": total_steps, "seconds": total_s, "slice_steps_per_s": rates,
                    "cpu_us_per_step": cpu * 1e6 / total_steps, "initial_loss": initial, "loss_at_check": check,
                    "expected_initial_loss": adam["losses"][0], "expected_loss_at_check": adam["losses"][9]}))


if __name__ == "__main__":
  main()
