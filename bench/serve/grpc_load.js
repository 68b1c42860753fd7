'use strict';
// A gRPC load generator for bench:serve: `connections` callers, each with one unary
// tensorflow.serving.PredictionService/Predict call in flight at a time, for `seconds`; the callers share
// min(connections, 8) HTTP/2 connections (grpc-js channels with their own subchannel pools). The request is a
// PredictRequest with the row in `tensor_content` (as tf.make_tensor_proto sends it), encoded once.
// Returns what autocannon's slice returns in run.js: latencies of the OK answers (ms), ok, errors, seconds.
const path = require('node:path');
const grpc = require('@grpc/grpc-js');

const ROOT = path.resolve(__dirname, '..', '..');

/** The PredictRequest bytes for model `m`, input `input` of `shape` (batch 1), values `flat` (float32). */
function predictRequest(input, shape, flat) {
  const { messageType, encodeMessage } = require(path.join(ROOT, 'dist', 'src', 'serving', 'proto'));
  const content = Buffer.from(new Float32Array(flat).buffer);
  const tensor = { dtype: 1, tensorShape: { dim: [1, ...shape].map((size) => ({ size })) }, tensorContent: content };
  return Buffer.from(
    encodeMessage(messageType('tensorflow.serving.PredictRequest'), { modelSpec: { name: 'm' }, inputs: { [input]: tensor } }),
  );
}

/**
 * `connections` callers for `seconds`; with `rate` (requests/s in all), an open-loop schedule: request i starts no
 * earlier than i/rate seconds into the slice (a caller whose answer came late starts its next one at once).
 */
async function grpcSlice(address, request, connections, seconds, rate = 0) {
  const clients = Array.from(
    { length: Math.min(connections, 8) },
    () => new grpc.Client(address, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }),
  );
  const latencies = [];
  let ok = 0;
  let errors = 0;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  const call = (client) =>
    new Promise((resolve) => {
      const started = performance.now();
      client.makeUnaryRequest(
        '/tensorflow.serving.PredictionService/Predict',
        (b) => b,
        (b) => b,
        request,
        new grpc.Metadata(),
        { deadline: Date.now() + 10_000 },
        (error) => {
          if (error) errors++;
          else {
            ok++;
            latencies.push(performance.now() - started);
          }
          resolve();
        },
      );
    });
  let issued = 0;
  await Promise.all(
    Array.from({ length: connections }, async (_, i) => {
      const client = clients[i % clients.length];
      while (performance.now() < end) {
        if (rate > 0) {
          const at = t0 + (issued++ * 1000) / rate;
          const wait = at - performance.now();
          if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
          if (performance.now() >= end) break;
        }
        await call(client);
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  for (const c of clients) c.close();
  return { latencies, ok, errors, seconds: elapsed };
}

module.exports = { grpcSlice, predictRequest };
