'use strict';
// onnxruntime-node behind node:http, default session options. Args: --onnx FILE --input --output --row-size
// --shape --peers DIR (where bench/serve/peers.js installed onnxruntime-node) [--port P]
const path = require('node:path');
const { parseArgs, serve } = require('./common');

(async () => {
  const a = parseArgs(process.argv.slice(2));
  const ort = require(require.resolve('onnxruntime-node', { paths: [path.join(a.peers, 'ort')] }));
  const shape = JSON.parse(a.shape);
  const session = await ort.InferenceSession.create(a.onnx);
  serve({
    rowSize: Number(a['row-size']),
    port: Number(a.port || 0),
    predict: async (rows, flat) => {
      const out = await session.run({ [a.input]: new ort.Tensor('float32', flat, [rows, ...shape]) });
      const y = out[a.output];
      return { rows, width: y.dims[1], data: y.data };
    },
  });
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
