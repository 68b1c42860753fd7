#!/usr/bin/env python3
"""Writes the fixtures of hub.load's load-time decisions into test/tf2/fixtures (+ load_decisions.json):

  gpu_pinned_v1       a TF1 SavedModel built under tf.device('/gpu:0') (y = a * x + b, a=0.5, b=2); Python's
                      tf.saved_model.load places it with soft placement, so it loads and runs on a CPU-only machine
  no_variables_v1     the same model without a device, with variables/ removed: Python refuses it at load
                      (NotFoundError "Unsuccessful TensorSliceReader constructor")
  missing_function_tf2  a TF2 SavedModel whose function library lacks a function the object graph names
  asset_outside_v1    a TF1 SavedModel whose asset_file_def filename is '../outside.txt'

The JSON records what Python does with each (outputs for x = [1, 2, 3], or the load error's class and message).
Usage: python3 test/tf2/gen/make_load_decisions.py test/tf2/fixtures
"""
import json
import os
import shutil
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import tensorflow as tf  # noqa: E402
from tensorflow.core.protobuf import saved_model_pb2  # noqa: E402

X = [1.0, 2.0, 3.0]


def export_v1(path, device, asset=False):
  g = tf.Graph()
  with g.as_default():
    with tf.device(device):
      x = tf.compat.v1.placeholder(tf.float32, [None], name="x")
      a = tf.compat.v1.get_variable("a", initializer=0.5)
      b = tf.compat.v1.get_variable("b", initializer=2.0)
      y = tf.identity(a * x + b, name="y")
    assets = None
    if asset:
      tmp = tempfile.mkdtemp()
      vocab = os.path.join(tmp, "vocab.txt")
      with open(vocab, "w") as f:
        f.write("a\nb\n")
      assets = [tf.constant(vocab, name="vocab_path")]
      for t in assets:
        tf.compat.v1.add_to_collection(tf.compat.v1.GraphKeys.ASSET_FILEPATHS, t)
    config = tf.compat.v1.ConfigProto(allow_soft_placement=True)
    with tf.compat.v1.Session(graph=g, config=config) as sess:
      sess.run(tf.compat.v1.global_variables_initializer())
      builder = tf.compat.v1.saved_model.Builder(path)
      sig = tf.compat.v1.saved_model.predict_signature_def({"x": x}, {"y": y})
      builder.add_meta_graph_and_variables(sess, ["serve"], signature_def_map={"serving_default": sig},
                                           assets_collection=tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.ASSET_FILEPATHS) if asset else None)
      builder.save()


def edit_saved_model(path, fn):
  p = os.path.join(path, "saved_model.pb")
  sm = saved_model_pb2.SavedModel()
  with open(p, "rb") as f:
    sm.ParseFromString(f.read())
  fn(sm.meta_graphs[0])
  with open(p, "wb") as f:
    f.write(sm.SerializeToString())


def python_result(path):
  try:
    m = tf.saved_model.load(path)
  except Exception as e:  # pylint: disable=broad-except
    lines = [l.strip() for l in str(e).split("\n")]
    lines = [l for l in lines if l and not l.startswith(("[[", "File ", "Detected at", "Graph execution"))]
    return {"load_error": {"class": type(e).__name__, "message": lines[-1][:300].replace(path, "<dir>")}}
  y = m.signatures["serving_default"](x=tf.constant(X))
  return {"outputs": {k: {"dtype": v.dtype.name, "shape": v.shape.as_list(), "values": v.numpy().tolist()} for k, v in y.items()}}


class Affine(tf.Module):

  def __init__(self):
    super().__init__()
    self.a = tf.Variable(0.5)

  @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
  def serve(self, x):
    return {"y": self.a * x + 2.0}


def main(out):
  results = {}
  for name in ["gpu_pinned_v1", "no_variables_v1", "missing_function_tf2", "asset_outside_v1"]:
    shutil.rmtree(os.path.join(out, name), ignore_errors=True)
  p = os.path.join(out, "gpu_pinned_v1")
  export_v1(p, "/gpu:0")
  results["gpu_pinned_v1"] = python_result(p)

  p = os.path.join(out, "no_variables_v1")
  export_v1(p, "/cpu:0")
  shutil.rmtree(os.path.join(p, "variables"))
  results["no_variables_v1"] = python_result(p)

  p = os.path.join(out, "missing_function_tf2")
  m = Affine()
  tf.saved_model.save(m, p, signatures={"serving_default": m.serve})

  def drop_called_function(mg):
    # The signature's concrete function stays; the function it calls (the traced body) goes.
    names = [f.signature.name for f in mg.graph_def.library.function]
    victim = next(n for n in names if n.startswith("__inference_serve"))
    keep = [f for f in mg.graph_def.library.function if f.signature.name != victim]
    del mg.graph_def.library.function[:]
    mg.graph_def.library.function.extend(keep)
  edit_saved_model(p, drop_called_function)
  if os.path.exists(os.path.join(p, "fingerprint.pb")):
    os.remove(os.path.join(p, "fingerprint.pb"))
  results["missing_function_tf2"] = python_result(p)

  p = os.path.join(out, "asset_outside_v1")
  export_v1(p, "/cpu:0", asset=True)

  def move_asset(mg):
    # The TF1 builder keeps assets in the saved_model_assets collection (AssetFileDefs packed in Any).
    from tensorflow.core.protobuf import meta_graph_pb2  # pylint: disable=g-import-not-at-top
    for any_proto in mg.collection_def["saved_model_assets"].any_list.value:
      asset = meta_graph_pb2.AssetFileDef()
      any_proto.Unpack(asset)
      asset.filename = "../outside.txt"
      any_proto.Pack(asset)
  edit_saved_model(p, move_asset)
  results["asset_outside_v1"] = python_result(p)

  with open(os.path.join(out, "load_decisions.json"), "w") as f:
    json.dump(results, f, indent=1, sort_keys=True)
    f.write("\n")
  print(json.dumps(results, indent=1))


if __name__ == "__main__":
  main(sys.argv[1])
