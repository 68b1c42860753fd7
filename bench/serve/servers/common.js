'use strict';
// What every benchmark server shares: a node:http server on 127.0.0.1 that answers TF Serving's REST predict
// (POST /v1/models/<name>:predict, row format {"instances": [...]} → {"predictions": [...]}), the handler a user
// would write around their runtime. `predict(rows, flat)` gets the row count and the flattened float32 values,
// and returns {rows, width, data} (data: a flat array-like of rows × width numbers).
const http = require('node:http');

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([^=]+)(?:=(.*))?$/.exec(argv[i]);
    if (m) out[m[1]] = m[2] !== undefined ? m[2] : argv[++i];
  }
  return out;
}

function flatten(instances, rowSize) {
  const flat = new Float32Array(instances.length * rowSize);
  let at = 0;
  const walk = (v) => {
    if (Array.isArray(v)) for (const x of v) walk(x);
    else flat[at++] = v;
  };
  walk(instances);
  if (at !== flat.length) throw new Error(`expected ${rowSize} values per instance`);
  return flat;
}

function toRows({ rows, width, data }) {
  const out = new Array(rows);
  for (let r = 0; r < rows; r++)
    out[r] = Array.from(data.subarray ? data.subarray(r * width, (r + 1) * width) : data.slice(r * width, (r + 1) * width));
  return out;
}

/** Starts the server; prints "LISTENING <port>" once it listens. */
function serve({ rowSize, predict, port = 0 }) {
  const server = http.createServer((req, res) => {
    const send = (status, obj) => {
      const body = JSON.stringify(obj);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    if (req.method !== 'POST' || !/^\/v1\/models\/[^/:]+(\/versions\/\d+)?:predict$/.test(req.url))
      return send(404, { error: 'not found' });
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      try {
        const { instances } = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        const out = await predict(instances.length, flatten(instances, rowSize));
        send(200, { predictions: toRows(out) });
      } catch (e) {
        send(400, { error: String((e && e.message) || e) });
      }
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(port, '127.0.0.1', () => process.stdout.write(`LISTENING ${server.address().port}\n`));
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

module.exports = { parseArgs, serve };
