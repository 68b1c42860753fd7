"""Extract the TensorFlow C API from a tensorflow(-cpu) wheel: the two shared libraries and the header
closure of tensorflow/c/c_api.h. Usage: extract-wheel.py WHEEL DEST. Prints one JSON line on success."""
import json
import os
import re
import sys
import zipfile

ROOT_HEADERS = ["tensorflow/c/c_api.h", "tensorflow/c/tf_tstring.h", "tensorflow/c/c_api_experimental.h"]
LIBRARIES = ["libtensorflow_cc.so.2", "libtensorflow_framework.so.2"]
INCLUDE = re.compile(rb'^\s*#\s*include\s+"([^"]+)"', re.M)


def main(wheel, dest):
    z = zipfile.ZipFile(wheel)
    names = set(z.namelist())
    # Header closure: follow quoted includes that the wheel ships; system headers are skipped.
    wanted, todo = set(), list(ROOT_HEADERS)
    while todo:
        header = todo.pop()
        member = "tensorflow/include/" + header
        if header in wanted or member not in names:
            continue
        wanted.add(header)
        todo.extend(m.decode() for m in INCLUDE.findall(z.read(member)))
    for lib in LIBRARIES:
        if "tensorflow/" + lib not in names:
            raise SystemExit("wheel lacks tensorflow/" + lib)
    members = ["tensorflow/include/" + h for h in sorted(wanted)] + ["tensorflow/" + l for l in LIBRARIES]
    total = sum(z.getinfo(m).file_size for m in members)
    done, shown = 0, -1
    for m in members:
        target = os.path.join(dest, m[len("tensorflow/"):])
        if not os.path.realpath(target).startswith(os.path.realpath(dest) + os.sep):
            raise SystemExit("unsafe member " + m)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with z.open(m) as src, open(target, "wb") as out:
            while True:
                chunk = src.read(1 << 22)
                if not chunk:
                    break
                out.write(chunk)
                done += len(chunk)
                pct = done * 100 // max(total, 1) // 10 * 10
                if pct != shown:
                    shown = pct
                    sys.stderr.write("tfhub-node: extracting libtensorflow %d%%\n" % pct)
    print(json.dumps({"headers": len(wanted), "bytes": total}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
