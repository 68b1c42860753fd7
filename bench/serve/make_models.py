"""Builds the serving benchmark's models from the same arrays, and checks the twins agree (<= 1e-5).

Usage: python3 bench/serve/make_models.py OUT_DIR
  OUT_DIR/mlp_weights/{w1,b1,w2,b2}.bin  float32 arrays written by make_models.js (bench/node/make_graph.js PRNG)
writes
  OUT_DIR/mlp/1/        TF2 SavedModel: serving_default(x [None,512]) -> {y [None,256]}, y = relu(x W1 + b1) W2 + b2
  OUT_DIR/mlp.onnx      the same with onnx.helper (Gemm, Relu, Gemm; opset 17)
  OUT_DIR/cnn/1/        a copy of test/fixtures/keras_cnn_tf2 (Keras 3 CNN, serving_default(image [None,8,8,3]))
  OUT_DIR/cnn.onnx      its twin: Transpose, Conv, Relu, BatchNormalization, MaxPool, GlobalAveragePool, Gemm, Softmax
  OUT_DIR/models.json   shapes and the largest |TF - ONNX Runtime| difference of each twin
"""
import json
import os
import shutil
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402
import tensorflow as tf  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SIZES = [512, 1024, 256]


def load_mlp_arrays(out):
  d = os.path.join(out, "mlp_weights")
  arr = lambda n, shape: np.fromfile(os.path.join(d, n + ".bin"), dtype="<f4").reshape(shape)
  return (arr("w1", (SIZES[0], SIZES[1])), arr("b1", (SIZES[1],)),
          arr("w2", (SIZES[1], SIZES[2])), arr("b2", (SIZES[2],)))


class Mlp(tf.Module):
  def __init__(self, w1, b1, w2, b2):
    super().__init__()
    self.w1, self.b1 = tf.Variable(w1, name="w1"), tf.Variable(b1, name="b1")
    self.w2, self.b2 = tf.Variable(w2, name="w2"), tf.Variable(b2, name="b2")

  @tf.function(input_signature=[tf.TensorSpec([None, SIZES[0]], tf.float32, name="x")])
  def serve(self, x):
    h = tf.nn.relu(tf.matmul(x, self.w1) + self.b1)
    return {"y": tf.matmul(h, self.w2) + self.b2}


def make_mlp(out):
  w1, b1, w2, b2 = load_mlp_arrays(out)
  path = os.path.join(out, "mlp", "1")
  shutil.rmtree(os.path.join(out, "mlp"), ignore_errors=True)
  m = Mlp(w1, b1, w2, b2)
  tf.saved_model.save(m, path, signatures={"serving_default": m.serve})
  init = [numpy_helper.from_array(a, n) for a, n in ((w1, "w1"), (b1, "b1"), (w2, "w2"), (b2, "b2"))]
  nodes = [helper.make_node("Gemm", ["x", "w1", "b1"], ["h"]), helper.make_node("Relu", ["h"], ["r"]),
           helper.make_node("Gemm", ["r", "w2", "b2"], ["y"])]
  graph = helper.make_graph(nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", SIZES[0]])],
                            [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", SIZES[2]])], init)
  save_onnx(graph, os.path.join(out, "mlp.onnx"))
  x = np.random.RandomState(1).rand(8, SIZES[0]).astype(np.float32) - 0.5
  return check("mlp", path, os.path.join(out, "mlp.onnx"), "x", x, "y")


def make_cnn(out):
  src = os.path.join(ROOT, "test", "fixtures", "keras_cnn_tf2")
  path = os.path.join(out, "cnn", "1")
  shutil.rmtree(os.path.join(out, "cnn"), ignore_errors=True)
  shutil.copytree(src, path)
  loaded = tf.saved_model.load(path)
  v = {var.path if hasattr(var, "path") else var.name: var.numpy() for var in loaded.variables}
  v = {k.split(":")[0]: a for k, a in v.items()}
  get = lambda suffix: next(a for k, a in v.items() if k.endswith(suffix))
  kernel, bias = get("conv/kernel"), get("conv/bias")
  gamma, beta, mean, var = get("bn/gamma"), get("bn/beta"), get("bn/moving_mean"), get("bn/moving_variance")
  dk, db = get("dense/kernel"), get("dense/bias")
  init = [numpy_helper.from_array(a.astype(np.float32), n) for a, n in (
      (kernel.transpose(3, 2, 0, 1), "k"), (bias, "kb"), (gamma, "g"), (beta, "be"), (mean, "m"), (var, "v"),
      (dk, "dk"), (db, "db"))]
  nodes = [
      helper.make_node("Transpose", ["image"], ["nchw"], perm=[0, 3, 1, 2]),
      helper.make_node("Conv", ["nchw", "k", "kb"], ["c"], pads=[1, 1, 1, 1], kernel_shape=[3, 3]),
      helper.make_node("Relu", ["c"], ["r"]),
      helper.make_node("BatchNormalization", ["r", "g", "be", "m", "v"], ["bn"], epsilon=1e-3),
      helper.make_node("MaxPool", ["bn"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
      helper.make_node("GlobalAveragePool", ["p"], ["gap"]),
      helper.make_node("Flatten", ["gap"], ["f"]),
      helper.make_node("Gemm", ["f", "dk", "db"], ["logits"]),
      helper.make_node("Softmax", ["logits"], ["output_0"], axis=-1),
  ]
  graph = helper.make_graph(nodes, "cnn", [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 8, 8, 3])],
                            [helper.make_tensor_value_info("output_0", TensorProto.FLOAT, ["N", 3])], init)
  save_onnx(graph, os.path.join(out, "cnn.onnx"))
  x = np.random.RandomState(2).rand(8, 8, 8, 3).astype(np.float32)
  return check("cnn", path, os.path.join(out, "cnn.onnx"), "image", x, "output_0")


def save_onnx(graph, path):
  # IR version 8 (ONNX 1.13): what onnxruntime 1.30 (Python and Node) reads; opset 17.
  model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
  onnx.checker.check_model(model)
  onnx.save(model, path)


def check(name, saved_model, onnx_path, in_key, x, out_key):
  sig = tf.saved_model.load(saved_model).signatures["serving_default"]
  want = sig(**{in_key: tf.constant(x)})[out_key].numpy()
  got = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"]).run([out_key], {in_key: x})[0]
  diff = float(np.max(np.abs(want - got)))
  assert diff <= 1e-5, "%s: ONNX twin differs from TF by %g" % (name, diff)
  return {"input": in_key, "output": out_key, "input_shape": list(x.shape[1:]), "max_abs_diff_tf_vs_onnx": diff}


def main():
  out = sys.argv[1]
  info = {"mlp": make_mlp(out), "cnn": make_cnn(out)}
  with open(os.path.join(out, "models.json"), "w") as f:
    json.dump(info, f, indent=1)
  print(json.dumps(info))


if __name__ == "__main__":
  main()
