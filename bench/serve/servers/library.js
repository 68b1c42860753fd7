'use strict';
// tfhub-node as a library: hub.load(model, {batching}) behind node:http (what `serve` does, minus its
// features). Args: --model DIR --input KEY --output KEY --row-size N [--batching JSON] [--port P]
const path = require('node:path');
const { parseArgs, serve } = require('./common');
const { hub, Tensor } = require(path.join(__dirname, '..', '..', '..', 'dist', 'src'));

(async () => {
  const a = parseArgs(process.argv.slice(2));
  const rowSize = Number(a['row-size']);
  const shape = JSON.parse(a.shape);
  const model = await hub.load(a.model, a.batching ? { batching: JSON.parse(a.batching) } : {});
  const sig = model.signatures.serving_default;
  serve({
    rowSize,
    port: Number(a.port || 0),
    predict: async (rows, flat) => {
      const out = await sig({ [a.input]: new Tensor('float32', [rows, ...shape], flat) });
      const y = out[a.output];
      return { rows, width: y.shape[1], data: y.data() };
    },
  });
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
