#!/usr/bin/env python3
# Copyright the tfhub-node authors. Licensed under the Apache License 2.0.
"""Writes half_plus_three/00000123: the toy model of TF Serving's api_rest.md example, y = 0.5 * x + 3.

Usage:  python3 test/serving/rest_fixtures/gen/make_half_plus_three.py test/serving/rest_fixtures

A TF1 SavedModel (tag "serve") with variables a=0.5, b=3 and the signatures the api_rest.md curl examples call:
  serving_default             predict   x: float [-1] -> y
  tensorflow/serving/regress  regress   serialized tf.Example (feature x, float) -> outputs [-1, 1]
  tensorflow/serving/classify classify  serialized tf.Example -> scores [-1, 1]
half_plus_three.json holds, for each curl example of api_rest.md, the outputs Python computed by running the
saved model, and the signature_def metadata as protobuf's JSON printer writes it (TF Serving's format).
"""
import json
import os
import shutil
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import tensorflow as tf  # noqa: E402
from google.protobuf import json_format  # noqa: E402

v1 = tf.compat.v1
out_dir = sys.argv[1]
export = os.path.join(out_dir, "half_plus_three", "00000123")
shutil.rmtree(os.path.join(out_dir, "half_plus_three"), ignore_errors=True)

with tf.Graph().as_default() as g:
  a = v1.Variable(0.5, name="a")
  b = v1.Variable(3.0, name="b")
  serialized = v1.placeholder(tf.string, [None], name="tf_example")
  parsed = v1.io.parse_example(serialized, {"x": v1.io.FixedLenFeature([1], tf.float32)})
  x_ex = tf.identity(parsed["x"], name="x_ex")
  y_ex = tf.add(tf.multiply(a, x_ex), b, name="y_ex")
  x = v1.placeholder(tf.float32, [None], name="x")
  y = tf.add(tf.multiply(a, x), b, name="y")
  info = v1.saved_model.utils.build_tensor_info
  sigs = {
      "serving_default": v1.saved_model.signature_def_utils.build_signature_def(
          {"x": info(x)}, {"y": info(y)}, "tensorflow/serving/predict"),
      "tensorflow/serving/regress": v1.saved_model.signature_def_utils.build_signature_def(
          {"inputs": info(serialized)}, {"outputs": info(y_ex)}, "tensorflow/serving/regress"),
      "tensorflow/serving/classify": v1.saved_model.signature_def_utils.build_signature_def(
          {"inputs": info(serialized)}, {"scores": info(y_ex)}, "tensorflow/serving/classify"),
  }
  with v1.Session(graph=g) as sess:
    sess.run(v1.global_variables_initializer())
    builder = v1.saved_model.Builder(export)
    builder.add_meta_graph_and_variables(sess, ["serve"], signature_def_map=sigs)
    builder.save()


def ex(v):
  return tf.train.Example(features=tf.train.Features(feature={
      "x": tf.train.Feature(float_list=tf.train.FloatList(value=[v]))})).SerializeToString()


loaded = tf.saved_model.load(export, tags=["serve"])
predict = loaded.signatures["serving_default"](x=tf.constant([1.0, 2.0, 5.0]))["y"].numpy().tolist()
regress = loaded.signatures["tensorflow/serving/regress"](inputs=tf.constant([ex(1.0), ex(2.0)]))["outputs"].numpy().reshape(-1).tolist()
classify = loaded.signatures["tensorflow/serving/classify"](inputs=tf.constant([ex(1.0), ex(2.0)]))["scores"].numpy().tolist()

from tensorflow.core.protobuf import saved_model_pb2  # noqa: E402
sm = saved_model_pb2.SavedModel()
with open(os.path.join(export, "saved_model.pb"), "rb") as f:
  sm.ParseFromString(f.read())
defs = {k: json.loads(json_format.MessageToJson(v, preserving_proto_field_name=True,
                                                 always_print_fields_with_no_presence=True))
        for k, v in sm.meta_graphs[0].signature_def.items() if k != "__saved_model_init_op"}

with open(os.path.join(out_dir, "half_plus_three.json"), "w") as f:
  json.dump({"predict": {"instances": [1.0, 2.0, 5.0], "predictions": predict},
             "regress": {"examples": [{"x": 1.0}, {"x": 2.0}], "results": regress},
             "classify": {"examples": [{"x": 1.0}, {"x": 2.0}], "scores": classify},
             "signature_def": defs}, f, indent=1, sort_keys=True)
print("wrote", export)
