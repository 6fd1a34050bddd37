// Child process of the mass-revocation benchmark: full TLS handshakes with the appliance's HTTPS
// listener, started at a fixed rate, each naming a random hosted domain in SNI and verifying the
// certificate it is shown against Pebble's root and that name (as a browser would). A separate
// process, so the appliance's RSS holds only the appliance. Bounded in count and time; ends
// early on a 'stop' message, and reports failures by cause and how many handshakes saw a renewed
// certificate (a serial not among those deployed before the renewal).
import tls from 'node:tls';
import { paced } from './exec.js';

export interface LoadJob {
  readonly port: number;
  readonly names: readonly string[];
  readonly rootPem: string;
  readonly rate: number;
  readonly maxMs: number;
  readonly maxCount: number;
  /** Serials (upper-case hex) in service before the renewal. */
  readonly before: readonly string[];
}

export interface LoadResult {
  readonly started: number;
  readonly done: number;
  readonly failed: number;
  readonly errors: Record<string, number>;
  /** Handshakes that saw a certificate deployed by the renewal. */
  readonly renewed: number;
  readonly secs: number;
}

async function run(job: LoadJob, stopped: () => boolean): Promise<LoadResult> {
  const before = new Set(job.before);
  const errors: Record<string, number> = {};
  let done = 0;
  let failed = 0;
  let renewed = 0;
  const one = () => new Promise<void>((resolve) => {
    const servername = job.names[Math.floor(Math.random() * job.names.length)]!;
    const s = tls.connect({ port: job.port, host: '127.0.0.1', servername, ca: job.rootPem, rejectUnauthorized: true }, () => {
      const serial = s.getPeerX509Certificate()?.serialNumber.toUpperCase() ?? '';
      if (!before.has(serial)) renewed++;
      done++;
      s.destroy();
      resolve();
    });
    s.setTimeout(10_000, () => s.destroy(Object.assign(new Error('no handshake within 10 s'), { code: 'ETIMEDOUT' })));
    s.on('error', (e: NodeJS.ErrnoException) => {
      failed++;
      const why = e.code ?? e.message;
      errors[why] = (errors[why] ?? 0) + 1;
      s.destroy();
      resolve();
    });
  });
  const start = performance.now();
  const started = await paced(job.rate, (n) => !stopped() && n < job.maxCount && performance.now() - start < job.maxMs, one);
  return { started, done, failed, errors, renewed, secs: (performance.now() - start) / 1000 };
}

let stop = false;
process.on('message', (m: { job?: LoadJob; stop?: true }) => {
  if (m.stop) stop = true;
  if (m.job) {
    void run(m.job, () => stop).then((r) => process.send!({ result: r }, () => process.disconnect()));
    process.send!({ running: true });
  }
});
