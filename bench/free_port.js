'use strict';
// Free loopback ports for the servers and cluster tasks the benchmarks start (bench/dist, bench/serve).
const net = require('node:net');

/** Ports already handed out in this process: the OS may offer a just-released port again. */
const handedOut = new Set();

function probe() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** A port free on 127.0.0.1 right now (bound to port 0 by the OS, then released), never one given out before. */
async function freePort() {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = await probe();
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error('freePort: no new free port on 127.0.0.1 after 100 tries');
}

module.exports = { freePort };
