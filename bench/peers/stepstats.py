"""Decodes the RunMetadata written by bench/peers/stepstats.js and prints where a call's time goes.

Per case: the call's wall time (untraced, and traced: tracing itself costs), the step's span inside TF (first
op start to last op end, all devices), the sum of the model's own kernels (the ops of the called function),
and the rest: framework overhead inside TF (executor, function call, argument and retval handling) and outside
it (binding, thread hand-offs). Medians over the calls; per-op medians of op_end_rel_micros - op_start_rel.
"""
import json
import struct
import sys
from collections import defaultdict

from tensorflow.core.protobuf import config_pb2

# Ops that are bookkeeping, not the model's compute.
FRAMEWORK = ("_SOURCE", "_Arg", "_Retval", "_Recv", "_Send", "NoOp", "Identity", "_retval", "_arg")


def median(xs):
  xs = sorted(xs)
  return xs[len(xs) // 2] if xs else float("nan")


def read(path):
  with open(path, "rb") as f:
    data = f.read()
  (n,) = struct.unpack_from("<I", data, 0)
  lens = struct.unpack_from("<%dI" % n, data, 4)
  at = 4 + 4 * n
  out = []
  for ln in lens:
    m = config_pb2.RunMetadata()
    m.ParseFromString(data[at:at + ln])
    out.append(m)
    at += ln
  return out


def main():
  summary = json.load(open(sys.argv[1]))
  for case in summary:
    runs = read(case["file"])
    per_op = defaultdict(list)
    spans, kernels, outer = [], [], []
    for m in runs:
      starts, ends, ksum = [], [], 0
      for dev in m.step_stats.dev_stats:
        for ns in dev.node_stats:
          starts.append(ns.all_start_micros)
          ends.append(ns.all_start_micros + ns.all_end_rel_micros)
          op = ns.timeline_label.split("=")[-1].split("(")[0].strip() if ns.timeline_label else ns.node_name
          dur = ns.op_end_rel_micros - ns.op_start_rel_micros
          kind = op.split(":")[-1].strip() if ":" in op else op
          if "StatefulPartitionedCall" in ns.node_name and ns.node_name.startswith("call_") and "/" not in ns.node_name[len("call_"):].split("/", 1)[-1:][0] and ns.node_name.endswith("StatefulPartitionedCall"):
            outer.append(dur)
            continue
          key = "%s (%s)" % (ns.node_name.split("/")[-1], kind)
          per_op[key].append(dur)
          if not any(kind.startswith(f) for f in FRAMEWORK) and not ns.node_name.startswith("_SOURCE"):
            ksum += dur
      spans.append(max(ends) - min(starts) if starts else 0)
      kernels.append(ksum)
    wall = case["wall_us_untraced_median"]
    print("\n## %s: %d traced calls" % (case["case"], len(runs)))
    print("| | µs (median) |\n|---|---:|")
    print("| call wall time, untraced (awaited session.run of the call op) | %.1f |" % wall)
    print("| the same call through runSync (no thread hand-off) | %.1f |" % case["wall_us_sync_median"])
    print("| call wall time, traced | %.1f |" % case["wall_us_traced_median"])
    print("| step span inside TF (first op start → last op end) | %.1f |" % median(spans))
    if outer:
      print("| the call op (StatefulPartitionedCall), start → end | %.1f |" % median(outer))
    print("| model kernels (sum of the function's compute ops) | %.1f |" % median(kernels))
    print("| outside the kernels (wall untraced − kernels) | %.1f (%.0f%%) |" % (wall - median(kernels), 100 * (wall - median(kernels)) / wall))
    print("\n| op | median µs | runs |\n|---|---:|---:|")
    for key, ds in sorted(per_op.items(), key=lambda kv: -median(kv[1])):
      if median(ds) < 0.5 and len(per_op) > 12:
        continue
      print("| %s | %.1f | %d |" % (key, median(ds), len(ds)))


if __name__ == "__main__":
  main()
