// Worker thread for the deploy-under-load benchmark: full TLS handshakes started at a fixed rate
// (not as fast as possible), each recording the serial it was shown; reports failures, per-serial
// counts and the achieved rate.
import tls from 'node:tls';
import { parentPort, workerData } from 'node:worker_threads';
import { paced } from './exec.js';

const { port, servername, ms, rate } = workerData as { port: number; servername: string; ms: number; rate: number };
let done = 0;
let failed = 0;
const errors: Record<string, number> = {};
const serials: Record<string, number> = {};
const start = performance.now();

function one(): Promise<void> {
  return new Promise((resolve) => {
    const s = tls.connect({ port, host: '127.0.0.1', servername, rejectUnauthorized: false, session: undefined }, () => {
      const serial = s.getPeerX509Certificate()?.serialNumber.toUpperCase() ?? '?';
      serials[serial] = (serials[serial] ?? 0) + 1;
      done++;
      s.destroy();
      resolve();
    });
    s.setTimeout(10_000, () => s.destroy(new Error('ETIMEDOUT')));
    s.on('error', (e: NodeJS.ErrnoException) => {
      failed++;
      errors[e.code ?? e.message] = (errors[e.code ?? e.message] ?? 0) + 1;
      resolve();
    });
  });
}

const started = await paced(rate, () => performance.now() - start < ms, one);
parentPort!.postMessage({ started, done, failed, errors, serials, secs: (performance.now() - start) / 1000 });
