#!/usr/bin/env python3
# Copyright the tfhub-node authors. Licensed under the Apache License 2.0.
"""The client side of TF Serving's integration tests (tensorflow_model_server_test.py), for
test/serving/tfs_integration.test.ts, which starts `tfhub-node serve` with the flags those tests pass to
tensorflow_model_server and runs one case of this file per request.

Usage:
  tfs_integration.py compile OUT PROTO_DIRS   compile the .proto files under PROTO_DIRS (os.pathsep-joined
                                               import roots) into OUT with grpcio-tools, once per suite
  tfs_integration.py CASE OUT ARGS_JSON        run one case with the modules compiled into OUT

Each case sends what the upstream test sends (grpcio for gRPC, urllib for REST, as upstream's CallREST does)
and checks what the upstream test asserts; a failed check exits 1 with the reason on stderr. No TensorFlow
needed: the generated modules shadow any installed one.
"""

import json
import os
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tfs_client import compile_protos  # noqa: E402


def fail(msg):
  sys.stderr.write(msg + "\n")
  sys.exit(1)


def check(cond, msg):
  if not cond:
    fail(msg)


def check_equal(want, got, what):
  check(want == got, "%s: expected %r, got %r" % (what, want, got))


def sorted_object(obj):
  """upstream's SortedObject: nested lists and dicts in a canonical order (metadata has no ordering)."""
  if isinstance(obj, dict):
    return sorted((k, sorted_object(v)) for k, v in obj.items())
  if isinstance(obj, (list, tuple)):
    return sorted(sorted_object(x) for x in obj)
  return obj


