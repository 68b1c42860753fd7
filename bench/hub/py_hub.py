"""Python half of the hub benchmark: the same modules through tf.compat.v1 (import_meta_graph + restore, the
semantics doc's recipe for hub.Module) and tf.saved_model.load, measured the same way as node_hub.js."""
import json
import os
import statistics
import sys
import threading
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow.core.protobuf import meta_graph_pb2, saved_model_pb2  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CASES = json.load(open(os.path.join(os.path.dirname(__file__), "cases.json")))
WORDS = ["the", "cat", "sat", "on", "mat", "dog", "big", "red", "quick", "brown", "fox"]


def input_for(c, batch):
    if c["kind"] == "vector":
        return np.arange(batch, dtype=np.float32) % 7
    if c["kind"] == "matrix":
        return (np.arange(batch * c["width"], dtype=np.float32) % 13 / 13).reshape(batch, c["width"])
    if c["kind"] == "sentences":
        return np.array(["%s %s %s!" % (WORDS[i % 11], WORDS[(i * 3) % 11], WORDS[(i * 7) % 11]) for i in range(batch)], dtype=object)
    return np.array([WORDS[i % 11] for i in range(batch)], dtype=object)


def timed(fn, concurrency, slice_s):
    lat, done = [], [0]
    end = time.perf_counter() + slice_s
    lock = threading.Lock()

    def worker():
        while time.perf_counter() < end:
            t0 = time.perf_counter()
            fn()
            dt = (time.perf_counter() - t0) * 1e6
            with lock:
                lat.append(dt)
                done[0] += 1

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"median_us": statistics.median(lat), "runs_per_s": done[0] / (time.perf_counter() - t0), "runs": done[0]}


def load_tf1(c):
    """hub.Module's work with plain tf.compat.v1: import the [] meta graph under a scope, rewrite assets,
    restore the variables by module-relative names, run table initializers."""
    d = os.path.join(ROOT, c["dir"])
    sm = saved_model_pb2.SavedModel()
    sm.ParseFromString(open(os.path.join(d, "saved_model.pb"), "rb").read())
    mg = [m for m in sm.meta_graphs if not m.meta_info_def.tags][0]
    if "saved_model_assets" in mg.collection_def:
        nodes = {n.name: n for n in mg.graph_def.node}
        for any_ in mg.collection_def["saved_model_assets"].any_list.value:
            a = meta_graph_pb2.AssetFileDef()
            any_.Unpack(a)
            nodes[a.tensor_info.name.split(":")[0]].attr["value"].tensor.string_val[0] = os.path.join(d, "assets", a.filename).encode()
        del mg.collection_def["saved_model_assets"]
    g = tf.Graph()
    with g.as_default():
        tf.compat.v1.train.import_meta_graph(mg, import_scope="module")
        sig = mg.signature_def["default"]
        x = g.get_tensor_by_name("module/" + list(sig.inputs.values())[0].name)
        y = g.get_tensor_by_name("module/" + sig.outputs["default"].name)
        var_list = {v.op.name[len("module/"):]: v for v in tf.compat.v1.global_variables()}
        sess = tf.compat.v1.Session(graph=g)
        if var_list:
            tf.compat.v1.train.Saver(var_list).restore(sess, os.path.join(d, "variables", "variables"))
        sess.run(tf.compat.v1.tables_initializer())
    return sess, x, y


def tf1(c):
    loads, state = [], None
    for _ in range(CASES["loads"]):
        if state:
            state[0].close()
        t0 = time.perf_counter()
        state = load_tf1(c)
        loads.append((time.perf_counter() - t0) * 1000)
    sess, x, y = state
    out = {"load_ms_first": loads[0], "load_ms_median": statistics.median(loads[1:]), "batches": {}}
    for b in CASES["tf1_batches"]:
        feed = {x: input_for(c, b)}
        sess.run(y, feed)
        out["batches"][str(b)] = timed(lambda: sess.run(y, feed), 1, CASES["slice_s"])
    sess.close()
    return out


def tf2(c):
    loads, model = [], None
    for _ in range(CASES["loads"]):
        t0 = time.perf_counter()
        model = tf.saved_model.load(os.path.join(ROOT, c["dir"]))
        loads.append((time.perf_counter() - t0) * 1000)
    sig = model.signatures[c["signature"]]
    out = {"load_ms_first": loads[0], "load_ms_median": statistics.median(loads[1:]), "batches": {}}
    for b in CASES["tf2_batches"]:
        x = tf.constant((np.arange(b * int(np.prod(c["shape"])), dtype=np.float32) % 17 / 17).reshape([b] + c["shape"]))
        sig(**{c["input"]: x})
        for conc in CASES["tf2_concurrency"]:
            out["batches"]["%dx%d" % (b, conc)] = timed(lambda: sig(**{c["input"]: x}), conc, CASES["slice_s"])
    return out


def main():
    out = {"impl": "python", "tf_version": tf.__version__, "tf1": {}, "tf2": {}}
    for c in CASES["tf1"]:
        out["tf1"][c["name"]] = tf1(c)
    for c in CASES["tf2"]:
        out["tf2"][c["name"]] = tf2(c)
    sys.stdout.write(json.dumps(out) + "\n")


if __name__ == "__main__":
    main()
