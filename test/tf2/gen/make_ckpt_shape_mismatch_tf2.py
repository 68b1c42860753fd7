#!/usr/bin/env python3
"""Writes test/tf2/fixtures/ckpt_shape_mismatch_tf2: a SavedModel declaring w: float32[3] (serving_default
y = x * w) whose variables/ come from another model where w is float32[1] = [10]. Python's tf.saved_model.load
refuses it ("Received incompatible tensor with shape (1,) when attempting to restore variable with shape (3,)");
without a shape check the restore succeeds and broadcasting hides the error. fingerprint.pb is dropped.

Usage: python3 test/tf2/gen/make_ckpt_shape_mismatch_tf2.py test/tf2/fixtures
"""
import os
import shutil
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402


class Declared(tf.Module):

  def __init__(self, w):
    super().__init__()
    self.w = tf.Variable(w)

  @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32)])
  def f(self, x):
    return {"y": x * self.w}


class Other(tf.Module):

  def __init__(self, w):
    super().__init__()
    self.w = tf.Variable(w)


def main(out_dir):
  path = os.path.join(out_dir, "ckpt_shape_mismatch_tf2")
  shutil.rmtree(path, ignore_errors=True)
  m = Declared(np.array([1, 2, 3], np.float32))
  tf.saved_model.save(m, path, signatures={"serving_default": m.f})
  other = tempfile.mkdtemp()
  try:
    tf.saved_model.save(Other(np.array([10], np.float32)), other)
    shutil.rmtree(os.path.join(path, "variables"))
    shutil.copytree(os.path.join(other, "variables"), os.path.join(path, "variables"))
  finally:
    shutil.rmtree(other)
  for extra in ("fingerprint.pb", "assets"):
    p = os.path.join(path, extra)
    if os.path.isdir(p):
      shutil.rmtree(p)
    elif os.path.exists(p):
      os.remove(p)
  try:
    tf.saved_model.load(path)
    raise SystemExit("Python loaded it: the fixture does not show the mismatch")
  except ValueError as e:
    print("Python refuses it, as expected:", str(e).splitlines()[0])


if __name__ == "__main__":
  main(sys.argv[1] if len(sys.argv) > 1 else "test/tf2/fixtures")
