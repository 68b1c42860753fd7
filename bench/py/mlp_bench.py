"""The benchmark MLP through Python TensorFlow's tf.compat.v1.Session: a measurement server for bench/run.js.

    python3 bench/py/mlp_bench.py GRAPH.pb [caller]

Protocol (shared with bench/c/mlp_bench.c, see there): one JSON "ready" line, then per stdin line
"ID SECONDS WARMUP" one JSON reply line; EOF or "quit" ends. With "caller", every run passes
RunOptions(inter_op_thread_pool=-1) (TF runs the ops on the calling thread).

IDs b1 / b256c1 / b256c2 use Session.run with feed/fetch tensors resolved once (2 concurrent = 2 Python
threads; TF_SessionRun releases the GIL); b1.callable uses Session.make_callable (Python's fast path).
If tensorflow cannot be imported, prints {"ready": true, "impl": "python", "skipped": "..."} and exits 0.
"""
import json
import os
import sys
import threading
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
FEATURES = 256


def send(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


try:
    import numpy as np
    import tensorflow as tf
except Exception as e:  # noqa: BLE001
    send({"ready": True, "impl": "python", "skipped": f"python tensorflow not importable: {type(e).__name__}: {e}"})
    sys.exit(0)


def input_data(batch):
    i = np.arange(batch * FEATURES, dtype=np.int64)
    return (((i * 37) % 101).astype(np.float32) / np.float32(101) - np.float32(0.5)).reshape(batch, FEATURES)


def sequential(id_, once, seconds, warmup):
    warm_end = time.perf_counter() + warmup
    while time.perf_counter() < warm_end:
        once()
    lat = []
    cpu0 = time.process_time()  # whole process, all threads
    start = t0 = time.perf_counter()
    end = start + seconds
    while True:
        once()
        t1 = time.perf_counter()
        lat.append(round((t1 - t0) * 1e6, 2))
        t0 = t1
        if t1 >= end:
            break
    return {"id": id_, "n": len(lat), "elapsed_s": t1 - start, "cpu_s": time.process_time() - cpu0, "lat": lat}


def concurrent(id_, loops, seconds, warmup):
    warm_end = time.perf_counter() + warmup
    while time.perf_counter() < warm_end:
        loops[0]()
    counts = [0] * len(loops)
    barrier = threading.Barrier(len(loops) + 1)
    end_box = [0.0]

    def worker(k):
        barrier.wait()
        once, end = loops[k], end_box[0]
        while time.perf_counter() < end:
            once()
            counts[k] += 1

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(len(loops))]
    for t in threads:
        t.start()
    cpu0 = time.process_time()
    start = time.perf_counter()
    end_box[0] = start + seconds
    barrier.wait()
    for t in threads:
        t.join()
    return {"id": id_, "n": sum(counts), "elapsed_s": time.perf_counter() - start, "cpu_s": time.process_time() - cpu0}


def main():
    graph_path = sys.argv[1]
    caller = len(sys.argv) > 2 and sys.argv[2] == "caller"
    options = tf.compat.v1.RunOptions(inter_op_thread_pool=-1) if caller else None
    gd = tf.compat.v1.GraphDef()
    with open(graph_path, "rb") as f:
        gd.ParseFromString(f.read())
    g = tf.Graph()
    with g.as_default():
        tf.compat.v1.import_graph_def(gd, name="")
    x = g.get_tensor_by_name("x:0")
    logits = g.get_tensor_by_name("logits:0")
    sess = tf.compat.v1.Session(graph=g)  # no config: default thread pools

    input1 = input_data(1)
    input256 = [input_data(256), input_data(256)]
    checksum = float(np.sum(sess.run(logits, {x: input1}, options=options), dtype=np.float64))

    def run_once(data):
        feed = {x: data}
        return lambda: sess.run(logits, feed, options=options)

    def callable_once(data):
        if options is None:
            fn = sess.make_callable(logits, [x])
            return lambda: fn(data)
        fn = sess.make_callable(logits, [x], accept_options=True)
        return lambda: fn(data, options=options)

    measurements = {
        "b1": lambda s, w: sequential("b1", run_once(input1), s, w),
        "b1.callable": lambda s, w: sequential("b1.callable", callable_once(input1), s, w),
        "b256c1": lambda s, w: sequential("b256c1", run_once(input256[0]), s, w),
        "b256c2": lambda s, w: concurrent("b256c2", [run_once(d) for d in input256], s, w),
    }
    send({
        "ready": True, "impl": "python", "caller_thread": caller, "tf_version": tf.__version__,
        "python_version": sys.version.split()[0],
        "library": os.path.join(os.path.dirname(tf.__file__), "libtensorflow_cc.so.2"),
        "checksum_b1": round(checksum, 6),
    })
    for line in sys.stdin:
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "quit":
            break
        m = measurements.get(parts[0])
        send(m(float(parts[1]), float(parts[2])) if m else {"id": parts[0], "error": "unknown measurement"})
    sess.close()


if __name__ == "__main__":
    main()