def profiler_trace(args):
  """test_profiler_service_with_valid_trace_request: REST predicts (upstream: wget in a shell loop) while Python
  TensorFlow's profiler client traces the gRPC address for 1 s. The predicts go on until the trace is back, so
  that some land in its window however late the client connects on a loaded machine."""
  import threading  # noqa: E402
  from tensorflow.python.profiler import profiler_client  # noqa: E402

  done = threading.Event()

  def send():
    while not done.is_set():
      try:
        data = json.dumps({"instances": [2.0, 3.0, 4.0]}).encode()
        req = urllib.request.Request(args["url"], data=data, headers={"Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=10).read()
      except Exception as e:  # pylint: disable=broad-except
        sys.stderr.write("predict: %s\n" % e)
      done.wait(0.2)
  sender = threading.Thread(target=send)
  sender.start()
  logdir = args["logdir"]
  os.makedirs(logdir)
  try:
    profiler_client.trace(args["address"], logdir, 1000, "", 10)
  finally:
    done.set()
    sender.join()
  saved = [os.path.join(d, f) for d, _, fs in os.walk(logdir) for f in fs if f.endswith(".xplane.pb")]
  check(saved and all(os.path.getsize(f) > 0 for f in saved), "no xplane.pb under %s" % logdir)


def main():
  case, out = sys.argv[1], sys.argv[2]
  if case == "compile":
    compile_protos(sys.argv[3].split(os.pathsep), out)
    return
  args = json.loads(sys.argv[3])
  if case == "profiler_trace":
    profiler_trace(args)
    return
  sys.path.insert(0, out)
  import grpc  # noqa: E402
  from tensorflow.core.framework import types_pb2  # noqa: E402
  from tensorflow_serving.apis import (classification_pb2, get_model_metadata_pb2, get_model_status_pb2,  # noqa: E402
                                       inference_pb2, model_service_pb2_grpc, predict_pb2,
                                       prediction_service_pb2_grpc, regression_pb2)

  rpc_timeout = args.get("rpc_timeout", 20.0)

  def prediction_stub():
    return prediction_service_pb2_grpc.PredictionServiceStub(grpc.insecure_channel(args["address"]))

  def verify_model_spec(spec, name, signature, version):
    check_equal(name, spec.name, "model_spec.name")
    check_equal(signature, spec.signature_name, "model_spec.signature_name")
    check_equal(version, spec.version.value, "model_spec.version")

  def rest(url, body):
    # upstream's CallREST: urllib, a POST when there is a body, a GET otherwise
    data = json.dumps(body).encode("utf-8") if body is not None else None
    attempts = args.get("attempts", 3)
    for attempt in range(attempts):
      try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=rpc_timeout) as resp:
          return resp.read()
      except Exception as e:  # pylint: disable=broad-except
        if attempt == attempts - 1:
          fail("REST %s failed: %s %s" % (url, e, getattr(e, "read", lambda: b"")().decode("utf-8", "replace")))
        time.sleep(1)

  if case == "wait_ready":
    # WaitForServerReady: a Predict for a missing model, until its error names the missing Servable
    deadline = time.time() + args.get("timeout", 60)
    details = ""
    while time.time() < deadline:
      request = predict_pb2.PredictRequest()
      request.model_spec.name = "intentionally_missing_model"
      try:
        prediction_stub().Predict(request, 5.0)
        details = "Predict for a missing model succeeded"
      except grpc.RpcError as error:
        details = error.details() or ""
        if "Servable" in details:
          return
      time.sleep(0.2)
    fail("server not ready: last answer %r" % details)

  elif case == "predict":
    # VerifyPredictRequest
    request = predict_pb2.PredictRequest()
    request.model_spec.name = args.get("model_name", "default")
    signature = args.get("signature_name", "serving_default")
    request.model_spec.signature_name = signature
    x, y = args.get("input_key", "x"), args.get("output_key", "y")
    request.inputs[x].dtype = types_pb2.DT_FLOAT
    request.inputs[x].float_val.append(2.0)
    if not args.get("scalar_input"):  # tensorflow_model_server_test_client.py sends a scalar
      request.inputs[x].tensor_shape.dim.add().size = 1
      if args.get("batch_input"):
        request.inputs[x].tensor_shape.dim.add().size = 1
    if args.get("specify_output", True):
      request.output_filter.append(y)
    try:
      result = prediction_stub().Predict(request, rpc_timeout)
    except grpc.RpcError as e:
      if "expected_code" in args:
        check_equal(args["expected_code"], e.code().name, "status code (%s)" % e.details())
        check_equal(args.get("expected_details", e.details()), e.details(), "error details")
        return
      fail("Predict failed: %s %s" % (e.code().name, e.details()))
    check("expected_code" not in args, "Predict succeeded, expected %s" % args.get("expected_code"))
    check(y in result.outputs, "%r not in outputs %s" % (y, list(result.outputs)))
    check_equal(types_pb2.DT_FLOAT, result.outputs[y].dtype, "outputs[%r].dtype" % y)
    check_equal(1, len(result.outputs[y].float_val), "len(outputs[%r].float_val)" % y)
    check_equal(args["expected_output"], result.outputs[y].float_val[0], "outputs[%r].float_val[0]" % y)
    verify_model_spec(result.model_spec, request.model_spec.name, args.get("expected_signature", signature),
                      args["expected_version"])

  elif case in ("classify", "regress", "multi_inference"):
    if case == "classify":
      request = classification_pb2.ClassificationRequest()
    elif case == "regress":
      request = regression_pb2.RegressionRequest()
    else:
      request = inference_pb2.MultiInferenceRequest()
      for sig, method in (("regress_x_to_y", "regress"), ("classify_x_to_y", "classify")):
        task = request.tasks.add()
        task.model_spec.name = "default"
        task.model_spec.signature_name = sig
        task.method_name = "tensorflow/serving/" + method
    if case != "multi_inference":
      request.model_spec.name = "default"
      request.model_spec.signature_name = "classify_x_to_y" if case == "classify" else "regress_x_to_y"
    example = request.input.example_list.examples.add()
    example.features.feature["x"].float_list.value.extend([2.0])
    stub = prediction_stub()
    try:
      if case == "classify":
        result = stub.Classify(request, rpc_timeout)
        check_equal(1, len(result.result.classifications), "len(classifications)")
        check_equal(1, len(result.result.classifications[0].classes), "len(classes)")
        check_equal(3.0, result.result.classifications[0].classes[0].score, "score")
        verify_model_spec(result.model_spec, "default", "classify_x_to_y", args["expected_version"])
      elif case == "regress":
        result = stub.Regress(request, rpc_timeout)
        check_equal(1, len(result.result.regressions), "len(regressions)")
        check_equal(3.0, result.result.regressions[0].value, "value")
        verify_model_spec(result.model_spec, "default", "regress_x_to_y", args["expected_version"])
      else:
        result = stub.MultiInference(request, rpc_timeout)
        check_equal(2, len(result.results), "len(results)")
        check_equal(3.0, result.results[0].regression_result.regressions[0].value, "regression value")
        check_equal(3.0, result.results[1].classification_result.classifications[0].classes[0].score,
                    "classification score")
        for i in range(2):
          verify_model_spec(result.results[i].model_spec, "default", request.tasks[i].model_spec.signature_name,
                            args["expected_version"])
    except grpc.RpcError as e:
      fail("%s failed: %s %s" % (case, e.code().name, e.details()))

  elif case == "model_status":
    request = get_model_status_pb2.GetModelStatusRequest()
    request.model_spec.name = "default"
    stub = model_service_pb2_grpc.ModelServiceStub(grpc.insecure_channel(args["address"]))
    result = stub.GetModelStatus(request, rpc_timeout)
    check_equal(1, len(result.model_version_status), "len(model_version_status)")
    check_equal(args["expected_version"], result.model_version_status[0].version, "version")
    check_equal(0, result.model_version_status[0].status.error_code, "error_code")

  elif case == "model_metadata":
    request = get_model_metadata_pb2.GetModelMetadataRequest()
    request.model_spec.name = "default"
    request.metadata_field.append("signature_def")
    result = prediction_stub().GetModelMetadata(request, rpc_timeout)
    check_equal("default", result.model_spec.name, "model_spec.name")
    check_equal(args["expected_version"], result.model_spec.version.value, "model_spec.version")
    check_equal(1, len(result.metadata), "len(metadata)")
    check("signature_def" in result.metadata, "'signature_def' not in metadata")

  elif case == "rest":
    # the body as upstream's Python dict literal (JSON text: 2.0 stays a float, as json.dumps writes it)
    body = rest(args["url"], json.loads(args["body"]) if args.get("body") is not None else None)
    if "expected_json" in args:
      check_equal(args["expected_json"], json.loads(body.decode()), "response of %s" % args["url"])
    elif "expected_json_file" in args:
      with open(args["expected_json_file"]) as f:
        expected = json.load(f)
      check_equal(sorted_object(expected), sorted_object(json.loads(body.decode())), "response of %s" % args["url"])
    if "expected_substring" in args:
      check(args["expected_substring"] in body.decode("utf-8"),
            "%r not in the response of %s:\n%s" % (args["expected_substring"], args["url"], body.decode()[:2000]))

  else:
    fail("unknown case %s" % case)


if __name__ == "__main__":
  main()
