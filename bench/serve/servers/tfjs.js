'use strict';
// @tensorflow/tfjs-node behind node:http: tf.node.loadSavedModel (the same SavedModel), model.predict.
// Args: --model DIR --input --output --row-size --shape --peers DIR [--port P]
const path = require('node:path');
const { parseArgs, serve } = require('./common');

(async () => {
  const a = parseArgs(process.argv.slice(2));
  const tf = require(require.resolve('@tensorflow/tfjs-node', { paths: [path.join(a.peers, 'tfjs', 'app')] }));
  const shape = JSON.parse(a.shape);
  const model = await tf.node.loadSavedModel(a.model, ['serve'], 'serving_default');
  serve({
    rowSize: Number(a['row-size']),
    port: Number(a.port || 0),
    predict: async (rows, flat) => {
      const x = tf.tensor(flat, [rows, ...shape], 'float32');
      let y = model.predict({ [a.input]: x });
      if (!(y instanceof tf.Tensor)) y = y[a.output];
      const data = await y.data();
      const width = y.shape[1];
      tf.dispose([x, y]);
      return { rows, width, data };
    },
  });
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
