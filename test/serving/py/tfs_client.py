#!/usr/bin/env python3
# Copyright the tfhub-node authors. Licensed under the Apache License 2.0.
"""A TF Serving gRPC client in Python (grpcio), used by test/serving/grpc_python.test.ts.

Usage: tfs_client.py ADDRESS PROTO_DIRS FIXTURES_DIR

PROTO_DIRS: the import roots, joined by os.pathsep (src/serving/protos for TF
Serving's files, src/proto for the TensorFlow messages they import).
Compiles every .proto under PROTO_DIRS with grpcio-tools into a temporary
directory, calls Predict / Classify / Regress / MultiInference /
GetModelMetadata / GetModelStatus on ADDRESS (the models of
test/serving/grpc_helpers.ts: example, tf2, half), and prints one JSON object
with what came back (tensors as {"dtype", "shape", "values"} or "b64").
No TensorFlow needed: the generated modules shadow any installed one.
"""

import base64
import json
import os
import struct
import subprocess
import sys
import tempfile


def compile_protos(roots, out):
  files = sorted(os.path.relpath(os.path.join(d, f), root)
                 for root in roots for d, _, fs in os.walk(root) for f in fs if f.endswith(".proto"))
  subprocess.run([sys.executable, "-m", "grpc_tools.protoc"] + ["-I" + r for r in roots]
                 + ["--python_out=" + out, "--grpc_python_out=" + out] + files, check=True)
  for d, _, fs in os.walk(out):  # regular packages, so an installed tensorflow cannot take over
    if "__init__.py" not in fs:
      open(os.path.join(d, "__init__.py"), "w").close()


