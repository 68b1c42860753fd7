// Free loopback ports for servers and cluster tasks the tests start.
import * as net from 'node:net';

/** Ports already handed out in this process: the OS may offer a released port again, and two tasks must not share one. */
const handedOut = new Set<number>();

function probe(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** A port free on 127.0.0.1 right now (bound to port 0 by the OS, then released), never one given out before. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = await probe();
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error('freePort: no new free port on 127.0.0.1 after 100 tries');
}
