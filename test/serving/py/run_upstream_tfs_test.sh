#!/usr/bin/env bash
# Copyright the tfhub-node authors. Licensed under the Apache License 2.0.
#
# Runs TF Serving's own tensorflow_model_server_test.py, unchanged, against `tfhub-node serve`.
#
# Usage: test/serving/py/run_upstream_tfs_test.sh SERVING_CHECKOUT [test names...]
#   SERVING_CHECKOUT  a checkout of github.com/tensorflow/serving (a work tree, or a bare repository: its HEAD)
#   PYTHON            Python with tensorflow, grpcio and grpcio-tools (default: .venv-test/bin/python3)
#
# Builds what upstream's Bazel target would: TEST_SRCDIR/tf_serving/tensorflow_serving with
# model_servers/tensorflow_model_server (a script that execs `node dist/src/cli.js serve --bind_address=127.0.0.1`)
# and servables/tensorflow/testdata from the checkout; the tensorflow_serving Python modules compiled from the
# checkout's protos with grpcio-tools (TensorFlow's own come from the installed tensorflow); and a portpicker
# stand-in when it is not installed. Servers listen on 127.0.0.1 only; everything lives in one temporary directory.
# Run `npx tsc -p tsconfig.json` first.
set -euo pipefail
root="$(cd "$(dirname "$0")/../../.." && pwd)"
src="${1:?usage: $0 SERVING_CHECKOUT [test names...]}"
shift
python="${PYTHON:-$root/.venv-test/bin/python3}"
tmp="$(mktemp -d /tmp/tfs-upstream-XXXXXX)"
trap 'rm -rf "$tmp"' EXIT

# The checkout's files, from a work tree or from a bare repository's HEAD (files it does not hold, such as large
# model files stored elsewhere, are left out).
tree="$tmp/serving"
if [ -d "$src/tensorflow_serving" ]; then
  tree="$src"
else
  git -C "$src" ls-tree -r --name-only HEAD tensorflow_serving/apis tensorflow_serving/config tensorflow_serving/core \
    tensorflow_serving/util tensorflow_serving/sources tensorflow_serving/model_servers \
    tensorflow_serving/servables/tensorflow/testdata | while read -r f; do
    mkdir -p "$tree/$(dirname "$f")"
    git -C "$src" show "HEAD:$f" >"$tree/$f" 2>/dev/null || rm -f "$tree/$f"
  done
fi

pkg="$tmp/srcdir/tf_serving/tensorflow_serving"
mkdir -p "$pkg/model_servers" "$pkg/servables/tensorflow"
cp -a "$tree/tensorflow_serving/servables/tensorflow/testdata" "$pkg/servables/tensorflow/"
cat >"$pkg/model_servers/tensorflow_model_server" <<EOF
#!/bin/sh
exec node "$root/dist/src/cli.js" serve --bind_address=127.0.0.1 "\$@"
EOF
chmod +x "$pkg/model_servers/tensorflow_model_server"

py="$tmp/py"
mkdir -p "$py"
(cd "$tree" && "$python" -m grpc_tools.protoc -I. -I"$root/src/proto" --python_out="$py" --grpc_python_out="$py" \
  $(find tensorflow_serving/apis tensorflow_serving/config tensorflow_serving/core tensorflow_serving/util \
    tensorflow_serving/sources -name '*.proto' 2>/dev/null))
mkdir -p "$py/tensorflow_serving/model_servers/test_util"
cp "$tree/tensorflow_serving/model_servers/test_util/tensorflow_model_server_test_base.py" \
  "$py/tensorflow_serving/model_servers/test_util/"
find "$py/tensorflow_serving" -type d -exec touch {}/__init__.py \;
if ! "$python" -c 'import portpicker' 2>/dev/null; then
  cat >"$py/portpicker.py" <<'EOF'
import socket


def pick_unused_port():
  s = socket.socket()
  s.bind(("127.0.0.1", 0))
  port = s.getsockname()[1]
  s.close()
  return port
EOF
fi
cp "$tree/tensorflow_serving/model_servers/tensorflow_model_server_test.py" "$py/"
cd "$py"
TEST_SRCDIR="$tmp/srcdir" PYTHONPATH="$py" "$python" tensorflow_model_server_test.py "$@"