def main():
  address, protos, fixtures = sys.argv[1:4]
  tmp = tempfile.mkdtemp(prefix="tfs-client-")
  compile_protos(protos.split(os.pathsep), tmp)
  sys.path.insert(0, tmp)
  import grpc  # noqa: E402
  from tensorflow.core.framework import tensor_pb2, types_pb2  # noqa: E402
  from tensorflow.core.example import example_pb2  # noqa: E402
  from tensorflow_serving.apis import (classification_pb2, get_model_metadata_pb2, get_model_status_pb2,  # noqa: E402
                                       inference_pb2, model_service_pb2_grpc, predict_pb2,
                                       prediction_service_pb2_grpc, regression_pb2)

  dt = {"float32": types_pb2.DT_FLOAT, "float64": types_pb2.DT_DOUBLE, "int32": types_pb2.DT_INT32,
        "int64": types_pb2.DT_INT64, "string": types_pb2.DT_STRING, "float16": types_pb2.DT_HALF,
        "bfloat16": types_pb2.DT_BFLOAT16, "bool": types_pb2.DT_BOOL}
  names = {v: k for k, v in dt.items()}

  def to_proto(t):
    p = tensor_pb2.TensorProto(dtype=dt[t["dtype"]])
    for d in t["shape"]:
      p.tensor_shape.dim.add(size=d)
    k = t["dtype"]
    if k == "string":
      p.string_val.extend(base64.b64decode(s) for s in t["b64"])
    elif k == "float32":
      p.float_val.extend(t["values"])
    elif k == "int64":
      p.int64_val.extend(int(v) for v in t["values"])
    elif k == "int32":
      p.int_val.extend(t["values"])
    elif k == "float16":
      p.half_val.extend(struct.unpack("<H", struct.pack("<e", v))[0] for v in t["values"])
    elif k == "bfloat16":
      p.half_val.extend(struct.unpack("<I", struct.pack("<f", v))[0] >> 16 for v in t["values"])
    else:
      raise ValueError(k)
    return p

  def from_proto(p):
    k = names.get(p.dtype, str(p.dtype))
    out = {"dtype": k, "shape": [d.size for d in p.tensor_shape.dim]}
    if k == "string":
      out["b64"] = [base64.b64encode(s).decode() for s in p.string_val]
    elif k == "float32":
      out["values"] = list(p.float_val)
    elif k == "int64":
      out["values"] = [str(v) for v in p.int64_val]
    elif k == "int32":
      out["values"] = list(p.int_val)
    elif k == "float16":
      out["values"] = [struct.unpack("<e", struct.pack("<H", v))[0] for v in p.half_val]
    elif k == "bfloat16":
      out["values"] = [struct.unpack("<f", struct.pack("<I", v << 16))[0] for v in p.half_val]
    return out

  channel = grpc.insecure_channel(address)
  grpc.channel_ready_future(channel).result(timeout=30)
  predict_stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
  model_stub = model_service_pb2_grpc.ModelServiceStub(channel)
  result = {"predict": [], "versions": {}, "errors": {}}

  with open(os.path.join(fixtures, "tf2_multi.json")) as f:
    tf2 = json.load(f)
  for call in tf2["calls"]:
    req = predict_pb2.PredictRequest()
    req.model_spec.name = "tf2"
    req.model_spec.signature_name = call["signature"]
    for k, v in call["inputs"].items():
      req.inputs[k].CopyFrom(to_proto(v))
    res = predict_stub.Predict(req, timeout=60)
    result["predict"].append({"signature": res.model_spec.signature_name, "version": res.model_spec.version.value,
                              "outputs": {k: from_proto(v) for k, v in res.outputs.items()}})

  with open(os.path.join(fixtures, "half_plus.json")) as f:
    half = json.load(f)
  for how in ("1", "canary"):
    req = predict_pb2.PredictRequest()
    req.model_spec.name = "half"
    if how == "canary":
      req.model_spec.version_label = how
    else:
      req.model_spec.version.value = int(how)
    req.inputs["x"].CopyFrom(to_proto(half["versions"]["1"]["inputs"]["x"]))
    res = predict_stub.Predict(req, timeout=60)
    result["versions"][how] = {"version": res.model_spec.version.value, "y": from_proto(res.outputs["y"])}

  with open(os.path.join(fixtures, "tf1_example.json")) as f:
    ex = json.load(f)
  examples = [example_pb2.Example.FromString(base64.b64decode(s)) for s in ex["serialized_b64"]]
  creq = classification_pb2.ClassificationRequest()
  creq.model_spec.name = "example"
  creq.model_spec.signature_name = "classify"
  creq.input.example_list.examples.extend(examples)
  cres = predict_stub.Classify(creq, timeout=60)
  result["classify"] = [[[c.label, c.score] for c in row.classes] for row in cres.result.classifications]
  rreq = regression_pb2.RegressionRequest()
  rreq.model_spec.name = "example"
  rreq.model_spec.signature_name = "regress"
  rreq.input.example_list.examples.extend(examples)
  rres = predict_stub.Regress(rreq, timeout=60)
  result["regress"] = [r.value for r in rres.result.regressions]
  mreq = inference_pb2.MultiInferenceRequest()
  for sig, method in (("classify", "tensorflow/serving/classify"), ("regress", "tensorflow/serving/regress")):
    t = mreq.tasks.add()
    t.model_spec.name = "example"
    t.model_spec.signature_name = sig
    t.method_name = method
  mreq.input.example_list.examples.extend(examples)
  mres = predict_stub.MultiInference(mreq, timeout=60)
  result["multi_inference"] = [r.WhichOneof("result") for r in mres.results]

  greq = get_model_metadata_pb2.GetModelMetadataRequest()
  greq.model_spec.name = "example"
  greq.metadata_field.append("signature_def")
  gres = predict_stub.GetModelMetadata(greq, timeout=60)
  sdm = get_model_metadata_pb2.SignatureDefMap()
  gres.metadata["signature_def"].Unpack(sdm)
  result["metadata"] = {
      "type_url": gres.metadata["signature_def"].type_url,
      "version": gres.model_spec.version.value,
      "methods": {k: v.method_name for k, v in sdm.signature_def.items()},
      "predict_input": {"dtype": sdm.signature_def["predict"].inputs["x"].dtype,
                        "shape": [d.size for d in sdm.signature_def["predict"].inputs["x"].tensor_shape.dim]},
  }

  sreq = get_model_status_pb2.GetModelStatusRequest()
  sreq.model_spec.name = "half"
  sres = model_stub.GetModelStatus(sreq, timeout=60)
  result["status"] = sorted([s.version, get_model_status_pb2.ModelVersionStatus.State.Name(s.state),
                             s.status.error_code] for s in sres.model_version_status)

  def error_of(fn, req):
    try:
      fn(req, timeout=60)
      return "OK"
    except grpc.RpcError as e:
      return e.code().name
  bad = predict_pb2.PredictRequest()
  bad.model_spec.name = "nope"
  result["errors"]["unknown_model"] = error_of(predict_stub.Predict, bad)
  bad = predict_pb2.PredictRequest()
  bad.model_spec.name = "tf2"
  bad.inputs["x"].dtype = types_pb2.DT_FLOAT
  bad.inputs["x"].tensor_shape.dim.add(size=1 << 40)
  bad.inputs["x"].float_val.append(1.0)
  result["errors"]["huge_shape"] = error_of(predict_stub.Predict, bad)
  bad = predict_pb2.PredictRequest()
  bad.model_spec.name = "tf2"
  bad.inputs["x"].dtype = types_pb2.DT_STRING
  bad.inputs["x"].tensor_shape.dim.add(size=1)
  bad.inputs["x"].tensor_shape.dim.add(size=3)
  bad.inputs["x"].string_val.append(b"a")
  result["errors"]["wrong_dtype"] = error_of(predict_stub.Predict, bad)
  result["errors"]["missing_spec"] = error_of(model_stub.GetModelStatus, get_model_status_pb2.GetModelStatusRequest())
  print(json.dumps(result))


if __name__ == "__main__":
  main()
