'use strict';
// The floor of every node:http server in this benchmark: the same handler (bench/serve/servers/common.js: read
// the body, JSON.parse it, flatten the instances, JSON.stringify the answer) around no model at all. It answers
// zeros of the model's output width, so the harness does not compare its answers; its requests/s and CPU per
// request bound what any node:http server can reach on this machine under the same load generator.
// Args: --width N --row-size --shape [--port P]
const { parseArgs, serve } = require('./common');

const a = parseArgs(process.argv.slice(2));
const width = Number(a.width);
serve({
  rowSize: Number(a['row-size']),
  port: Number(a.port || 0),
  predict: async (rows) => ({ rows, width, data: new Float32Array(rows * width) }),
});
