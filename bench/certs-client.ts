// Worker thread for the handshake benchmark: opens full TLS handshakes (no resumption) against a
// port with a fixed concurrency for a fixed time, and reports how many completed.
import tls from 'node:tls';
import { parentPort, workerData } from 'node:worker_threads';

const { port, servername, ms, concurrency } = workerData as { port: number; servername: string; ms: number; concurrency: number };
let done = 0;
let failed = 0;
const end = performance.now() + ms;

function one(): Promise<void> {
  return new Promise((resolve) => {
    const s = tls.connect({ port, host: '127.0.0.1', servername, rejectUnauthorized: false }, () => {
      done++;
      s.destroy();
      resolve();
    });
    s.on('error', () => {
      failed++;
      resolve();
    });
  });
}

async function lane(): Promise<void> {
  while (performance.now() < end) await one();
}

await Promise.all(Array.from({ length: concurrency }, lane));
parentPort!.postMessage({ done, failed, secs: ms / 1000 });
