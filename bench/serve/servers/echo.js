'use strict';
// The protocol floor for bench/serve/cpu.js: a server that answers every request with fixed bytes of a Predict
// answer's size and does nothing else, so that its CPU per request is what the HTTP stack alone costs.
// `node echo.js rest PORT`: node:http, reads the body, answers 200 with a JSON-sized body;
// `node echo.js grpc PORT`: @grpc/grpc-js, PredictionService/Predict with raw bytes in and out (as
// tfhub-node serve registers it), answers fixed PredictResponse-sized bytes.
const http = require('node:http');
const grpc = require('@grpc/grpc-js');

const [mode, port, size = '1100'] = process.argv.slice(2);
const answer = Buffer.alloc(Number(size), 0x31);

if (mode === 'rest') {
  http
    .createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(answer);
      });
    })
    .listen(Number(port), '127.0.0.1', () => process.stdout.write(`LISTENING ${port}\n`));
} else {
  const server = new grpc.Server();
  const identity = (b) => b;
  server.addService(
    {
      Predict: {
        path: '/tensorflow.serving.PredictionService/Predict',
        requestStream: false,
        responseStream: false,
        requestSerialize: identity,
        requestDeserialize: identity,
        responseSerialize: identity,
        responseDeserialize: identity,
      },
    },
    { Predict: (_call, callback) => callback(null, answer) },
  );
  server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err) => {
    if (err) throw err;
    process.stdout.write(`LISTENING ${port}\n`);
  });
}
process.on('SIGTERM', () => process.exit(0));
